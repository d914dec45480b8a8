"""The bundle file the importers write and the publisher reads (the unsigned
:class:`~contracts.indicators.IndicatorBundle` as JSON) and its status beside it
(``<bundle>.status.json``: sources, counts, what was dropped and published, for the dashboard)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.indicators import IndicatorBundle
from hub.intel.common import IntelError

MAX_BUNDLE_FILE = 128 * 1024 * 1024


def status_path(bundle: Path) -> Path:
    return bundle.with_name(f"{bundle.stem}.status.json")


def read_bundle(path: Path) -> IndicatorBundle | None:
    """The bundle at ``path``, None when there is none yet."""
    try:
        if path.stat().st_size > MAX_BUNDLE_FILE:
            raise IntelError(f"{path}: larger than {MAX_BUNDLE_FILE} bytes")
        return IndicatorBundle.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        raise IntelError(f"{path}: not a readable indicator bundle: {str(exc)[:300]}") from exc


def read_status(bundle: Path) -> dict[str, Any]:
    try:
        raw = json.loads(status_path(bundle).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise IntelError(f"{status_path(bundle)}: unreadable status: {exc}") from exc
    return raw if isinstance(raw, dict) else {}


def summary(bundle: IndicatorBundle) -> dict[str, Any]:
    by_source: Counter[str] = Counter(s for i in bundle.indicators for s in i.sources)
    return {
        "version": bundle.version,
        "created_at": bundle.created_at,
        "expires_at": bundle.expires_at,
        "count": len(bundle.indicators),
        "by_type": dict(Counter(i.type for i in bundle.indicators)),
        "by_source": dict(by_source),
    }


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_status(bundle: Path, status: dict[str, Any]) -> None:
    write_atomic(status_path(bundle), json.dumps(status, indent=2, sort_keys=True).encode())
