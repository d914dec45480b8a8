"""Chat and e-mail (Slack, Microsoft Teams, SMTP, ...) through ``apprise`` (optional: the hub
extra installs it). One notification per record, its title and a short summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.outputs.config import AppriseOutput
from hub.outputs.records import Record, summary
from hub.outputs.sinks import SinkError

NOTIFY_TYPE = {
    "critical": "failure",
    "high": "failure",
    "medium": "warning",
    "low": "info",
    "info": "info",
}


class AppriseSink:
    per_record = True

    def __init__(self, cfg: AppriseOutput) -> None:
        try:
            import apprise
        except ImportError as exc:
            raise SinkError(
                "apprise outputs need the apprise package: pip install 'fednids[hub]'"
            ) from exc
        self.cfg = cfg
        self.apprise: Any = apprise.Apprise()
        for i, url in enumerate(cfg.urls):
            if not self.apprise.add(url.get_secret_value()):
                raise SinkError(f"output {cfg.name!r}: apprise cannot use urls[{i}]")

    def send(self, records: Sequence[Record]) -> None:
        for rec in records:
            title, body = summary(rec.event)
            ok = self.apprise.notify(
                title=title, body=body, notify_type=NOTIFY_TYPE.get(rec.severity, "info")
            )
            if not ok:
                raise SinkError(f"output {self.cfg.name!r}: apprise could not notify every URL")

    def close(self) -> None:
        return None
