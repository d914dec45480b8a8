"""The one model-directory format: model files + ``metadata.json`` with their hashes.

A model directory holds one or more model files and ``metadata.json``. The metadata
carries, besides the model's own fields:

- ``files``: ``{name: {"sha256": ..., "size_bytes": ...}}`` for every model file;
- ``sha256`` / ``size_bytes`` of the *primary* file (what a model announcement and older
  readers check);
- ``training_data``: what the model was trained on (a JSON value; ``None`` = not described).

:func:`write_model_dir` writes the whole directory atomically (a sibling temporary
directory renamed into place: a failure leaves the old directory or nothing, never a
partial one). :func:`read_model_dir` reads each file once, checks it against the metadata
and returns the *checked bytes*: a caller deserializes those bytes (``joblib.load(
io.BytesIO(blob))``), never the path again, so what is loaded is what was checked.

The hashes catch corruption and swapped files; they are not a signature (whoever can
write the directory can rewrite the metadata). Model files are pickles or flatbuffers:
load only directories this project wrote or a signed announcement delivered.

Standard library only: the edge, the hub and the training side all import it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import ContractError

META_FILE = "metadata.json"
MAX_FILE_BYTES = 512 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ModelDirError(ContractError):
    """A model directory is missing, unreadable, incomplete or does not match its hashes."""


@dataclass(frozen=True)
class ModelDir:
    """A verified model directory: its metadata and the checked bytes of its files."""

    path: Path
    metadata: dict[str, Any]
    blobs: Mapping[str, bytes]

    def blob(self, name: str) -> bytes:
        try:
            return self.blobs[name]
        except KeyError:
            raise ModelDirError(f"{self.path}: {name} was not read") from None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == META_FILE:
        raise ModelDirError(f"{name!r} is not a valid model file name")
    return name


def build_metadata(
    files: Mapping[str, bytes],
    metadata: Mapping[str, Any],
    *,
    primary: str,
    training_data: Any,
) -> dict[str, Any]:
    """``metadata`` plus ``files``, the primary file's ``sha256``/``size_bytes`` and
    ``training_data`` (computed from ``files``; earlier values of those keys are replaced)."""
    for name in files:
        _check_name(name)
    if primary not in files:
        raise ModelDirError(f"the primary file {primary!r} is not among the files")
    entries = {n: {"sha256": digest(b), "size_bytes": len(b)} for n, b in sorted(files.items())}
    return {
        **metadata,
        "training_data": training_data,
        "files": entries,
        "sha256": entries[primary]["sha256"],
        "size_bytes": entries[primary]["size_bytes"],
    }


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _install(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and put back if
    the rename fails."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        try:
            os.replace(out, old / out.name)
        except OSError:
            shutil.rmtree(old, ignore_errors=True)
            raise
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old / out.name, out)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out.parent)


def write_model_dir(
    out: Path,
    files: Mapping[str, bytes],
    metadata: Mapping[str, Any],
    *,
    primary: str,
    training_data: Any,
) -> dict[str, Any]:
    """Write ``files`` and their metadata to ``out`` atomically (replacing a directory
    already there); returns the metadata written. Raises :class:`ModelDirError`."""
    meta = build_metadata(files, metadata, primary=primary, training_data=training_data)
    try:
        text = json.dumps(meta, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelDirError(f"{out}: metadata is not JSON: {exc}") from exc
    tmp: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        for name, data in [*files.items(), (META_FILE, text.encode())]:
            with (tmp / name).open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        tmp.chmod(0o755)
        _install(tmp, out)
    except OSError as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise ModelDirError(f"{out}: cannot write the model directory: {exc}") from exc
    return meta


def expected_files(meta: Mapping[str, Any], primary: str | None = None) -> dict[str, str]:
    """``{name: sha256}`` the metadata promises. A directory written before ``files``
    existed has only the top-level ``sha256``, which then stands for ``primary``."""
    files = meta.get("files")
    if files is None:
        if primary is None or not isinstance(meta.get("sha256"), str):
            raise ModelDirError("metadata lists no file hashes")
        return {primary: meta["sha256"]}
    if not isinstance(files, Mapping) or not files:
        raise ModelDirError("metadata 'files' must map file names to their hashes")
    out: dict[str, str] = {}
    for name, entry in files.items():
        h = entry.get("sha256") if isinstance(entry, Mapping) else None
        if not isinstance(h, str):
            raise ModelDirError(f"metadata has no sha256 for {name!r}")
        out[_check_name(name)] = h
    if primary is not None and out.get(primary) != meta.get("sha256", out.get(primary)):
        raise ModelDirError(f"metadata's sha256 and files[{primary!r}] disagree")
    return out


def verify_blobs(
    meta: Mapping[str, Any], blobs: Mapping[str, bytes], primary: str | None = None
) -> None:
    """Check in-memory ``blobs`` against ``meta``; raises :class:`ModelDirError`."""
    want = expected_files(meta, primary)
    for name, data in blobs.items():
        if name not in want:
            raise ModelDirError(f"{name} has no hash in the metadata")
        if digest(data) != want[name]:
            raise ModelDirError(f"{name} does not match the sha256 in {META_FILE}")


def read_metadata(model_dir: Path) -> dict[str, Any]:
    """The parsed ``metadata.json`` (unverified); raises :class:`ModelDirError`."""
    path = model_dir / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelDirError(f"{model_dir}: no {META_FILE} (not a model directory)") from None
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{model_dir}: cannot read {META_FILE}: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelDirError(f"{model_dir}: {META_FILE} is not a JSON object")
    return meta


def _read_capped(path: Path, cap: int) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ModelDirError(f"{path}: larger than {cap} bytes")
    return data


def read_model_dir(
    model_dir: Path,
    names: Sequence[str] | None = None,
    *,
    primary: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> ModelDir:
    """Read and verify ``names`` (default: every file the metadata lists, or ``primary``).
    ``primary`` names the file a legacy top-level ``sha256`` stands for. Each file is read
    once; the returned bytes are the checked ones. Raises :class:`ModelDirError`."""
    meta = read_metadata(model_dir)
    try:
        want = expected_files(meta, primary)
    except ModelDirError as exc:
        raise ModelDirError(f"{model_dir}: {exc}") from exc
    wanted = list(names) if names is not None else list(want)
    blobs: dict[str, bytes] = {}
    for name in wanted:
        if name not in want:
            raise ModelDirError(f"{model_dir}: {META_FILE} has no hash for {name}")
        try:
            data = _read_capped(model_dir / _check_name(name), max_bytes)
        except FileNotFoundError:
            raise ModelDirError(f"{model_dir}: {name} is missing") from None
        except OSError as exc:
            raise ModelDirError(f"{model_dir}: cannot read {name}: {exc}") from exc
        if digest(data) != want[name]:
            raise ModelDirError(
                f"{model_dir}: {name} does not match the sha256 in {META_FILE}; refusing to load it"
            )
        blobs[name] = data
    return ModelDir(model_dir, meta, blobs)


def restamp_model_dir(
    model_dir: Path,
    updates: Mapping[str, Any],
    *,
    primary: str,
    training_data: Any = None,
) -> dict[str, Any]:
    """Verify ``model_dir``, then rewrite it with ``updates`` merged into its metadata and
    the hashes recomputed; the model bytes are unchanged. ``training_data`` replaces the
    description only when given. Returns the new metadata."""
    current = read_model_dir(model_dir, primary=primary) if _has_hashes(model_dir) else None
    if current is None:  # a directory with no hash at all (e.g. an old GNN): trust and hash it
        meta = read_metadata(model_dir)
        try:
            blobs = {primary: _read_capped(model_dir / _check_name(primary), MAX_FILE_BYTES)}
        except OSError as exc:
            raise ModelDirError(f"{model_dir}: cannot read {primary}: {exc}") from exc
    else:
        meta, blobs = current.metadata, dict(current.blobs)
    described = training_data if training_data is not None else meta.get("training_data")
    return write_model_dir(
        model_dir, blobs, {**meta, **updates}, primary=primary, training_data=described
    )


def _has_hashes(model_dir: Path) -> bool:
    meta = read_metadata(model_dir)
    return "files" in meta or "sha256" in meta
