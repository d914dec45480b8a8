"""`fednids analyze CAPTURE`: the whole chain over a small capture the test writes itself
(benign TCP and UDP flows plus a 200-port scan from one host), through the CLI entry point."""

from __future__ import annotations

import importlib.util
import io
import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contracts.events import AlertEvent
from fednids.analyze import AnalyzeError, prepare_out
from fednids.analyze_chain import ReplayClock
from fednids.cli import main

T0 = 1_700_000_000.0
SCANNER, VICTIM, SERVER, DNS = "10.9.0.66", "10.9.0.2", "10.9.0.2", "10.9.0.53"
CLIENTS = [f"10.9.0.{10 + i}" for i in range(5)]
SYN, RST, PSH, ACK, FIN = 0x02, 0x04, 0x08, 0x10, 0x01
SCAN_PORTS = range(1, 201)
VENV_FEDNIDS = Path(sys.executable).parent / "fednids"


def _eth_ip(src: str, dst: str, proto: int, l4: bytes, payload: int) -> tuple[bytes, int]:
    total = 20 + len(l4) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        total,
        0,
        0x4000,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
    return eth + ip + l4, 14 + total


def _tcp(src: str, dst: str, sport: int, dport: int, flags: int, payload: int = 0):
    l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, flags, 64240, 0, 0)
    return _eth_ip(src, dst, 6, l4, payload)


def _udp(src: str, dst: str, sport: int, dport: int, payload: int):
    return _eth_ip(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + payload, 0), payload)


def write_capture(path: Path, labels: Path) -> dict[str, int]:
    """Write the pcap and its labels CSV; return the packet and flow counts it holds."""
    frames: list[tuple[float, tuple[bytes, int], str]] = []
    t = T0
    for i, c in enumerate(CLIENTS * 2):  # 10 web sessions: handshake, request, reply, close
        sport = 40_000 + i
        for src, dst, sp, dp, fl, pay in (
            (c, SERVER, sport, 80, SYN, 0),
            (SERVER, c, 80, sport, SYN | ACK, 0),
            (c, SERVER, sport, 80, ACK, 0),
            (c, SERVER, sport, 80, PSH | ACK, 300),
            (SERVER, c, 80, sport, PSH | ACK, 1200),
            (c, SERVER, sport, 80, FIN | ACK, 0),
            (SERVER, c, 80, sport, FIN | ACK, 0),
            (c, SERVER, sport, 80, ACK, 0),
        ):
            t += 0.01
            frames.append((t, _tcp(src, dst, sp, dp, fl, pay), "benign"))
        t += 0.5
    for i in range(10):  # 10 DNS lookups
        t += 0.2
        frames.append((t, _udp(CLIENTS[i % 5], DNS, 50_000 + i, 53, 40), "benign"))
        frames.append((t + 0.01, _udp(DNS, CLIENTS[i % 5], 53, 50_000 + i, 120), "benign"))
    t += 1.0
    for port in SCAN_PORTS:  # a vertical SYN scan, answered by RST
        t += 0.005
        frames.append((t, _tcp(SCANNER, VICTIM, 61_000, port, SYN), "port_scan"))
        frames.append((t + 0.001, _tcp(VICTIM, SCANNER, port, 61_000, RST | ACK), "port_scan"))
    t += 2.0
    for i in range(5):  # benign traffic after the scan
        t += 0.3
        frames.append((t, _udp(CLIENTS[i], DNS, 52_000 + i, 53, 40), "benign"))
        frames.append((t + 0.01, _udp(DNS, CLIENTS[i], 53, 52_000 + i, 120), "benign"))
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, (data, wirelen), _ in frames:
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, round((ts - sec) * 1e6), len(data), wirelen))
            f.write(data)
    with labels.open("w") as f:
        f.write("index,label,attack\n")
        for i, (_, _, name) in enumerate(frames):
            f.write(f"{i},{0 if name == 'benign' else 1},{name}\n")
    flows = 10 + 10 + len(SCAN_PORTS) + 5  # one per TCP session, DNS lookup and scanned port
    return {"packets": len(frames), "flows": flows}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    d = tmp_path_factory.mktemp("cap")
    pcap, labels = d / "small.pcap", d / "small_labels.csv"
    return pcap, labels, write_capture(pcap, labels)


