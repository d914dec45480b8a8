"""What a sensor sends is bounded: times, counts, feature values, strings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts import FLOW_FEATURES
from contracts.events import MAX_EPOCH, AnomalyEvent
from contracts.features import FEATURE_INDEX
from tests.unit.contracts.samples import flow


def _features(**values: float) -> list[float]:
    f = [0.0] * len(FLOW_FEATURES)
    for k, v in values.items():
        f[FEATURE_INDEX[k]] = v
    return f


@pytest.mark.parametrize(
    "kw",
    [
        {"start_ts": 1.0, "end_ts": MAX_EPOCH + 1},
        {"features": _features(fwd_packets=3e9)},
        {"features": _features(syn_count=-1.0)},
        {"features": _features(flow_bytes_per_s=1e16)},
        {"src_ip": "10.0.0.1\n"},
        {"dst_ip": "\x00"},
    ],
)
def test_out_of_bounds_flows_are_refused(kw):
    with pytest.raises(ValidationError):
        flow(**kw)


def test_a_flow_at_the_bounds_is_accepted():
    rec = flow(end_ts=MAX_EPOCH, features=_features(fwd_packets=1e9, flow_bytes_per_s=1e15))
    assert rec.end_ts == MAX_EPOCH


@pytest.mark.parametrize("field", ["window_start", "window_end"])
def test_anomaly_times_and_scores_are_bounded(field):
    with pytest.raises(ValidationError):
        AnomalyEvent(node_id="pi-1", detector="rules", score=1.0, threshold=1.0, **{field: 1e11})
    with pytest.raises(ValidationError):
        AnomalyEvent(node_id="pi-1", detector="rules", score=1e13, threshold=1.0)
