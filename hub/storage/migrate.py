"""Schema migrations with Alembic (``fednids hub migrate --db URL``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from hub.storage.store import EventStore

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(store: EventStore) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option(
        "sqlalchemy.url", store.engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def upgrade(store: EventStore, revision: str = "head") -> None:
    with store.engine.begin() as conn:
        cfg = alembic_config(store)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
