"""``fednids models ...``: rebuild the default artifacts, from the simulator and real traffic.

Real traffic for ``train-iforest`` / ``train-classifier``:
``--capture PCAP --labels CSV [--packets A:B]`` (repeatable; ``--labels`` and ``--packets``
belong to the ``--capture`` before them) and ``--flows FILE`` (JSON lines of FlowRecord, or
the agent's flow store). ``--family NAME=FAMILY`` extends the attack-name table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.paths import artifact_dir

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from contracts.events import FlowRecord

DEFAULT_OUT = artifact_dir("lstm-ae")


class _Capture(argparse.Action):
    """``--capture PCAP`` opens a new capture entry; ``--labels`` / ``--packets`` fill it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        caps: list[dict[str, Any]] = list(getattr(namespace, "captures", None) or [])
        if option_string == "--capture":
            caps.append({"pcap": Path(str(values)), "labels": None, "packets": None})
        elif not caps:
            parser.error(f"{option_string} must follow the --capture it belongs to")
        elif option_string == "--labels":
            caps[-1]["labels"] = Path(str(values))
        else:
            caps[-1]["packets"] = str(values)
        namespace.captures = caps


def _real_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--capture",
        action=_Capture,
        metavar="PCAP",
        help="a labelled capture (repeatable); give its --labels CSV (index,label,attack) after it",
    )
    p.add_argument(
        "--labels", action=_Capture, metavar="CSV", help="per-packet labels of the last --capture"
    )
    p.add_argument(
        "--packets",
        action=_Capture,
        metavar="A:B",
        help="use packets [A, B) of the last --capture only (B excluded)",
    )
    p.add_argument(
        "--flows",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="flows the agent wrote: JSON lines of FlowRecord or its --flow-store (repeatable)",
    )
    p.add_argument(
        "--family",
        action="append",
        default=[],
        metavar="NAME=FAMILY",
        help="map an attack name of the labels to a family (repeatable; unknown names: other)",
    )
    p.set_defaults(captures=[])


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
        "train-iforest",
        help="train the hub's Isolation Forest on benign flows (simulator and/or real traffic)",
    )
    f.add_argument("--out", type=Path, default=artifact_dir("iforest"))
    f.add_argument(
        "--sim-seconds", type=float, default=900.0, help="simulated benign seconds (0: none)"
    )
    f.add_argument("--sim-networks", type=int, default=3)
    f.add_argument("--threshold-quantile", type=float, default=0.98)
    _real_data_args(f)
    f.set_defaults(handler=_train_iforest)
    c = msub.add_parser(
        "train-classifier",
        help="train the threat classifier on labelled flows (simulator and/or real traffic)",
    )
    c.add_argument("--out", type=Path, default=artifact_dir("classifier"))
    c.add_argument("--seeds", type=int, default=4, help="simulated mixed scenarios (0: none)")
    c.add_argument("--sim-seconds", type=float, default=400.0)
    c.add_argument("--per-family", type=int, default=3000, help="rows per family and source")
    c.add_argument("--max-iter", type=int, default=150, help="boosting iterations")
    c.add_argument(
        "--iforest",
        type=Path,
        default=artifact_dir("iforest"),
        help="the Isolation Forest whose verdict is the iforest vote",
    )
    _real_data_args(c)
    c.set_defaults(handler=_train_classifier)
    e = msub.add_parser(
        "eval-hub",
        help="score the hub's Isolation Forest (shipped and per-node) and classifier on a "
        "labelled capture, per label, on the flows from packet --from on",
    )
    e.add_argument("--capture", type=Path, required=True)
    e.add_argument("--labels", type=Path, required=True)
    e.add_argument(
        "--from", dest="from_packet", type=int, required=True, help="first held-out packet"
    )
    e.add_argument("--iforest", type=Path, default=artifact_dir("iforest"))
    e.add_argument("--classifier", type=Path, default=artifact_dir("classifier"))
    e.add_argument(
        "--learn-flows", type=int, default=2000, help="per-node learning period (0: skip)"
    )
    e.add_argument("--family", action="append", default=[], metavar="NAME=FAMILY")
    e.set_defaults(handler=_eval_hub)


def _benign_flows(sim_seconds: float, networks: int = 3) -> list[FlowRecord]:
    from contracts.events import FlowRecord
    from edge_agent.capture import open_source
    from edge_agent.pipeline import Pipeline

    flows: list[FlowRecord] = []
    for seed in range(networks):  # benign background of simulated networks
        pipe = Pipeline("train")
        src = open_source(
            f"sim:benign?seed={100 + seed}&hosts=20&duration={sim_seconds}&net=10.{seed}.0"
        )
        events = [e for p in src if p is not None for e in pipe.feed(p)] + pipe.close()
        flows += [e for e in events if isinstance(e, FlowRecord)]
    return flows


