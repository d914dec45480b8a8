"""The wire form of an indicator bundle: what the hub signs and publishes, what a sensor verifies.

The bundle is JSON lines (its :class:`~contracts.indicators.BundleHeader`, then one
:class:`~contracts.indicators.Indicator` per line), zlib-compressed and cut into parts of at
most :data:`MAX_PART_BYTES` (the brokers' packet limit is 1 MiB), plus one small
:class:`BundleManifest` naming the SHA-256 of every part and of the whole, signed with the
hub's model-signing key (ed25519, :mod:`contracts.signing`). A sensor accepts a bundle only
when the signature, the fleet, every digest, the size bounds and the header-vs-manifest fields
agree; it then *streams* the indicators (:meth:`VerifiedBundle.indicators`): a Pi never holds
the decompressed JSON or a model object per indicator, only its own compact match tables.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, StringConstraints, ValidationError

from contracts.indicators import (
    BundleFields,
    BundleHeader,
    Indicator,
    IndicatorBundle,
    IndicatorCount,
    IndicatorError,
)
from contracts.signing import FleetMismatch, sign_bytes, verify_bytes

MAX_PART_BYTES = 512 * 1024
"""One retained MQTT message: half the brokers' ``max_packet_size``."""
MAX_PARTS = 64
MAX_JSON_BYTES = 96 * 1024 * 1024
"""The decompressed bundle (a zlib bomb stops here)."""
MAX_LINE_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 64 * 1024
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class BundleManifest(BundleFields):
    """The signed, retained announcement of a bundle: what the parts must hash to."""

    kind: Literal["indicator_manifest"] = "indicator_manifest"
    count: IndicatorCount
    sha256: Sha256
    size_bytes: Annotated[int, Field(ge=1, le=MAX_PARTS * MAX_PART_BYTES)]
    parts: Annotated[list[Sha256], Field(min_length=1, max_length=MAX_PARTS)]
    key_id: Annotated[str, StringConstraints(max_length=64)] = ""
    signature_b64: Annotated[str, StringConstraints(max_length=200)] = ""

    def signed_bytes(self) -> bytes:
        return (
            f"fednids-indicators\n{self.version}\n{self.created_at!r}\n{self.expires_at!r}\n"
            f"{self.fleet_id or ''}\n{self.count}\n{self.sha256}\n{self.size_bytes}\n"
            + ",".join(self.parts)
        ).encode()

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def pack(bundle: IndicatorBundle) -> bytes:
    """The compressed JSON lines of ``bundle``."""
    z = zlib.compressobj(6)
    out = [z.compress(BundleHeader.of(bundle).model_dump_json().encode() + b"\n")]
    for ind in bundle.indicators:
        out.append(z.compress(ind.model_dump_json().encode() + b"\n"))
    out.append(z.flush())
    return b"".join(out)


def sign_bundle(
    bundle: IndicatorBundle, key: Ed25519PrivateKey, part_bytes: int = MAX_PART_BYTES
) -> tuple[BundleManifest, list[bytes]]:
    """The signed manifest and the parts to publish."""
    blob = pack(bundle)
    step = max(1, min(part_bytes, MAX_PART_BYTES))
    parts = [blob[i : i + step] for i in range(0, len(blob), step)]
    if len(parts) > MAX_PARTS:
        raise IndicatorError(f"the bundle needs {len(parts)} parts (at most {MAX_PARTS})")
    unsigned = BundleManifest(
        version=bundle.version,
        created_at=bundle.created_at,
        expires_at=bundle.expires_at,
        fleet_id=bundle.fleet_id,
        count=len(bundle.indicators),
        sha256=hashlib.sha256(blob).hexdigest(),
        size_bytes=len(blob),
        parts=[hashlib.sha256(p).hexdigest() for p in parts],
    )
    kid, sig = sign_bytes(unsigned.signed_bytes(), key)
    return unsigned.model_copy(update={"key_id": kid, "signature_b64": sig}), parts


