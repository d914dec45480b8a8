"""The ONE round config: what the server sends with every training and evaluation round, and
all a node's training reads from it. Typed and bounded; its defaults are the only defaults
(the server's run settings take theirs from here, the node has none: a key missing from a
round is an error, never a silent fallback).

On the wire it is a Flower ``ConfigRecord`` with kebab-case keys (``local-epochs``,
``scaler-lo``, ...): :meth:`RoundConfig.to_record` / :meth:`RoundConfig.from_record`. The
SecAgg+ variant runs Flower's legacy workflow, whose configs carry scalars only:
:meth:`RoundConfig.to_scalars` sends the scaler as one JSON string (``scaler``), which
:meth:`RoundConfig.from_record` accepts too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flwr.app import ConfigRecord
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from federated.errors import RoundConfigError

MAX_FEATURES = 1024


class RoundConfig(BaseModel):
    """One round's training plan. ``dp``/``target-epsilon``/``delta`` are what the SERVER asks;
    a node's provisioned policy (:mod:`federated.policy`) may make them stricter."""

    model_config = ConfigDict(
        strict=True, frozen=True, extra="ignore", populate_by_name=True, allow_inf_nan=False
    )

    server_round: int = Field(0, ge=0, alias="server-round")
    window: int = Field(10, ge=1, le=1000)
    hidden: int = Field(16, ge=1, le=1024)
    local_epochs: int = Field(3, ge=1, le=1000, alias="local-epochs")
    batch_size: int = Field(128, ge=1, le=1_000_000, alias="batch-size")
    lr: float = Field(0.02, gt=0, le=10)
    dp: bool = True
    target_epsilon: float = Field(3.0, gt=0, alias="target-epsilon")
    delta: float = Field(1e-5, gt=0, lt=1)
    max_grad_norm: float = Field(0.1, gt=0, alias="max-grad-norm")
    prox_mu: float = Field(0.0, ge=0, le=100, alias="prox-mu")
    """FedProx: weight of the proximal pull towards the round's global weights (0 = FedAvg)."""
    planned_rounds: int = Field(3, ge=1, le=100_000, alias="planned-rounds")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    scaler_lo: list[float] = Field(default_factory=list, alias="scaler-lo")
    scaler_hi: list[float] = Field(default_factory=list, alias="scaler-hi")

    @model_validator(mode="after")
    def _scaler_is_a_range(self) -> RoundConfig:
        if len(self.scaler_lo) != len(self.scaler_hi) or len(self.scaler_lo) > MAX_FEATURES:
            raise ValueError(
                f"scaler-lo and scaler-hi must have the same length (<= {MAX_FEATURES}), "
                f"got {len(self.scaler_lo)} and {len(self.scaler_hi)}"
            )
        if any(h <= lo for lo, h in zip(self.scaler_lo, self.scaler_hi, strict=True)):
            raise ValueError("scaler-hi must be above scaler-lo for every feature")
        return self

    @classmethod
    def wire_keys(cls) -> list[str]:
        """The wire keys, in field order."""
        return [f.alias or name for name, f in cls.model_fields.items()]

    def to_record(self) -> ConfigRecord:
        return ConfigRecord(self.model_dump(by_alias=True))  # type: ignore[arg-type]

    def to_scalars(self) -> dict[str, bool | int | float | str]:
        """Scalars only (Flower's legacy configs): the scaler as one JSON string."""
        d = self.model_dump(by_alias=True, exclude={"scaler_lo", "scaler_hi"})
        d["scaler"] = json.dumps({"lo": self.scaler_lo, "hi": self.scaler_hi})
        return d

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RoundConfig:
        """Validate a received round config; :class:`RoundConfigError` names what is wrong."""
        data = dict(record)
        if "scaler" in data and "scaler-lo" not in data:
            data |= _scaler_from_json(data.pop("scaler"))
        missing = [k for k in cls.wire_keys() if k not in data]
        if missing:
            raise RoundConfigError(f"round config is missing {', '.join(missing)}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise RoundConfigError(f"malformed round config: {problems}") from None

    @property
    def has_scaler(self) -> bool:
        return bool(self.scaler_lo)


def _scaler_from_json(raw: object) -> dict[str, Any]:
    try:
        d = json.loads(str(raw))
        lo, hi = d["lo"], d["hi"]
    except (ValueError, TypeError, KeyError) as exc:
        raise RoundConfigError(f"malformed round config: scaler is not lo/hi JSON: {exc}") from None
    if not (isinstance(lo, list) and isinstance(hi, list)):
        raise RoundConfigError("malformed round config: scaler lo/hi must be lists")
    return {"scaler-lo": lo, "scaler-hi": hi}
