"""JSON Schema export for the dashboard (its TypeScript types are generated from these)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from contracts.events import EVENT_TYPES, Event, EventBatch
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.topics import KafkaTopic, MqttKind


def export_schemas(out: Path) -> list[Path]:
    """Write ``<kind>.schema.json`` per event, ``event.schema.json`` (the union),
    ``batch.schema.json`` and ``registry.json`` (topics and feature names)."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def _write(name: str, obj: object) -> None:
        path = out / name
        path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
        written.append(path)

    for kind, model in EVENT_TYPES.items():
        _write(f"{kind}.schema.json", model.model_json_schema(mode="serialization"))
    _write("event.schema.json", TypeAdapter(Event).json_schema(mode="serialization"))
    _write("batch.schema.json", EventBatch.model_json_schema(mode="serialization"))
    _write(
        "registry.json",
        {
            "kafka_topics": [t.value for t in KafkaTopic],
            "mqtt_kinds": [k.value for k in MqttKind],
            "feature_version": FEATURE_VERSION,
            "flow_features": list(FLOW_FEATURES),
        },
    )
    return written
