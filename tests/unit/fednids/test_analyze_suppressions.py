"""``fednids analyze --suppressions FILE``: the small capture of test_analyze.py (benign flows
and a 200-port scan) with a file that suppresses the scanner. The scan's incidents are marked
and counted, kept in incidents.jsonl, left out of the table and eve.json; expired and deleted
entries are skipped and counted; a bad file is refused with exit code 2 before any work."""

from __future__ import annotations

import io
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.events import AlertEvent
from fednids.analyze_suppressions import SuppressionFileError, load_suppressions
from fednids.cli import main
from tests.unit.fednids.test_analyze import SCANNER, write_capture


def _run(argv: list[str]) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        out, err = io.StringIO(), io.StringIO()
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _iso(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def suppressed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("sup")
    pcap, labels = d / "small.pcap", d / "small_labels.csv"
    write_capture(pcap, labels)
    rules = d / "suppressions.json"
    rules.write_text(json.dumps({"items": [  # the shape GET /api/suppressions answers
        {"match": {"attacker": SCANNER}, "reason": "the lab's own scanner", "expires_at": _iso(7),
         "id": "x", "author": "alice (operator)", "state": "active", "hits": 0},
        {"match": {"family": "dos"}, "reason": "old", "expires_at": _iso(-1)},
        {"match": {"node_id": "capture"}, "reason": "gone", "deleted_at": _iso(-2)},
    ]}))  # fmt: skip
    out = d / "out"
    base = ["analyze", str(pcap), "--no-lstm", "--no-progress"]
    code, stdout, stderr = _run([*base, "--out", str(out), "--suppressions", str(rules)])
    return {"code": code, "out": out, "stdout": stdout, "stderr": stderr}


def test_the_scan_is_marked_counted_and_kept_out_of_table_and_eve(suppressed_run) -> None:  # type: ignore[no-untyped-def]
    # prepare: the fixture's run with a file that suppresses the scanner
    out = suppressed_run["out"]
    assert isinstance(out, Path)
    # execute
    summary = json.loads((out / "summary.json").read_text())
    stored = [AlertEvent.model_validate_json(x) for x in (out / "incidents.jsonl").read_text().splitlines()]  # fmt: skip
    eve = [json.loads(x) for x in (out / "eve.json").read_text().splitlines()]
    # assert: the scan incidents exist, are marked, counted, and not exported nor printed
    assert suppressed_run["code"] == 0, suppressed_run["stderr"]
    marked = [a for a in stored if a.suppressed_by is not None]
    assert marked and all(SCANNER in a.attackers for a in marked)
    sup = summary["suppressions"]
    assert (sup["in_file"], sup["applied"], sup["skipped_expired"], sup["skipped_deleted"]) == (3, 1, 1, 1)  # fmt: skip
    assert summary["incidents_suppressed"] == sup["incidents_suppressed"] == len(marked)
    assert summary["incidents"] == len(stored) - len(marked)
    assert summary["eve_suppressed"] == len(marked)
    (row,) = sup["by_suppression"]
    assert row["reason"] == "the lab's own scanner" and row["incidents"] == len(marked)
    assert row["hits"] == sup["detections_suppressed"] >= 1
    eve_keys = {r["alert"]["context"]["fednids"]["incident_key"] for r in eve if r["event_type"] == "alert"}  # fmt: skip
    assert not eve_keys & {a.incident_key for a in marked}
    assert summary["eve_records"].get("alert", 0) == summary["incidents"]
    assert f"{len(marked)} more suppressed by" in str(suppressed_run["stdout"])
    table = str(suppressed_run["stdout"]).split("\n\n")[0]
    assert SCANNER not in table


def test_a_toml_file_and_a_plain_list_load(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        '[[suppressions]]\nmatch = { rule_id = "scan-vertical" }\nreason = "known"\n'
        'expires_at = "2030-01-01T00:00:00Z"\n'
    )
    listed = tmp_path / "s.json"
    listed.write_text(json.dumps([{"match": {"target": "10.0.0.0/24"}, "reason": "lab"}]))
    (a,) = load_suppressions(toml)
    (b,) = load_suppressions(listed)
    assert a.match.rule_id == "scan-vertical" and a.status(time.time()) == "active"
    assert b.match.target == "10.0.0.0/24" and b.expires_at is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not valid JSON"),
        ('{"rules": []}', "'suppressions' or 'items'"),
        ('[{"match": {}, "reason": "x"}]', "at least one field"),
        ('[{"match": {"attacker": "not-an-ip"}, "reason": "x"}]', "not a host address or CIDR"),
        ('[{"match": {"family": "scan"}, "reason": "x", "severity": "low"}]', "severity"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, why: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(SuppressionFileError, match=why):
        load_suppressions(bad)


def test_the_cli_refuses_a_bad_file_before_reading_the_capture(tmp_path: Path) -> None:
    pcap, labels = tmp_path / "c.pcap", tmp_path / "c.csv"
    write_capture(pcap, labels)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"match": {"family": "scan"}}]')
    out = tmp_path / "o"
    code, _, stderr = _run(["analyze", str(pcap), "--out", str(out), "--suppressions", str(bad)])
    assert code == 2
    assert "suppressions:" in stderr and "reason" in stderr and "Traceback" not in stderr
    assert not out.exists()
