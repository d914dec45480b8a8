"""Contracts: valid, invalid, oversized, non-UTF-8, unknown fields, wrong types."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from contracts import (
    FLOW_FEATURES,
    MAX_MESSAGE_BYTES,
    AnomalyEvent,
    NodeStatus,
    PayloadTooLarge,
    ValidationFailed,
    decode,
    decode_batch,
    encode,
    encode_batch,
)
from tests.unit.contracts.samples import all_samples, flow


@pytest.mark.parametrize("event", all_samples(), ids=lambda e: e.kind)
def test_every_event_kind_round_trips(event):
    # prepare
    payload = encode(event)
    # execute
    back = decode(payload)
    # assert
    assert back == event
    assert type(back) is type(event)
    assert json.loads(payload)["schema_version"] == 1


def test_batch_round_trips_mixed_kinds():
    events = [
        flow(),
        flow(),
        AnomalyEvent(
            node_id="pi-1", detector="rules", rule_id="syn_flood", score=9.0, threshold=3.0
        ),
    ]
    assert decode_batch(encode_batch("pi-1", events)) == events


def test_decode_batch_accepts_a_single_event():
    f = flow()
    assert decode_batch(encode(f)) == [f]


def test_batch_with_other_nodes_event_is_rejected():
    payload = encode_batch("pi-1", [flow(node_id="pi-2")])
    with pytest.raises(ValidationFailed, match="node_id"):
        decode_batch(payload)


def test_timestamps_are_normalised_to_utc():
    ts = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    ev = NodeStatus(node_id="pi-1", online=True, ts=ts)
    assert ev.ts.utcoffset() == timedelta(0)
    assert ev.ts.hour == 10


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(unknown_field=1), "unknown_field"),
        (lambda d: d.update(src_port="80"), "src_port"),
        (lambda d: d.update(src_port=70000), "src_port"),
        (lambda d: d.update(features=[0.0] * 3), "features"),
        (lambda d: d.update(node_id="../evil"), "node_id"),
        (lambda d: d.update(ts="2026-01-01T00:00:00"), "ts"),  # naive timestamp
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d.update(event_id="not-a-uuid"), "event_id"),
        (lambda d: d.update(end_ts=0.5), "end_ts"),
        (lambda d: d.update(kind="nonsense"), "kind"),
        (lambda d: d.pop("flow_id"), "flow_id"),
    ],
)
def test_invalid_flow_payloads_get_a_clear_reason(mutate, needle):
    # prepare
    data = json.loads(encode(flow()))
    mutate(data)
    # execute
    with pytest.raises(ValidationFailed) as info:
        decode(json.dumps(data).encode())
    # assert
    assert needle in info.value.reason or needle in str(info.value)


def test_nan_feature_is_rejected():
    data = encode(flow()).replace(b'"features":[0.0', b'"features":[NaN', 1)
    with pytest.raises(ValidationFailed):
        decode(data)


@pytest.mark.parametrize(
    "payload", [b"", b"\xff\xfe\xfd", b"{", b"[]", b"null", b"42", b"not json"]
)
def test_garbage_is_rejected_not_crashing(payload):
    with pytest.raises(ValidationFailed):
        decode_batch(payload)


def test_non_utf8_inside_a_string_is_rejected():
    data = encode(flow()).replace(b'"pi-1"', b'"pi-\xff"', 1)
    with pytest.raises(ValidationFailed):
        decode(data)


def test_oversized_payload_is_rejected_before_parsing():
    with pytest.raises(PayloadTooLarge, match="exceeds"):
        decode(b" " * (MAX_MESSAGE_BYTES + 1))


def test_oversized_batch_cannot_be_encoded():
    events = [flow() for _ in range(1000)]
    with pytest.raises(PayloadTooLarge):
        encode_batch("pi-1", events)


def test_feature_accessor_uses_wire_order():
    values = [float(i) for i in range(len(FLOW_FEATURES))]
    f = flow(features=values)
    assert f.feature("syn_count") == float(FLOW_FEATURES.index("syn_count"))


def test_models_are_frozen():
    f = flow()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        f.src_port = 1  # type: ignore[misc]


def test_event_ids_are_unique():
    assert flow().event_id != flow().event_id
    assert isinstance(flow().event_id, uuid.UUID)
