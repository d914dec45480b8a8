"""Process helpers every entry point uses: clean stop on SIGTERM / SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)


def stop_event_on_signals(event: threading.Event | None = None) -> threading.Event:
    """Return an event that is set on SIGTERM or SIGINT (main thread only).

    A second signal while stopping restores the default handler so it ends the process.
    """
    stop = event or threading.Event()

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        if stop.is_set():
            signal.signal(signum, signal.SIG_DFL)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)
    return stop
