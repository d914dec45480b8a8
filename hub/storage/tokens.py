"""API tokens: two roles, stored as salted SHA-256 digests, shown once at creation.

Every token expires (default 90 days, ``DEFAULT_TTL_S``): a token copied to a laptop or a
script that is forgotten stops working on its own. ``ttl_s=None`` makes one that never
expires, only when asked for explicitly (``fednids api token create --expires-days 0``).
An expired token is refused like an unknown one and stays listed (as expired) until revoked."""

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
DEFAULT_TTL_S = 90 * 86400.0
MAX_TTL_S = 3650 * 86400.0


def _digest(salt: str, token: str) -> str:
    return hashlib.sha256((salt + token).encode()).hexdigest()


def create_token(
    store: EventStore, name: str, role: str, ttl_s: float | None = DEFAULT_TTL_S
) -> str:
    """A new token for ``role``, valid for ``ttl_s`` seconds (None: never expires)."""
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}")
    if ttl_s is not None and not 0 < ttl_s <= MAX_TTL_S:
        raise HubError(f"a token's lifetime must be in (0, {MAX_TTL_S / 86400:.0f} days]")
    token = PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    now = time.time()
    try:
        with store.engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    name=name,
                    role=role,
                    salt=salt,
                    digest=_digest(salt, token),
                    prefix=token[:12],
                    created=now,
                    expires=None if ttl_s is None else now + ttl_s,
                )
            )
    except IntegrityError as exc:
        raise HubError(f"a token named {name!r} exists already") from exc
    return token


def check_token(store: EventStore, token: str) -> str | None:
    """The token's role, or None."""
    got = token_identity(store, token)
    return got[1] if got else None


def token_identity(
    store: EventStore, token: str, now: float | None = None
) -> tuple[str, str] | None:
    """The token's (name, role), or None (unknown, revoked or expired at ``now``)."""
    if not token.startswith(PREFIX):
        return None
    t = api_tokens.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.salt, t.digest, t.name, t.role, t.expires).where(t.prefix == token[:12])
        ).all()
    at = time.time() if now is None else now
    for salt, digest, name, role, expires in rows:
        if hmac.compare_digest(digest, _digest(salt, token)):
            if expires is not None and float(expires) <= at:
                return None
            return str(name), str(role)
    return None


def list_tokens(store: EventStore) -> list[dict[str, object]]:
    """Every token's name, role, creation and expiry time (None: never) and prefix: never
    its secret or digest."""
    t = api_tokens.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.name, t.role, t.created, t.prefix, t.expires).order_by(t.name)
        ).all()
    return [
        {"name": r[0], "role": r[1], "created": r[2], "prefix": r[3], "expires": r[4]} for r in rows
    ]


def revoke_token(store: EventStore, name: str) -> None:
    """Delete the token named ``name``: it is refused from the next request on."""
    with store.engine.begin() as conn:
        res = conn.execute(api_tokens.delete().where(api_tokens.c.name == name))
    if res.rowcount == 0:
        raise HubError(f"no token named {name!r}")
