"""The app's OpenAPI document, with the ``/ws/events`` frame added under components.

WebSocket routes have no place in OpenAPI's ``paths``, but the dashboard's types are generated
from this one document, so the live frame model (and every event model it carries) is put in
``components.schemas`` beside the REST models."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub.api.models import LiveFrame

EXTRA_MODELS: tuple[type[BaseModel], ...] = (LiveFrame,)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                routes=app.routes,
                description=app.description,
            )
            _, defs = models_json_schema(
                [(m, "serialization") for m in EXTRA_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in defs.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
