"""The SOC outputs' state in the store, on both backends (SQLite and the real PostgreSQL):
upserted by name, read back with its cursor and counts, forgotten when no longer configured."""

from __future__ import annotations

from hub.storage.output_state import (
    delete_output_states,
    list_output_states,
    save_output_states,
)


def _state(name: str, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": name, "kind": "webhook", "filter": "severity >= high", "cursor": {"alerts:0": 7},
        "lag_records": 0, "lag_seconds": 0.0, "up": True, "last_success": 100.0,
        "last_error": None, "last_error_at": None, "consecutive_failures": 0,
        "counts": {"sent": 7, "suppressed": 1, "limited": 2}, "started": 50.0,
    }  # fmt: skip
    return base | kw


def test_states_are_upserted_by_name_and_read_back(store):
    # prepare
    save_output_states(store, [_state("hook"), _state("siem", kind="syslog")], now=110.0)
    # execute: the receiver of "hook" goes down; its next write replaces its row
    down = _state(
        "hook", up=False, lag_records=25, lag_seconds=12.5, last_error="HTTP 503" * 100,
        last_error_at=120.0, consecutive_failures=4, cursor={"alerts:0": 7, "alerts:1": 3},
    )  # fmt: skip
    save_output_states(store, [down], now=121.0)
    rows = {r["name"]: r for r in list_output_states(store)}
    # assert
    assert sorted(rows) == ["hook", "siem"]
    hook = rows["hook"]
    assert (hook["up"], hook["lag_records"], hook["lag_seconds"]) == (False, 25, 12.5)
    assert hook["consecutive_failures"] == 4 and hook["updated"] == 121.0
    assert hook["cursor"] == {"alerts:0": 7, "alerts:1": 3}
    assert hook["counts"] == {"sent": 7, "suppressed": 1, "limited": 2}
    assert len(hook["last_error"]) == 500  # bounded
    assert rows["siem"]["kind"] == "syslog" and rows["siem"]["updated"] == 110.0


def test_outputs_no_longer_configured_are_forgotten(store):
    # prepare
    save_output_states(store, [_state("a"), _state("b"), _state("c")])
    # execute
    removed = delete_output_states(store, keep=["b"])
    # assert
    assert removed == 2
    assert [r["name"] for r in list_output_states(store)] == ["b"]


def test_an_unknown_lag_is_kept_as_unknown(store):
    save_output_states(store, [_state("a", lag_records=None)])
    assert list_output_states(store)[0]["lag_records"] is None
