"""``fednids analyze CAPTURE``: the whole fednids chain over one capture, in one process.

As ``zeek -r`` / ``suricata -r`` are used: a real :class:`edge_agent.agent.Agent` reads the
capture (``pcap:PATH``, as fast as possible) and runs its own detection stack; its outbox
goes over an in-process "MQTT" (``memory://``) to the :class:`bridge.service.Bridge`, into an
in-process "Kafka" read by the hub services (Isolation Forest, threat classifier, GNN
predictor, alerting) and by the :class:`hub.ingestor.Ingestor`, which stores everything in
SQLite in the output directory. These are the classes the multi-process deployment runs on
Mosquitto, Kafka and PostgreSQL; only the transport URLs differ.

The end is deterministic: once the agent has read the whole capture and its outbox is
acknowledged, the run waits (bounded) until every consumer group has consumed every topic,
stops the service threads, then steps the stages itself until nothing moves, flushes what the
services still hold for the end of a replay (the classifier's join window) and steps again.
Then the incidents (the latest :class:`AlertEvent` per incident) are read from the store.
The chain and its end are in :mod:`fednids.analyze_chain`; the HTML in :mod:`fednids.report`.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError
from sqlalchemy import func, select

from contracts.events import SEVERITIES, AlertEvent
from contracts.transports import open_publisher
from models.paths import artifact_dir

if TYPE_CHECKING:
    from fednids.analyze_chain import Chain

log = logging.getLogger("fednids.analyze")
SHIPPED_LSTM = artifact_dir("lstm-ae")
MARKER = ".fednids-analyze"
"""A file in the output directory that says the state there is ours to replace."""
NOISY_LOGGERS = ("edge_agent", "bridge", "hub", "contracts", "models", "fednids.hub")
DRAIN_TIMEOUT_S = 300.0


class AnalyzeError(Exception):
    """A problem the user can fix (bad capture, bad labels, output not writable): exit 2."""


@dataclass
class AnalyzeConfig:
    capture: Path
    out: Path
    labels: Path | None = None
    start_packet: int = 0
    """Score against the labels from this packet on (e.g. after an attack-free prefix)."""
    node_id: str = "capture"
    model_dir: Path | None = None
    """The agent's LSTM (default: the shipped int8 model when present; see ``use_lstm``)."""
    use_lstm: bool = True
    progress: bool | None = None
    """Show a live progress bar (None: only when stderr is a terminal)."""
    drain_timeout_s: float = DRAIN_TIMEOUT_S
    agent_options: dict[str, Any] = field(default_factory=dict)
    """Extra :class:`AgentSettings` fields (e.g. the baseline's learning period)."""
    services: Any = None
    """The hub services' settings (:class:`hub.services.settings.ServicesSettings`; the entry
    point reads them from ``FEDNIDS_SERVICES_*``); None: their defaults."""
    suppressions: Path | None = None
    """A suppressions file (:mod:`fednids.analyze_suppressions`): the incidents they match are
    marked and counted, and left out of the table, the report and ``eve.json``."""


@dataclass
class AnalyzeResult:
    summary: dict[str, Any]
    incidents: list[AlertEvent]
    related: dict[str, dict[str, Any]]
    """The stored detections the incidents name, by event id."""
    scores: dict[str, Any] | None
    files: dict[str, Path]
    suppressed: list[AlertEvent] = field(default_factory=list)
    """The incidents a suppression of ``--suppressions`` marked (not in ``incidents``)."""


# -- input checks ------------------------------------------------------------------------------
def check_capture(path: Path) -> None:
    """A readable pcap or pcapng file, or :class:`AnalyzeError` with a one-line reason."""
    from edge_agent.capture.pcap import PCAP_MAGICS, PCAPNG_SHB

    if not path.exists():
        raise AnalyzeError(f"no such file: {path}")
    if not path.is_file():
        raise AnalyzeError(f"not a file: {path}")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise AnalyzeError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if magic not in PCAP_MAGICS and magic != PCAPNG_SHB:
        what = "an empty file" if not magic else f"magic {magic.hex()}"
        raise AnalyzeError(f"{path} is not a pcap or pcapng capture ({what})")


