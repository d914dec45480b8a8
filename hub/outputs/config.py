"""The outputs' configuration: one TOML file (see ``docs/outputs.md``), read once at start-up.

Every output has a name, a type, a filter and a rate limit. Secrets (tokens, apprise URLs)
are :class:`~pydantic.SecretStr`: never logged, never in a repr. A value still holding a
placeholder (``CHANGE_ME``) stops the process at start-up, not at the first alert.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import AttackFamily, Severity
from hub.outputs import OutputError

PLACEHOLDERS = ("change_me", "changeme", "<token>", "xxxxxxxx")
"""Substrings (case-insensitive) that mark a value someone forgot to fill in."""
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")]
Topic = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")]
"""An input topic: ``alerts`` (incidents), optionally ``anomalies`` (every detection)."""


class ConfigError(OutputError):
    """The configuration file is missing, not TOML, or not valid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(_Strict):
    """Which records an output takes (empty lists: all)."""

    min_severity: Severity = "info"
    families: list[AttackFamily] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)
    new_only: bool = False
    """Only an incident's first record, not its updates (by incident key; the last
    :data:`hub.outputs.policy.SEEN_KEYS` keys are remembered, in memory)."""
    include_suppressed: bool = False
    """Also send incidents an active suppression marked (``suppressed_by``); by default they
    are skipped and counted as ``suppressed``."""


class RateLimit(_Strict):
    """A token bucket: ``burst`` records at once, refilled at ``per_minute``; None: unlimited."""

    per_minute: Annotated[float, Field(gt=0)] | None = None
    burst: Annotated[int, Field(ge=1)] = 10


class _Output(_Strict):
    name: Name
    format: Literal["eve", "fednids"] = "eve"
    """``eve``: Suricata EVE JSON (:mod:`hub.outputs.eve`); ``fednids``: the event contract's JSON."""
    filter: Filter = Field(default_factory=Filter)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0


class SyslogOutput(_Output):
    """RFC 5424 messages over TCP (RFC 6587 octet counting), optionally TLS (RFC 5425)."""

    type: Literal["syslog"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 6514
    tls: bool = False
    ca_file: Path | None = None
    """CA to verify the receiver's certificate (default: the system's)."""
    server_name: str | None = None
    facility: Annotated[int, Field(ge=0, le=23)] = 4
    app_name: Annotated[str, Field(pattern=r"^[!-~]{1,48}$")] = "fednids"
    hostname: Annotated[str, Field(pattern=r"^[!-~]{1,255}$")] | None = None


class WebhookOutput(_Output):
    """A JSON POST per record to any HTTP(S) endpoint."""

    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    token: SecretStr | None = None
    """Sent as ``Authorization: Bearer <token>`` when set."""
    ca_file: Path | None = None


class SplunkHecOutput(_Output):
    """Splunk's HTTP Event Collector: ``POST {url}/services/collector/event``."""

    type: Literal["splunk_hec"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    token: SecretStr
    index: str | None = None
    sourcetype: str = "suricata"
    source: str = "fednids"
    ca_file: Path | None = None


class AppriseOutput(_Output):
    """Slack, Teams, e-mail and ~100 more through the ``apprise`` package's URLs."""

    type: Literal["apprise"]
    urls: Annotated[list[SecretStr], Field(min_length=1)]


class KafkaOutput(_Output):
    """Records (EVE JSON by default) onto a Kafka topic, for a SIEM that reads Kafka."""

    type: Literal["kafka"]
    url: str | None = None
    """Default: the input's ``kafka_url``."""
    topic: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")] = "eve"


OutputConfig = Annotated[
    SyslogOutput | WebhookOutput | SplunkHecOutput | AppriseOutput | KafkaOutput,
    Field(discriminator="type"),
]


def _placeholders(value: Any, where: str) -> list[str]:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        low = value.lower()
        return [where] if any(p in low for p in PLACEHOLDERS) else []
    if isinstance(value, BaseModel):
        return [
            w
            for k in type(value).model_fields
            for w in _placeholders(getattr(value, k), f"{where}.{k}")
        ]
    if isinstance(value, list | tuple):
        return [w for i, v in enumerate(value) for w in _placeholders(v, f"{where}[{i}]")]
    return []


class OutputsSettings(BaseSettings):
    """``fednids hub outputs``: the file's values; the environment (``FEDNIDS_OUTPUTS_*``)
    gives the top-level ones the file leaves out."""

    model_config = SettingsConfigDict(env_prefix="FEDNIDS_OUTPUTS_", extra="forbid", frozen=True)

    kafka_url: str = "kafka://127.0.0.1:9092"
    topics: Annotated[list[Topic], Field(min_length=1)] = Field(default_factory=lambda: ["alerts"])
    group_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,60}$")] = "fednids-outputs"
    """Each output reads as its own consumer group ``{group_prefix}-{name}``: its own cursor."""
    metrics_host: str = "127.0.0.1"
    metrics_port: Annotated[int, Field(ge=0, le=65535)] | None = 9309
    """Prometheus ``/metrics`` (None: off; 0: any free port)."""
    batch: Annotated[int, Field(ge=1, le=5000)] = 200
    db_url: SecretStr | None = None
    """The hub's store (``postgresql://...``, ``sqlite:///...``): each output's state is written
    there every ``state_every_s`` for ``GET /api/outputs`` (None: only ``/metrics``). A secret:
    the URL may carry the database password."""
    state_every_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    retry_initial_s: Annotated[float, Field(gt=0)] = 0.5
    retry_max_s: Annotated[float, Field(gt=0)] = 30.0
    outputs: Annotated[list[OutputConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> OutputsSettings:
        names = [o.name for o in self.outputs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"output names must be unique: {', '.join(dup)}")
        found = [w for i, o in enumerate(self.outputs) for w in _placeholders(o, f"outputs[{i}]")]
        if found:
            raise ValueError(f"placeholder values (CHANGE_ME...) left in: {', '.join(found)}")
        return self


def load_config(path: Path) -> OutputsSettings:
    """Read and check the file; :class:`ConfigError` names the file and what is wrong."""
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if "output" in doc:
        doc["outputs"] = doc.pop("output")
    try:
        return OutputsSettings(**doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
