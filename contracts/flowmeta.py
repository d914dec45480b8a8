"""What a sensor saw of a flow's application protocol, in the words Suricata's EVE JSON uses.

Extracted on the sensor from the first payload packets of a flow only (DNS, a TLS ClientHello
with its JA4 fingerprint, an HTTP/1.x request, SSH banners) and carried on
:class:`contracts.events.FlowRecord`. Every field is bounded: strings by length and with no
control characters, lists by count, so a hostile sensor cannot blow up the hub with them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
MAX_NAME = 253
"""A DNS name (RFC 1035) and so an SNI or a DNS answer."""
MAX_TEXT = 256
"""An HTTP Host, path or User-Agent, truncated to this on the sensor."""
MAX_BANNER = 255
"""An SSH identification string (RFC 4253 section 4.2: 255 characters with CR LF)."""
MAX_DNS_ANSWERS = 8
MAX_ALPN = 8
COMMUNITY_ID_PATTERN = r"^1:[A-Za-z0-9+/]{27}=$"
"""Community ID v1, base64 of a SHA-1: ``1:`` and 28 characters."""
JA4_PATTERN = r"^[tqd][0-9a-z]{2}[di][0-9]{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$"
"""The ALPN characters keep their case (``H2`` stays ``H2``)."""

Name = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=_NO_CONTROL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=_NO_CONTROL)]
Banner = Annotated[str, StringConstraints(max_length=MAX_BANNER, pattern=_NO_CONTROL)]
RRType = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,15}$")]
"""A record type's name (``A``, ``AAAA``, ``HTTPS``) or ``TYPE<n>`` (RFC 3597)."""
CommunityId = Annotated[str, StringConstraints(pattern=COMMUNITY_ID_PATTERN)]


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DnsAnswer(_Meta):
    rrtype: Literal["A", "AAAA", "CNAME"]
    rdata: Name
    """The address (A, AAAA) or the canonical name (CNAME)."""


class DnsMeta(_Meta):
    """The first query of the flow and, when seen, its response."""

    rrname: Name
    rrtype: RRType
    rcode: RRType | None = None
    """``NOERROR``, ``NXDOMAIN``, ... (``RCODE<n>`` when unnamed); None: no response seen."""
    answers: Annotated[list[DnsAnswer], Field(max_length=MAX_DNS_ANSWERS)] = Field(
        default_factory=list
    )
    """The first A, AAAA and CNAME answers (other types are not kept)."""


class TlsMeta(_Meta):
    """The flow's first TLS ClientHello."""

    sni: Name | None = None
    version: Annotated[
        str, StringConstraints(pattern=r"^(TLS 1\.[1-3]|TLSv1|SSLv[23]|0x[0-9a-f]{4})$")
    ]
    """The highest version the client offers (supported_versions, else the hello's version),
    named as Suricata names them (``TLS 1.3`` ... ``TLSv1``, ``SSLv3``), else ``0x....``."""
    alpn: Annotated[list[Name], Field(max_length=MAX_ALPN)] = Field(default_factory=list)
    ja4: Annotated[str, StringConstraints(pattern=JA4_PATTERN)]


class HttpMeta(_Meta):
    """The flow's first HTTP/1.x request."""

    http_method: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,16}$")]
    url: Text
    """The request target, truncated to :data:`MAX_TEXT` characters."""
    protocol: Annotated[str, StringConstraints(pattern=r"^HTTP/1\.[01]$")]
    hostname: Text | None = None
    http_user_agent: Text | None = None


class SshMeta(_Meta):
    """The identification strings (``SSH-2.0-OpenSSH_9.6``) each side sent first."""

    client: Banner | None = None
    server: Banner | None = None
