"""``fednids agent ...``: run the agent, inspect its outbox."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from contracts.cli_args import add_tls_args, settings_from_args

log = logging.getLogger("fednids.agent")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("agent", help="the edge agent (capture, detect, publish)")
    asub = p.add_subparsers(dest="agent_cmd", required=True)
    run = asub.add_parser("run", help="capture -> flows -> detectors -> outbox -> MQTT")
    run.add_argument("--source", help="pcap:PATH, live:IFACE or sim:SCENARIO?seed=..")
    run.add_argument("--mqtt", dest="mqtt_url", help="mqtt://host:1883 or mqtts://host:8883")
    run.add_argument("--node-id")
    run.add_argument("--outbox", dest="outbox_path", type=Path)
    add_tls_args(run)
    run.add_argument("--rules", dest="rules_file", type=Path)
    run.add_argument("--model-dir", type=Path)
    run.add_argument(
        "--model-key",
        dest="model_public_keys",
        type=Path,
        action="append",
        help="trusted model-signing public key (repeatable): install signed model updates",
    )
    run.add_argument("--models-root", type=Path, help="where installed model versions live")
    run.add_argument(
        "--flow-store", dest="flow_store_path", type=Path, help="keep flows for FL training"
    )
    run.add_argument(
        "--fine-tune-epochs",
        type=int,
        help="fine-tune each installed global model on the flow store (3; 0 = off)",
    )
    run.add_argument("--max-packets", type=int)
    run.add_argument("--heartbeat", dest="heartbeat_s", type=float)
    run.add_argument(
        "--keep-running", action="store_true", help="stay connected after a finite source ends"
    )
    run.add_argument(
        "--baseline-file",
        dest="baseline_path",
        type=Path,
        help="the learned baseline (default: <outbox>.baseline.json beside the outbox)",
    )
    run.add_argument(
        "--learn-flows", type=int, help="learning period: at least this many flows (1000)"
    )
    run.add_argument(
        "--learn-hours", type=float, help="learning period: and this much capture time (24)"
    )
    run.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        default=None,
        help="do not learn a baseline (rules and LSTM only)",
    )
    run.set_defaults(handler=_run)
    rl = asub.add_parser(
        "relearn", help="forget the learned baseline: the next start learns the network anew"
    )
    rl.add_argument("--baseline-file", type=Path, help="the baseline file to forget")
    rl.add_argument("--outbox", type=Path, help="or: the agent's outbox (baseline beside it)")
    rl.set_defaults(handler=_relearn)
    st = asub.add_parser("outbox-stats", help="depth and drops of an outbox file")
    st.add_argument("--outbox", type=Path, required=True)
    st.set_defaults(handler=_outbox_stats)


def _run(args: argparse.Namespace) -> int:
    from contracts.runtime import stop_event_on_signals
    from edge_agent.agent import Agent
    from edge_agent.capture.errors import EdgeAgentError
    from edge_agent.settings import AgentSettings

    settings = settings_from_args(AgentSettings, args, log, "agent")
    if settings is None:
        return 2
    stop = stop_event_on_signals()
    try:
        result = Agent(settings).run(stop, keep_running=args.keep_running)
    except EdgeAgentError as exc:
        log.error("%s", exc)
        return 1
    log.info("agent stopped: %s", json.dumps(result))
    return 0


def _relearn(args: argparse.Namespace) -> int:
    from edge_agent.settings import baseline_beside

    path: Path | None = args.baseline_file
    if path is None and args.outbox is not None:
        path = baseline_beside(Path(args.outbox))
    if path is None:
        log.error("relearn: give --baseline-file or --outbox")
        return 2
    if not path.exists():
        print(f"{path}: no learned baseline; the agent learns at its next start")
        return 0
    path.unlink()
    print(f"{path}: removed; restart the agent to learn this network anew")
    return 0


def _outbox_stats(args: argparse.Namespace) -> int:
    from edge_agent.agent import outbox_stats

    print(json.dumps(outbox_stats(args.outbox)))
    return 0
