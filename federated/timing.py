"""Where a round's time goes, per node: from the hub's push of the message to the pull of the
node's reply (wall clock, one machine or NTP-synchronised hosts).

A node's reply carries stamps (``t-process``: its ``flwr-clientapp`` process started,
``t-app-import``: the app imported, ``t-handler``, ``t-reply``) and durations (``import-s``:
torch + Opacus + the model, ``eval-s``, ``duration-s``: the training); the hub's grid knows
when it pushed the messages and pulled each reply (:class:`federated.fast_grid.Exchange`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PARTS = ("to_node", "process_start", "import", "eval", "training", "other", "back")
"""``to_node``: the SuperNode's poll of the SuperLink (a fixed 3 s sleep in Flower 1.42),
the message's transfer and the SuperExec's poll (``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``) up to
the process start; ``process_start``: Python, Flower, pulling the message from the SuperNode,
importing the app; ``import``: torch, Opacus and the model; ``eval``: the held-out
evaluation; ``training``; ``other``: the rest of the handler (the windows, the accountant);
``back``: process exit, the SuperNode's reply poll (0.5 s), the transfer, the hub's pull."""


def breakdown(met: Mapping[str, float], pushed: float, received: float) -> dict[str, float]:
    """One node's message, in seconds (``total`` = pull minus push); {} without stamps."""
    stamps = ("t-process", "t-app-import", "t-handler", "t-reply")
    if not pushed or not received or any(not _ok(met.get(k)) for k in stamps):
        return {}
    t_proc, t_app, t_handler, t_reply = (float(met[k]) for k in stamps)
    parts = {
        "to_node": t_proc - pushed,
        "process_start": t_app - t_proc,
        "import": float(met.get("import-s", 0.0)),
        "eval": float(met.get("eval-s", 0.0)),
        "training": float(met.get("duration-s", 0.0)),
        "back": received - t_reply,
    }
    handler = t_reply - t_handler
    parts["other"] = max(0.0, handler - parts["import"] - parts["eval"] - parts["training"])
    # the process was started before this module's stamp of the handler: anything between
    # the app's import and the handler (Flower's own set-up) counts as process start
    parts["process_start"] += max(0.0, t_handler - t_app)
    parts["total"] = received - pushed
    return {k: round(v, 3) for k, v in parts.items()}


def critical(nodes: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The breakdown of the node whose reply came last (the one the round waited for)."""
    timed = [b for b in nodes.values() if "total" in b]
    return dict(max(timed, key=lambda b: b["total"])) if timed else {}


def p95(values: Iterable[float]) -> float:
    v = sorted(values)
    if not v:
        return math.nan
    return v[min(len(v) - 1, math.ceil(0.95 * len(v)) - 1)]


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Median and p95 of each part over rows (rounds)."""
    keys = [k for k in (*PARTS, "total", "round") if any(k in r for r in rows)]
    return {
        k: {
            "median": round(statistics.median(r[k] for r in rows if k in r), 2),
            "p95": round(p95(r[k] for r in rows if k in r), 2),
        }
        for k in keys
    }


def _ok(v: object) -> bool:
    return isinstance(v, int | float) and math.isfinite(v) and v > 0
