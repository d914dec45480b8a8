"""``fednids hub outputs --config FILE``: alerts (and optionally anomalies) to the SOC."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("fednids.hub.outputs")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = hsub.add_parser(
        "outputs",
        help="alerts -> syslog, webhooks, Splunk HEC, chat / e-mail (apprise), Kafka (EVE JSON)",
    )
    p.add_argument("--config", type=Path, required=True, help="the outputs' TOML file")
    p.add_argument(
        "--db",
        dest="db_url",
        metavar="URL",
        help="the hub's store, where each output's health and lag is written for the API "
        "(default: db_url in the file, or FEDNIDS_OUTPUTS_DB_URL)",
    )
    p.add_argument("--check", action="store_true", help="check the file and exit")
    p.set_defaults(handler=_outputs)


def _outputs(args: argparse.Namespace) -> int:
    from pydantic import SecretStr

    from contracts.runtime import stop_event_on_signals
    from hub.outputs import OutputError
    from hub.outputs.config import load_config
    from hub.outputs.runner import run_outputs

    try:
        settings = load_config(args.config)
        if args.db_url:
            settings = settings.model_copy(update={"db_url": SecretStr(args.db_url)})
    except OutputError as exc:
        log.error("%s", exc)
        return 2
    if args.check:
        print(f"{args.config}: {len(settings.outputs)} output(s) OK")
        return 0
    stop = stop_event_on_signals()
    try:
        run_outputs(settings, stop)
    except OutputError as exc:
        log.error("outputs: %s", exc)
        return 1
    return 0
