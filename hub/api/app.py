"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from contracts.version import __version__
from hub.api.openapi import install_openapi
from hub.api.routes import alerts, assets, events, fleet, health, intel, outputs, suppressions
from hub.api.routes import evidence as evidence_routes
from hub.api.ws import router as ws_router
from hub.bus import EventBus
from hub.errors import StoreError
from hub.evidence.settings import service_from_env
from hub.settings import HubSettings
from hub.storage import EventStore, Queries
from hub.storage.retention_metrics import StoreCollector


def create_app(settings: HubSettings, store: EventStore, bus: EventBus | None = None) -> FastAPI:
    app = FastAPI(
        title="fednids hub API",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.queries = Queries(store)
    app.state.bus = bus or EventBus(settings.ws_queue)
    app.state.evidence = service_from_env()  # packet evidence (None: off); tests set their own
    registry = CollectorRegistry()
    requests = Counter("api_requests", "API requests", ["status"], registry=registry)
    registry.register(StoreCollector(store))  # size, partitions, oldest data (retention)

    @app.middleware("http")
    async def count(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        requests.labels(str(response.status_code)).inc()
        return response

    @app.exception_handler(StoreError)
    async def store_down(_request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    routers = (health.router, fleet.router, events.router, alerts.router, suppressions.router)
    for r in (*routers, assets.router, intel.router, outputs.router):
        app.include_router(r, prefix="/api")
    app.include_router(evidence_routes.router, prefix="/api")
    app.include_router(ws_router)
    install_openapi(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)

    if settings.static_dir and Path(settings.static_dir, "index.html").is_file():
        _mount_dashboard(app, Path(settings.static_dir))
    return app


def _mount_dashboard(app: FastAPI, root: Path) -> None:
    from fastapi.staticfiles import StaticFiles

    if (root / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=root / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str) -> FileResponse:
        candidate = (root / path).resolve()
        if path and candidate.is_file() and root.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(root / "index.html")
