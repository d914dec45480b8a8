"""The ``/ws/events`` token, read from the ``Sec-WebSocket-Protocol`` header.

Browsers cannot set an ``Authorization`` header on a WebSocket, but they can offer
subprotocols: the client offers ``["fednids.v1", "bearer.<token>"]`` and the server accepts
``fednids.v1`` (never echoing the token). A token in the query string is refused: URLs end up
in access logs, proxies and browser history."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket

PROTOCOL = "fednids.v1"
"""The subprotocol the server accepts (and echoes back)."""
BEARER_PREFIX = "bearer."
"""The offered subprotocol ``bearer.<token>`` carries the token."""
QUERY_REFUSED = (
    "token in the query string refused: offer it as Sec-WebSocket-Protocol bearer.<token>"
)

log = logging.getLogger(__name__)


class WsAuthError(Exception):
    """Why a WebSocket handshake is refused (the reason sent with close code 1008)."""


def offered_token(ws: WebSocket) -> str:
    """The token the client offered, or WsAuthError with the reason to close with."""
    if "token" in ws.query_params:
        log.warning("ws: refused a token in the query string from %s", _peer(ws))
        raise WsAuthError(QUERY_REFUSED)
    offered = [p.strip() for p in ws.scope.get("subprotocols", [])]
    if PROTOCOL not in offered:
        raise WsAuthError(f"missing subprotocol {PROTOCOL}")
    tokens = [p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)]
    if len(tokens) != 1 or not tokens[0]:
        raise WsAuthError("missing or invalid token")
    return tokens[0]


async def refuse(ws: WebSocket, reason: str) -> None:
    """Close with 1008 and the reason. The handshake is completed first (with ``fednids.v1``
    when offered, as a browser drops a handshake that picks none of its offers), because a
    handshake refused with HTTP 403 reaches a browser as code 1006, which it would retry."""
    offered = [p.strip() for p in ws.scope.get("subprotocols", [])]
    await ws.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
    await ws.close(code=1008, reason=reason[:120])


def _peer(ws: WebSocket) -> str:
    return f"{ws.client.host}:{ws.client.port}" if ws.client else "?"
