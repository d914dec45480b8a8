"""``fednids hub ...`` and ``fednids api ...``: the hub's processes."""

from __future__ import annotations

import argparse
import importlib
import logging
import time

log = logging.getLogger("fednids.hub")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hub = sub.add_parser("hub", help="hub processes: ingestor, analytics services, migrations")
    hsub = hub.add_subparsers(dest="hub_cmd", required=True)
    ing = hsub.add_parser(
        "ingestor", help="Kafka -> database (offsets committed after the DB commit)"
    )
    ing.add_argument("--kafka", dest="kafka_url")
    ing.add_argument("--db", dest="db_url")
    ing.set_defaults(handler=_ingestor)
    mig = hsub.add_parser("migrate", help="create or upgrade the database schema")
    mig.add_argument("--db", dest="db_url")
    mig.set_defaults(handler=_migrate)
    # parts that add their own hub subcommands
    for name in (
        "hub.services.cli",
        "hub.fl.cli",
        "hub.outputs.cli",
        "hub.intel.cli",
        "hub.retention_cli",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        module.register_services(hsub)

    api = sub.add_parser("api", help="the REST + WebSocket API")
    asub = api.add_subparsers(dest="api_cmd", required=True)
    serve = asub.add_parser("serve", help="serve the API (and a built dashboard with --static)")
    serve.add_argument("--db", dest="db_url")
    serve.add_argument(
        "--kafka", dest="kafka_url", help="feed /ws/events from Kafka (group api-ws)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--static", dest="static_dir")
    serve.set_defaults(handler=_serve)
    tok = asub.add_parser("token", help="API tokens")
    tsub = tok.add_subparsers(dest="token_cmd", required=True)
    create = tsub.add_parser("create", help="create a token (printed once)")
    create.add_argument("--role", choices=["operator", "read"], required=True)
    create.add_argument("--name", required=True)
    create.add_argument(
        "--expires-days",
        type=float,
        default=90.0,
        help="refused after this many days (default 90; 0: never expires, not recommended)",
    )
    create.add_argument("--db", dest="db_url")
    create.set_defaults(handler=_token_create)
    lst = tsub.add_parser(
        "list", help="list tokens (name, role, created, expires, prefix; never secrets)"
    )
    lst.add_argument("--db", dest="db_url")
    lst.set_defaults(handler=_token_list)
    revoke = tsub.add_parser("revoke", help="delete a token: requests with it are refused")
    revoke.add_argument("--name", required=True)
    revoke.add_argument("--db", dest="db_url")
    revoke.set_defaults(handler=_token_revoke)


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from hub.settings import HubSettings

    keys = ("db_url", "kafka_url", "host", "port", "static_dir")
    return HubSettings(**{k: getattr(args, k) for k in keys if getattr(args, k, None) is not None})


def _store(url: str):  # type: ignore[no-untyped-def]
    from hub.storage import EventStore

    store = EventStore(url)
    store.create_schema()
    return store


def _migrate(args: argparse.Namespace) -> int:
    from hub.storage import EventStore
    from hub.storage.migrate import upgrade

    s = _settings(args)
    upgrade(EventStore(s.db_url))
    log.info("schema at the latest revision on %s", s.db_url.split("@")[-1])
    return 0


def _ingestor(args: argparse.Namespace) -> int:
    from contracts.runtime import stop_event_on_signals
    from contracts.transports import open_publisher, open_subscriber
    from hub.ingestor import INGEST_TOPICS, Ingestor

    s = _settings(args)
    stop = stop_event_on_signals()
    store = _store(s.db_url)
    sub = open_subscriber(s.kafka_url, INGEST_TOPICS, group="ingestor")
    Ingestor(sub, store, open_publisher(s.kafka_url)).run(stop)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import threading

    import uvicorn

    from hub.api.app import create_app
    from hub.api.live import feed_bus_from_kafka
    from hub.bus import EventBus

    s = _settings(args)
    store = _store(s.db_url)
    bus = EventBus(s.ws_queue)
    stop = threading.Event()
    if getattr(args, "kafka_url", None):
        threading.Thread(
            target=feed_bus_from_kafka, args=(s.kafka_url, bus, stop), daemon=True
        ).start()
    uvicorn.run(create_app(s, store, bus), host=s.host, port=s.port, log_level="info")
    stop.set()
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from hub.errors import HubError
    from hub.storage.tokens import create_token

    s = _settings(args)
    days = float(args.expires_days)
    if days < 0:
        log.error("--expires-days must be >= 0 (0: never expires)")
        return 2
    if days == 0:
        log.warning("token %r never expires: revoke it when it is no longer needed", args.name)
    try:
        token = create_token(_store(s.db_url), args.name, args.role, days * 86400 or None)
    except HubError as exc:
        log.error("%s", exc)
        return 1
    print(token)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    import datetime as dt

    from hub.storage.tokens import list_tokens

    def iso(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")

    now = time.time()
    for t in list_tokens(_store(_settings(args).db_url)):
        exp = t["expires"]
        if exp is None:
            until = "never expires"
        else:
            e = float(str(exp))
            until = f"{'EXPIRED' if e <= now else 'expires'} {iso(e)}"
        print(
            f"{t['name']}\t{t['role']}\t{iso(float(str(t['created'])))}\t{until}\t{t['prefix']}..."
        )
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from hub.errors import HubError
    from hub.storage.tokens import revoke_token

    try:
        revoke_token(_store(_settings(args).db_url), args.name)
    except HubError as exc:
        log.error("%s", exc)
        return 1
    log.info("token %r revoked", args.name)
    return 0
