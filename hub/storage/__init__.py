"""Hub storage: SQLite (embedded) or PostgreSQL through one SQLAlchemy implementation."""

from hub.storage.queries import BadCursor, EventFilter, Queries
from hub.storage.store import EventStore

__all__ = ["BadCursor", "EventFilter", "EventStore", "Queries"]
