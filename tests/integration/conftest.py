"""The store fixture shared by the integration suites that use the hub's store: one run on SQLite (embedded), one on the
real PostgreSQL of the harness (in a schema of its own)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from hub.storage import EventStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        pg = request.getfixturevalue("postgres_server")
        schema = f"t{uuid.uuid4().hex[:8]}"
        with EventStore(pg.url).engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        s = EventStore(pg.url + f"?options=-csearch_path%3D{schema}")
    s.create_schema()
    return s
