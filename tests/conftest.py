"""Session fixtures for the real servers (tests/harness) and the `integration` marker."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness.base import Server
from tests.harness.servers import ensure_kafka, ensure_mosquitto, ensure_postgres

_started: list[Server] = []


def _serve(request: pytest.FixtureRequest, ensure) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else _null():
        server = ensure()  # prints "harness: <name> <url> — <version>" to the terminal
    _started.append(server)
    yield server


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture(scope="session")
def kafka_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _serve(request, ensure_kafka)


@pytest.fixture(scope="session")
def mosquitto_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _serve(request, ensure_mosquitto)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _serve(request, ensure_postgres)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Shared servers are reused between local runs; CI (FEDNIDS_STOP_SERVERS=1) stops them.
    if os.environ.get("FEDNIDS_STOP_SERVERS") == "1":
        for server in _started:
            server.stop()
