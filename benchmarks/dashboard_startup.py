"""Demo start-up to a usable dashboard, and the dashboard's bundle size.

    python -m benchmarks.dashboard_startup --json OUT [--runs 3]

Per run: start ``python -m fednids demo`` on a free port and time, from the process start,
(1) the "ready" line with the tokens, (2) ``/`` serving the BUILT dashboard and its JS bundle,
(3) ``/api/overview`` answering with the operator token, (4) the first ``/ws/events`` frame.
"Usable" = all four. Needs ``make dashboard`` (dashboard/dist) first. Also reports the size of
every file in dashboard/dist, raw and gzip -9.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchmarks.common import REPO, add_json_arg, free_port, write_result

DIST = REPO / "dashboard" / "dist"


def bundle_sizes() -> dict[str, Any]:
    files = {}
    for p in sorted(DIST.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            raw = p.read_bytes()
            files[str(p.relative_to(DIST))] = {
                "bytes": len(raw),
                "gzip_bytes": len(gzip.compress(raw, 9)),
            }
    return {
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "total_gzip_bytes": sum(f["gzip_bytes"] for f in files.values()),
    }


async def _first_frame(url: str, token: str) -> None:
    offer = ["fednids.v1", f"bearer.{token}"]  # the token rides in Sec-WebSocket-Protocol
    async with websockets.connect(f"{url}/ws/events", subprotocols=offer) as ws:  # type: ignore[arg-type]
        await asyncio.wait_for(ws.recv(), timeout=60)


def one_run() -> dict[str, float]:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as state:
        log = Path(state) / "demo.log"
        t0 = time.monotonic()
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fednids", "demo", "--port", str(port),
                 "--state-dir", state],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            tokens: dict[str, str] = {}
            while len(tokens) < 2:
                if proc.poll() is not None or time.monotonic() - t0 > 120:
                    raise RuntimeError(f"demo did not start:\n{log.read_text()}")
                for line in log.read_text().splitlines():
                    parts = line.split()
                    if len(parts) == 3 and parts[1] == "token":
                        tokens[parts[0]] = parts[2]
                time.sleep(0.02)
            t_ready = time.monotonic() - t0
            with httpx.Client(base_url=base, timeout=10) as http:
                index = http.get("/").text
                assets = re.findall(r'src="(/assets/[^"]+\.js)"', index)
                if not assets:
                    raise RuntimeError("/ is not the built dashboard (run `make dashboard`)")
                http.get(assets[0]).raise_for_status()
                t_dashboard = time.monotonic() - t0
                auth = {"Authorization": f"Bearer {tokens['operator']}"}
                http.get("/api/overview", headers=auth).raise_for_status()
                t_api = time.monotonic() - t0
            asyncio.run(_first_frame(url, tokens["operator"]))
            t_live = time.monotonic() - t0
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "ready_line_s": t_ready,
        "dashboard_served_s": t_dashboard,
        "api_answers_s": t_api,
        "first_live_event_s": t_live,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_json_arg(ap, required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not (DIST / "index.html").is_file():
        print("dashboard/dist is missing: run `make dashboard`", file=sys.stderr)
        return 2
    runs = [one_run() for _ in range(args.runs)]
    result = {
        "command": f"python -m benchmarks.dashboard_startup --runs {args.runs}",
        "runs": runs,
        "median": {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]},
        "bundle": bundle_sizes(),
    }
    write_result(args.json, result)
    print(
        json.dumps(
            {
                "median": result["median"],
                "bundle_total_gzip_bytes": result["bundle"]["total_gzip_bytes"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
