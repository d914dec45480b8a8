"""The HTML report of ``fednids analyze``: one self-contained file (inline CSS and SVG, no
scripts, nothing fetched): the run's counts, a timeline of packets, flows and detections
over capture time with the incidents marked, the incident table and, per incident, its
evidence and the detections it groups. Every string from the capture is escaped."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from contracts.events import AlertEvent

WIDTH, LEFT, RIGHT = 960, 70, 16
PANEL_H, GAP = 64, 14
MAX_BINS = 240
MAX_LANES = 40
MAX_SECTIONS = 500
"""Incidents with their own evidence section (all are in the table and incidents.jsonl)."""
SEV_COLOR = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#3b82f6",
    "info": "#6b7280",
}
DETECTOR_COLOR = ["#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"]
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#111827}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#6b7280}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #f3f4f6;vertical-align:top}
th{background:#f9fafb;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
.kv td:first-child{width:180px;color:#374151}.inc{border:1px solid #e5e7eb;border-radius:6px;padding:4px 12px 10px;margin:12px 0}
code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}pre{background:#f9fafb;padding:8px;overflow:auto}
svg text{font:11px system-ui,sans-serif;fill:#374151}
.ev{display:flex;flex-wrap:wrap;gap:4px 8px}.ev span{background:#f3f4f6;border-radius:4px;padding:1px 6px;font-size:13px}
.ev b{font-weight:600;color:#374151}
"""


def _e(v: object) -> str:
    return escape(str(v), quote=True)


def _ts(t: float | None) -> str:
    if t is None:
        return "–"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _badge(sev: str) -> str:
    return f'<span class="sev" style="background:{SEV_COLOR.get(sev, "#6b7280")}">{_e(sev)}</span>'


TICK_STEPS = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800, 1209600, 2592000,
)  # fmt: skip


def _tick_step(span: float, most: int = 8) -> float:
    """A round step (s, min, h, days) giving at most ``most`` intervals over ``span``."""
    for step in TICK_STEPS:
        if span / step <= most:
            return float(step)
    return float(math.ceil(span / most / 2592000) * 2592000)


def _bin_width(duration: float) -> int:
    for w in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
        if duration / w <= MAX_BINS:
            return w
    return math.ceil(duration / MAX_BINS)


def _binned(per_second: Counter[int], t0: float, width: int, n: int) -> list[int]:
    out = [0] * n
    base = int(t0)
    for sec, c in per_second.items():
        i = (sec - base) // width
        if 0 <= i < n:
            out[i] += c
        elif i >= n:
            out[-1] += c
    return out


