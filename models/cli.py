"""``fednids models ...``: rebuild the default artifacts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.events import FlowRecord

DEFAULT_OUT = Path(__file__).with_name("artifacts") / "lstm-ae"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("models", help="train and export models")
    msub = p.add_subparsers(dest="models_cmd", required=True)
    t = msub.add_parser(
        "train", help="train the LSTM autoencoder on simulated benign traffic, export int8 TFLite"
    )
    t.add_argument("--out", type=Path, default=DEFAULT_OUT)
    t.add_argument("--epsilon", type=float, help="train with DP-SGD to this epsilon (delta 1e-5)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--sim-seconds", type=float, default=900.0)
    t.set_defaults(handler=_train)
    f = msub.add_parser(
        "train-iforest", help="train the hub's Isolation Forest on simulated benign flows"
    )
    f.add_argument("--out", type=Path, default=DEFAULT_OUT.with_name("iforest"))
    f.add_argument("--sim-seconds", type=float, default=900.0)
    f.set_defaults(handler=_train_iforest)
    c = msub.add_parser(
        "train-classifier", help="train the threat classifier on labelled simulated traffic"
    )
    c.add_argument("--out", type=Path, default=DEFAULT_OUT.with_name("classifier"))
    c.add_argument("--seeds", type=int, default=4)
    c.set_defaults(handler=_train_classifier)


def _benign_flows(sim_seconds: float) -> list[FlowRecord]:
    from contracts.events import FlowRecord
    from edge_agent.capture import open_source
    from edge_agent.pipeline import Pipeline

    flows: list[FlowRecord] = []
    for seed in range(3):  # benign background of three simulated networks
        pipe = Pipeline("train")
        src = open_source(
            f"sim:benign?seed={100 + seed}&hosts=20&duration={sim_seconds}&net=10.{seed}.0"
        )
        events = [e for p in src if p is not None for e in pipe.feed(p)] + pipe.close()
        flows += [e for e in events if isinstance(e, FlowRecord)]
    return flows


def _train_iforest(args: argparse.Namespace) -> int:
    import numpy as np

    from models.iforest import train_iforest

    model = train_iforest(np.asarray([f.features for f in _benign_flows(args.sim_seconds)]))
    model.save(args.out)
    print(
        json.dumps(
            {
                "threshold": model.threshold,
                "train_flows": model.meta["train_flows"],
                "out": str(args.out),
            }
        )
    )
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    from models.classifier import train_classifier
    from models.dataset import labelled_flows

    feats, votes, fams = labelled_flows(range(200, 200 + args.seeds))
    clf, report = train_classifier(feats, votes, fams)
    clf.save(args.out)
    per = {k: round(v["recall"], 3) for k, v in report["per_class"].items()}
    print(
        json.dumps(
            {
                "heldout_macro_f1": round(report["heldout_macro_f1"], 4),
                "recall": per,
                "out": str(args.out),
            }
        )
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    from models.lstm_ae import LstmConfig, PrivacyConfig
    from models.train import train_and_export

    flows = _benign_flows(args.sim_seconds)
    privacy = PrivacyConfig(args.epsilon) if args.epsilon else None
    meta = train_and_export(
        flows, args.out, LstmConfig(epochs=args.epochs, seed=args.seed), privacy, progress=True
    )
    keep = (
        "version",
        "threshold",
        "loss",
        "epsilon",
        "tflite_parity_pearson",
        "model_bytes",
        "train_windows",
    )
    print(json.dumps({k: meta[k] for k in keep}, indent=2))
    return 0
