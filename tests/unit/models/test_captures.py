"""Real traffic as training data: a labelled capture the test builds (benign TCP/UDP flows
and a SYN scan) -> flows with the right labels and families, packet ranges, flow files, and
``fednids models train-iforest|train-classifier`` on it end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contracts import encode
from edge_agent.capture import write_pcap
from edge_agent.capture.frames import Frame, addr, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, FIN, PSH, RST, SYN
from fednids.cli import main
from models.classifier import ThreatClassifier
from models.errors import ModelError
from models.iforest import IForestModel
from models.training.captures import (
    DEFAULT_FAMILIES,
    family_of,
    parse_families,
    parse_range,
    read_capture,
    read_flow_file,
)

SCAN = "syn_scan_test"
OTHER = "mystery_attack"
SERVER, ATTACKER = addr("10.9.0.5"), addr("10.9.0.66")


def _benign(t: float, client: int) -> list[Frame]:
    c, s, sport = addr(f"10.9.0.{10 + client % 40}"), SERVER, 40000 + client
    return [
        tcp_frame(t, c, s, sport, 443, SYN),
        tcp_frame(t + 0.01, s, c, 443, sport, SYN | ACK),
        tcp_frame(t + 0.02, c, s, sport, 443, ACK),
        tcp_frame(t + 0.03, c, s, sport, 443, PSH | ACK, payload=300 + client % 7),
        tcp_frame(t + 0.05, s, c, 443, sport, PSH | ACK, payload=1200 + client % 11),
        tcp_frame(t + 0.06, c, s, sport, 443, FIN | ACK),
        tcp_frame(t + 0.07, s, c, 443, sport, FIN | ACK),
        udp_frame(t + 0.5, c, addr("10.9.0.1"), 50000 + client, 53, 40),
        udp_frame(t + 0.52, addr("10.9.0.1"), c, 53, 50000 + client, 90),
    ]


def _scan(t: float, port: int, name: str) -> list[Frame]:
    return [
        tcp_frame(t, ATTACKER, SERVER, 55555, port, SYN, label=name),
        tcp_frame(t + 0.001, SERVER, ATTACKER, port, 55555, RST | ACK, label=name),
    ]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """(pcap, labels CSV, index of the first attack packet): 80 benign clients, then a SYN
    scan of 60 ports and 12 probes of an attack no family table knows."""
    frames: list[Frame] = []
    for i in range(80):
        frames += _benign(1_700_000_000.0 + 2.0 * i, i)
    first_attack = len(frames)
    t = 1_700_000_000.0 + 200.0
    for p in range(1, 61):
        frames += _scan(t + 0.01 * p, p, SCAN)
    for p in range(1000, 1012):
        frames += _scan(t + 5.0 + 0.01 * p, p, OTHER)
    for i in range(80, 100):
        frames += _benign(t + 20.0 + 2.0 * i, i)
    d = tmp_path_factory.mktemp("cap")
    pcap, labels = d / "lab.pcap", d / "lab_labels.csv"
    write_pcap(pcap, frames)
    rows = ["index,label,attack"] + [
        f"{i},{0 if lab == 'benign' else 1},{lab}" for i, (_t, _d, _w, lab) in enumerate(frames)
    ]
    labels.write_text("\n".join(rows) + "\n")
    return pcap, labels, first_attack


def test_labelled_capture_gives_flows_with_their_attack_and_family(capture) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, _ = capture
    table = parse_families([f"{SCAN}=scan"])

    fs = read_capture(pcap, labels, families=table)

    by_label = fs.source["flows_per_label"]
    assert by_label == {"benign": 200, SCAN: 60, OTHER: 12}
    assert fs.source["flows_per_family"] == {"benign": 200, "scan": 60, "other": 12}
    assert {
        family_of(f.label, table) for f in fs.flows if f.dst_port <= 60 and f.src_ip == "10.9.0.66"
    } == {"scan"}
    assert family_of(OTHER, table) == "other" and family_of(None, table) == "benign"
    assert fs.source["md5"] and fs.source["file"] == "lab.pcap"
    assert fs.source["packets"] == [0, fs.source["packets_read"]]
    assert family_of(SCAN) == "other"  # not in the default table until the user adds it


def test_a_packet_range_reads_no_packet_past_its_end(capture) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, first_attack = capture

    fs = read_capture(pcap, labels, (0, first_attack))

    assert fs.source["packets"] == [0, first_attack]
    assert fs.source["flows_per_label"] == {"benign": 160}
    assert max(fs.last_packet) < first_attack and min(fs.first_packet) == 0
    tail = read_capture(pcap, labels, (first_attack, None))
    assert min(tail.first_packet) >= first_attack
    assert tail.source["flows_per_label"][SCAN] == 60


def test_bad_ranges_families_and_short_labels_are_refused(capture, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, _ = capture
    short = tmp_path / "short.csv"
    short.write_text("\n".join(labels.read_text().splitlines()[:50]) + "\n")

    with pytest.raises(ModelError, match="no label for packet 49"):
        read_capture(pcap, short)
    with pytest.raises(ModelError, match="the range needs 100"):
        read_capture(pcap, short, (0, 100))
    for bad in ("x:3", "5:2", "7", "-1:4"):
        with pytest.raises(ModelError):
            parse_range(bad)
    assert parse_range("10:") == (10, None) and parse_range("0:22472") == (0, 22472)
    with pytest.raises(ModelError, match="family must be one of"):
        parse_families(["x=nonsense"])
    with pytest.raises(ModelError, match="NAME=FAMILY"):
        parse_families(["x"])
    assert DEFAULT_FAMILIES["synflood_first5000"] == "dos"


def test_flow_files_json_lines_and_rejects(capture, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, _ = capture
    flows = read_capture(pcap, labels).flows
    path = tmp_path / "flows.jsonl"
    lines = [encode(f).decode() for f in flows] + ["{not json", ""]
    path.write_text("\n".join(lines) + "\n")

    fs = read_flow_file(path)

    assert len(fs.flows) == len(flows) and fs.source["lines_rejected"] == 1
    assert fs.source["kind"] == "flow_jsonl"
    assert [f.features for f in fs.flows] == [f.features for f in flows]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ModelError, match="no flow records"):
        read_flow_file(empty)


def test_the_agents_flow_store_is_a_flow_file(capture, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edge_agent.flows.store import FlowStore

    pcap, labels, _ = capture
    flows = read_capture(pcap, labels).flows
    store = FlowStore(tmp_path / "store.db")
    store.add(flows[:30])
    store.add(flows[30:40], flagged_hosts={f.src_ip for f in flows[30:40]})
    store.close()

    fs = read_flow_file(tmp_path / "store.db")

    assert fs.source["kind"] == "flow_store"
    kept = [f for f in flows[30:40] if f.src_ip not in {g.src_ip for g in flows[30:40]}]
    assert len(fs.flows) == 30 + len(kept)
    assert fs.source["flagged_rows_left_out"] == 10 - len(kept)
    assert np.allclose(fs.flows[0].features, np.float32(flows[0].features))


def test_train_iforest_on_the_capture_end_to_end(capture, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, first_attack = capture
    out = tmp_path / "if"

    rc = main(
        [
            "models",
            "train-iforest",
            "--out",
            str(out),
            "--sim-seconds",
            "0",
            "--capture",
            str(pcap),
            "--labels",
            str(labels),
            "--packets",
            f"0:{first_attack}",
        ]
    )

    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    model = IForestModel.load(out)
    (src,) = model.meta["training_data"]
    assert printed["training_data"] == model.meta["training_data"]
    assert src["kind"] == "capture" and src["file"] == "lab.pcap"
    assert src["packets"] == [0, first_attack] and src["flows_per_label"] == {"benign": 160}
    assert src["benign_flows_used"] == 160 and len(src["md5"]) == 32
    scan = [f for f in read_capture(pcap, labels).flows if f.label == SCAN]
    flagged = model.score(np.asarray([f.features for f in scan])) > model.threshold
    assert flagged.mean() > 0.5


def test_train_iforest_on_a_flow_file_leaves_attack_flows_out(capture, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, _ = capture
    path = tmp_path / "agent_flows.jsonl"
    path.write_text("".join(encode(f).decode() + "\n" for f in read_capture(pcap, labels).flows))

    rc = main(
        [
            *("models", "train-iforest", "--out", str(tmp_path / "if")),
            *("--sim-seconds", "0", "--flows", str(path)),
        ]
    )

    assert rc == 0
    (src,) = json.loads(capsys.readouterr().out)["training_data"]
    assert src["kind"] == "flow_jsonl" and src["file"] == "agent_flows.jsonl"
    assert src["flows"] == 272 and src["benign_flows_used"] == 200
    assert IForestModel.load(tmp_path / "if").meta["training_data"] == [src]


def test_train_classifier_on_the_capture_end_to_end(capture, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    pcap, labels, _ = capture
    out = tmp_path / "clf"

    rc = main(
        [
            "models",
            "train-classifier",
            "--out",
            str(out),
            "--seeds",
            "0",
            "--max-iter",
            "15",
            "--iforest",
            str(tmp_path / "none"),
            "--capture",
            str(pcap),
            "--labels",
            str(labels),
            "--family",
            f"{SCAN}=scan",
        ]
    )

    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    clf = ThreatClassifier.load(out)
    (src,) = clf.meta["training_data"]
    assert printed["training_data"] == clf.meta["training_data"]
    assert src["flows_used_per_family"] == {"benign": 200, "scan": 60, "other": 12}
    assert set(clf.classes) == {"benign", "scan", "other"}
    assert printed["recall"]["scan"] > 0.8


def test_the_cli_refuses_a_capture_without_labels(capture, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    pcap, _labels, _ = capture

    rc = main(["models", "train-iforest", "--out", str(tmp_path / "x"), "--capture", str(pcap)])

    assert rc == 2 and "--labels" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["models", "train-iforest", "--labels", "x.csv"])
