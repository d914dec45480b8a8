"""Labelled flows with detector votes, for the threat classifier: from the simulator, from
labelled captures and from the agent's flow files (see :mod:`models.training.captures`).

The votes are those a sensor and the hub would cast on the same flow: the edge rules (run in
the agent's pipeline), the edge LSTM (when its artifact is there) and the hub's Isolation
Forest (the shipped artifact, when there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contracts.events import FlowRecord
from edge_agent.capture import open_source
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine
from models.classifier import VOTES
from models.paths import artifact_dir
from models.training.captures import DEFAULT_FAMILIES, FlowSet, family_of, read_capture

LSTM_DIR = artifact_dir("lstm-ae")
IFOREST_DIR = artifact_dir("iforest")


class EdgeVoter:
    """The edge votes of each finished flow: ``rules`` (the rule engine, which must see the
    flow first: put :attr:`engine` in the pipeline, or call :meth:`replay`) and ``lstm``."""

    def __init__(self, lstm_dir: Path = LSTM_DIR) -> None:
        from edge_agent.detectors.lstm import LstmDetector

        self.engine = RuleEngine()
        self.lstm = LstmDetector.load(lstm_dir) if (lstm_dir / "model.tflite").is_file() else None
        self.votes: dict[str, list[float]] = {}

    def hook(self, rec: FlowRecord) -> None:
        v = dict.fromkeys(VOTES, 0.0)
        v["rules"] = 1.0 if self.engine.last_matches else 0.0
        if self.lstm is not None:
            v["lstm"] = 1.0 if self.lstm.on_flow(rec) else 0.0
        self.votes[str(rec.event_id)] = [v[k] for k in VOTES]

    def replay(self, flows: Sequence[FlowRecord]) -> None:
        """Vote on flows read from a file (the rule engine sees them in order first)."""
        for rec in flows:
            self.engine.on_flow(rec)
            self.hook(rec)

    def of(self, flows: Sequence[FlowRecord]) -> np.ndarray:
        zero = [0.0] * len(VOTES)
        return np.asarray([self.votes.get(str(f.event_id), zero) for f in flows]).reshape(
            len(flows), len(VOTES)
        )


def _cap(
    flows: Sequence[FlowRecord],
    per_family: int,
    families: Mapping[str, str],
    rng: np.random.Generator,
    counts: dict[str, int],
) -> list[tuple[FlowRecord, str]]:
    order = rng.permutation(len(flows))
    out = []
    for i in order:
        f = flows[int(i)]
        fam = family_of(f.label, families)
        if counts.get(fam, 0) >= per_family:
            continue
        counts[fam] = counts.get(fam, 0) + 1
        out.append((f, fam))
    return out


def _iforest_votes(feats: np.ndarray, votes: np.ndarray, iforest_dir: Path) -> np.ndarray:
    from models.iforest import IForestModel

    if len(feats) and (iforest_dir / "model.joblib").is_file():
        forest = IForestModel.load(iforest_dir)
        votes[:, VOTES.index("iforest")] = (forest.score(feats) > forest.threshold).astype(float)
    return votes


def labelled_flows(
    seeds: range,
    per_family: int = 3000,
    duration: float = 400.0,
    iforest_dir: Path = IFOREST_DIR,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, votes, families) from mixed simulated scenarios, capped per family."""
    x, v, fams, _src = simulated_flows(seeds, per_family, duration, iforest_dir)
    return x, v, fams


def simulated_flows(
    seeds: range,
    per_family: int = 3000,
    duration: float = 400.0,
    iforest_dir: Path = IFOREST_DIR,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """:func:`labelled_flows` plus the description of the data for the artifact's metadata."""
    rows: list[tuple[FlowRecord, str]] = []
    votes: list[np.ndarray] = []
    counts: dict[str, int] = {}
    rng = np.random.default_rng(0)
    specs = []
    for seed in seeds:
        voter = EdgeVoter()
        pipe = Pipeline("train", [voter.engine])
        pipe.on_flow_end = lambda _flow, rec, voter=voter: voter.hook(rec)  # type: ignore[misc]
        spec = f"sim:mixed?seed={seed}&hosts=16&duration={duration}&net=10.{seed % 250}.0"
        specs.append(spec)
        src = open_source(spec)
        flows = [e for p in src if p is not None for e in pipe.feed(p) if isinstance(e, FlowRecord)]
        flows += [e for e in pipe.close() if isinstance(e, FlowRecord)]
        kept = _cap(flows, per_family, DEFAULT_FAMILIES, rng, counts)
        rows += kept
        votes.append(voter.of([f for f, _ in kept]))
    feats = np.asarray([f.features for f, _ in rows]).reshape(len(rows), -1)
    v = _iforest_votes(feats, np.vstack(votes) if votes else np.zeros((0, len(VOTES))), iforest_dir)
    source = {
        "kind": "simulator",
        "specs": specs,
        "per_family_cap": per_family,
        "flows": len(rows),
        "flows_per_family": dict(sorted(counts.items())),
    }
    return feats, v, [fam for _, fam in rows], source


def capture_flows(
    pcap: Path,
    labels: Path | None,
    packets: tuple[int, int | None] | None = None,
    *,
    families: Mapping[str, str] = DEFAULT_FAMILIES,
    per_family: int = 3000,
    iforest_dir: Path = IFOREST_DIR,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """(features, votes, families, source) of a labelled capture, capped per family."""
    voter = EdgeVoter()
    fs = read_capture(
        pcap, labels, packets, families=families, detectors=[voter.engine], on_flow=voter.hook
    )
    return _finish(fs, voter, families, per_family, iforest_dir)


def file_flows(
    fs: FlowSet,
    *,
    families: Mapping[str, str] = DEFAULT_FAMILIES,
    per_family: int = 3000,
    iforest_dir: Path = IFOREST_DIR,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """(features, votes, families, source) of flows read from a file, capped per family."""
    voter = EdgeVoter()
    voter.replay(fs.flows)
    return _finish(fs, voter, families, per_family, iforest_dir)


def _finish(
    fs: FlowSet,
    voter: EdgeVoter,
    families: Mapping[str, str],
    per_family: int,
    iforest_dir: Path,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    counts: dict[str, int] = {}
    kept = _cap(fs.flows, per_family, families, np.random.default_rng(0), counts)
    feats = np.asarray([f.features for f, _ in kept]).reshape(len(kept), -1)
    votes = _iforest_votes(feats, voter.of([f for f, _ in kept]), iforest_dir)
    source = fs.source | {"per_family_cap": per_family, "flows_used_per_family": counts}
    return feats, votes, [fam for _, fam in kept], source
