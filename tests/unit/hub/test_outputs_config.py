"""The outputs' file: the documented example parses, placeholders and bad values stop the
start with the field's name, secrets stay out of reprs, the CLI checks a file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.outputs.config import ConfigError, SplunkHecOutput, load_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "outputs.md"
MINIMAL = """
kafka_url = "memory://cfg"
[[output]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/x"
{extra}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outputs.toml"
    path.write_text(text)
    return path


def test_the_documented_example_is_a_valid_file(tmp_path: Path) -> None:
    # prepare: the first toml block of docs/outputs.md
    block = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    # execute
    cfg = load_config(_write(tmp_path, block.group(1)))
    # assert
    assert [o.type for o in cfg.outputs] == ["syslog", "webhook", "splunk_hec", "apprise", "kafka"]
    hec = cfg.outputs[2]
    assert isinstance(hec, SplunkHecOutput) and "a1b2" not in repr(hec)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('token = "CHANGE_ME"', r"placeholder .* outputs\[0\]\.token"),
        ('filter = { min_severity = "severe" }', "min_severity"),
        ("rate_limit = { per_minute = 0 }", "per_minute"),
        ("colour = 1", "colour"),
    ],
)
def test_bad_values_are_rejected_with_the_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, MINIMAL.format(extra=extra)))


def test_duplicate_names_and_bad_toml_are_rejected(tmp_path: Path) -> None:
    twice = MINIMAL.format(extra="") + MINIMAL.format(extra="").split('"memory://cfg"')[1]
    with pytest.raises(ConfigError, match="unique: hook"):
        load_config(_write(tmp_path, twice))
    with pytest.raises(ConfigError, match=r"outputs\.toml"):
        load_config(_write(tmp_path, "[[output]\n"))


def test_the_cli_checks_a_file(tmp_path: Path) -> None:
    good = _write(tmp_path, MINIMAL.format(extra=""))
    run = [sys.executable, "-m", "fednids.cli", "hub", "outputs", "--check", "--config"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=120, check=False)
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.format(extra='token = "changeme"'))
    no = subprocess.run([*run, str(bad)], capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "1 output(s) OK" in ok.stdout
    assert no.returncode == 2 and "placeholder" in no.stderr