def check_labels(path: Path) -> None:
    if not path.is_file():
        raise AnalyzeError(f"labels: no such file: {path}")
    try:
        with path.open(newline="") as f:
            head = f.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalyzeError(f"labels: cannot read {path}: {exc}") from exc
    cols = {c.strip() for c in head.strip().split(",")}
    if not {"index", "label"} <= cols:
        raise AnalyzeError(
            f"labels: {path} needs a header with index,label[,attack] (got {head.strip()[:80]!r})"
        )


def prepare_out(out: Path) -> None:
    """Create ``out``; replace the state a previous ``fednids analyze`` left there."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnalyzeError(
            f"cannot create the output directory {out}: {exc.strerror or exc}"
        ) from exc
    ours = (out / MARKER).is_file()
    db = out / "hub.db"
    if db.exists() and not ours:
        raise AnalyzeError(
            f"{out} holds a hub.db that fednids analyze did not write; choose another --out"
        )
    if ours:
        for name in ("hub.db", "hub.db-wal", "hub.db-shm"):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "agent", ignore_errors=True)
        shutil.rmtree(out / "hub", ignore_errors=True)
    try:
        (out / MARKER).write_text("state written by fednids analyze; replaced on each run\n")
    except OSError as exc:
        raise AnalyzeError(f"cannot write in {out}: {exc.strerror or exc}") from exc


# -- the capture, with what the progress bar and the timeline need ------------------------------
class TrackedSource:
    """The agent's packet source, counting what it hands out: packets, packets per capture
    second (the timeline) and the bytes of the file read so far (the progress bar)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.stats = inner.stats
        self.packets = 0
        self.bytes_read = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.per_second: Counter[int] = Counter()
        frames = getattr(inner, "frames", None)
        if callable(frames):  # count the bytes of each frame record the pcap reader reads

            def counted() -> Iterator[tuple[int, float, int, bytes]]:
                for fr in frames():
                    self.bytes_read += 16 + len(fr[3])
                    yield fr

            inner.frames = counted

    def __iter__(self) -> Iterator[Any]:
        for pkt in self.inner:
            if pkt is not None:
                self.packets += 1
                ts = pkt.ts
                if self.first_ts is None:
                    self.first_ts = ts
                self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
                self.per_second[int(ts)] += 1
            yield pkt


