"""An installed ``fednids provision`` works without a checkout: the templates it renders are
package data in the wheel, found through importlib.resources (issue 14 item 5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from provisioning.resources import missing_templates, shipped_templates

ROOT = Path(__file__).resolve().parents[3]


def _source_copy(dest: Path) -> Path:
    """What the wheel is built from (pyproject, README, the packages), so the build writes
    nothing into the checkout (setuptools keeps a ``build/`` beside ``pyproject.toml``)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for pattern in meta["tool"]["setuptools"]["packages"]["find"]["include"]:
        pkg = pattern.rstrip("*")
        if (ROOT / pkg).is_dir():
            shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_shipped_templates_are_complete() -> None:
    assert missing_templates(shipped_templates()) == []


@pytest.mark.slow
def test_wheel_provisions_a_node_outside_the_checkout(tmp_path: Path) -> None:
    # prepare: build the wheel and unpack it (an install without the checkout on sys.path)
    wheels, site, work = tmp_path / "whl", tmp_path / "site", tmp_path / "elsewhere"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(_source_copy(tmp_path / "src")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("fednids-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    # execute: `fednids provision` from a directory that is not the checkout
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, provisioning; print(provisioning.__file__, file=sys.stderr);"
            "from fednids.cli import main; sys.exit(main(sys.argv[1:]))",
            "provision",
            "--node-id",
            "pi-wheel-1",
            "--out",
            "bundle",
            "--ca-dir",
            "ca",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # assert: it ran from the unpacked wheel and rendered every file
    assert res.returncode == 0, res.stderr
    assert str(site) in res.stderr.splitlines()[0]
    user_data = (work / "bundle" / "cloud-init" / "raspios-bookworm" / "user-data").read_text()
    assert "/etc/systemd/system/fednids-agent.service" in user_data
    assert (work / "bundle" / "certs" / "node.crt").is_file()
