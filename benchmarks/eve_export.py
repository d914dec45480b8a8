"""Interop check: a capture's incidents, detections and flows as Suricata EVE JSON, every record
validated against Suricata's own schema (read by path; 0 invalid is the target).

    python -m benchmarks.eve_export --capture /work/replay/replay_bench.pcap \
        --schema ../shared/data/reference/suricata-eve-schema.json --out reports/eve_export
    python -m benchmarks.eve_export --from fednids-analyze-replay_bench --schema ...

With ``--capture`` it runs ``fednids analyze``'s own machinery (:func:`fednids.analyze.run_analyze`)
into ``--out``; with ``--from`` it reads an existing analyze output directory (its
``incidents.jsonl`` and ``hub.db``). It writes ``eve.json`` (one record a line) beside them
and prints one JSON object (also written to ``--json`` when given): records, valid and
invalid per ``event_type``, the first errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
from sqlalchemy import create_engine, select

from benchmarks.common import add_json_arg, write_result
from contracts.events import AlertEvent, AnomalyEvent
from hub.outputs import eve

MAX_ERRORS = 10


def _incidents(out: Path) -> list[AlertEvent]:
    path = out / "incidents.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [AlertEvent.model_validate_json(line) for line in lines if line.strip()]


def _stored(out: Path) -> Iterator[dict[str, Any]]:
    """The detections and flows of the run's store, as EVE records."""
    from hub.storage.schema import events, flows

    engine = create_engine(f"sqlite:///{out / 'hub.db'}")
    try:
        with engine.connect() as conn:
            for r in conn.execute(select(events.c.payload).where(events.c.kind == "anomaly")):
                yield eve.anomaly_record(AnomalyEvent.model_validate_json(r.payload))
            for row in conn.execute(select(flows)).mappings():
                yield eve.stored_flow_record(dict(row))
    finally:
        engine.dispose()


def export(out: Path, schema: Path) -> dict[str, Any]:
    validator = jsonschema_rs.validator_for(json.loads(schema.read_text()))
    valid: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    t0 = time.monotonic()
    incidents = _incidents(out)
    with (out / "eve.json").open("w") as fh:
        records = (r for a in incidents for r in eve.to_eve(a))
        for rec in (*records, *_stored(out)):
            kind = str(rec.get("event_type"))
            problems = [e.message for e in validator.iter_errors(rec)]
            if problems:
                invalid[kind] += 1
                if len(errors) < MAX_ERRORS:
                    errors.append({"event_type": kind, "errors": problems[:3]})
            else:
                valid[kind] += 1
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return {
        "records": sum(valid.values()) + sum(invalid.values()),
        "valid": dict(valid),
        "invalid": dict(invalid),
        "invalid_total": sum(invalid.values()),
        "first_errors": errors,
        "incidents": len(incidents),
        "incidents_with_attack_techniques": sum(1 for a in incidents if a.techniques),
        "export_s": round(time.monotonic() - t0, 3),
        "eve_file": str(out / "eve.json"),
        "schema": str(schema),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--capture", type=Path, help="run fednids analyze over this capture")
    src.add_argument("--from", dest="source", type=Path, help="an analyze output directory")
    ap.add_argument("--schema", type=Path, required=True, help="Suricata's etc/schema.json")
    ap.add_argument("--out", type=Path, help="analyze output directory (with --capture)")
    ap.add_argument("--no-lstm", action="store_true")
    add_json_arg(ap)
    args = ap.parse_args(argv)
    if not args.schema.is_file():
        print(f"eve_export: no schema at {args.schema}", file=sys.stderr)
        return 2
    out = args.source
    analyze: dict[str, Any] | None = None
    if args.capture is not None:
        from fednids.analyze import AnalyzeConfig, run_analyze
        from hub.services.settings import ServicesSettings

        out = args.out or Path(f"fednids-analyze-{args.capture.stem}")
        cfg = AnalyzeConfig(
            capture=args.capture,
            out=out,
            use_lstm=not args.no_lstm,
            progress=False,
            services=ServicesSettings(),
        )
        result = run_analyze(cfg)
        analyze = {
            k: result.summary.get(k) for k in ("packets", "flows", "detections", "incidents")
        }
    if not (out / "hub.db").is_file():
        print(f"eve_export: {out} is not a fednids analyze output (no hub.db)", file=sys.stderr)
        return 2
    report = export(out, args.schema)
    if analyze is not None:
        report["analyze"] = analyze
    print(write_result(args.json, report))
    return 0 if report["invalid_total"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
