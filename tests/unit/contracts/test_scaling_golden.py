"""The one feature transform is pinned: training and the sensor must scale flows the same way.

The golden file was made once from a small hand-seeded fixture (tests/fixtures/scaling_golden.json);
a change to the transform, the scaler's fit or the window order shows up here as a diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contracts.events import FlowRecord
from contracts.scaling import (
    Scaler,
    host_windows,
    log_features,
    log_features_into,
    scale_logged,
    scale_logged_into,
    windows_from_arrays,
)

GOLDEN = Path(__file__).parents[2] / "fixtures" / "scaling_golden.json"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def test_scaler_fit_matches_golden(golden: dict) -> None:
    # prepare
    feats = np.asarray(golden["features"])
    # execute
    sc = Scaler.fit(feats[:8], q=golden["q"])
    # assert
    np.testing.assert_array_equal(sc.lo, np.asarray(golden["lo"], dtype=np.float32))
    np.testing.assert_array_equal(sc.hi, np.asarray(golden["hi"], dtype=np.float32))
    assert sc.lo.dtype == np.float32


def test_transform_and_windows_match_golden(golden: dict) -> None:
    # prepare
    sc = Scaler.from_json({"lo": golden["lo"], "hi": golden["hi"]})
    feats = np.asarray(golden["features"])
    # execute
    scaled = sc.transform(feats)
    windows = windows_from_arrays(
        golden["src"], np.asarray(golden["end_ts"]), feats, sc, golden["length"]
    )
    # assert
    np.testing.assert_array_equal(scaled, np.asarray(golden["scaled"], dtype=np.float32))
    np.testing.assert_array_equal(windows, np.asarray(golden["windows"], dtype=np.float32))
    assert scaled.min() >= 0.0 and scaled.max() <= 1.0


def test_log_features_clamps_negatives_and_keeps_dtype() -> None:
    # prepare
    x = np.asarray([-3.0, 0.0, np.e - 1.0], dtype=np.float64)
    # execute
    kept = log_features(x, dtype=None)
    as32 = log_features(x)
    # assert
    np.testing.assert_allclose(kept, [0.0, 0.0, 1.0])
    assert kept.dtype == np.float64 and as32.dtype == np.float32


def test_host_windows_equals_array_windows(golden: dict) -> None:
    # prepare
    sc = Scaler.from_json({"lo": golden["lo"], "hi": golden["hi"]})
    recs = [
        # 4 features instead of the contract's 49: construct without validation
        FlowRecord.model_construct(src_ip=s, end_ts=t, features=list(f))
        for s, t, f in zip(golden["src"], golden["end_ts"], golden["features"], strict=True)
    ]
    # execute
    a = host_windows(recs, sc, golden["length"])
    # assert
    np.testing.assert_array_equal(a, np.asarray(golden["windows"], dtype=np.float32))
    assert host_windows([], sc, 4).shape == (0, 4, len(sc.lo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_in_place_transform_is_the_array_transform_to_the_bit(golden: dict, dtype) -> None:
    """The sensor's hot path (one flow's row, in place) and training (whole arrays) share
    this module: the in-place variants give the same values as the array ones."""
    # prepare
    sc = Scaler.from_json({"lo": golden["lo"], "hi": golden["hi"]})
    feats = np.asarray(golden["features"], dtype=dtype)
    feats[0, :3] = [-5.0, 0.0, 1e15]  # clamped, zero and a huge value
    lo, hi = sc.lo.astype(dtype), sc.hi.astype(dtype)
    # execute
    rows = [scale_logged_into(log_features_into(row.copy()), lo, hi - lo) for row in feats]
    logged = [log_features_into(row.copy(), np.array(0.0, dtype=dtype)) for row in feats]
    # assert
    want_log = log_features(feats, dtype=None)
    np.testing.assert_array_equal(np.stack(logged), want_log)
    np.testing.assert_array_equal(np.stack(rows), scale_logged(want_log, lo, hi))
    assert all(r.dtype == dtype for r in rows)
