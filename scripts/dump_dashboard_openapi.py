"""Write the OpenAPI document the dashboard's TypeScript types are generated from.

It is the hub API's own ``app.openapi()`` plus the contracts' event models (serialization
JSON Schema) under ``components.schemas``, so one generator (openapi-typescript) types both
the REST parameters and the events the REST lists and ``/ws/events`` carry.

    python scripts/dump_dashboard_openapi.py            # rewrite dashboard/src/api/openapi.json
    python scripts/dump_dashboard_openapi.py --check    # exit 1 when the committed copy is stale
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TARGET = REPO / "dashboard" / "src" / "api" / "openapi.json"


def build() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from contracts.events import EVENT_TYPES
    from hub.api.app import create_app
    from hub.settings import HubSettings
    from hub.storage import EventStore

    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(f"sqlite:///{tmp}/openapi.db")
        doc = create_app(HubSettings(static_dir=None), store).openapi()
        store.engine.dispose()
    models = [(m, "serialization") for m in EVENT_TYPES.values()]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when the committed copy is stale")
    ap.add_argument("--out", type=Path, default=TARGET)
    args = ap.parse_args()
    text = render(build())
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            print(
                f"{args.out} is stale: run `python scripts/dump_dashboard_openapi.py` "
                "then `npm --prefix dashboard run types:gen`",
                file=sys.stderr,
            )
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
