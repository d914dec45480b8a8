"""The dashboard's API types are generated from the hub's OpenAPI only: these fail when the
committed dashboard/src/api/openapi.json or generated.ts no longer match what
``scripts/gen-dashboard-types.sh`` (``make schemas``) would write now, or when a route loses
its response model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from hub.api.app import create_app
from hub.api.routes import alerts, assets, events, fleet, health, intel, outputs, suppressions
from hub.api.routes import evidence as evidence_routes
from hub.settings import HubSettings
from hub.storage import EventStore

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "dashboard"
DUMP = REPO / "scripts" / "dump_dashboard_openapi.py"
OPEN_MAPS = {"ModelAnnouncement.metadata"}
"""The only free-form objects: a model's metadata is any JSON the trainer wrote."""
FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}
"""FastAPI's 422 body (not ours to close)."""


def _dump(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DUMP), *args], check=False, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(f"sqlite:///{tmp}/spec.db")
        doc = create_app(HubSettings(static_dir=None), store).openapi()
        store.engine.dispose()
    return doc


def test_committed_openapi_matches_the_hub() -> None:
    proc = _dump("--check")
    assert proc.returncode == 0, proc.stderr


def test_check_detects_a_stale_copy(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    proc = _dump("--check", "--out", str(stale))
    assert proc.returncode == 1
    assert "stale" in proc.stderr


@pytest.mark.skipif(
    shutil.which("node") is None
    or not (DASHBOARD / "node_modules" / "openapi-typescript").is_dir(),
    reason="node or dashboard/node_modules missing (scripts/build-dashboard.sh installs them)",
)
def test_committed_typescript_matches_the_openapi(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["node", str(DASHBOARD / "scripts" / "check-types.mjs")],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_every_route_declares_its_response_model(spec: dict[str, Any]) -> None:
    routers = (alerts.router, events.router, fleet.router, health.router, suppressions.router)
    routers += (assets.router, evidence_routes.router, intel.router, outputs.router)
    routes = [r for rt in routers for r in rt.routes if isinstance(r, APIRoute)]
    assert len(routes) == sum(len(ops) for ops in spec["paths"].values())  # all of them
    files = {"/evidence/{evidence_id}/pcap"}  # a binary download (its content type is declared)
    assert not [r.path for r in routes if r.response_model is None and r.path not in files]


def test_every_success_body_is_a_closed_named_schema(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = (op["responses"].get("200") or op["responses"]["202"])["content"]
            if "application/json" not in content:  # a binary download (the evidence pcap)
                assert list(content) == ["application/vnd.tcpdump.pcap"], f"{method} {path}"
                continue
            body = content["application/json"]["schema"]
            assert "$ref" in body, f"{method} {path} answers an anonymous schema: {body}"


def test_no_open_objects_but_the_model_metadata(spec: dict[str, Any]) -> None:
    open_maps = {
        f"{name}.{field}"
        for name, schema in spec["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if prop.get("additionalProperties") is True
    }
    assert open_maps == OPEN_MAPS
    own = [
        name
        for name, schema in spec["components"]["schemas"].items()
        if schema.get("type") == "object"
        and schema.get("additionalProperties") is not False
        and name not in FASTAPI_OWN
    ]
    assert own == [], f"schemas open to any key: {own}"


def test_the_live_frame_is_in_the_document(spec: dict[str, Any]) -> None:
    frame = spec["components"]["schemas"]["LiveFrame"]
    kinds = set(frame["properties"]["event"]["discriminator"]["mapping"])
    assert kinds == {"flow", "anomaly", "classification", "prediction", "alert", "fl", "status",
                     "model", "asset"}  # fmt: skip
    assert "dead_letter" not in frame["properties"]["topic"]["enum"]
    assert json.dumps(spec).count("#/components/schemas/LiveFrame") == 0  # not used by a route
