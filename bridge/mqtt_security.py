"""Render the Mosquitto configuration for mutual TLS and per-node ACLs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).with_name("mosquitto")


@dataclass(frozen=True)
class MqttSecurity:
    ca_file: Path
    cert_file: Path
    key_file: Path
    data_dir: Path
    port: int = 8883
    bind: str = "0.0.0.0"  # noqa: S104 - the broker serves the fleet; mTLS guards it
    bridge_cn: str = "bridge"
    hub_cn: str = "hub"


def render_acl(sec: MqttSecurity) -> str:
    return Template((TEMPLATES / "acl.tmpl").read_text()).substitute(
        bridge_cn=sec.bridge_cn, hub_cn=sec.hub_cn
    )


def render_config(sec: MqttSecurity, acl_file: Path) -> str:
    return Template((TEMPLATES / "mosquitto.conf.tmpl").read_text()).substitute(
        data_dir=sec.data_dir,
        port=sec.port,
        bind=sec.bind,
        ca_file=sec.ca_file,
        cert_file=sec.cert_file,
        key_file=sec.key_file,
        acl_file=acl_file,
    )


def write_broker_files(sec: MqttSecurity, out: Path) -> tuple[Path, Path]:
    """Write ``mosquitto.conf`` and ``acl`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    acl = out / "acl"
    acl.write_text(render_acl(sec))
    conf = out / "mosquitto.conf"
    conf.write_text(render_config(sec, acl))
    return conf, acl


def listener_fragment(sec: MqttSecurity, acl_file: Path) -> str:
    """Only the TLS listener and ACL lines (for adding to an existing broker config)."""
    text = render_config(sec, acl_file)
    return text[text.index("listener ") :]
