"""Alembic environment for the hub's event store (run through ``fednids hub migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from hub.storage.partitions import is_partition_name
from hub.storage.schema import metadata

config = context.config
target_metadata = metadata


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Autogenerate must not see PostgreSQL partitions as tables to drop."""
    return not (type_ == "table" and is_partition_name(name))


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=_include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=_include_name,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
