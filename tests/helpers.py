"""Small helpers any test may use (fixtures live in the conftest.py files)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def wait_until(cond: Callable[[], bool], timeout: float = 20.0, every: float = 0.05) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return cond()


def day_safe_now(margin_s: float = 1800.0) -> datetime:
    """Now (UTC), or ``margin_s`` earlier when now is that close to midnight: a module that
    builds a day's rows from one clock keeps them, and its runs, inside one UTC day (a CI
    run that crossed midnight once saw two different "todays")."""
    now = datetime.now(UTC)
    if (now + timedelta(seconds=margin_s)).date() != now.date():
        now -= timedelta(seconds=margin_s)
    return now
