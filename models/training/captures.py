"""Training data from real traffic: a labelled capture or a flow file -> :class:`FlowRecord` s.

* A **labelled capture** is a pcap/pcapng plus a per-packet labels CSV (header
  ``index,label,attack``, one row per frame, as ``make_replay_bench.py`` writes it), optionally
  cut to a half-open packet range ``[A, B)``. The flows are built by the edge agent's own
  :class:`~edge_agent.pipeline.Pipeline`, so their features are exactly what a sensor computes;
  a flow is an attack when any of its packets is (it carries that attack's name), else benign.
  Only the packets inside the range are read: nothing after ``B`` reaches a flow.
* A **flow file** made by the agent: JSON lines of :class:`FlowRecord` (one event, or one
  batch, per line, as ``contracts.encode`` / ``encode_batch`` write them), or the agent's
  flow store (``--flow-store``, SQLite): there, flows of hosts a detector flagged at the time
  are left out and the others count as benign.

Attack names map to families through an explicit table (:data:`DEFAULT_FAMILIES`, extended
with ``name=family`` pairs); an unknown name is ``other``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.events import ATTACK_FAMILIES, FlowRecord
from edge_agent.capture.sim import SCENARIO_FAMILY
from models.errors import ModelError

BENIGN = "benign"
REPLAY_FAMILY: dict[str, str] = {
    "nmap_80_all": "scan",
    "masscan_tcp": "scan",
    "icmp_portscan": "scan",
    "telnet_botnet": "botnet",
    "synflood_first5000": "dos",
}
"""The attacks of the shared replay bench (make_replay_bench.py ATTACKS) -> family."""
DEFAULT_FAMILIES: dict[str, str] = {**SCENARIO_FAMILY, **REPLAY_FAMILY}
"""Attack name -> family. Extend it with ``--family name=family`` (repeatable)."""

FlowHook = Callable[[FlowRecord], None]


@dataclass
class FlowSet:
    """Flows from one source, in the order they ended, and what they were made from."""

    flows: list[FlowRecord]
    source: dict[str, Any]
    first_packet: list[int] = field(default_factory=list)
    """For a capture: the index of each flow's first packet (in the whole file)."""
    last_packet: list[int] = field(default_factory=list)
    """For a capture: the packet being read when the flow ended (none of its packets is later)."""


def family_of(label: str | None, table: Mapping[str, str] = DEFAULT_FAMILIES) -> str:
    """A flow label's family: ``benign`` for no label, the table's entry, else ``other``."""
    if label is None or label == BENIGN:
        return BENIGN
    return table.get(label, "other")


def parse_families(
    pairs: Iterable[str], base: Mapping[str, str] = DEFAULT_FAMILIES
) -> dict[str, str]:
    """``["name=family", ...]`` on top of ``base``; raises :class:`ModelError` on a bad pair."""
    table = dict(base)
    for pair in pairs:
        name, sep, fam = pair.partition("=")
        name, fam = name.strip(), fam.strip()
        if not sep or not name:
            raise ModelError(f"--family {pair!r}: expected NAME=FAMILY")
        if fam not in ATTACK_FAMILIES:
            raise ModelError(
                f"--family {pair!r}: family must be one of {', '.join(ATTACK_FAMILIES)}"
            )
        table[name] = fam
    return table


def parse_range(text: str) -> tuple[int, int | None]:
    """``A:B`` -> packets ``[A, B)``; ``A:`` runs to the end. Raises :class:`ModelError`."""
    a, sep, b = text.partition(":")
    try:
        lo = int(a) if a.strip() else 0
        hi = int(b) if b.strip() else None
    except ValueError:
        raise ModelError(f"--packets {text!r}: expected A:B (packet indices, B excluded)") from None
    if not sep or lo < 0 or (hi is not None and hi <= lo):
        raise ModelError(f"--packets {text!r}: expected A:B with 0 <= A < B (B excluded)")
    return lo, hi


