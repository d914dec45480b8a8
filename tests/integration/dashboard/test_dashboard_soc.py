"""The dashboard's SOC views in Chromium against a running ``fednids demo`` with seeded
incidents (soc_seed.py): incident view (ATT&CK, flow metadata, IOC hits), "suppress like
this", "mark false positive", the Suppressions page (hits, audit trail, expire), a read
token refused, the Inventory page, "Fetch packets" on a hub without packet evidence (409) and
the Threat-intel page. Results in reports/dashboard-soc-e2e.json, screenshots in reports/screenshots/."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from dashboard_demo import CHROMIUM, DASH, REPO, DemoPool
from soc_seed import ASSET_MAC, FP_KEY, INTEL_SOURCE, IOC_KEY, READ_KEY, seed_soc, write_intel

pytestmark = pytest.mark.integration


def test_soc_views_in_chromium(
    demos: DemoPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare: a short demo (no packet evidence, an intel status), and the incidents the SOC
    # views need in its store
    monkeypatch.delenv("FEDNIDS_HUB_EVIDENCE_MQTT_URL", raising=False)
    monkeypatch.setenv("FEDNIDS_HUB_INTEL_STATUS", str(write_intel(tmp_path / "intel")))
    demo = demos.new("soc", "--duration", "60", "--speed", "3", "--fl-rounds", "0").start()
    seed_soc(f"sqlite:///{demo.state / 'hub.db'}")
    env = dict(
        os.environ, DASH_URL=demo.url, OPERATOR_TOKEN=demo.tokens["operator"],
        READ_TOKEN=demo.tokens["read"], IOC_KEY=IOC_KEY, FP_KEY=FP_KEY, READ_KEY=READ_KEY,
        ASSET_MAC=ASSET_MAC, INTEL_SOURCE=INTEL_SOURCE,
        SCREENSHOT_DIR=str(REPO / "reports" / "screenshots"), CHROMIUM=CHROMIUM,
    )  # fmt: skip
    # execute
    proc = subprocess.run(
        ["node", str(DASH / "e2e" / "soc.mjs")],
        cwd=REPO, env=env, check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # assert
    out = proc.stdout.strip().splitlines()
    result = json.loads(out[-1]) if out and out[-1].startswith("{") else {}
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "dashboard-soc-e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    assert proc.returncode == 0, (
        "browser tests failed:\n" + "\n".join(result.get("failures", []))
        + f"\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n--- demo\n{demo.log()[-3000:]}"
    )  # fmt: skip
    assert len(result["checks"]) == 9 and all(c["ok"] for c in result["checks"])
    assert all(Path(p).is_file() for p in result["screenshots"])
