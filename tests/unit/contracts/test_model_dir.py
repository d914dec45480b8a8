"""The one model-directory module: atomic write, verified read, loads the checked bytes."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import pytest

from contracts import model_dir as md
from contracts.model_dir import ModelDirError, read_model_dir, restamp_model_dir, write_model_dir


def _write(out: Path, payload: bytes = b"model-bytes") -> dict:
    return write_model_dir(
        out,
        {"model.bin": payload, "extra.bin": b"extra"},
        {"model_name": "m", "threshold": 0.5},
        primary="model.bin",
        training_data=[{"kind": "simulator", "seed": 1}],
    )


def test_roundtrip_keeps_metadata_hashes_and_training_data(tmp_path: Path) -> None:
    out = tmp_path / "m"
    written = _write(out)
    got = read_model_dir(out)
    assert got.blob("model.bin") == b"model-bytes"
    assert got.blob("extra.bin") == b"extra"
    assert got.metadata == written
    assert got.metadata["sha256"] == got.metadata["files"]["model.bin"]["sha256"]
    assert got.metadata["training_data"] == [{"kind": "simulator", "seed": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp dir left


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "m"
    _write(out)
    (out / "extra.bin").write_bytes(b"EXTRA")
    with pytest.raises(ModelDirError, match=r"extra\.bin does not match the sha256"):
        read_model_dir(out)


def test_missing_file_and_missing_metadata_are_clear_errors(tmp_path: Path) -> None:
    out = tmp_path / "m"
    _write(out)
    (out / "model.bin").unlink()
    with pytest.raises(ModelDirError, match=r"model\.bin is missing"):
        read_model_dir(out)
    with pytest.raises(ModelDirError, match=r"no metadata\.json"):
        read_model_dir(tmp_path / "nowhere")


def test_file_without_a_hash_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "m"
    _write(out)
    with pytest.raises(ModelDirError, match=r"no hash for other\.bin"):
        read_model_dir(out, ["other.bin"])


def test_path_traversal_names_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "m"
    _write(out)
    meta = json.loads((out / "metadata.json").read_text())
    meta["files"]["../escape"] = {"sha256": "0" * 64}
    (out / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="not a valid model file name"):
        read_model_dir(out)


def test_failed_write_leaves_the_old_directory_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m"
    _write(out, b"old")

    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(md.os, "replace", broken)
    with pytest.raises(ModelDirError, match="disk full"):
        _write(out, b"new")
    monkeypatch.undo()
    assert read_model_dir(out).blob("model.bin") == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failed_first_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="not JSON"):
        write_model_dir(
            tmp_path / "m", {"a.bin": b"x"}, {"bad": object()}, primary="a.bin", training_data=None
        )
    assert list(tmp_path.iterdir()) == []


def test_loaded_object_is_the_verified_bytes_not_a_second_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m"
    _write(out, pickle.dumps({"model": "good"}))
    real = md._read_capped
    swapped: list[Path] = []

    def read_then_swap(path: Path, cap: int) -> bytes:
        data = real(path, cap)
        path.write_bytes(pickle.dumps({"model": "evil"}))  # the file changes after the check
        swapped.append(path)
        return data

    monkeypatch.setattr(md, "_read_capped", read_then_swap)
    got = read_model_dir(out, ["model.bin"])
    assert swapped
    assert pickle.load(io.BytesIO(got.blob("model.bin"))) == {"model": "good"}


def test_legacy_dir_with_top_level_sha256_only(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "model.bin").write_bytes(b"abc")
    (out / "metadata.json").write_text(json.dumps({"sha256": md.digest(b"abc"), "x": 1}))
    assert read_model_dir(out, primary="model.bin").blob("model.bin") == b"abc"
    with pytest.raises(ModelDirError, match="no file hashes"):
        read_model_dir(out)


def test_restamp_adds_fields_without_changing_the_bytes(tmp_path: Path) -> None:
    out = tmp_path / "m"
    _write(out)
    before = (out / "model.bin").read_bytes()
    meta = restamp_model_dir(out, {"votes": ["a", "b"]}, primary="model.bin")
    assert (out / "model.bin").read_bytes() == before
    assert meta["votes"] == ["a", "b"]
    assert meta["training_data"] == [{"kind": "simulator", "seed": 1}]
    assert read_model_dir(out).metadata["votes"] == ["a", "b"]


def test_failed_install_after_moving_the_old_dir_aside_puts_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m"
    _write(out, b"old")
    real = md.os.replace
    calls: list[object] = []

    def second_fails(src: object, dst: object) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise OSError("rename failed")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(md.os, "replace", second_fails)
    with pytest.raises(ModelDirError, match="rename failed"):
        _write(out, b"new")
    monkeypatch.undo()
    assert read_model_dir(out).blob("model.bin") == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
