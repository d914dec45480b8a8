"""``/ws/events``: stored events as they arrive, filtered by topic.

The token comes in the ``Sec-WebSocket-Protocol`` header (see hub/api/ws_auth.py; browsers
cannot set other headers on a WebSocket); a missing or invalid one, or one in the query string,
is refused with 1008. A client that falls behind by more than the queue size is closed with
1013 (try again later)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from hub.api.deps import token_role
from hub.api.models.events import LIVE_TOPICS
from hub.api.ws_auth import PROTOCOL, WsAuthError, offered_token, refuse
from hub.bus import EventBus

router = APIRouter()
ALL_TOPICS = list(LIVE_TOPICS)


@router.websocket("/ws/events")
async def events_ws(
    ws: WebSocket,
    topics: Annotated[str, Query()] = ",".join(ALL_TOPICS),
) -> None:
    store = ws.app.state.store
    bus: EventBus = ws.app.state.bus
    try:
        token = offered_token(ws)
    except WsAuthError as exc:
        await refuse(ws, str(exc))
        return
    role = await asyncio.to_thread(token_role, store, token)
    if role is None:
        await refuse(ws, "missing or invalid token")
        return
    wanted = {t.strip() for t in topics.split(",") if t.strip()}
    unknown = wanted - set(ALL_TOPICS)
    if unknown or not wanted:
        await refuse(ws, f"unknown topics: {', '.join(sorted(unknown)) or '(none)'}")
        return
    await ws.accept(subprotocol=PROTOCOL)
    listener = bus.subscribe(wanted)
    receiver = asyncio.create_task(_drain_client(ws))
    try:
        while True:
            get = asyncio.create_task(listener.queue.get())
            closed = asyncio.create_task(listener.closed.wait())
            done, _ = await asyncio.wait(
                {get, closed, receiver}, return_when=asyncio.FIRST_COMPLETED
            )
            if receiver in done:
                get.cancel()
                closed.cancel()
                break
            if get in done:
                closed.cancel()
                await ws.send_text(get.result())
                continue
            get.cancel()
            await ws.close(
                code=1013, reason=f"too slow: more than {listener.maxsize} events behind"
            )
            break
    except WebSocketDisconnect:
        pass
    finally:
        bus.unsubscribe(listener)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _drain_client(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, so we notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
