"""API tokens: two roles, stored as salted SHA-256 digests, shown once at creation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError
from hub.storage.schema import api_tokens
from hub.storage.store import EventStore

ROLES = ("operator", "read")
PREFIX = "fnd_"


def _digest(salt: str, token: str) -> str:
    return hashlib.sha256((salt + token).encode()).hexdigest()


def create_token(store: EventStore, name: str, role: str) -> str:
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    name=name,
                    role=role,
                    salt=salt,
                    digest=_digest(salt, token),
                    prefix=token[:12],
                    created=time.time(),
                )
            )
    except IntegrityError as exc:
        raise HubError(f"a token named {name!r} exists already") from exc
    return token


def check_token(store: EventStore, token: str) -> str | None:
    """The token's role, or None."""
    got = token_identity(store, token)
    return got[1] if got else None


def token_identity(store: EventStore, token: str) -> tuple[str, str] | None:
    """The token's (name, role), or None."""
    if not token.startswith(PREFIX):
        return None
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                api_tokens.c.salt, api_tokens.c.digest, api_tokens.c.name, api_tokens.c.role
            ).where(api_tokens.c.prefix == token[:12])
        ).all()
    for salt, digest, name, role in rows:
        if hmac.compare_digest(digest, _digest(salt, token)):
            return str(name), str(role)
    return None


def list_tokens(store: EventStore) -> list[dict[str, object]]:
    """Every token's name, role, creation time and prefix: never its secret or digest."""
    t = api_tokens.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.name, t.role, t.created, t.prefix).order_by(t.name)).all()
    return [{"name": r[0], "role": r[1], "created": r[2], "prefix": r[3]} for r in rows]


def revoke_token(store: EventStore, name: str) -> None:
    """Delete the token named ``name``: it is refused from the next request on."""
    with store.engine.begin() as conn:
        res = conn.execute(api_tokens.delete().where(api_tokens.c.name == name))
    if res.rowcount == 0:
        raise HubError(f"no token named {name!r}")
