"""HTTP receivers: a generic JSON webhook and Splunk's HTTP Event Collector (HEC).

Standard library only (``urllib``). A record counts as delivered on a 2xx answer (for HEC,
also ``"code": 0`` in its JSON answer); anything else, a timeout or a refused connection
raises :class:`SinkError` and the output sends the batch again after its back-off.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from hub.outputs.config import SplunkHecOutput, WebhookOutput
from hub.outputs.records import Record
from hub.outputs.sinks import SinkError

USER_AGENT = "fednids-outputs/1"
PERMANENT = frozenset({400, 413, 415, 422})
"""Answers that reject the record itself: retrying it can never succeed."""


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, ca: Path | None) -> bytes:
    """POST ``body``; the answer's body on 2xx, else :class:`SinkError` (no secret in it)."""
    if not url.startswith(("http://", "https://")):
        raise SinkError(f"not an http(s) URL: {url!r}")
    req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (scheme checked)
    for k, v in {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}.items():
        req.add_header(k, v)
    ctx = ssl.create_default_context(cafile=str(ca)) if ca and url.startswith("https") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:  # noqa: S310
            return bytes(resp.read(65536))
    except urllib.error.HTTPError as exc:
        raise SinkError(
            f"POST {url}: HTTP {exc.code} {exc.reason}", permanent=exc.code in PERMANENT
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SinkError(f"POST {url}: {getattr(exc, 'reason', exc)}") from None


class WebhookSink:
    """One JSON POST per record."""

    per_record = True

    def __init__(self, cfg: WebhookOutput) -> None:
        self.cfg = cfg
        self.headers = {}
        if cfg.token is not None:
            self.headers["Authorization"] = f"Bearer {cfg.token.get_secret_value()}"

    def send(self, records: Sequence[Record]) -> None:
        for rec in records:
            post(
                self.cfg.url,
                rec.line().encode(),
                self.headers,
                self.cfg.timeout_s,
                self.cfg.ca_file,
            )

    def close(self) -> None:
        return None


def hec_event(rec: Record, cfg: SplunkHecOutput) -> dict[str, object]:
    """The HEC envelope of one record (``time`` in epoch seconds, the record as ``event``)."""
    node = getattr(rec.event, "node_id", None)
    env: dict[str, object] = {
        "time": round(rec.epoch, 6),
        "source": cfg.source,
        "sourcetype": cfg.sourcetype,
        "event": rec.body,
    }
    if node:
        env["host"] = node
    if cfg.index:
        env["index"] = cfg.index
    return env


class SplunkHecSink:
    """All of a batch in one POST (HEC takes concatenated JSON objects)."""

    per_record = False

    def __init__(self, cfg: SplunkHecOutput) -> None:
        self.cfg = cfg
        self.url = cfg.url.rstrip("/") + "/services/collector/event"
        self.headers = {"Authorization": f"Splunk {cfg.token.get_secret_value()}"}

    def send(self, records: Sequence[Record]) -> None:
        if not records:
            return
        body = "".join(json.dumps(hec_event(r, self.cfg), separators=(",", ":")) for r in records)
        answer = post(self.url, body.encode(), self.headers, self.cfg.timeout_s, self.cfg.ca_file)
        try:
            code = json.loads(answer or b"{}").get("code", 0)
        except (ValueError, AttributeError):
            code = 0  # a 2xx without JSON: accepted
        if code != 0:
            raise SinkError(f"HEC {self.url}: answered code {code}")

    def close(self) -> None:
        return None
