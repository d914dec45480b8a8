"""Where the files ``fednids provision`` renders are: package data, not a checkout.

The templates ship inside the package (``provisioning/templates``) and are found through
:mod:`importlib.resources`, so an installed ``fednids provision`` works from any directory;
``--templates DIR`` points at an operator's own copy with the same layout.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

OS_FLAVOURS = ("raspios-bookworm", "ubuntu-server")
SYSTEMD_UNITS = ("fednids-agent.service", "fednids-fl.service")
CLOUD_INIT_FILES = ("user-data", "network-config", "meta-data")


def shipped_templates() -> Traversable:
    """The templates shipped with the package (cloud-init, systemd units, installer)."""
    return files("provisioning") / "templates"


def missing_templates(root: Traversable) -> list[str]:
    """The template files ``root`` lacks (relative names); empty when it is complete."""
    wanted = [
        "cloud-init/fednids-install.sh",
        *[f"systemd/{u}" for u in SYSTEMD_UNITS],
        *[f"cloud-init/{o}/{n}.tmpl" for o in OS_FLAVOURS for n in CLOUD_INIT_FILES],
    ]
    return [name for name in wanted if not root.joinpath(*name.split("/")).is_file()]
