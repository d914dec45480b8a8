"""A stand-in for ``python -m federated.node_finetune`` (no torch, no TensorFlow): it takes
the job's arguments and writes a node-local model directory the way the real job does (the
shipped int8 model as the "fine-tuned" one), or misbehaves as ``--mode`` says."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from contracts.local_model import MODEL_FILE, NODE_SCOPE, node_key, sign_model_dir
from contracts.model_dir import read_model_dir, write_model_dir
from contracts.signing import load_private_key

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"
MODES = ("ok", "fail", "unavailable", "sleep", "wrong-base", "wrong-key", "tamper", "other-node")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=MODES, default="ok")
    for name in ("--base", "--store", "--out", "--key-dir", "--node-id"):
        p.add_argument(name, required=True)
    p.add_argument("--epochs", type=int)
    p.add_argument("--nice", type=int)
    a = p.parse_args()
    if a.mode == "unavailable":
        print("fine-tune: unavailable: torch, tensorflow not installed for fake", flush=True)
        return 3
    if a.mode == "fail":
        print("fine-tune: failed: the store is empty", flush=True)
        return 1
    if a.mode == "sleep":
        time.sleep(120)
        return 0
    print("fine-tune: v? on 300 windows (240 train, 60 held out)", flush=True)
    base = read_model_dir(Path(a.base), primary=MODEL_FILE).metadata
    shipped = read_model_dir(SHIPPED, [MODEL_FILE], primary=MODEL_FILE)
    meta = {
        **{k: v for k, v in shipped.metadata.items() if k not in ("calibration", "files")},
        "version": base["version"],
        "scope": NODE_SCOPE,
        "node_id": "someone-else" if a.mode == "other-node" else a.node_id,
        "base_version": base["version"] + (1 if a.mode == "wrong-base" else 0),
        "base_sha256": base["sha256"],
        "threshold": 0.05,
        "thresholds_by_node": {a.node_id: 0.05},
        "trained_on": {"store": a.store, "train_windows": 240, "heldout_windows": 60},
    }
    out = Path(a.out)
    write_model_dir(
        out, {MODEL_FILE: shipped.blob(MODEL_FILE)}, meta, primary=MODEL_FILE, training_data=None
    )
    key_dir = Path(tempfile.mkdtemp()) if a.mode == "wrong-key" else Path(a.key_dir)
    sign_model_dir(out, load_private_key(node_key(key_dir)[0]))
    if a.mode == "tamper":
        blob = bytearray((out / MODEL_FILE).read_bytes())
        blob[2000] ^= 0x01
        (out / MODEL_FILE).write_bytes(bytes(blob))
    print(
        '{"threshold": 0.05, "heldout_windows": 60, "base_heldout_error_mean": 0.1, '
        '"heldout_error_mean": 0.02}',
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
