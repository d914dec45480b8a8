"""``fednids analyze CAPTURE``: the whole chain over one capture (as ``zeek -r`` is used)."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze",
        help="run the edge agent, bridge and hub over a pcap in one process; print the incidents",
        description=(
            "Replay CAPTURE (pcap or pcapng) as fast as possible through the real edge agent, "
            "bridge, hub services and store on in-process transports; print the incidents and "
            "write DIR/incidents.jsonl, DIR/report.html and DIR/summary.json (and "
            "DIR/scores.json with --labels). Exit code 2 on a bad input."
        ),
    )
    p.add_argument("capture", type=Path, help="a pcap or pcapng file")
    p.add_argument(
        "--labels",
        type=Path,
        metavar="CSV",
        help="per-packet labels CSV (index,label,attack): also score the incidents",
    )
    p.add_argument(
        "--start-packet",
        type=int,
        default=0,
        metavar="N",
        help="with --labels: score only from packet N on (e.g. after an attack-free prefix)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output directory (default: ./fednids-analyze-<capture name>)",
    )
    p.add_argument(
        "--node-id", default="capture", help="the sensor name the capture is reported under"
    )
    p.add_argument(
        "--model-dir",
        type=Path,
        metavar="DIR",
        help="the agent's LSTM (default: the shipped int8 model)",
    )
    p.add_argument("--no-lstm", action="store_true", help="run the agent without its LSTM")
    p.add_argument(
        "--learn-flows",
        type=int,
        metavar="N",
        help="the agent's learning period: at least N clean flows (default: the agent's)",
    )
    p.add_argument(
        "--learn-hours",
        type=float,
        metavar="H",
        help="... and at least H hours of capture time (default: the agent's)",
    )
    p.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra agent setting (edge_agent.settings.AgentSettings), repeatable",
    )
    p.add_argument(
        "--suppressions",
        type=Path,
        metavar="FILE",
        help="suppressions to apply (JSON or TOML, the API's shape: match, reason, expires_at; "
        "a saved GET /api/suppressions answer works): the incidents they match are counted and "
        "kept in incidents.jsonl (marked), not in the table, the report or eve.json",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary JSON, not the table")
    p.set_defaults(handler=_run)


def _agent_options(args: argparse.Namespace) -> dict[str, Any]:
    from fednids.analyze import AnalyzeError

    out: dict[str, Any] = {}
    for pair in args.agent:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AnalyzeError(f"--agent takes KEY=VALUE, got {pair!r}")
        out[key.strip().replace("-", "_")] = value
    if args.learn_flows is not None:
        out["learn_flows"] = args.learn_flows
    if args.learn_hours is not None:
        out["learn_hours"] = args.learn_hours
    return out


def _score_lines(scores: dict[str, Any]) -> list[str]:
    """The scorer's summary, then one line per attack."""
    summary = scores.get("summary")
    items = summary if isinstance(summary, dict) else scores
    lines = [
        f"  {k}: {json.dumps(v, default=str)}"
        for k, v in items.items()
        if not isinstance(v, dict | list)
    ]
    attacks = scores.get("attacks")
    if isinstance(attacks, list) and attacks:
        lines.append("  per attack:")
        for a in attacks:
            if not isinstance(a, dict):
                continue
            tta = a.get("time_to_alert_s")
            lines.append(
                f"    {a.get('name', '?')!s:<24} {a.get('family', '?')!s:<11}"
                f" found={'yes' if a.get('found') else 'no ':<3}"
                f" family_right={'yes' if a.get('family_right') else 'no ':<3}"
                f" time_to_alert={'-' if tta is None else f'{float(tta):.1f}s'}"
            )
    return lines


def _run(args: argparse.Namespace) -> int:
    from fednids.analyze import (
        AnalyzeConfig,
        AnalyzeError,
        format_table,
        incident_rows,
        run_analyze,
    )
    from hub.services.settings import ServicesSettings

    out = args.out or Path(f"fednids-analyze-{args.capture.stem or 'capture'}")
    try:
        result = run_analyze(
            AnalyzeConfig(
                capture=args.capture,
                out=out,
                labels=args.labels,
                start_packet=args.start_packet,
                node_id=args.node_id,
                model_dir=args.model_dir,
                use_lstm=not args.no_lstm,
                progress=False if args.no_progress else None,
                agent_options=_agent_options(args),
                services=ServicesSettings(),
                suppressions=args.suppressions,
            )
        )
    except AnalyzeError as exc:
        print(f"fednids analyze: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fednids analyze: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in the chain: one line, the traceback at DEBUG
        logging.getLogger("fednids.analyze").debug("analyze failed", exc_info=True)
        print(
            f"fednids analyze: internal error: {type(exc).__name__}: {exc}"
            " (--log-level DEBUG shows the traceback)",
            file=sys.stderr,
        )
        return 1
    incomplete = _incomplete(result.summary)
    if args.json:
        print(json.dumps(result.summary, indent=2))
        return 1 if incomplete else 0
    t0 = result.summary["capture_first_ts"]
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    print(format_table(incident_rows(result.incidents, result.related, t0), width))
    if result.scores is not None:
        print("\nscores against the labels:")
        print("\n".join(_score_lines(result.scores)))
    quiet = result.summary.get("suppressions")
    if quiet is None:
        print(f"\n{len(result.incidents)} incident(s). Written:")
    else:
        print(
            f"\n{len(result.incidents)} incident(s), {len(result.suppressed)} more suppressed by "
            f"{quiet['file']} ({quiet['applied']} of {quiet['in_file']} suppressions in force; "
            "marked in incidents.jsonl, counted in summary.json, left out of the table, the "
            "report and eve.json). Written:"
        )
    for name, path in sorted(result.files.items()):
        print(f"  {name:<10} {path}")
    return 1 if incomplete else 0


def _incomplete(summary: dict[str, Any]) -> bool:
    """Say so on stderr when a stage failed or not everything was consumed (exit code 1)."""
    errors = summary.get("stage_errors") or []
    if not errors and summary.get("all_consumed", True):
        return False
    why = f"{len(errors)} stage error(s), first: {errors[0]}" if errors else "events left unread"
    print(f"fednids analyze: warning: the results are incomplete: {why}", file=sys.stderr)
    return True