class Progress:
    """A one-line progress bar on stderr over the capture's bytes, with the packets, flows and
    detections so far; when not live (stderr not a terminal) only the final line is written.

    (Not tqdm: the tqdm of this venv, 4.70.1, drew no bar at all in a pseudo-terminal.)"""

    def __init__(self, total: int, live: bool, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.live = live
        self.stream = stream or sys.stderr
        self._last = 0.0
        self.t0 = time.monotonic()

    def _write(self, text: str) -> None:
        width = max(shutil.get_terminal_size((100, 24)).columns - 1, 20)
        self.stream.write("\r" + text[:width] + "\033[K")
        self.stream.flush()

    def update(self, done: int, packets: int, flows: int, detections: int) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < self.total:
            return
        self._last = now
        frac = min(done, self.total) / self.total
        filled = int(frac * 24)
        self._write(
            f"reading [{'#' * filled}{'.' * (24 - filled)}] {frac:4.0%}  {packets:,} packets"
            f"  {flows:,} flows  {detections:,} detections  {now - self.t0:.0f}s"
        )

    def phase(self, text: str) -> None:
        if self.live:
            self._write(f"{text}  {time.monotonic() - self.t0:.0f}s")

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def close(self, final: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(final + "\n")
        self.stream.flush()


# -- reading the results back from the store ----------------------------------------------------
def read_incidents(store: Any) -> list[AlertEvent]:
    """The latest :class:`AlertEvent` of every incident, in capture-time order."""
    from hub.storage.schema import alerts

    with store.engine.connect() as conn:
        rows = conn.execute(select(alerts.c.payload)).all()
    incidents = [AlertEvent.model_validate_json(r.payload) for r in rows]
    return sorted(incidents, key=lambda a: (_first_ts(a, {}), a.incident_key))


def related_detections(store: Any, incidents: Sequence[AlertEvent]) -> dict[str, dict[str, Any]]:
    """The stored events each incident names in ``related_ids``, by event id."""
    from hub.storage.schema import events

    ids = sorted({str(i) for a in incidents for i in a.related_ids})
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for k in range(0, len(ids), 500):
            chunk = ids[k : k + 500]
            for r in conn.execute(
                select(events.c.event_id, events.c.payload).where(events.c.event_id.in_(chunk))
            ):
                out[r.event_id] = json.loads(r.payload)
    return out


def _first_ts(a: AlertEvent, related: dict[str, dict[str, Any]]) -> float:
    """The incident's first detection in capture time: ``event_first_ts`` when the alerting
    sets it, else the earliest window of its related detections, else its wall clock."""
    if a.event_first_ts is not None:
        return a.event_first_ts
    starts = [
        float(ev["window_start"])
        for i in a.related_ids
        if (ev := related.get(str(i))) and ev.get("window_start") is not None
    ]
    return min(starts) if starts else a.first_seen.timestamp()


def _last_ts(a: AlertEvent, related: dict[str, dict[str, Any]]) -> float:
    if a.event_last_ts is not None:
        return a.event_last_ts
    ends = [
        float(ev["window_end"])
        for i in a.related_ids
        if (ev := related.get(str(i))) and ev.get("window_end") is not None
    ]
    return max(ends) if ends else _first_ts(a, related)


def store_counts(store: Any) -> dict[str, Any]:
    from hub.storage.schema import alerts, events, flows

    with store.engine.connect() as conn:
        n_flows = conn.execute(select(func.count()).select_from(flows)).scalar_one()
        by_kind = {
            str(k): int(n)
            for k, n in conn.execute(
                select(events.c.kind, func.count()).group_by(events.c.kind)
            ).all()
        }
        by_detector = {
            str(t): int(n)
            for t, n in conn.execute(
                select(events.c.tag, func.count())
                .where(events.c.kind == "anomaly")
                .group_by(events.c.tag)
            ).all()
        }
        by_family = {
            str(t): int(n)
            for t, n in conn.execute(
                select(events.c.tag, func.count())
                .where(events.c.kind == "classification")
                .group_by(events.c.tag)
            ).all()
        }
        n_incidents = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
    return {
        "flows": int(n_flows),
        "events_by_kind": dict(sorted(by_kind.items())),
        "detections": sum(by_detector.values()),
        "detections_by_detector": dict(sorted(by_detector.items())),
        "classifications_by_family": dict(sorted(by_family.items())),
        "predictions": by_kind.get("prediction", 0),
        "alert_versions": by_kind.get("alert", 0),
        "incidents": int(n_incidents),
    }


def timeline(store: Any, per_second: Counter[int]) -> dict[str, Any]:
    """Capture-time series for the report: packets, flow starts and detections per second."""
    from hub.storage.schema import events, flows

    flow_s: Counter[int] = Counter()
    det_s: dict[str, Counter[int]] = {}
    with store.engine.connect() as conn:
        for (ts,) in conn.execute(select(flows.c.start_ts)):
            flow_s[int(ts)] += 1
        for tag, payload in conn.execute(
            select(events.c.tag, events.c.payload).where(events.c.kind == "anomaly")
        ):
            ev = json.loads(payload)
            t = ev.get("window_end", ev.get("window_start"))
            if t is not None:
                det_s.setdefault(str(tag), Counter())[int(float(t))] += 1
    return {"packets": per_second, "flows": flow_s, "detections": det_s}


# -- the table ---------------------------------------------------------------------------------
def _clock(ts: float, t0: float | None) -> str:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} (+{ts - t0:.0f}s)" if t0 is not None else stamp


def _hosts(a: AlertEvent) -> str:
    att = ",".join(a.attackers[:2]) + ("…" if len(a.attackers) > 2 else "")
    tgt = ",".join(a.targets[:2]) + ("…" if len(a.targets) > 2 else "")
    if not att and not tgt:
        return ",".join(a.hosts[:2]) + ("…" if len(a.hosts) > 2 else "")
    return f"{att or '?'} -> {tgt or '?'}"


def _cut(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def incident_rows(
    incidents: Sequence[AlertEvent], related: dict[str, dict[str, Any]], t0: float | None
) -> list[dict[str, str]]:
    rows = []
    for n, a in enumerate(incidents, 1):
        detectors = a.detectors or sorted(
            {
                str(ev.get("detector") or ev.get("kind"))
                for i in a.related_ids
                if (ev := related.get(str(i)))
            }
        )
        rows.append(
            {
                "#": str(n),
                "first seen (capture)": _clock(_first_ts(a, related), t0),
                "severity": a.severity,
                "family": a.family,
                "title": a.title,
                "attackers -> targets": _hosts(a),
                "detectors": ",".join(detectors),
                "count": str(a.count),
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, str]], width: int | None = None) -> str:
    """The incident rows as a plain-text table (each line cut to ``width`` when given)."""
    if not rows:
        return "no incidents"
    cols = list(rows[0])
    limits = {"title": 52, "attackers -> targets": 44, "detectors": 36}
    cells = [[_cut(r[c], limits.get(c, 40)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells),
    ]
    return "\n".join(line.rstrip()[:width] if width else line.rstrip() for line in lines)


# -- the run -----------------------------------------------------------------------------------
def _agent_settings(cfg: AnalyzeConfig, mqtt_url: str) -> Any:
    from edge_agent.settings import AgentSettings

    state = cfg.out / "agent"
    state.mkdir(parents=True, exist_ok=True)
    model_dir = cfg.model_dir or (
        SHIPPED_LSTM if (SHIPPED_LSTM / "model.tflite").is_file() else None
    )
    fields: dict[str, Any] = {
        "node_id": cfg.node_id,
        "source": f"pcap:{cfg.capture}",
        "mqtt_url": mqtt_url,
        "outbox_path": state / "outbox.db",
        "outbox_max_rows": 2_000_000,
        "model_dir": model_dir if cfg.use_lstm else None,
        "models_root": state / "models",
        "heartbeat_s": 5.0,
        "status_interval_s": 3600.0,
    }
    known = AgentSettings.model_fields  # the baseline is kept beside the outbox, in ``state``
    for k, v in cfg.agent_options.items():
        if k not in known:
            raise AnalyzeError(f"the agent has no setting {k!r}")
        fields[k] = v
    try:
        return AgentSettings(**fields)
    except ValidationError as exc:
        why = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        )
        raise AnalyzeError(f"agent settings: {why}") from exc


def _baseline_state(agent: Any) -> dict[str, Any] | None:
    """The node's own baseline at the end: learning (with progress), ready or off."""
    scorer = getattr(agent, "scorer", None)
    if scorer is None:
        return None
    baseline = getattr(scorer, "baseline", None)
    return {
        "state": scorer.baseline_state,
        "progress": round(float(baseline.progress), 4) if baseline is not None else None,
        "learn_flows": agent.settings.learn_flows,
        "learn_hours": agent.settings.learn_hours,
    }


def _quiet_logs() -> list[tuple[logging.Logger, int]]:
    """At the default INFO level the chain's own status lines would tear the progress bar."""
    saved = []
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in NOISY_LOGGERS:
            lg = logging.getLogger(name)
            saved.append((lg, lg.level))
            lg.setLevel(logging.WARNING)
    return saved


def _summary(
    cfg: AnalyzeConfig,
    size: int,
    source: TrackedSource,
    agent: Any,
    counters: dict[str, Any],
    chain: Chain,
    incidents: Sequence[AlertEvent],
    consumed: bool,
) -> dict[str, Any]:
    """summary.json: what was read, what each stage made of it, and whether all of it arrived."""
    counts = store_counts(chain.store)
    settings = agent.settings
    return {
        "tool": "fednids analyze",
        "capture": str(cfg.capture),
        "capture_bytes": size,
        "capture_first_ts": source.first_ts,
        "capture_last_ts": source.last_ts,
        "capture_duration_s": (
            round(source.last_ts - source.first_ts, 3)
            if source.first_ts is not None and source.last_ts is not None
            else 0.0
        ),
        "packets": int(counters.get("packets", source.packets)),
        "frames_skipped": {
            k.removeprefix("skipped_"): v
            for k, v in source.stats.as_dict().items()
            if k.startswith("skipped_")
        },
        "flows": int(counters.get("flows", 0)),
        "flows_stored": counts["flows"],
        "edge_detections": int(counters.get("anomalies", 0)),
        "edge_detections_by_detector": dict(sorted(agent.pipeline.by_detector.items())),
        "detections": counts["detections"],
        "detections_by_detector": counts["detections_by_detector"],
        "classifications_by_family": counts["classifications_by_family"],
        "predictions": counts["predictions"],
        "incidents": len(incidents),
        "incidents_by_family": dict(sorted(Counter(a.family for a in incidents).items())),
        "incidents_by_severity": {
            s: n for s in reversed(SEVERITIES) if (n := sum(a.severity == s for a in incidents))
        },
        "alert_versions": counts["alert_versions"],
        "hub_services": chain.service_names,
        "hub_services_skipped": chain.skipped,
        "agent_model_dir": str(settings.model_dir) if settings.model_dir else None,
        "agent_baseline": _baseline_state(agent),
        "outbox_dropped": int(agent.outbox.dropped),
        "outbox_left": int(counters.get("outbox_left", 0)),
        "dead_letters": int(chain.ingestor.dead + chain.bridge.dead)
        + sum(rt.dead for rt in chain.runtimes),
        "all_consumed": consumed,
        "stage_errors": chain.errors,
    }


def run_analyze(cfg: AnalyzeConfig) -> AnalyzeResult:
    """Run the chain over ``cfg.capture`` and write the results into ``cfg.out``."""
    from edge_agent.agent import Agent
    from edge_agent.capture import CaptureError, open_source
    from fednids.analyze_chain import Chain

    t0 = time.monotonic()
    check_capture(cfg.capture)
    wanted = _read_suppressions(cfg.suppressions)
    truth = None
    if cfg.labels is not None:
        check_labels(cfg.labels)
        truth = load_truth(cfg.capture, cfg.labels, cfg.start_packet)
    prepare_out(cfg.out)
    saved = _quiet_logs()
    live = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    size = cfg.capture.stat().st_size
    progress = Progress(size, live)
    chain: Chain | None = None
    try:
        chain = Chain(
            f"sqlite:///{cfg.out / 'hub.db'}",
            uuid.uuid4().hex[:12],
            cfg.out / "hub",
            cfg.services,
            suppressions=wanted is not None,
        )
        plan = None
        if wanted is not None and cfg.suppressions is not None:
            from fednids.analyze_suppressions import install

            plan = install(chain.store, wanted, cfg.suppressions)
        settings = _agent_settings(cfg, chain.mqtt_url)
        try:
            source = TrackedSource(open_source(settings.source))
        except CaptureError as exc:
            raise AnalyzeError(str(exc)) from exc
        agent = Agent(settings, publisher=open_publisher(chain.mqtt_url), source=source)
        chain.start()
        t_setup = time.monotonic() - t0
        done = threading.Event()

        def report_progress() -> None:
            while not done.wait(0.1):
                c = agent.pipeline
                progress.update(source.bytes_read, source.packets, c.flows, c.anomalies)

        ticker = threading.Thread(target=report_progress, name="progress", daemon=True)
        ticker.start()
        t_read = time.monotonic()
        try:
            counters = agent.run(threading.Event(), drain_timeout=cfg.drain_timeout_s)
        except CaptureError as exc:
            raise AnalyzeError(str(exc)) from exc
        finally:
            done.set()
            ticker.join()
        read_s = time.monotonic() - t_read
        progress.update(size, source.packets, agent.pipeline.flows, agent.pipeline.anomalies)
        progress.phase("finishing: hub services and store")
        t_drain = time.monotonic()
        chain.wait_loaded()
        waited = chain.wait_consumed(cfg.drain_timeout_s)
        chain.stop_threads()
        chain.settle()
        flushed = chain.flush_services()
        consumed = chain.settle()
        drain_s = time.monotonic() - t_drain
        incidents = read_incidents(chain.store)
        related = related_detections(chain.store, incidents)
        incidents.sort(key=lambda a: (_first_ts(a, related), a.incident_key))
        everything = incidents  # incidents.jsonl keeps the marked ones too (marked)
        suppressed = [a for a in incidents if a.suppressed_by is not None]
        incidents = [a for a in incidents if a.suppressed_by is None]
        series = timeline(chain.store, source.per_second)
        summary = _summary(cfg, size, source, agent, counters, chain, incidents, consumed)
        if plan is not None:
            from fednids.analyze_suppressions import report

            summary["incidents_suppressed"] = len(suppressed)
            summary["suppressions"] = report(chain.store, plan, suppressed)
        summary["flushed_at_end"] = flushed
        summary["drain_timed_out"] = not waited and not chain.errors
        summary["time_s"] = {
            "setup": round(t_setup, 3),
            "read": round(read_s, 3),
            "drain": round(drain_s, 3),
        }
        summary["packets_per_s"] = round(source.packets / read_s, 1) if read_s > 0 else None
        scores = None
        if truth is not None:
            progress.phase("scoring incidents against the labels")
            scores = score(incidents, truth)
        summary["time_s"]["total"] = round(time.monotonic() - t0, 3)
        files = write_outputs(cfg.out, summary, incidents, related, series, scores, everything)
        files["eve"] = cfg.out / "eve.json"
        summary["eve_records"] = chain.export_eve(files["eve"], incidents)
        if plan is not None:
            summary["eve_suppressed"] = len(suppressed)  # left out, as Suricata's suppress does
        summary["time_s"]["total"] = round(time.monotonic() - t0, 3)
        (cfg.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        quiet = f" (+{len(suppressed)} suppressed)" if plan is not None else ""
        progress.close(
            f"fednids analyze: {summary['packets']:,} packets, {summary['flows']:,} flows, "
            f"{summary['detections']:,} detections -> {len(incidents)} incidents{quiet} in "
            f"{summary['time_s']['total']:.1f}s; results in {cfg.out}"
        )
        return AnalyzeResult(summary, incidents, related, scores, files, suppressed)
    except AnalyzeError:
        progress.clear()  # the caller prints the one-line reason
        raise
    except BaseException:
        progress.close("fednids analyze: stopped")
        raise
    finally:
        if chain is not None:
            chain.close()
        for lg, level in saved:
            lg.setLevel(level)


def _read_suppressions(path: Path | None) -> Any:
    """The file's suppressions (None without ``--suppressions``); a bad file is refused at once."""
    if path is None:
        return None
    from fednids.analyze_suppressions import SuppressionFileError, load_suppressions

    try:
        return load_suppressions(path)
    except SuppressionFileError as exc:
        raise AnalyzeError(f"suppressions: {exc}") from exc


def load_truth(capture: Path, labels: Path, start_packet: int = 0) -> Any:
    """The capture's ground truth (``models.eval.incidents``), built before the run so a
    labels file that does not fit the capture is refused at once."""
    try:
        from models.eval.incidents import GroundTruth
    except ImportError as exc:
        raise AnalyzeError(
            f"--labels needs models.eval.incidents, not installed here: {exc}"
        ) from exc
    from models.errors import ModelError

    if start_packet < 0:
        raise AnalyzeError(f"--start-packet must be 0 or more, got {start_packet}")
    try:
        return GroundTruth.from_capture(capture, labels, start_packet=start_packet)
    except (OSError, ValueError, ModelError) as exc:
        raise AnalyzeError(f"labels {labels}: {exc}") from exc


def score(incidents: Sequence[AlertEvent], truth: Any) -> dict[str, Any]:
    """The incidents scored against the ground truth (JSON-ready)."""
    from models.eval.incidents import score_incidents

    return dict(score_incidents(list(incidents), truth))


def write_outputs(
    out: Path,
    summary: dict[str, Any],
    incidents: Sequence[AlertEvent],
    related: dict[str, dict[str, Any]],
    series: dict[str, Any],
    scores: dict[str, Any] | None,
    marked_too: Sequence[AlertEvent] | None = None,
) -> dict[str, Path]:
    """incidents.jsonl (``marked_too``: every incident, suppressed ones marked), scores.json and
    report.html (``incidents``: the ones reported)."""
    from fednids.report import render_report

    files = {
        "incidents": out / "incidents.jsonl",
        "report": out / "report.html",
        "summary": out / "summary.json",
        "db": out / "hub.db",
    }
    with files["incidents"].open("w") as f:
        for a in incidents if marked_too is None else marked_too:
            f.write(a.model_dump_json() + "\n")
    if scores is not None:
        files["scores"] = out / "scores.json"
        files["scores"].write_text(json.dumps(scores, indent=2, default=str) + "\n")
    spans = [(_first_ts(a, related), _last_ts(a, related)) for a in incidents]
    files["report"].write_text(
        render_report(summary, list(incidents), spans, related, series, scores), encoding="utf-8"
    )
    return files