@pytest.fixture(scope="module")
def analyzed(capture, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One run of the whole chain through the CLI entry point (with labels when the scoring
    library is installed), shared by the tests that read its outputs."""
    pcap, labels, counts = capture
    out = tmp_path_factory.mktemp("out")
    scored = importlib.util.find_spec("models.eval.incidents") is not None
    argv = ["analyze", str(pcap), "--out", str(out), "--no-lstm", "--no-progress"]
    with pytest.MonkeyPatch.context() as mp:
        buf_out, buf_err = io.StringIO(), io.StringIO()
        mp.setattr(sys, "stdout", buf_out)
        mp.setattr(sys, "stderr", buf_err)
        code = main([*argv, "--labels", str(labels)] if scored else argv)
    return {
        "code": code,
        "out": out,
        "counts": counts,
        "scored": scored,
        "stdout": buf_out.getvalue(),
        "stderr": buf_err.getvalue(),
    }


def test_analyze_writes_incidents_report_and_summary(analyzed):  # type: ignore[no-untyped-def]
    # prepare: the module fixture ran the CLI once over the small capture
    out, counts = analyzed["out"], analyzed["counts"]

    # execute: read what it wrote
    summary = json.loads((out / "summary.json").read_text())
    incidents = [
        AlertEvent.model_validate_json(line)
        for line in (out / "incidents.jsonl").read_text().splitlines()
    ]
    report = (out / "report.html").read_text()

    # assert: the counts are the capture's, the scan is an incident naming the scanner
    assert analyzed["code"] == 0, analyzed["stderr"]
    assert summary["packets"] == counts["packets"]
    assert summary["flows"] == counts["flows"]
    assert summary["flows_stored"] == counts["flows"]
    assert summary["all_consumed"] is True
    assert summary["stage_errors"] == []
    assert summary["detections"] >= 1
    assert summary["detections_by_detector"].get("rules", 0) >= 1
    assert summary["incidents"] == len(incidents) >= 1
    assert len({a.incident_key for a in incidents}) == len(incidents)
    scans = [a for a in incidents if a.family == "scan"]
    assert scans, [a.title for a in incidents]
    assert any(SCANNER in (a.attackers or a.hosts) for a in scans)
    assert report.startswith("<!doctype html>") and "<svg" in report
    assert "http://" not in report.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert all(a.incident_key in report for a in incidents)


def test_analyze_writes_every_flow_and_incident_as_eve_json(analyzed):  # type: ignore[no-untyped-def]
    # prepare: the fixture's run (headers-only frames: no L7 metadata, tested in tests/unit/edge_agent)
    out, counts = analyzed["out"], analyzed["counts"]

    # execute
    records = [json.loads(line) for line in (out / "eve.json").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())

    # assert: one EVE flow record per flow, with Suricata's field names and a community id;
    # one alert per incident
    flows = [r for r in records if r["event_type"] == "flow"]
    alerts = [r for r in records if r["event_type"] == "alert"]
    assert len(flows) == counts["flows"]
    assert len(alerts) == summary["incidents"]
    assert summary["eve_records"]["flow"] == counts["flows"]
    for r in flows:
        assert {"timestamp", "src_ip", "src_port", "dest_ip", "dest_port", "proto"} <= r.keys()
        assert r["community_id"].startswith("1:")
        assert r["proto"] in {"TCP", "UDP", "ICMP"}
    assert all(a["alert"]["signature"] for a in alerts)


def test_analyze_prints_the_table_and_a_final_line(analyzed):  # type: ignore[no-untyped-def]
    # prepare / execute: what the fixture's run printed
    stdout, stderr = analyzed["stdout"], analyzed["stderr"]

    # assert: the table on stdout; on a non-terminal stderr only the final line
    assert "first seen (capture)" in stdout and "family" in stdout
    assert SCANNER in stdout
    assert stderr.strip().splitlines()[-1].startswith("fednids analyze: ")
    assert "reading [" not in stderr


def test_analyze_scores_with_labels(analyzed):  # type: ignore[no-untyped-def]
    # prepare
    if not analyzed["scored"]:
        pytest.skip("models.eval.incidents is not installed")
    out = analyzed["out"]

    # execute
    scores = json.loads((out / "scores.json").read_text())
    summary = json.loads((out / "summary.json").read_text())

    # assert: the capture's one attack is in the truth; the scores were printed
    assert scores["summary"]["attacks"] == 1
    assert scores["summary"]["incidents"] == summary["incidents"]
    assert "scores against the labels" in analyzed["stdout"]


def test_prepare_out_replaces_only_its_own_state(tmp_path):  # type: ignore[no-untyped-def]
    # prepare: a directory a previous analyze wrote, and one it did not
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    prepare_out(ours)
    (ours / "hub.db").write_text("old store")
    (ours / "agent").mkdir()
    (ours / "agent" / "baseline.json").write_text("{}")
    theirs.mkdir()
    (theirs / "hub.db").write_text("someone's database")

    # execute
    prepare_out(ours)
    with pytest.raises(AnalyzeError, match="did not write"):
        prepare_out(theirs)

    # assert: our old state is gone, theirs untouched
    assert not (ours / "hub.db").exists() and not (ours / "agent").exists()
    assert (theirs / "hub.db").read_text() == "someone's database"


def test_replay_clock_stands_still_while_the_hub_is_behind():  # type: ignore[no-untyped-def]
    # prepare: a clock whose "behind" switch the test flips
    behind = [False]
    clock = ReplayClock(lambda: behind[0])

    # execute: run, fall behind for a while, catch up
    t0 = clock()
    time.sleep(0.05)
    t1 = clock()
    behind[0] = True
    t2 = clock()
    time.sleep(0.1)
    t3 = clock()
    behind[0] = False
    t4 = clock()

    # assert: it runs when caught up, stands still when behind, resumes without a jump
    assert t1 - t0 >= 0.04
    assert t3 == t2
    assert 0 <= t4 - t3 < 0.05


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "no such file"), (b"", "not a pcap"), (b"GET / HTTP/1.1\r\n", "not a pcap")],
)
def test_bad_capture_is_one_line_and_exit_2(tmp_path, capsys, content, why):  # type: ignore[no-untyped-def]
    # prepare
    bad = tmp_path / "bad.pcap"
    if content is not None:
        bad.write_bytes(content)

    # execute
    code = main(["analyze", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()

    # assert
    assert code == 2
    assert len(err.splitlines()) == 1 and why in err and "Traceback" not in err


def test_directory_and_missing_labels_are_exit_2(capture, tmp_path, capsys):  # type: ignore[no-untyped-def]
    pcap, _, _ = capture
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o1")]) == 2
    assert "not a file" in capsys.readouterr().err
    missing = tmp_path / "nope.csv"
    assert (
        main(["analyze", str(pcap), "--labels", str(missing), "--out", str(tmp_path / "o2")]) == 2
    )
    assert "labels" in capsys.readouterr().err


def test_labels_that_do_not_fit_the_capture_are_refused_first(capture, tmp_path, capsys):  # type: ignore[no-untyped-def]
    # prepare: a labels file one row short
    pytest.importorskip("models.eval.incidents")
    pcap, labels, _ = capture
    short = tmp_path / "short.csv"
    short.write_text("".join(labels.read_text().splitlines(keepends=True)[:-1]))

    # execute
    code = main(["analyze", str(pcap), "--labels", str(short), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()

    # assert: refused before the run (no store written), in one line
    assert code == 2
    assert len(err.splitlines()) == 1 and "labels" in err
    assert not (tmp_path / "o" / "hub.db").exists()


def test_console_script_exit_code_on_bad_file(tmp_path):  # type: ignore[no-untyped-def]
    # prepare: a text file named like a capture
    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture\n")
    exe = [str(VENV_FEDNIDS)] if VENV_FEDNIDS.is_file() else [sys.executable, "-m", "fednids"]

    # execute
    proc = subprocess.run(
        [*exe, "analyze", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # assert
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "not a pcap" in proc.stderr and "Traceback" not in proc.stderr
