"""The base of the API's own response models, and the error body every 4xx/5xx carries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Closed (``additionalProperties: false``) and every field present in the output, so the
    generated TypeScript has no index signatures and no needless optionals."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Problem(ApiModel):
    """The body of an error answer (401, 403, 404, 400, 503)."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or invalid bearer token"},
    503: {"model": Problem, "description": "Database unavailable"},
}
"""Answers any route behind a token can give, for the OpenAPI."""
