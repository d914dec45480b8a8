"""Fixtures the hub's unit tests share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from contracts.transports.memory import MemoryBroker


@pytest.fixture
def broker() -> Iterator[str]:
    """A ``memory://`` broker of this test alone (reset afterwards)."""
    name = f"outputs-{uuid.uuid4().hex[:8]}"
    yield f"memory://{name}"
    MemoryBroker.reset(name)