def _sim_benign_source(
    flows: list[FlowRecord], sim_seconds: float, networks: int
) -> dict[str, Any]:
    return {
        "kind": "simulator",
        "specs": [
            f"sim:benign?seed={100 + s}&hosts=20&duration={sim_seconds}&net=10.{s}.0"
            for s in range(networks)
        ],
        "flows": len(flows),
        "flows_per_label": {"benign": len(flows)},
    }


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def _train_iforest(args: argparse.Namespace) -> int:
    import numpy as np

    from models.errors import ModelError
    from models.iforest import IForestConfig, train_iforest
    from models.training.captures import (
        family_of,
        parse_families,
        parse_range,
        read_capture,
        read_flow_file,
    )

    rows: list[np.ndarray] = []
    groups: list[str] = []
    sources: list[dict[str, Any]] = []
    try:
        families = parse_families(args.family)
        if args.sim_seconds > 0 and args.sim_networks > 0:
            sim = _benign_flows(args.sim_seconds, args.sim_networks)
            rows += [np.asarray(f.features) for f in sim]
            groups += ["simulator"] * len(sim)
            sources.append(_sim_benign_source(sim, args.sim_seconds, args.sim_networks))
        sets = []
        for cap in args.captures:
            if cap["labels"] is None:
                return _fail(f"--capture {cap['pcap']}: give its --labels CSV after it")
            rng = parse_range(cap["packets"]) if cap["packets"] else None
            sets.append(read_capture(cap["pcap"], cap["labels"], rng, families=families))
        sets += [read_flow_file(p, families) for p in args.flows]
        for n, fs in enumerate(sets):
            benign = [f for f in fs.flows if family_of(f.label, families) == "benign"]
            rows += [np.asarray(f.features) for f in benign]
            groups += [f"{n}:{fs.source['file']}"] * len(benign)
            sources.append(fs.source | {"benign_flows_used": len(benign)})
        if not rows:
            return _fail("no training data: give --sim-seconds > 0, --capture or --flows")
        model = train_iforest(
            np.vstack(rows),
            IForestConfig(threshold_quantile=args.threshold_quantile),
            groups=np.asarray(groups),
            training_data=sources,
        )
    except ModelError as exc:
        return _fail(str(exc))
    model.save(args.out)
    print(
        json.dumps(
            {
                "threshold": model.threshold,
                "threshold_per_source": model.meta.get("threshold_per_source"),
                "train_flows": model.meta["train_flows"],
                "training_data": sources,
                "out": str(args.out),
            },
            indent=2,
        )
    )
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    import numpy as np

    from models.errors import ModelError
    from models.training.captures import parse_families, parse_range, read_flow_file
    from models.training.classifier import train_classifier
    from models.training.dataset import capture_flows, file_flows, simulated_flows

    parts: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
    sources: list[dict[str, Any]] = []
    try:
        families = parse_families(args.family)
        if args.seeds > 0:
            x, v, y, src = simulated_flows(
                range(200, 200 + args.seeds), args.per_family, args.sim_seconds, args.iforest
            )
            parts.append((x, v, y))
            sources.append(src)
        for cap in args.captures:
            if cap["labels"] is None:
                return _fail(f"--capture {cap['pcap']}: give its --labels CSV after it")
            rng = parse_range(cap["packets"]) if cap["packets"] else None
            x, v, y, src = capture_flows(
                cap["pcap"],
                cap["labels"],
                rng,
                families=families,
                per_family=args.per_family,
                iforest_dir=args.iforest,
            )
            parts.append((x, v, y))
            sources.append(src)
        for path in args.flows:
            x, v, y, src = file_flows(
                read_flow_file(path, families),
                families=families,
                per_family=args.per_family,
                iforest_dir=args.iforest,
            )
            parts.append((x, v, y))
            sources.append(src)
        if not parts:
            return _fail("no training data: give --seeds > 0, --capture or --flows")
        feats = np.vstack([p[0] for p in parts])
        votes = np.vstack([p[1] for p in parts])
        fams = [f for p in parts for f in p[2]]
        clf, report = train_classifier(
            feats, votes, fams, training_data=sources, max_iter=args.max_iter
        )
    except ModelError as exc:
        return _fail(str(exc))
    clf.save(args.out)
    per = {k: round(v["recall"], 3) for k, v in report["per_class"].items()}
    print(
        json.dumps(
            {
                "heldout_macro_f1": round(report["heldout_macro_f1"], 4),
                "recall": per,
                "training_data": sources,
                "out": str(args.out),
            },
            indent=2,
        )
    )
    return 0


def _eval_hub(args: argparse.Namespace) -> int:
    from models.errors import ModelError
    from models.training.captures import parse_families
    from models.training.hub_eval import evaluate

    try:
        report = evaluate(
            args.capture,
            args.labels,
            args.from_packet,
            iforest_dir=args.iforest,
            classifier_dir=args.classifier,
            learn_flows=args.learn_flows,
            families=parse_families(args.family),
        )
    except ModelError as exc:
        return _fail(str(exc))
    print(json.dumps(report, indent=2))
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
