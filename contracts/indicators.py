"""Threat-intel indicator bundles: what the hub signs and every sensor matches its flows against.

A bundle is versioned (versions only go up), carries its creation time, its own expiry and,
when the hub signs for a fleet, the fleet id. Each indicator is one normalised value of a type
(``ipv4``, ``ipv6``, ``cidr``, ``domain``, ``ja4``) with its sources, a confidence (0-100), an
expiry, a short tag, and optionally the attack family and ATT&CK techniques a hit means.

Its wire form (signed manifest + compressed parts, streamed on the sensor) is
:mod:`contracts.indicator_wire`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.errors import ContractError
from contracts.events import AttackFamily, EpochS, ShortText, Techniques
from contracts.flowmeta import JA4_PATTERN, MAX_NAME
from contracts.topics import FLEET_ID_PATTERN

MAX_INDICATORS = 200_000
MAX_SOURCES = 8
"""Sources kept per indicator (the merged feeds that named it)."""
MAX_TAG = 100
MIN_PREFIX = {4: 8, 6: 16}
"""A CIDR indicator broader than this would flag a large share of the Internet: refused."""
IndicatorType = Literal["ipv4", "ipv6", "cidr", "domain", "ja4"]
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
SourceName = Annotated[str, StringConstraints(pattern=SOURCE_PATTERN)]
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_JA4 = re.compile(JA4_PATTERN)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


class IndicatorError(ContractError):
    """An indicator value, a bundle or its wire form is invalid (signatures: SignatureError)."""


def normalize(kind: str, value: str) -> str:
    """The canonical form of ``value`` as an indicator of ``kind``; :class:`IndicatorError`
    when it is not one (a domain is lower-case without a trailing dot, an address compressed,
    a CIDR its network)."""
    v = value.strip()
    if kind == "ipv4" and _IPV4.match(v):
        return v  # the common case, without ipaddress
    try:
        if kind in ("ipv4", "ipv6"):
            ip = ipaddress.ip_address(v)
            if f"ipv{ip.version}" != kind:
                raise IndicatorError(f"{value!r} is not an {kind} address")
            return str(ip)
        if kind == "cidr":
            net = ipaddress.ip_network(v, strict=False)
            if net.prefixlen < MIN_PREFIX[net.version]:
                raise IndicatorError(f"CIDR {value!r} is broader than /{MIN_PREFIX[net.version]}")
            return str(net)
    except ValueError as exc:
        raise IndicatorError(f"{value[:80]!r} is not a valid {kind}") from exc
    if kind == "domain":
        d = v.lower().rstrip(".").removeprefix("*.")
        if not d.isascii():
            try:
                d = d.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise IndicatorError(f"{value[:80]!r} is not a valid domain name") from exc
        if len(d) > MAX_NAME or not _DOMAIN.match(d) or _is_ip(d):
            raise IndicatorError(f"{value[:80]!r} is not a valid domain (two labels or more)")
        return d
    if kind == "ja4":
        if not _JA4.match(v):
            raise IndicatorError(f"{value[:80]!r} is not a JA4 fingerprint")
        return v
    raise IndicatorError(f"unknown indicator type {kind!r}")


def classify(value: str) -> tuple[IndicatorType, str]:
    """The type and canonical form of a bare value (a plain list's line)."""
    v = value.strip()
    if _JA4.match(v):
        return "ja4", v
    if "/" in v:
        net = normalize("cidr", v)
        if ipaddress.ip_network(net).num_addresses == 1:  # a /32 or /128 is an address
            ip = ipaddress.ip_network(net).network_address
            return ("ipv4" if ip.version == 4 else "ipv6"), str(ip)
        return "cidr", net
    if _is_ip(v):
        ip = ipaddress.ip_address(v)
        return ("ipv4" if ip.version == 4 else "ipv6"), str(ip)
    return "domain", normalize("domain", v)


def _is_ip(v: str) -> bool:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


FleetId = Annotated[str, StringConstraints(pattern=FLEET_ID_PATTERN)]
IndicatorCount = Annotated[int, Field(ge=0, le=MAX_INDICATORS)]
SourceNotes = Annotated[dict[SourceName, ShortText], Field(max_length=64)]
"""Each source's own description (feed URL, import time) for the operator."""


class BundleFields(_Model):
    """What a bundle, its header line and its signed manifest
    (:class:`contracts.indicator_wire.BundleManifest`) share, in this order on the wire; each
    fixes its own ``kind``. After ``expires_at`` the whole bundle is refused (the hub re-signs
    before it)."""

    schema_version: Literal[1] = 1
    kind: str
    version: Annotated[int, Field(ge=1)]
    created_at: EpochS
    expires_at: EpochS
    fleet_id: FleetId | None = None


class Indicator(_Model):
    type: IndicatorType
    value: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
    """Canonical (:func:`normalize`); a domain matches itself and every name under it."""
    sources: Annotated[list[SourceName], Field(min_length=1, max_length=MAX_SOURCES)]
    confidence: Annotated[int, Field(ge=0, le=100)] = 50
    expires_at: EpochS
    tag: Annotated[str, StringConstraints(max_length=MAX_TAG, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    family: AttackFamily = "other"
    techniques: Techniques = Field(default_factory=list)

    @model_validator(mode="after")
    def _canonical(self) -> Indicator:
        try:
            canonical = normalize(self.type, self.value)
        except IndicatorError as exc:
            raise ValueError(str(exc)) from exc
        if canonical != self.value:
            raise ValueError(f"{self.type} {self.value!r} is not in canonical form {canonical!r}")
        return self


class IndicatorBundle(BundleFields):
    kind: Literal["indicators"] = "indicators"
    indicators: Annotated[list[Indicator], Field(max_length=MAX_INDICATORS)]
    sources: SourceNotes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> IndicatorBundle:
        if self.expires_at < self.created_at:
            raise ValueError("the bundle expires before it was created")
        if len({(i.type, i.value) for i in self.indicators}) != len(self.indicators):
            raise ValueError("an indicator value appears twice (merge them)")
        return self


class BundleHeader(BundleFields):
    """A bundle without its indicators: the first line of its wire form."""

    kind: Literal["indicators"] = "indicators"
    count: IndicatorCount
    sources: SourceNotes = Field(default_factory=dict)

    @classmethod
    def of(cls, bundle: IndicatorBundle) -> BundleHeader:
        fields = bundle.model_dump(exclude={"indicators", "schema_version", "kind"})
        return cls(count=len(bundle.indicators), **fields)