def timeline_svg(
    series: dict[str, Any],
    t_first: float | None,
    t_last: float | None,
    incidents: Sequence[AlertEvent],
    spans: Sequence[tuple[float, float]],
) -> str:
    """Packets, flows and detections per time bin over capture time, incidents marked."""
    if t_first is None or t_last is None:
        return '<p class="muted">The capture held no packet this build could read.</p>'
    base = float(int(t_first))
    duration = max(t_last - base, 1.0)
    width = _bin_width(duration)
    n = max(1, math.ceil((duration + 1e-9) / width))
    plot_w = WIDTH - LEFT - RIGHT
    span_s = n * width

    def x(t: float) -> float:
        return LEFT + (t - base) / span_s * plot_w

    dets: dict[str, Counter[int]] = series.get("detections", {})
    detector_names = sorted(dets)
    panels: list[tuple[str, list[list[int]], list[str]]] = [
        ("packets", [_binned(series.get("packets", Counter()), base, width, n)], ["#1f2937"]),
        ("flows", [_binned(series.get("flows", Counter()), base, width, n)], ["#0f766e"]),
        (
            "detections",
            [_binned(dets[d], base, width, n) for d in detector_names] or [[0] * n],
            [DETECTOR_COLOR[i % len(DETECTOR_COLOR)] for i in range(len(detector_names))]
            or ["#7c3aed"],
        ),
    ]
    lanes = min(len(incidents), MAX_LANES)
    lane_h = 10
    top = 18
    height = top + len(panels) * (PANEL_H + GAP) + (lanes * lane_h + 24 if lanes else 0) + 28
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline">'
    ]
    bw = plot_w / n
    y = top
    for name, stacks, colors in panels:
        totals = [sum(col) for col in zip(*stacks, strict=True)]
        peak = max(totals) if totals else 0
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 12}" text-anchor="end">{_e(name)}</text>'
            f'<text x="{LEFT - 6}" y="{y + 26}" text-anchor="end" style="fill:#9ca3af">'
            f"max {_short(peak)}</text>"
            f'<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{PANEL_H}" fill="#fafafa" '
            'stroke="#e5e7eb"/>'
        )
        if peak:
            below = [0] * n
            for stack, color in zip(stacks, colors, strict=True):
                for i, v in enumerate(stack):
                    if not v:
                        continue
                    h = v / peak * (PANEL_H - 2)
                    yy = y + PANEL_H - below[i] / peak * (PANEL_H - 2) - h
                    parts.append(
                        f'<rect x="{LEFT + i * bw:.2f}" y="{yy:.2f}" width="{max(bw - 0.3, 0.6):.2f}" '
                        f'height="{h:.2f}" fill="{color}"/>'
                    )
                    below[i] += v
        y += PANEL_H + GAP
    charts_bottom = y - GAP
    # incident markers across the charts, numbered as in the table
    for k, (a, (t1, _t2)) in enumerate(zip(incidents, spans, strict=True), 1):
        xx = x(t1)
        col = SEV_COLOR.get(a.severity, "#6b7280")
        parts.append(
            f'<line x1="{xx:.2f}" y1="{top - 4}" x2="{xx:.2f}" y2="{charts_bottom}" stroke="{col}" '
            f'stroke-width="1" stroke-opacity="0.55"><title>#{k} {_e(a.title)}</title></line>'
        )
        if k <= MAX_LANES:
            parts.append(
                f'<text x="{xx:.2f}" y="{top - 6}" text-anchor="middle" style="fill:{col}">{k}</text>'
            )
    if lanes:
        parts.append(f'<text x="{LEFT - 6}" y="{y + 8}" text-anchor="end">incidents</text>')
        for k, (a, (t1, t2)) in enumerate(zip(incidents[:lanes], spans[:lanes], strict=True), 1):
            x1, x2 = x(t1), x(max(t2, t1))
            yy = y + (k - 1) * lane_h
            parts.append(
                f'<rect x="{x1:.2f}" y="{yy}" width="{max(x2 - x1, 2.0):.2f}" height="{lane_h - 2}" '
                f'fill="{SEV_COLOR.get(a.severity, "#6b7280")}"><title>#{k} {_e(a.title)} '
                f"({_ts(t1)} – {_ts(t2)})</title></rect>"
                f'<text x="{min(x2 + 4, WIDTH - RIGHT - 20):.2f}" y="{yy + lane_h - 2}">{k}</text>'
            )
        if len(incidents) > lanes:
            parts.append(
                f'<text x="{LEFT}" y="{y + lanes * lane_h + 10}" class="muted">'
                f"(first {lanes} of {len(incidents)} incidents shown as bars)</text>"
            )
        y += lanes * lane_h + 24
    # time axis (seconds from the capture's first packet)
    step = _tick_step(span_s)
    t = 0.0
    while t <= span_s + 1e-9:
        xx = LEFT + t / span_s * plot_w
        parts.append(
            f'<line x1="{xx:.2f}" y1="{top}" x2="{xx:.2f}" y2="{y}" stroke="#e5e7eb" '
            f'stroke-dasharray="2,3"/><text x="{xx:.2f}" y="{y + 14}" text-anchor="middle">'
            f"{_fmt_s(t, step)}</text>"
        )
        t += step
    parts.append("</svg>")
    legend = " ".join(
        f'<span style="color:{DETECTOR_COLOR[i % len(DETECTOR_COLOR)]}">■</span> {_e(d)}'
        for i, d in enumerate(detector_names)
    )
    return (
        "".join(parts)
        + f'<p class="muted">Capture time from {_e(_ts(t_first))}; counts per bin of '
        + f"{_fmt_s(width, width).lstrip('+')}. "
        + (f"Detections by detector: {legend}." if legend else "No detections.")
        + " Vertical lines: the first detection of each incident (colour = severity).</p>"
    )


