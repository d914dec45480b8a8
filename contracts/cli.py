"""``fednids contracts ...``: export the JSON Schemas, validate a payload file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("contracts", help="event contracts: export JSON Schema, validate payloads")
    csub = p.add_subparsers(dest="contracts_cmd", required=True)
    ex = csub.add_parser("export-schema", help="write one JSON Schema per event kind")
    ex.add_argument("--out", type=Path, required=True, help="output folder")
    ex.set_defaults(handler=_export)
    va = csub.add_parser("validate", help="validate a payload file (one event or a batch)")
    va.add_argument("file", type=Path)
    va.set_defaults(handler=_validate)


def _export(args: argparse.Namespace) -> int:
    from contracts.schema import export_schemas

    paths = export_schemas(args.out)
    print(f"wrote {len(paths)} schema files to {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from contracts import ValidationFailed, decode_batch

    try:
        events = decode_batch(args.file.read_bytes())
    except ValidationFailed as exc:
        print(f"invalid: {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"valid: {len(events)} event(s): {', '.join(sorted({e.kind for e in events}))}")  # type: ignore[attr-defined]
    return 0