def md5_of(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _counts(flows: Sequence[FlowRecord], table: Mapping[str, str]) -> dict[str, Any]:
    labels = Counter(f.label or BENIGN for f in flows)
    fams = Counter(family_of(f.label, table) for f in flows)
    return {
        "flows": len(flows),
        "flows_per_label": dict(sorted(labels.items())),
        "flows_per_family": dict(sorted(fams.items())),
    }


def read_labels_csv(path: Path) -> list[str]:
    """Per-frame labels (attack name or ``benign``), the agent's own reader."""
    from edge_agent.capture import read_labels
    from edge_agent.capture.errors import CaptureError

    try:
        return read_labels(str(path))
    except CaptureError as exc:
        raise ModelError(str(exc)) from exc


def read_capture(
    pcap: Path,
    labels: Path | None,
    packets: tuple[int, int | None] | None = None,
    *,
    node_id: str = "capture",
    families: Mapping[str, str] = DEFAULT_FAMILIES,
    detectors: Sequence[Any] = (),
    on_flow: FlowHook | None = None,
) -> FlowSet:
    """Replay ``pcap`` (frames ``[A, B)`` of ``packets``) through the agent's pipeline.

    ``labels`` must cover every frame read (``None``: every flow is unlabelled, i.e. benign).
    ``detectors`` run inside the pipeline as on a sensor; ``on_flow`` sees each finished
    record after them (for detector votes)."""
    from edge_agent.capture.errors import CaptureError
    from edge_agent.capture.packet import ParseStats, parse_frame
    from edge_agent.capture.pcap import PcapSource
    from edge_agent.flows.flow import Flow
    from edge_agent.pipeline import Pipeline

    names = read_labels_csv(labels) if labels is not None else None
    lo, hi = packets or (0, None)
    if names is not None and len(names) < (hi if hi is not None else 0):
        raise ModelError(f"{labels}: {len(names)} label rows, the range needs {hi}")
    stats = ParseStats()
    pipe = Pipeline(node_id, list(detectors), parse_stats=stats)
    table = pipe.table
    current = [lo]
    first: dict[str, int] = {}
    last: dict[str, int] = {}

    def hook(flow: Flow, rec: FlowRecord) -> None:
        if flow.tag < 0:  # the flow ended on its first packet
            flow.tag = current[0]
        first[str(rec.event_id)] = flow.tag
        last[str(rec.event_id)] = current[0]
        if on_flow is not None:
            on_flow(rec)

    pipe.on_flow_end = hook
    events = []
    read = 0
    try:
        src = PcapSource(pcap)
        for i, (linktype, ts, wirelen, data) in enumerate(src.frames()):
            if i < lo:
                continue
            if hi is not None and i >= hi:
                break
            if names is not None and i >= len(names):
                raise ModelError(f"{labels}: no label for packet {i} of {pcap}")
            read += 1
            current[0] = i
            pkt = parse_frame(data, linktype, ts, wirelen, stats, names[i] if names else None)
            if pkt is None:
                continue
            events += pipe.feed(pkt)
            flow = table.last
            if flow is not None and flow.tag < 0:
                flow.tag = i
    except CaptureError as exc:
        raise ModelError(str(exc)) from exc
    events += pipe.close()
    flows = [e for e in events if isinstance(e, FlowRecord)]
    source: dict[str, Any] = {
        "kind": "capture",
        "file": pcap.name,
        "md5": md5_of(pcap),
        "labels_file": labels.name if labels is not None else None,
        "labels_md5": md5_of(labels) if labels is not None else None,
        "packets": [lo, lo + read],
        "packets_read": read,
        "frames_skipped": dict(stats.skipped),
        **_counts(flows, families),
    }
    return FlowSet(
        flows,
        source,
        [first.get(str(f.event_id), -1) for f in flows],
        [last.get(str(f.event_id), -1) for f in flows],
    )


_SQLITE = b"SQLite format 3\x00"
_NO_ADDR = "0.0.0.0"  # noqa: S104 - a placeholder address, nothing binds to it


def read_flow_file(path: Path, families: Mapping[str, str] = DEFAULT_FAMILIES) -> FlowSet:
    """Flows the agent wrote: JSON lines of FlowRecord (or batches), or its SQLite flow store."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ModelError(f"flow file {path}: {exc}") from exc
    if head == _SQLITE:
        flows, skipped = _read_flow_store(path)
        kind, extra = "flow_store", {"flagged_rows_left_out": skipped}
    else:
        flows, bad = _read_jsonl(path)
        kind, extra = "flow_jsonl", {"lines_rejected": bad}
    if not flows:
        raise ModelError(f"flow file {path}: no flow records in it")
    source = {
        "kind": kind,
        "file": path.name,
        "md5": md5_of(path),
        "unlabelled_flows": sum(f.label is None for f in flows),
        **extra,
        **_counts(flows, families),
    }
    return FlowSet(flows, source)


def _read_jsonl(path: Path) -> tuple[list[FlowRecord], int]:
    from contracts.codec import decode_batch
    from contracts.errors import ContractError

    flows: list[FlowRecord] = []
    bad = 0
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                events = decode_batch(line.strip())
            except ContractError:
                bad += 1
                continue
            flows += [e for e in events if isinstance(e, FlowRecord)]
    return flows, bad


def _read_flow_store(path: Path) -> tuple[list[FlowRecord], int]:
    """The agent's flow store keeps (source, end time, features, flagged) only: the other
    fields of the records are placeholders; flagged rows are left out."""
    import numpy as np

    from contracts.features import FLOW_FEATURES

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT id, src_ip, end_ts, features, flagged FROM flows ORDER BY id"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise ModelError(f"flow store {path}: {exc}") from exc
    flows: list[FlowRecord] = []
    flagged = 0
    for rid, src, end, blob, flag in rows:
        if flag:
            flagged += 1
            continue
        feats = np.frombuffer(blob, dtype=np.float32)
        if len(feats) != len(FLOW_FEATURES) or not np.isfinite(feats).all():
            continue
        flows.append(
            FlowRecord(
                node_id="flow-store",
                flow_id=f"store-{rid}",
                src_ip=str(src)[:64] or _NO_ADDR,
                dst_ip=_NO_ADDR,
                src_port=0,
                dst_port=0,
                proto=0,
                start_ts=float(end),
                end_ts=float(end),
                end_reason="flush",
                features=[float(x) for x in feats],
                label=BENIGN,
            )
        )
    return flows, flagged
