"""ed25519 signatures on model announcements, shared by the hub (signs) and agents (verify).

Keys are files: the hub's private key (PKCS#8 PEM, mode 0600, never in the repository) and
the fleet's public keys (PEM). A key id is the first 16 hex digits of the SHA-256 of the raw
public key, so an agent can hold several trusted keys during a key rotation. The hub names the
fleet in the signed metadata (``fleet_id``); a node provisioned for a fleet refuses a model
signed for any other (or for none), so one signing key can serve several fleets safely.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.errors import ContractError
from contracts.events import ModelAnnouncement
from contracts.topics import FLEET_ID_PATTERN

PRIVATE_KEY_FILE = "model-signing.key"
PUBLIC_KEY_FILE = "model-signing.pub"


class SignatureError(ContractError):
    """A key file is unusable, or an announcement's signature or digest does not verify."""


class FleetMismatch(SignatureError):
    """A correctly signed announcement, but for another fleet (or for no fleet at all)."""


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(out_dir: Path) -> tuple[Path, Path]:
    """Write a new key pair (``model-signing.key`` 0600, ``model-signing.pub``); never overwrites."""
    out_dir.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path = out_dir / PRIVATE_KEY_FILE, out_dir / PUBLIC_KEY_FILE
    if priv_path.exists() or pub_path.exists():
        raise SignatureError(f"{out_dir}: a signing key already exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv_path, pub_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SignatureError(f"{path}: cannot read the model-signing private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path}: not an ed25519 private key")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise SignatureError(f"{path}: private key is readable by group/others; chmod 600 it")
    return key


def load_public_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Trusted keys by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise SignatureError(f"{path}: cannot read the public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SignatureError(f"{path}: not an ed25519 public key")
        keys[key_id(key)] = key
    if not keys:
        raise SignatureError("no trusted model-signing public key given")
    return keys


def sign(ann: ModelAnnouncement, key: Ed25519PrivateKey) -> ModelAnnouncement:
    """The announcement with ``key_id`` and ``signature_b64`` filled in."""
    unsigned = ann.model_copy(update={"key_id": key_id(key.public_key())})
    sig = key.sign(unsigned.signed_bytes())
    return unsigned.model_copy(update={"signature_b64": base64.b64encode(sig).decode()})


@dataclass(frozen=True)
class Verified:
    announcement: ModelAnnouncement
    model_bytes: bytes


FLEET_KEY = "fleet_id"
"""The metadata key naming the fleet a model was signed for (covered by the signature)."""


def check_fleet_id(fleet_id: str) -> str:
    """``fleet_id`` if it is 1-63 characters of ``a-z 0-9 _ . -``; else :class:`SignatureError`."""
    if not re.fullmatch(FLEET_ID_PATTERN, fleet_id):
        raise SignatureError(f"invalid fleet id {fleet_id!r}: must match {FLEET_ID_PATTERN}")
    return fleet_id


def verify(
    ann: ModelAnnouncement, trusted: dict[str, Ed25519PublicKey], fleet_id: str | None = None
) -> Verified:
    """Check the signature, the fleet the model was signed for (when ``fleet_id`` is given:
    the signed metadata must name that fleet), then the inline model's size and sha256.
    Raises :class:`SignatureError`."""
    key = trusted.get(ann.key_id)
    if key is None:
        raise SignatureError(f"unsigned or signed by an unknown key (key_id {ann.key_id!r})")
    try:
        key.verify(base64.b64decode(ann.signature_b64, validate=True), ann.signed_bytes())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SignatureError(f"bad signature on {ann.model_name} v{ann.version}") from exc
    signed_for = ann.metadata.get(FLEET_KEY)
    if fleet_id is not None and signed_for != fleet_id:
        raise FleetMismatch(
            f"{ann.model_name} v{ann.version} was signed for fleet {signed_for!r}, "
            f"this node belongs to fleet {fleet_id!r}"
        )
    if ann.payload_b64 is None:
        raise SignatureError(f"{ann.model_name} v{ann.version}: no inline payload")
    try:
        blob = base64.b64decode(ann.payload_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("payload is not valid base64") from exc
    if len(blob) != ann.size_bytes or hashlib.sha256(blob).hexdigest() != ann.sha256:
        raise SignatureError(
            f"{ann.model_name} v{ann.version}: payload does not match the signed size/sha256"
        )
    if ann.metadata.get("sha256") not in (None, ann.sha256):
        raise SignatureError("metadata names another model file")
    return Verified(ann, blob)


def sign_bytes(data: bytes, key: Ed25519PrivateKey) -> tuple[str, str]:
    """``(key_id, base64 signature)`` of ``data`` with the same key, for other signed artefacts
    (the indicator bundles of :mod:`contracts.indicators`)."""
    return key_id(key.public_key()), base64.b64encode(key.sign(data)).decode()


def verify_bytes(
    data: bytes, kid: str, signature_b64: str, trusted: dict[str, Ed25519PublicKey], what: str
) -> None:
    """Check that a trusted key ``kid`` signed ``data``; else :class:`SignatureError`."""
    key = trusted.get(kid)
    if key is None:
        raise SignatureError(f"{what}: unsigned or signed by an unknown key (key_id {kid!r})")
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SignatureError(f"{what}: bad signature") from exc