def _short(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else str(n)


def _fmt_s(t: float, step: float) -> str:
    """A tick label in the unit of the tick step: ``+90s``, ``+15min``, ``+6h``, ``+2d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if step >= size:
            return f"+{t / size:g}{unit}"
    return f"+{t:g}s"


def _kv(rows: Sequence[tuple[str, object]]) -> str:
    body = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v) if v not in (None, '', []) else '–'}</td></tr>"
        for k, v in rows
    )
    return f'<table class="kv">{body}</table>'


def _related_table(a: AlertEvent, related: dict[str, dict[str, Any]]) -> str:
    rows = []
    for i in a.related_ids:
        ev = related.get(str(i))
        if ev is None:
            rows.append(f'<tr><td colspan="7" class="muted">{_e(i)} (not in the store)</td></tr>')
            continue
        kind = ev.get("kind", "?")
        what = ev.get("detector") or ev.get("family") or ev.get("predictor") or ""
        rule = ev.get("rule_id") or ",".join(ev.get("rule_ids") or []) or ""
        src, dst = ev.get("src_ip") or "", ev.get("dst_ip") or ev.get("target_host") or ""
        port = ev.get("dst_port")
        if "score" in ev:
            val = f"{float(ev['score']):.3g} / {float(ev.get('threshold', 0)):.3g}"
        elif "confidence" in ev:
            val = f"conf {float(ev['confidence']):.2f}"
        elif "probability" in ev:
            val = f"p {float(ev['probability']):.2f}"
        else:
            val = ""
        win = ev.get("window_start")
        when = _ts(float(win)) if win is not None else _e(ev.get("ts", ""))
        rows.append(
            f"<tr><td>{_e(when)}</td><td>{_e(kind)}</td><td>{_e(what)}</td><td>{_e(rule)}</td>"
            f"<td>{_e(src)} → {_e(dst)}{':' + _e(port) if port is not None else ''}</td>"
            f'<td class="n">{_e(val)}</td><td>{_badge(ev["severity"]) if ev.get("severity") else ""}</td></tr>'
        )
    if not rows:
        return '<p class="muted">No related detections recorded.</p>'
    head = (
        "<tr><th>capture time</th><th>kind</th><th>detector / family</th><th>rule</th>"
        "<th>flow</th><th>score / threshold</th><th>severity</th></tr>"
    )
    more = (
        f'<p class="muted">{len(a.related_ids)} of {a.count} detections are linked to the incident.</p>'
        if a.count > len(a.related_ids)
        else ""
    )
    return f"<table>{head}{''.join(rows)}</table>{more}"


def _incident_section(
    k: int, a: AlertEvent, span: tuple[float, float], related: dict[str, dict[str, Any]]
) -> str:
    facts = _kv(
        [
            ("incident key", a.incident_key),
            ("severity", a.severity + (" (escalated)" if a.escalated else "")),
            ("family", a.family),
            ("first detection (capture)", _ts(span[0])),
            ("last detection (capture)", _ts(span[1])),
            ("detections", a.count),
            ("attackers", ", ".join(a.attackers)),
            ("targets", ", ".join(a.targets)),
            ("hosts", ", ".join(a.hosts[:16]) + (" …" if len(a.hosts) > 16 else "")),
            ("detectors", ", ".join(a.detectors)),
            ("rule ids", ", ".join(a.rule_ids)),
            ("sensors", ", ".join(a.nodes)),
            ("description", a.description),
        ]
    )
    evidence = (
        '<div class="ev">'
        + "".join(
            f"<span><b>{_e(key)}</b> {_e(val)}</span>" for key, val in sorted(a.evidence.items())
        )
        + "</div>"
        if a.evidence
        else '<p class="muted">No evidence fields.</p>'
    )
    return (
        f'<div class="inc" id="incident-{k}"><h3>#{k} {_badge(a.severity)} {_e(a.title)}</h3>'
        f"{facts}<h3>Evidence</h3>{evidence}<h3>Related detections</h3>"
        f"{_related_table(a, related)}</div>"
    )


def _counts(summary: dict[str, Any]) -> str:
    t = summary.get("time_s", {})
    rows: list[tuple[str, object]] = [
        ("capture", summary.get("capture")),
        (
            "capture time",
            f"{_ts(summary.get('capture_first_ts'))} – {_ts(summary.get('capture_last_ts'))}",
        ),
        ("duration (capture)", f"{summary.get('capture_duration_s', 0):,.1f} s"),
        ("packets", f"{summary.get('packets', 0):,}"),
        ("flows", f"{summary.get('flows', 0):,}"),
        (
            "detections",
            f"{summary.get('detections', 0):,} "
            + json.dumps(summary.get("detections_by_detector", {})),
        ),
        ("classifications", json.dumps(summary.get("classifications_by_family", {}))),
        ("predictions", summary.get("predictions", 0)),
        (
            "incidents",
            f"{summary.get('incidents', 0)} " + json.dumps(summary.get("incidents_by_family", {})),
        ),
        ("hub services", ", ".join(summary.get("hub_services", []))),
        ("time taken", f"{t.get('total', 0):.1f} s (reading {t.get('read', 0):.1f} s)"),
    ]
    if summary.get("frames_skipped"):
        rows.append(("frames skipped", json.dumps(summary["frames_skipped"])))
    return _kv(rows)


def _incident_table(
    incidents: Sequence[AlertEvent],
    spans: Sequence[tuple[float, float]],
    verdicts: dict[str, str],
) -> str:
    if not incidents:
        return "<p>No incidents: nothing in this capture was raised to an operator.</p>"
    head = (
        "<tr><th>#</th><th>first detection</th><th>severity</th><th>family</th><th>title</th>"
        "<th>attackers → targets</th><th>detectors</th><th>count</th>"
        + ("<th>labels say</th>" if verdicts else "")
        + "</tr>"
    )
    rows = []
    for k, (a, span) in enumerate(zip(incidents, spans, strict=True), 1):
        hosts = f"{', '.join(a.attackers[:3]) or '?'} → {', '.join(a.targets[:3]) or '?'}"
        if not a.attackers and not a.targets:
            hosts = ", ".join(a.hosts[:3])
        rows.append(
            f'<tr><td><a href="#incident-{k}">{k}</a></td><td>{_e(_ts(span[0]))}</td>'
            f"<td>{_badge(a.severity)}</td><td>{_e(a.family)}</td><td>{_e(a.title)}</td>"
            f"<td>{_e(hosts)}</td><td>{_e(', '.join(a.detectors))}</td>"
            f'<td class="n">{a.count}</td>'
            + (f"<td>{_e(verdicts.get(a.incident_key, '–'))}</td>" if verdicts else "")
            + "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _yes(v: object) -> str:
    return "yes" if v else "no"


def _scores(scores: dict[str, Any]) -> str:
    """The scorer's summary, then one row per attack; the raw result is in scores.json."""
    summary = scores.get("summary")
    flat = summary if isinstance(summary, dict) else scores
    out = _kv([(k, v) for k, v in flat.items() if not isinstance(v, dict | list)])
    attacks = [a for a in scores.get("attacks", []) if isinstance(a, dict)]
    if attacks:
        head = (
            "<tr><th>attack</th><th>family</th><th>packets</th><th>attackers</th>"
            "<th>targets</th><th>found</th><th>family right</th><th>incident families</th>"
            "<th>time to alert</th></tr>"
        )
        rows = []
        for a in attacks:
            tta = a.get("time_to_alert_s")
            att = ", ".join(map(str, a.get("attackers", [])[:3])) or (
                "spoofed" if a.get("spoofed") else "–"
            )
            n_t = a.get("n_targets", len(a.get("targets", [])))
            tgt = ", ".join(map(str, a.get("targets", [])[:3])) + (
                f" (+{n_t - 3})" if isinstance(n_t, int) and n_t > 3 else ""
            )
            rows.append(
                f"<tr><td>{_e(a.get('name', '?'))}</td><td>{_e(a.get('family', '?'))}</td>"
                f'<td class="n">{_e(a.get("packets", ""))}</td><td>{_e(att)}</td>'
                f"<td>{_e(tgt)}</td><td>{_yes(a.get('found'))}</td>"
                f"<td>{_yes(a.get('family_right'))}</td>"
                f"<td>{_e(', '.join(map(str, a.get('incident_families', []))))}</td>"
                f'<td class="n">{"–" if tta is None else f"{float(tta):.1f} s"}</td></tr>'
            )
        out += f"<h3>Per attack</h3><table>{head}{''.join(rows)}</table>"
    out += (
        '<p class="muted">The whole result, with every incident\'s verdict, is in scores.json.</p>'
    )
    return out


def _verdicts(scores: dict[str, Any] | None) -> dict[str, str]:
    """incident_key -> the scorer's verdict (matched attack names, ``false``, ...)."""
    if not scores:
        return {}
    return {
        str(r["key"]): str(r.get("matched", ""))
        for r in scores.get("incidents", [])
        if isinstance(r, dict) and "key" in r
    }


def render_report(
    summary: dict[str, Any],
    incidents: Sequence[AlertEvent],
    spans: Sequence[tuple[float, float]],
    related: dict[str, dict[str, Any]],
    series: dict[str, Any],
    scores: dict[str, Any] | None = None,
) -> str:
    name = str(summary.get("capture", "capture")).rsplit("/", 1)[-1]
    sections = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>fednids analyze — {_e(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>fednids analyze — {_e(name)}</h1>",
        f'<p class="muted">{len(incidents)} incident(s) from {summary.get("packets", 0):,} packets. '
        "Produced by the fednids edge agent, bridge and hub services in one process.</p>",
        "<h2>Run</h2>",
        _counts(summary),
        "<h2>Timeline</h2>",
        timeline_svg(
            series,
            summary.get("capture_first_ts"),
            summary.get("capture_last_ts"),
            incidents,
            spans,
        ),
        "<h2>Incidents</h2>",
        _incident_table(incidents, spans, _verdicts(scores)),
    ]
    if scores is not None:
        sections += ["<h2>Scores against the labels</h2>", _scores(scores)]
    if incidents:
        sections.append("<h2>Evidence per incident</h2>")
        sections += [
            _incident_section(k, a, span, related)
            for k, (a, span) in enumerate(zip(incidents, spans, strict=True), 1)
            if k <= MAX_SECTIONS
        ]
        if len(incidents) > MAX_SECTIONS:
            sections.append(
                f'<p class="muted">Evidence shown for the first {MAX_SECTIONS} of '
                f"{len(incidents)} incidents; all of them are in incidents.jsonl.</p>"
            )
    sections.append("</body></html>\n")
    return "\n".join(sections)
