"""Float weights that travel with a signed global model, and the node's own fine-tuned models.

The hub ships the global model's float weights (``weights.npz``) inside the signed
announcement, as a base64 string under :data:`INLINE_WEIGHTS_KEY` of the metadata (the
metadata's digest is in the signed bytes, so the weights are signed too; an older agent
simply keeps the string in its metadata). The agent writes them beside ``model.tflite`` so a
node can fine-tune the global model it runs (:mod:`federated.node_finetune`).

A node's fine-tune is a model directory with ``scope: "node"``, the ``base_version`` and
``base_sha256`` of the global model it was made from, and ``signature.json``: an ed25519
signature, with a key that never leaves the node, over the bytes of its ``metadata.json``
(which lists the sha256 of every model file). The agent swaps in only a directory that
verifies with its own key, names this node, and was made from the global model it runs.

Standard library and ``cryptography`` only: the edge, the hub and the training side import it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.errors import ContractError
from contracts.model_dir import META_FILE, ModelDir, ModelDirError, digest, read_model_dir
from contracts.signing import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    SignatureError,
    generate_keypair,
    key_id,
    load_public_keys,
    sign_bytes,
    verify_bytes,
)

MODEL_FILE = "model.tflite"
WEIGHTS_FILE = "weights.npz"
"""The float weights of a model (``numpy.savez`` of the arrays in ``get_weights`` order)."""
INLINE_WEIGHTS_KEY = "weights_b64"
"""The announcement metadata key carrying ``weights.npz`` (base64)."""
MAX_WEIGHTS_BYTES = 96 * 1024
"""Larger float weights are not inlined (the announcement must stay under 256 KiB)."""
SIGNATURE_FILE = "signature.json"
NODE_SCOPE = "node"


class LocalModelError(ContractError):
    """Inline weights that do not match their hash, or a node-local model directory that is
    unsigned, signed by another key, tampered with, or made for another node or base model."""


# -- inline float weights of a global model --------------------------------------------------
def inline_weights(metadata: Mapping[str, Any], weights: bytes) -> dict[str, Any]:
    """``metadata`` with ``weights`` inlined (its sha256 must be in ``files``)."""
    want = (metadata.get("files") or {}).get(WEIGHTS_FILE, {}).get("sha256")
    if want != digest(weights):
        raise LocalModelError(f"{WEIGHTS_FILE} does not match its sha256 in the metadata")
    return {**metadata, INLINE_WEIGHTS_KEY: base64.b64encode(weights).decode()}


def split_inline_weights(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """(the metadata without the inline weights, the checked ``weights.npz`` bytes or None)."""
    meta = dict(metadata)
    raw = meta.pop(INLINE_WEIGHTS_KEY, None)
    if raw is None:
        return meta, None
    try:
        blob = base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LocalModelError(f"{INLINE_WEIGHTS_KEY} is not base64: {exc}") from exc
    files = meta.get("files")
    entry = files.get(WEIGHTS_FILE) if isinstance(files, Mapping) else None
    want = entry.get("sha256") if isinstance(entry, Mapping) else None
    if want != digest(blob):
        raise LocalModelError(
            f"the inline {WEIGHTS_FILE} does not match its sha256 in the metadata"
        )
    return meta, blob


# -- the node-local key ----------------------------------------------------------------------
def node_key(key_dir: Path) -> tuple[Path, Ed25519PublicKey]:
    """(the private key's path, the public key) of this node's fine-tune key in ``key_dir``,
    created on first use (directory 0700, private key 0600)."""
    priv, pub = key_dir / PRIVATE_KEY_FILE, key_dir / PUBLIC_KEY_FILE
    try:
        if not priv.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(key_dir, 0o700)
            generate_keypair(key_dir)
        (public,) = load_public_keys([pub]).values()
    except (OSError, SignatureError) as exc:
        raise LocalModelError(f"{key_dir}: no usable node-local key: {exc}") from exc
    return priv, public


def sign_model_dir(model_dir: Path, key: Ed25519PrivateKey) -> None:
    """Write ``signature.json``: the key's signature over the bytes of ``metadata.json``."""
    try:
        kid, sig = sign_bytes((model_dir / META_FILE).read_bytes(), key)
        tmp = model_dir / f".{SIGNATURE_FILE}.tmp"
        tmp.write_text(json.dumps({"key_id": kid, "signature_b64": sig}))
        tmp.replace(model_dir / SIGNATURE_FILE)
    except OSError as exc:
        raise LocalModelError(f"{model_dir}: cannot sign: {exc}") from exc


def verify_local_model(
    model_dir: Path,
    public: Ed25519PublicKey,
    node_id: str,
    base_version: int,
    base_sha256: str | None = None,
) -> ModelDir:
    """The verified node-local model directory; :class:`LocalModelError` says why not."""
    try:
        meta_bytes = (model_dir / META_FILE).read_bytes()
        sig = json.loads((model_dir / SIGNATURE_FILE).read_text())
        verify_bytes(
            meta_bytes,
            str(sig["key_id"]),
            str(sig["signature_b64"]),
            {key_id(public): public},
            f"{model_dir}",
        )
    except (OSError, ValueError, KeyError, TypeError, SignatureError) as exc:
        raise LocalModelError(f"{model_dir}: not signed by this node's key: {exc}") from exc
    try:
        loaded = read_model_dir(model_dir, primary=MODEL_FILE)
    except ModelDirError as exc:
        raise LocalModelError(str(exc)) from exc
    if json.loads(meta_bytes) != loaded.metadata:  # the bytes signed are the bytes checked
        raise LocalModelError(f"{model_dir}: {META_FILE} changed while it was read")
    meta = loaded.metadata
    if meta.get("scope") != NODE_SCOPE or meta.get("node_id") != node_id:
        raise LocalModelError(
            f"{model_dir}: not this node's own model (scope {meta.get('scope')!r}, "
            f"node {meta.get('node_id')!r})"
        )
    if meta.get("base_version") != base_version:
        raise LocalModelError(
            f"{model_dir}: made from global v{meta.get('base_version')}, this node runs "
            f"v{base_version}"
        )
    if base_sha256 is not None and meta.get("base_sha256") != base_sha256:
        raise LocalModelError(f"{model_dir}: made from another build of v{base_version}")
    return loaded
