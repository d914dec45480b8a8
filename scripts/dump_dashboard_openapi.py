"""Write the hub API's OpenAPI document, from which the dashboard's TypeScript is generated.

It is exactly ``create_app(...).openapi()`` (no server): the REST routes with their response
models, plus the ``/ws/events`` frame under ``components.schemas`` (see hub/api/openapi.py).
``scripts/gen-dashboard-types.sh`` (``make schemas``) runs this, then openapi-typescript.

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
    from hub.api.app import create_app
    from hub.settings import HubSettings
    from hub.storage import EventStore

    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(f"sqlite:///{tmp}/openapi.db")
        doc = create_app(HubSettings(static_dir=None), store).openapi()
        store.engine.dispose()
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
                f"{args.out} is stale: run `make schemas` (scripts/gen-dashboard-types.sh)",
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
