"""``fednids hub intel import``: read feed files, parse them in their format, merge them into
the bundle file (a re-import of a source replaces what that source said before) and record
the sources and counts in the status file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from contracts.indicators import Indicator
from hub.intel.common import FeedDefaults, IntelError
from hub.intel.merge import build_bundle, merge, without_source
from hub.intel.misp import parse_misp
from hub.intel.plainlist import parse_list
from hub.intel.stix import parse_stix
from hub.intel.store import read_bundle, read_status, summary, write_atomic, write_status

Format = Literal["stix", "misp", "list"]
MAX_FEED_BYTES = 256 * 1024 * 1024


def sniff(text: str) -> Format:
    """``stix`` for a STIX bundle, ``misp`` for MISP event JSON, else ``list``."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return "list"
    try:
        data = json.loads(text)
    except ValueError:
        return "list"
    if isinstance(data, dict) and data.get("type") == "bundle":
        return "stix"
    return "misp"


def parse_file(
    path: Path, feed: FeedDefaults, fmt: Format | None = None
) -> tuple[Format, list[Indicator]]:
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise IntelError(f"{path}: larger than {MAX_FEED_BYTES} bytes")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise IntelError(f"{path}: cannot read: {exc}") from exc
    kind = fmt or sniff(text)
    if kind == "list":
        return kind, parse_list(text, feed)
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise IntelError(f"{path}: not JSON ({kind} expected): {exc}") from exc
    try:
        return kind, parse_stix(data, feed) if kind == "stix" else parse_misp(data, feed)
    except IntelError as exc:
        raise IntelError(f"{path}: {exc}") from exc


def import_feeds(
    files: list[Path], feed: FeedDefaults, out: Path, fmt: Format | None = None
) -> dict[str, Any]:
    """Merge ``files`` as source ``feed.source`` into the bundle at ``out``; the new status."""
    new: list[Indicator] = []
    formats: list[str] = []
    for path in files:
        kind, got = parse_file(path, feed, fmt)
        formats.append(kind)
        new.extend(got)
    old = read_bundle(out)
    kept = without_source(old.indicators, feed.source) if old is not None else []
    merged, dropped = merge([kept, new], now=feed.now)
    status = read_status(out)
    when = datetime.fromtimestamp(feed.now, UTC).isoformat(timespec="seconds")
    sources: dict[str, Any] = dict(status.get("sources") or {})
    sources[feed.source] = {
        "imported_at": when,
        "files": [str(p) for p in files],
        "formats": sorted(set(formats)),
        "parsed": len(new),
        "skipped": dict(feed.skipped),
    }
    descriptions = dict(old.sources) if old is not None else {}
    descriptions[feed.source] = f"{'+'.join(sorted(set(formats)))} import {when}"[:200]
    live = {s for i in merged for s in i.sources}
    bundle = build_bundle(
        merged,
        previous_version=old.version if old is not None else 0,
        now=feed.now,
        sources={k: v for k, v in descriptions.items() if k in live},
    )
    write_atomic(out, bundle.model_dump_json().encode())
    status.update(summary(bundle))
    status["sources"] = {k: v for k, v in sources.items() if k in live or k == feed.source}
    status["dropped"] = dropped
    write_status(out, status)
    return status