def verify_manifest(
    manifest: BundleManifest, trusted: dict[str, Ed25519PublicKey], fleet_id: str | None = None
) -> None:
    """Signature and fleet of the manifest (SignatureError / FleetMismatch)."""
    what = f"indicator bundle v{manifest.version}"
    verify_bytes(manifest.signed_bytes(), manifest.key_id, manifest.signature_b64, trusted, what)
    if fleet_id is not None and manifest.fleet_id != fleet_id:
        raise FleetMismatch(
            f"{what} was signed for fleet {manifest.fleet_id!r}, this node is in {fleet_id!r}"
        )


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, digests and header checked out; its indicators stream."""

    header: BundleHeader
    blob: bytes

    def indicators(self) -> Iterator[Indicator]:
        """Each indicator, validated; :class:`IndicatorError` on the first bad line or a count
        that differs from the signed one (a consumer must then discard what it built)."""
        n = 0
        for line in _lines(self.blob, skip_first=True):
            try:
                yield Indicator.model_validate_json(line)
            except ValidationError as exc:
                raise IndicatorError(f"indicator {n + 1}: {_first(exc)}") from exc
            n += 1
            if n > self.header.count:
                break
        if n != self.header.count:
            raise IndicatorError(f"{n} indicators, the signed count is {self.header.count}")


def open_bundle(
    manifest: BundleManifest,
    parts: list[bytes],
    trusted: dict[str, Ed25519PublicKey],
    fleet_id: str | None = None,
) -> VerifiedBundle:
    """Check everything but the indicators themselves (they are checked as they stream).
    Signature problems raise :class:`~contracts.signing.SignatureError`; the rest
    :class:`IndicatorError`."""
    verify_manifest(manifest, trusted, fleet_id)
    if [hashlib.sha256(p).hexdigest() for p in parts] != manifest.parts:
        raise IndicatorError(f"indicator bundle v{manifest.version}: parts do not match")
    blob = b"".join(parts)
    if len(blob) != manifest.size_bytes or hashlib.sha256(blob).hexdigest() != manifest.sha256:
        raise IndicatorError(f"indicator bundle v{manifest.version}: size/digest mismatch")
    first = next(_lines(blob), None)
    if first is None:
        raise IndicatorError("indicator bundle: empty")
    try:
        header = BundleHeader.model_validate_json(first)
    except ValidationError as exc:
        raise IndicatorError(f"invalid indicator bundle header: {_first(exc)}") from exc
    for name in ("version", "created_at", "expires_at", "fleet_id", "count"):
        if getattr(header, name) != getattr(manifest, name):
            raise IndicatorError(f"indicator bundle: {name} differs from the signed manifest")
    return VerifiedBundle(header, blob)


def verify_bundle(
    manifest: BundleManifest,
    parts: list[bytes],
    trusted: dict[str, Ed25519PublicKey],
    fleet_id: str | None = None,
) -> IndicatorBundle:
    """The whole bundle as one model (the hub and tests; a sensor streams :func:`open_bundle`)."""
    vb = open_bundle(manifest, parts, trusted, fleet_id)
    fields = vb.header.model_dump(exclude={"count", "schema_version", "kind"})
    try:
        return IndicatorBundle(indicators=list(vb.indicators()), **fields)
    except ValidationError as exc:
        raise IndicatorError(f"invalid indicator bundle: {_first(exc)}") from exc


def _lines(blob: bytes, skip_first: bool = False) -> Iterator[bytes]:
    """The decompressed lines of ``blob``, bounded (total and per line)."""
    dec = zlib.decompressobj()
    total, rest, first = 0, b"", True
    data = blob
    while True:
        try:
            chunk = dec.decompress(data, 1024 * 1024)
        except zlib.error as exc:
            raise IndicatorError(f"indicator bundle is not zlib data: {exc}") from exc
        data = dec.unconsumed_tail
        total += len(chunk)
        if total > MAX_JSON_BYTES:
            raise IndicatorError(f"indicator bundle is over {MAX_JSON_BYTES} bytes")
        rest += chunk
        *lines, rest = rest.split(b"\n")
        if len(rest) > MAX_LINE_BYTES:
            raise IndicatorError(f"an indicator bundle line is over {MAX_LINE_BYTES} bytes")
        for line in lines:
            if first and skip_first:
                first = False
                continue
            first = False
            if line:
                yield line
        if not chunk and not data:
            break
    if not dec.eof:
        raise IndicatorError("indicator bundle is truncated")
    if rest:
        yield rest


def encode_manifest(manifest: BundleManifest) -> bytes:
    return manifest.model_dump_json().encode()


def decode_manifest(payload: bytes) -> BundleManifest:
    if len(payload) > MAX_MANIFEST_BYTES:
        raise IndicatorError(f"manifest of {len(payload)} bytes (max {MAX_MANIFEST_BYTES})")
    try:
        return BundleManifest.model_validate_json(payload)
    except ValidationError as exc:
        raise IndicatorError(f"invalid indicator manifest: {_first(exc)}") from exc


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {err.get('msg', '')}"[:300]
