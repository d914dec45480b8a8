"""The ServerApp's grid wrapper: replies are pulled every ``poll_s`` until all are in, the
timeout is kept, everything else goes to the wrapped grid."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from federated.fast_grid import FastPollGrid


class _Grid:
    """Replies become available one by one, one per pull after ``delay_pulls`` pulls."""

    def __init__(self, delay_pulls: int = 2) -> None:
        self.delay_pulls = delay_pulls
        self.pulls = 0
        self.pushed: list[str] = []

    def push_messages(self, messages: Any) -> list[str]:
        self.pushed = [f"m{i}" for i, _ in enumerate(messages)]
        return list(self.pushed)

    def pull_messages(self, ids: Any) -> list[Any]:
        self.pulls += 1
        if self.pulls <= self.delay_pulls:
            return []
        ready = sorted(ids)[:1]
        return [SimpleNamespace(metadata=SimpleNamespace(reply_to_message_id=i)) for i in ready]

    def get_node_ids(self) -> list[int]:
        return [1, 2, 3]


def test_all_replies_come_back_with_short_polls():
    # prepare
    inner = _Grid(delay_pulls=2)
    grid = FastPollGrid(inner, poll_s=0.01)  # type: ignore[arg-type]
    # execute
    t0 = time.monotonic()
    replies = list(grid.send_and_receive(["a", "b", "c"], timeout=5.0))  # type: ignore[list-item]
    took = time.monotonic() - t0
    # assert: every reply once, after 2 empty pulls + 3 pulls, never a 3 s wait
    assert sorted(r.metadata.reply_to_message_id for r in replies) == ["m0", "m1", "m2"]
    assert inner.pulls == 5
    assert took < 2.0


def test_timeout_returns_what_came():
    # prepare: replies never come
    inner = _Grid(delay_pulls=10**9)
    grid = FastPollGrid(inner, poll_s=0.05)  # type: ignore[arg-type]
    # execute
    t0 = time.monotonic()
    replies = list(grid.send_and_receive(["a"], timeout=0.3))  # type: ignore[list-item]
    # assert
    assert replies == [] and 0.25 <= time.monotonic() - t0 < 2.0
    assert inner.pulls >= 3


def test_other_calls_go_to_the_wrapped_grid_and_bad_poll_is_refused():
    grid = FastPollGrid(_Grid(), poll_s=0.2)  # type: ignore[arg-type]
    assert list(grid.get_node_ids()) == [1, 2, 3]
    with pytest.raises(ValueError, match="poll_s"):
        FastPollGrid(_Grid(), poll_s=0)  # type: ignore[arg-type]
