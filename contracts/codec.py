"""Encode and decode events and batches, with a size limit and clear errors."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from contracts.errors import PayloadTooLarge, ValidationFailed
from contracts.events import Event, EventBase, EventBatch

MAX_MESSAGE_BYTES = 256 * 1024
"""Largest encoded message (one event or one batch). MQTT and Kafka defaults allow more;
this keeps a misbehaving agent from pushing megabytes through the bridge."""

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
_ANY: TypeAdapter[Event | EventBatch] = TypeAdapter(Event | EventBatch)  # type: ignore[arg-type]


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _check_size(payload: bytes | bytearray | memoryview | str) -> None:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(
            f"payload of {len(payload)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit"
        )


def encode(event: EventBase) -> bytes:
    """One event as compact JSON bytes; raises :class:`PayloadTooLarge` past the limit."""
    data = event.model_dump_json().encode()
    _check_size(data)
    return data


def encode_batch(node_id: str, events: Sequence[EventBase]) -> bytes:
    """Many events of one node as one message; raises :class:`PayloadTooLarge` past the limit."""
    parts = b",".join(ev.model_dump_json().encode() for ev in events)
    data = (
        b'{"schema_version":1,"kind":"batch","node_id":"'
        + node_id.encode()
        + b'","events":['
        + parts
        + b"]}"
    )
    _check_size(data)
    return data


def decode(payload: bytes | bytearray | memoryview | str) -> EventBase:
    """Parse and validate one event; :class:`ValidationFailed` says why it is not one."""
    _check_size(payload)
    try:
        return _EVENT.validate_json(bytes(payload) if isinstance(payload, memoryview) else payload)
    except ValidationError as exc:
        raise ValidationFailed(_reason(exc)) from exc


def decode_batch(payload: bytes | bytearray | memoryview | str) -> list[EventBase]:
    """Parse one message that is either a single event or a batch; always a list of events."""
    _check_size(payload)
    try:
        obj = _ANY.validate_json(bytes(payload) if isinstance(payload, memoryview) else payload)
    except ValidationError as exc:
        raise ValidationFailed(_reason(exc)) from exc
    if isinstance(obj, EventBatch):
        return list(obj.events)
    return [obj]
