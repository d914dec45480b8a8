"""A node's own fine-tune of the global model it runs: a one-shot job the agent launches.

``python -m federated.node_finetune --base DIR --store PATH --out DIR --key-dir DIR
--node-id ID [--epochs 3]``:

1. reads the installed global model directory (``base``), checked against its hashes: the
   int8 model, its metadata (window, hidden size, scaler) and its float weights
   (``weights.npz``, which the hub ships inside the signed announcement);
2. windows the node's flow store with the scaler of the global model and splits it 80/20
   exactly as the node's FL client does (:func:`federated.local_data.load_windows`);
3. fine-tunes the float weights on the training part (:func:`federated.task.fine_tune`:
   non-private, a few epochs) in a child process that imports torch;
4. exports the result to int8 TFLite in a second child process that imports TensorFlow
   (TensorFlow and torch's optimiser stack abort a process that loads both in the wrong
   order, and one process holding both would need their memory at once), calibrated on the
   base model's calibration windows when its directory ships them, else on the node's own
   training windows;
5. sets the node's threshold: the 99.5 % quantile of the EXPORTED model's error on the
   node's held-out windows, scored by the edge's own detector
   (:func:`edge_agent.detectors.lstm.load_model`), so it is the threshold of what the agent
   runs;
6. writes a model directory (``scope: "node"``, ``base_version``, ``base_sha256``,
   ``trained_on``) and signs it with the node-local key (:mod:`contracts.local_model`,
   created 0600 in ``key-dir`` on first use; never the hub's key).

The result is NOT covered by the federation's differential privacy: it stays on the node
(the agent never sends it anywhere). This process itself imports neither torch nor
TensorFlow. Exit status: 0 done (one JSON line on stdout), 1 failed, 3 the training
dependencies (torch, TensorFlow, a TFLite interpreter) are not installed for this
interpreter (the agent then stops trying).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts.errors import ContractError
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.local_model import (
    MODEL_FILE,
    NODE_SCOPE,
    WEIGHTS_FILE,
    node_key,
    sign_model_dir,
)
from contracts.model_dir import ModelDir, ModelDirError, read_model_dir, write_model_dir
from federated.errors import FederatedError

log = logging.getLogger("fednids.finetune")
EXIT_FAILED, EXIT_UNAVAILABLE = 1, 3
REQUIRED = ("torch", "tensorflow")
CALIBRATION_MAX = 300
MIN_HELD = 20
"""Fewer held-out windows than this give no usable 99.5 % quantile: the job refuses."""
QUANTILE = 0.995


class NodeFineTuneError(FederatedError):
    """The node's fine-tune cannot run: no float weights, too few windows, a failed step."""


@dataclass(frozen=True)
class Plan:
    """What the two child processes read (``plan.json`` in the job's private work dir)."""

    window: int
    hidden: int
    features: int
    epochs: int
    batch_size: int
    lr: float
    seed: int
    base: str


def missing_dependencies() -> list[str]:
    """The training dependencies this interpreter cannot import (found, not imported)."""
    missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    if not any(importlib.util.find_spec(m) for m in ("ai_edge_litert", "tflite_runtime")):
        missing.append("ai_edge_litert")
    return missing


# -- the two children ------------------------------------------------------------------------
def _plan(work: Path) -> Plan:
    return Plan(**json.loads((work / "plan.json").read_text()))


def _round_config(p: Plan) -> Any:
    from federated.config import RoundConfig

    return RoundConfig(
        window=p.window,
        hidden=p.hidden,
        batch_size=p.batch_size,
        lr=p.lr,
        seed=p.seed,
        server_round=99,  # the fine-tune's own torch seed (as benchmarks/dp_utility.py)
        dp=False,
    )


def train_phase(work: Path) -> None:
    """Child 1 (torch): ``base.npz`` + ``train.npy`` -> ``tuned.npz`` (the fine-tuned
    ``state_dict`` by name, so the export child needs no torch)."""
    import torch

    from federated.export import read_weights_npz
    from federated.task import fine_tune
    from models.lstm_ae import LstmConfig, build_model

    torch.set_num_threads(1)
    p = _plan(work)
    weights = read_weights_npz((work / "base.npz").read_bytes())
    tuned = fine_tune(weights, np.load(work / "train.npy"), _round_config(p), p.epochs)
    names = build_model(LstmConfig(window=p.window, features=p.features, hidden=p.hidden))
    named = dict(zip(names.state_dict().keys(), tuned, strict=True))
    np.savez(work / "tuned.npz", **named)  # type: ignore[arg-type]


