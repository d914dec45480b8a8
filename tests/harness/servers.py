"""Start, stop and report the real test servers.

    python -m tests.harness.servers start|stop|status [kafka|mosquitto|postgres|all]

(each prints the server's url and version; ``status`` exits 3 when one is stopped.)

``ensure_kafka()``, ``ensure_mosquitto()`` and ``ensure_postgres()`` return the shared
default instances (started when needed, reused when already running):

    kafka      kafka://127.0.0.1:19092      (KRaft controller on 19093)
    mosquitto  mqtt://127.0.0.1:11883
    postgres   postgresql://fednids:fednids@127.0.0.1:15432/fednids

Fault tests make PRIVATE instances on other ports with the classes
(``KafkaServer(port=29092)``, ``MosquittoServer(port=21883, extra_config=...)``,
``PostgresServer(port=25432)``) so they never disturb the shared ones. State and logs
live in ``<repo>/.cache/servers/<name>-<port>/`` (``FEDNIDS_CACHE_DIR`` moves ``.cache``).
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.harness.base import HarnessError, Server
from tests.harness.kafka import KafkaServer, kafka_metadata
from tests.harness.mosquitto import MosquittoServer
from tests.harness.postgres import PostgresServer

__all__ = [
    "DEFAULT_PORTS",
    "HarnessError",
    "KafkaServer",
    "MosquittoServer",
    "PostgresServer",
    "Server",
    "default_servers",
    "ensure_kafka",
    "ensure_mosquitto",
    "ensure_postgres",
    "kafka_metadata",
]

DEFAULT_PORTS = {"kafka": 19092, "mosquitto": 11883, "postgres": 15432}


def default_servers() -> dict[str, Server]:
    """New handles on the three shared instances (nothing is started)."""
    return {
        "kafka": KafkaServer(DEFAULT_PORTS["kafka"]),
        "mosquitto": MosquittoServer(DEFAULT_PORTS["mosquitto"]),
        "postgres": PostgresServer(DEFAULT_PORTS["postgres"]),
    }


def _ensure(server: Server) -> Server:
    t0 = time.monotonic()
    already = server.is_running()
    server.start()
    how = "reused" if already else f"started in {time.monotonic() - t0:.1f}s"
    print(f"harness: {server.name} {server.url} — {server.version()} ({how})", flush=True)
    return server


def ensure_kafka() -> KafkaServer:
    return _ensure(KafkaServer(DEFAULT_PORTS["kafka"]))  # type: ignore[return-value]


def ensure_mosquitto() -> MosquittoServer:
    """The shared broker; when it is not running it starts EMPTY: the persistent sessions an
    earlier run left behind (up to 7 days for an agent's or a bridge's) would otherwise queue
    every message of this run, and a broker that snapshots a growing store every second
    (``autosave_interval 1``) slows every test that follows."""
    server = MosquittoServer(DEFAULT_PORTS["mosquitto"])
    t0 = time.monotonic()
    already = server.start_empty_unless_running()
    how = "reused" if already else f"started empty in {time.monotonic() - t0:.1f}s"
    print(f"harness: {server.name} {server.url} — {server.version()} ({how})", flush=True)
    return server


def ensure_postgres() -> PostgresServer:
    return _ensure(PostgresServer(DEFAULT_PORTS["postgres"]))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.servers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("which", nargs="?", default="all", choices=["all", *DEFAULT_PORTS])
    args = parser.parse_args(argv)
    servers = default_servers()
    chosen = list(servers.values()) if args.which == "all" else [servers[args.which]]
    rc = 0
    for s in chosen:
        try:
            if args.action == "start":
                ensure_mosquitto() if isinstance(s, MosquittoServer) else _ensure(s)
            elif args.action == "stop":
                was = s.pid() is not None
                s.stop()
                print(f"harness: {s.name} {s.url} {'stopped' if was else 'was not running'}")
            else:
                running = s.is_running()
                if not running:
                    rc = 3
                print(
                    f"harness: {s.name} {s.url} {'running' if running else 'stopped'}"
                    f" — {s.version()} (log {s.log_path})"
                )
        except HarnessError as exc:
            print(f"harness: {exc}", file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
