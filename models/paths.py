"""Where the shipped model artifacts are: ``models/artifacts/<name>``, found through
:mod:`importlib.resources` so that an installed package (no checkout) finds them too.

Standard library only (no sklearn, no torch, nothing of the edge): the hub's settings
import it for their defaults.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from models.errors import ModelError

ARTIFACTS = ("classifier", "gnn", "iforest", "lstm-ae")


def artifact_dir(name: str) -> Path:
    """The directory of the shipped artifact ``name`` (one of :data:`ARTIFACTS`).

    setuptools installs package data as plain files, so the resource is a real directory;
    a zipped install (no directory on disk) is refused with a clear error."""
    if name not in ARTIFACTS:
        raise ModelError(f"no shipped artifact {name!r}; known: {', '.join(ARTIFACTS)}")
    res = files("models") / "artifacts" / name
    if not isinstance(res, Path):
        raise ModelError(f"models/artifacts/{name} is not on a file system ({res!r})")
    return res