def export_phase(work: Path) -> None:
    """Child 2 (TensorFlow, no torch): ``tuned.npz`` -> ``model.tflite`` (and
    ``calibration.json``: which windows calibrated its int8 ranges)."""
    from models.export_tflite import state_to_int8_tflite

    p = _plan(work)
    with np.load(work / "tuned.npz", allow_pickle=False) as z:
        sd = {k: np.asarray(z[k]) for k in z.files}
    rep, source = _calibration(Path(p.base), work, (p.window, p.features))
    blob = state_to_int8_tflite(sd, p.window, p.features, p.hidden, rep)
    (work / MODEL_FILE).write_bytes(blob)
    (work / "calibration.json").write_text(json.dumps({"source": source}))


def _calibration(base: Path, work: Path, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
    """The base model's calibration windows when its directory ships them (a hub export),
    else the node's own training windows (an installed global model ships none; this model
    only ever scores this node's traffic)."""
    from federated.errors import CalibrationError
    from federated.export import base_calibration

    try:
        return base_calibration(base, *shape), f"the base model's calibration windows ({base})"
    except CalibrationError:
        train = np.load(work / "train.npy")
        return train[:CALIBRATION_MAX], f"the node's own training windows (first {CALIBRATION_MAX})"


def _child(phase: str, work: Path, timeout_s: float) -> None:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "federated.node_finetune", "--phase", phase, "--work", str(work)]
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeFineTuneError(f"{phase}: no result within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise NodeFineTuneError(f"{phase} failed (exit {done.returncode}): {tail}")
    log.info("fine-tune: %s done in %.1f s", phase, time.perf_counter() - t0)


# -- the job ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    base: Path
    store: Path
    out: Path
    key_dir: Path
    node_id: str
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.02
    seed: int = 0
    phase_timeout_s: float = 3600.0


def _read_base(base: Path) -> tuple[ModelDir, int]:
    try:
        loaded = read_model_dir(base, primary=MODEL_FILE)
    except ModelDirError as exc:
        raise NodeFineTuneError(f"the global model: {exc}") from exc
    meta = loaded.metadata
    if WEIGHTS_FILE not in loaded.blobs:
        raise NodeFineTuneError(
            f"{base}: the global model ships no float weights ({WEIGHTS_FILE}); it was "
            "exported by a hub that predates node fine-tunes"
        )
    if meta.get("features") != list(FLOW_FEATURES) or meta.get("feature_version") != (
        FEATURE_VERSION
    ):
        raise NodeFineTuneError(f"{base}: the global model has another feature list")
    try:
        return loaded, int(meta["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NodeFineTuneError(f"{base}: the global model has no version") from exc


def _errors(model_dir: Path, node_id: str, windows: np.ndarray) -> np.ndarray:
    """Each window's reconstruction error as the agent's detector computes it."""
    from edge_agent.detectors.lstm import load_model

    m = load_model(model_dir, node_id)
    return np.asarray([m.score_scaled(np.ascontiguousarray(w)) for w in windows])


def run(job: Job) -> dict[str, Any]:
    """Fine-tune, export, calibrate, write and sign ``job.out``; a summary of what it did."""
    from federated.client_app import read_store
    from federated.local_data import load_windows

    t0 = time.perf_counter()
    base, version = _read_base(job.base)
    meta = base.metadata
    lo = np.asarray(meta["scaler"]["lo"], dtype=np.float32)
    hi = np.asarray(meta["scaler"]["hi"], dtype=np.float32)
    window, hidden = int(meta["window"]), int(meta["hidden"])
    train, held = load_windows(f"store:{job.store}", lo, hi, window, readers={"store": read_store})
    if len(held) < MIN_HELD:
        raise NodeFineTuneError(
            f"{job.store}: {len(held)} held-out windows; need {MIN_HELD} for a threshold"
        )
    log.info(
        "fine-tune: v%d on %d windows (%d train, %d held out)",
        version,
        len(train) + len(held),
        len(train),
        len(held),
    )
    plan = Plan(
        window, hidden, len(lo), job.epochs, job.batch_size, job.lr, job.seed, str(job.base)
    )
    priv, _ = node_key(job.key_dir)  # before the work: a bad key fails fast
    from contracts.signing import load_private_key

    with tempfile.TemporaryDirectory(prefix="fednids-finetune-") as tmp:
        work = Path(tmp)
        (work / "plan.json").write_text(json.dumps(asdict(plan)))
        (work / "base.npz").write_bytes(base.blob(WEIGHTS_FILE))
        np.save(work / "train.npy", train)
        _child("train", work, job.phase_timeout_s)
        _child("export", work, job.phase_timeout_s)
        blob = (work / MODEL_FILE).read_bytes()
        rep_source = json.loads((work / "calibration.json").read_text())["source"]
        local_meta = {
            "model_name": meta.get("model_name", "lstm-ae"),
            "version": version,
            "scope": NODE_SCOPE,
            "node_id": job.node_id,
            "base_version": version,
            "base_sha256": meta["sha256"],
            "features": list(FLOW_FEATURES),
            "feature_version": FEATURE_VERSION,
            "window": window,
            "hidden": hidden,
            "scaler": meta["scaler"],
            "calibration_source": rep_source,
            "trained": "node fine-tune of the global model (non-private; stays on the node)",
            "trained_on": {
                "store": str(job.store),
                "train_windows": len(train),
                "heldout_windows": len(held),
                "epochs": job.epochs,
                "batch_size": job.batch_size,
                "lr": job.lr,
            },
            "created": time.time(),
        }
        staging = work / "staging"
        provisional = {**local_meta, "threshold": 1.0}
        write_model_dir(
            staging, {MODEL_FILE: blob}, provisional, primary=MODEL_FILE, training_data=None
        )
        err = _errors(staging, job.node_id, held)
        global_err = _errors(job.base, job.node_id, held)
    threshold = float(np.quantile(err, QUANTILE))
    local_meta |= {
        "threshold": threshold,
        "thresholds_by_node": {job.node_id: threshold},
        "threshold_quantile": QUANTILE,
        "threshold_source": f"node: {QUANTILE:.1%} quantile of this int8 model's error on the "
        f"node's {len(held)} held-out windows",
        "heldout_error_mean": float(err.mean()),
        "base_heldout_error_mean": float(global_err.mean()),
        "base_threshold_q995": float(np.quantile(global_err, QUANTILE)),
        "duration_s": round(time.perf_counter() - t0, 1),
    }
    try:
        write_model_dir(
            job.out,
            {MODEL_FILE: blob},
            local_meta,
            primary=MODEL_FILE,
            training_data=local_meta["trained_on"],
        )
        sign_model_dir(job.out, load_private_key(priv))
    except ContractError as exc:
        raise NodeFineTuneError(f"cannot write {job.out}: {exc}") from exc
    return {
        "out": str(job.out),
        "base_version": version,
        "threshold": threshold,
        "heldout_error_mean": local_meta["heldout_error_mean"],
        "base_heldout_error_mean": local_meta["base_heldout_error_mean"],
        "train_windows": len(train),
        "heldout_windows": len(held),
        "duration_s": local_meta["duration_s"],
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest child (torch or TensorFlow)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"job": round(own, 1), "largest_child": round(child, 1)}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m federated.node_finetune", description=__doc__)
    p.add_argument("--base", type=Path, help="the installed global model directory")
    p.add_argument("--store", type=Path, help="the agent's flow store")
    p.add_argument("--out", type=Path, help="the node-local model directory to write")
    p.add_argument("--key-dir", type=Path, help="the node-local signing key (made on first use)")
    p.add_argument("--node-id")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--nice", type=int, default=10, help="lower this job's priority (os.nice)")
    p.add_argument("--check", action="store_true", help="only check the dependencies")
    p.add_argument("--phase", choices=("train", "export"), help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.phase == "train":
        train_phase(args.work)
        return 0
    if args.phase == "export":
        export_phase(args.work)
        return 0
    missing = missing_dependencies()
    if missing:
        log.error(
            "fine-tune: unavailable: %s not installed for %s", ", ".join(missing), sys.executable
        )
        return EXIT_UNAVAILABLE
    if args.check:
        return 0
    need = ("base", "store", "out", "key_dir", "node_id")
    if any(getattr(args, k) is None for k in need):
        log.error("fine-tune: give --base, --store, --out, --key-dir and --node-id")
        return 2
    if args.nice:
        os.nice(args.nice)
    job = Job(
        args.base,
        args.store,
        args.out,
        args.key_dir,
        args.node_id,
        args.epochs,
        args.batch_size,
        args.lr,
    )
    try:
        result = run(job)
    except (FederatedError, ContractError) as exc:
        log.error("fine-tune: failed: %s", exc)
        return EXIT_FAILED
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
