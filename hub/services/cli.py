"""``fednids hub anomaly-iforest|threat-classifier|gnn-predictor|alerting|train-gnn``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("fednids.hub.services")


def _kafka(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kafka", dest="kafka_url", help="kafka://host:port or memory://NAME")
    p.add_argument("--batch", type=int, help="records per poll")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = hsub.add_parser(
        "alerting",
        help="anomalies / classifications / predictions -> alerts (deduplicated incidents)",
    )
    _kafka(p)
    p.add_argument(
        "--update-every", type=float, help="seconds between count-only updates of one incident"
    )
    p.add_argument(
        "--quiet", type=float, help="event-time seconds of silence that close an incident"
    )
    p.add_argument(
        "--min-severity",
        choices=["info", "low", "medium", "high", "critical"],
        help="a rule detection opens an incident from this severity on",
    )
    p.add_argument(
        "--corroborate",
        type=float,
        help="event-time window in which unsupervised detections corroborate each other",
    )
    p.add_argument(
        "--fanin-sources", type=int, help="distinct sources that fold into the target's incident"
    )
    p.add_argument("--max-open", type=int, help="open incidents kept at most")
    p.add_argument(
        "--db",
        dest="db_url",
        help="the hub's store (sqlite:///... or postgresql://...): its active suppressions "
        "mark the incidents they match (default: none)",
    )
    p.add_argument(
        "--suppressions-refresh",
        type=float,
        default=30.0,
        help="seconds between reloads of the active suppressions from --db",
    )
    p.set_defaults(handler=_alerting)
    f = hsub.add_parser(
        "anomaly-iforest",
        help="network_data -> anomalies with the Isolation Forest (all sensors' flows)",
    )
    _kafka(f)
    f.add_argument("--model", type=Path, help="model dir (default: models/artifacts/iforest)")
    f.add_argument(
        "--learn-flows",
        type=int,
        help="each node's learning period in flows (0: off, the shipped model for every node)",
    )
    f.add_argument("--state-dir", type=Path, help="keep per-node baselines here across restarts")
    f.set_defaults(handler=_iforest)
    c = hsub.add_parser(
        "threat-classifier",
        help="anomalies + network_data -> attack_classified (votes joined per flow / host)",
    )
    _kafka(c)
    c.add_argument("--model", type=Path, help="model dir (default: models/artifacts/classifier)")
    c.set_defaults(handler=_classifier)
    g = hsub.add_parser(
        "gnn-predictor",
        help="attack_classified + anomalies + network_data -> attack_predicted "
        "(GraphSAGE over the hosts of a window of event time)",
    )
    _kafka(g)
    g.add_argument("--model", type=Path, help="model dir (default: models/artifacts/gnn)")
    g.set_defaults(handler=_gnn)
    t = hsub.add_parser("train-gnn", help="train the propagation GNN on simulated scenarios")
    t.add_argument("--out", type=Path, help="model dir (default: models/artifacts/gnn)")
    t.add_argument("--scenarios", type=int, default=200)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(handler=_train_gnn)


def _settings(args: argparse.Namespace) -> Any:
    from hub.services.settings import ServicesSettings

    s = ServicesSettings()
    upd: dict[str, Any] = {}
    if getattr(args, "kafka_url", None):
        upd["kafka_url"] = args.kafka_url
    if getattr(args, "batch", None):
        upd["batch"] = args.batch
    return s.model_copy(update=upd)


def _run(args: argparse.Namespace, svc: Any, runtime: Any = None) -> int:
    """Run ``svc`` in its runtime (default :class:`ServiceRuntime`) until SIGTERM."""
    from contracts.runtime import stop_event_on_signals
    from contracts.transports import open_publisher, open_subscriber
    from hub.services.runtime import ServiceRuntime

    s = _settings(args)
    stop = stop_event_on_signals()
    (runtime or ServiceRuntime)(
        svc,
        open_subscriber(s.kafka_url, list(svc.inputs), group=svc.name),
        open_publisher(s.kafka_url),
        batch=s.batch,
    ).run(stop)
    return 0


def _alerting(args: argparse.Namespace) -> int:
    from hub.services.alerting import AlertingService
    from hub.services.alerting.runtime import AlertingRuntime

    s = _settings(args)

    def pick(arg: Any, default: Any) -> Any:
        return default if arg is None else arg

    svc = AlertingService(
        update_every_s=pick(args.update_every, s.alert_update_every_s),
        quiet_s=pick(args.quiet, s.alert_quiet_s),
        min_severity=pick(args.min_severity, s.alert_min_severity),
        corroborate_s=pick(args.corroborate, s.alert_corroborate_s),
        corroborate_detectors=s.alert_corroborate_detectors,
        corroborate_flows=s.alert_corroborate_flows,
        solo_severity=s.alert_solo_severity,
        fanin_sources=pick(args.fanin_sources, s.alert_fanin_sources),
        classified_open_confidence=s.alert_classified_open_confidence,
        max_open=pick(args.max_open, s.alert_max_open),
        suppressions=_suppressions(args),
    )
    return _run(args, svc, AlertingRuntime)


def _suppressions(args: argparse.Namespace) -> Any:
    """The store's active suppressions, reloaded every ``--suppressions-refresh`` seconds."""
    if not getattr(args, "db_url", None):
        return None
    from hub.services.suppressions import Suppressions
    from hub.storage import EventStore

    store = EventStore(args.db_url)
    return Suppressions(store.active_suppressions, refresh_s=args.suppressions_refresh)


