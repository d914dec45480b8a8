"""Session fixtures for the real servers (tests/harness) and the `integration` marker.

``kafka_server``, ``mosquitto_server`` and ``postgres_server`` start (or reuse) the shared
instances once per session and print one ``harness: <name> <url> — <version>`` line to the
terminal. Shared servers are left running for the next local run; CI sets
``FEDNIDS_STOP_SERVERS=1`` to stop the ones this session used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import pytest

from tests.harness.base import Server
from tests.harness.servers import ensure_kafka, ensure_mosquitto, ensure_postgres

_started: list[Server] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: talks to real servers started by tests/harness"
    )


def _serve(request: pytest.FixtureRequest, ensure: Callable[[], Server]) -> Iterator[Server]:
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        server = ensure()  # prints "harness: <name> <url> — <version> (...)"
    _started.append(server)
    yield server


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
    if os.environ.get("FEDNIDS_STOP_SERVERS") == "1":
        for server in _started:
            server.stop()
