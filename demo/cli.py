"""``fednids demo``: the whole system in one process on the embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo", help="simulated sensors + hub + API + dashboard in one process (memory://, SQLite)"
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument(
        "--duration", type=float, default=600.0, help="seconds of simulated traffic per sensor"
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument(
        "--db",
        dest="db_url",
        help="sqlite:///... or postgresql://... (default: a temp SQLite file)",
    )
    p.add_argument("--transport", default="memory://demo", help="one URL for both (embedded)")
    p.add_argument("--mqtt", dest="mqtt_url", help="real broker for the sensors: mqtt://host:port")
    p.add_argument(
        "--kafka", dest="kafka_url", help="real event log for the hub: kafka://host:port"
    )
    p.add_argument(
        "--offline-after", type=float, help="take the last sensor offline after S seconds"
    )
    p.add_argument("--state-dir", type=Path)
    p.add_argument(
        "--fl-rounds", type=int, default=3, help="federated DP rounds of the sensors (0: none)"
    )
    p.add_argument(
        "--fl-after", type=float, default=40.0, help="seconds of traffic before the federation"
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from demo.app import DemoConfig, run_demo

    return run_demo(
        DemoConfig(
            port=args.port,
            host=args.host,
            nodes=args.nodes,
            duration=args.duration,
            db_url=args.db_url,
            transport=args.transport,
            mqtt_url=args.mqtt_url,
            kafka_url=args.kafka_url,
            offline_after=args.offline_after,
            speed=args.speed,
            state_dir=args.state_dir,
            fl_rounds=args.fl_rounds,
            fl_after=args.fl_after,
        )
    )
