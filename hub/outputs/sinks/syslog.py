"""Syslog: RFC 5424 messages over TCP with octet-counting framing (RFC 6587), TLS optional.

A message is ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`` with the record's
compact JSON as MSG; each is framed as ``LENGTH SP MESSAGE``. TCP gives no application
acknowledgement: a batch counts as delivered once written. Before each batch the connection is
checked (a receiver that closed it is seen, and the batch goes on a new connection), which
narrows, but cannot close, the window in which a receiver dying mid-batch loses what was in
flight (RELP would close it; rsyslog's imtcp does not acknowledge).
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime

from hub.outputs.config import SyslogOutput
from hub.outputs.records import Record
from hub.outputs.sinks import SinkError

SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
"""fednids severity -> syslog severity (2 critical, 3 error, 4 warning, 5 notice, 6 info)."""


def format_message(rec: Record, cfg: SyslogOutput, hostname: str, procid: int) -> bytes:
    """One RFC 5424 message, octet-count framed (RFC 6587 section 3.4.1)."""
    pri = cfg.facility * 8 + SYSLOG_SEVERITY.get(rec.severity, 6)
    stamp = datetime.fromtimestamp(rec.epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    msgid = rec.kind[:32] or "-"
    msg = f"<{pri}>1 {stamp} {hostname} {cfg.app_name} {procid} {msgid} - {rec.line()}".encode()
    return f"{len(msg)} ".encode() + msg


class SyslogSink:
    per_record = False

    def __init__(self, cfg: SyslogOutput) -> None:
        self.cfg = cfg
        self.hostname = cfg.hostname or (socket.gethostname() or "-")[:255]
        self.procid = os.getpid()
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        try:
            raw = socket.create_connection((self.cfg.host, self.cfg.port), self.cfg.timeout_s)
        except OSError as exc:
            raise SinkError(
                f"syslog {self.cfg.host}:{self.cfg.port}: cannot connect: {exc}"
            ) from exc
        if not self.cfg.tls:
            return raw
        ctx = ssl.create_default_context(cafile=str(self.cfg.ca_file) if self.cfg.ca_file else None)
        try:
            return ctx.wrap_socket(raw, server_hostname=self.cfg.server_name or self.cfg.host)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise SinkError(f"syslog {self.cfg.host}:{self.cfg.port}: TLS failed: {exc}") from exc

    def _alive(self, sock: socket.socket) -> bool:
        """False when the receiver closed the connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return True
            if isinstance(sock, ssl.SSLSocket):  # a receiver sends nothing: close_notify or EOF
                return False
            return bool(sock.recv(1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False

    def send(self, records: Sequence[Record]) -> None:
        if self._sock is not None and not self._alive(self._sock):
            self.close()
        if self._sock is None:
            self._sock = self._connect()
        data = b"".join(format_message(r, self.cfg, self.hostname, self.procid) for r in records)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self.close()
            raise SinkError(f"syslog {self.cfg.host}:{self.cfg.port}: send failed: {exc}") from exc

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
