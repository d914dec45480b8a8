"""Labelled flows with detector votes from the simulator, for the threat classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contracts.events import FlowRecord
from edge_agent.capture import open_source
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine
from models.classifier import SIM_FAMILY, VOTES

LSTM_DIR = Path(__file__).with_name("artifacts") / "lstm-ae"
IFOREST_DIR = Path(__file__).with_name("artifacts") / "iforest"


def labelled_flows(
    seeds: range, per_family: int = 3000, duration: float = 400.0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, votes, families) from mixed simulated scenarios, capped per family."""
    from edge_agent.detectors.lstm import LstmDetector
    from models.iforest import IForestModel

    lstm = LstmDetector.load(LSTM_DIR) if (LSTM_DIR / "model.tflite").is_file() else None
    forest = IForestModel.load(IFOREST_DIR) if (IFOREST_DIR / "model.joblib").is_file() else None
    rows: list[tuple[list[float], list[float], str]] = []
    counts: dict[str, int] = {}
    rng = np.random.default_rng(0)
    for seed in seeds:
        engine = RuleEngine()
        pipe = Pipeline("train", [engine])
        votes_of: dict[str, list[float]] = {}

        def hook(
            _flow: object,
            rec: FlowRecord,
            engine: RuleEngine = engine,
            votes_of: dict[str, list[float]] = votes_of,
        ) -> None:
            v = dict.fromkeys(VOTES, 0.0)
            v["rules"] = 1.0 if engine.last_matches else 0.0
            if lstm is not None:
                v["lstm"] = 1.0 if lstm.on_flow(rec) else 0.0
            votes_of[rec.flow_id + rec.src_ip] = [v[k] for k in VOTES]

        pipe.on_flow_end = hook
        src = open_source(
            f"sim:mixed?seed={seed}&hosts=16&duration={duration}&net=10.{seed % 250}.0"
        )
        flows = [e for p in src if p is not None for e in pipe.feed(p) if isinstance(e, FlowRecord)]
        flows += [e for e in pipe.close() if isinstance(e, FlowRecord)]
        rng.shuffle(flows)  # type: ignore[arg-type]
        for f in flows:
            fam = SIM_FAMILY.get(f.label or "benign", "other")
            if counts.get(fam, 0) >= per_family:
                continue
            counts[fam] = counts.get(fam, 0) + 1
            rows.append((f.features, votes_of.get(f.flow_id + f.src_ip, [0.0] * len(VOTES)), fam))
    feats = np.asarray([r[0] for r in rows])
    votes = np.asarray([r[1] for r in rows])
    if forest is not None:
        votes[:, VOTES.index("iforest")] = (forest.score(feats) > forest.threshold).astype(float)
    return feats, votes, [r[2] for r in rows]
