"""benchmarks/common.py: the result file every benchmark writes and the small helpers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np

from benchmarks.common import (
    Timer,
    add_json_arg,
    free_port,
    git_commit,
    percentiles,
    rss_kb,
    write_result,
)


def test_write_result_makes_parents_and_adds_the_machine_block(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "out.json"

    text = write_result(path, {"rows": 3})

    written = json.loads(path.read_text())
    assert written == json.loads(text)
    assert written["rows"] == 3
    machine = written["machine"]
    assert machine["cpus"] >= 1
    assert len(machine["load_average_at_start"]) == 3
    assert len(machine["load_average_at_end"]) == 3
    assert machine["python"] and machine["platform"] and machine["timestamp"]
    assert machine["peak_rss_mb"] > 0


def test_write_result_keeps_a_benchmarks_own_machine_keys(tmp_path: Path) -> None:
    own = {"machine": {"python": "mine", "note": "kept"}}
    text = write_result(None, own)

    out = json.loads(text)
    assert out["machine"]["python"] == "mine"
    assert out["machine"]["note"] == "kept"
    assert "load_average_at_end" in out["machine"]
    assert own == {"machine": {"python": "mine", "note": "kept"}}  # the input is not changed
    assert list(tmp_path.iterdir()) == []


def test_write_result_moves_the_block_beside_a_machine_string() -> None:
    out = json.loads(write_result(None, {"machine": "x86_64"}))

    assert out["machine"] == "x86_64"
    assert "cpus" in out["machine_block"]


def test_write_result_default_serialises_what_json_cannot(tmp_path: Path) -> None:
    out = json.loads(write_result(tmp_path / "r.json", {"p": Path("/a")}, default=str))

    assert out["p"] == "/a"


def test_git_commit_is_none_outside_a_checkout(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None


def test_percentiles_match_numpy_and_are_none_when_empty() -> None:
    values = [float(v) for v in range(1, 101)] + [1000.0]

    got = percentiles(values, suffix="_ms")

    assert list(got) == ["p50_ms", "p95_ms", "p99_ms"]
    for q in (50, 95, 99):
        assert got[f"p{q}_ms"] == round(float(np.percentile(values, q)), 1)
    assert percentiles([], (50, 99)) == {"p50": None, "p99": None}


def test_free_port_can_be_bound() -> None:
    port = free_port()

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert 0 < port < 65536


def test_timer_and_rss() -> None:
    with Timer() as t:
        sum(range(10_000))

    assert t.seconds > 0
    assert rss_kb(None) == 0
    assert rss_kb(2**31 - 1) == 0  # no such process


def test_json_option(tmp_path: Path) -> None:
    import argparse

    ap = argparse.ArgumentParser()
    add_json_arg(ap)

    assert ap.parse_args(["--json", str(tmp_path / "x.json")]).json == tmp_path / "x.json"
    assert ap.parse_args([]).json is None