def _iforest(args: argparse.Namespace) -> int:
    from hub.services.iforest_service import IForestService, NodeLearning
    from models.errors import ModelError
    from models.iforest import IForestModel

    s = _settings(args)
    flows = s.iforest_learn_flows if args.learn_flows is None else args.learn_flows
    learning = NodeLearning(
        flows=flows,
        max_nodes=s.iforest_max_nodes,
        trim=s.iforest_trim,
        quantile=s.iforest_quantile,
        range_guard=s.iforest_range_guard,
        state_dir=args.state_dir or s.iforest_state_dir,
    )
    try:
        model = IForestModel.load(args.model or s.iforest_model)
        svc = IForestService(model, learning if flows > 0 else None)
    except ModelError as exc:
        log.error("%s", exc)
        return 1
    log.info("anomaly-iforest: %s", svc.describe())
    try:
        return _run(args, svc)
    finally:
        svc.close()


def _classifier(args: argparse.Namespace) -> int:
    from hub.services.classifier_service import ClassifierService
    from models.classifier import ThreatClassifier
    from models.errors import ModelError

    s = _settings(args)
    try:
        model = ThreatClassifier.load(args.model or s.classifier_model)
    except ModelError as exc:
        log.error("%s (train it: fednids models train-classifier)", exc)
        return 1
    return _run(args, ClassifierService(model, hold_s=s.join_hold_s, grace_s=s.join_grace_s))


def _gnn(args: argparse.Namespace) -> int:
    from hub.services.gnn_service import GnnService
    from models.errors import ModelError
    from models.gnn.model import load_predictor

    s = _settings(args)
    try:
        model = load_predictor(args.model or s.gnn_model)
    except ModelError as exc:
        log.error("%s (rebuild it: fednids hub train-gnn)", exc)
        return 1
    return _run(
        args,
        GnnService(
            model,
            every_s=s.predict_every_s,
            top_k=s.top_k,
            min_p=s.gnn_min_p,
            window_s=s.gnn_window_s,
            horizon_s=s.gnn_horizon_s,
        ),
    )


def _train_gnn(args: argparse.Namespace) -> int:
    from models.gnn.train import train_and_save

    s = _settings(args)
    meta = train_and_save(args.out or s.gnn_model, args.scenarios, args.epochs, args.seed)
    log.info("GNN saved: %s", meta)
    return 0
