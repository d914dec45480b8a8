"""rsyslog from the Debian package, run as our own process on loopback: a syslog receiver.

The generated config has one ``imtcp`` listener on ``127.0.0.1:port`` (RFC 6587 octet-counted
and LF-framed messages) and writes every message it parsed into ``<dir>/messages.jsonl``,
one JSON object a line with the RFC 5424 fields as rsyslog parsed them (``pri``,
``protocol_version``, ``hostname``, ``app``, ``procid``, ``msgid``, ``msg``). With ``tls``
(the ``rsyslog-gnutls`` package) the listener speaks TLS (RFC 5425) with the given
certificate and key, clients anonymous.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests.harness.base import HarnessError, Server
from tests.harness.system import apt_install

_CANDIDATES = ("/usr/sbin/rsyslogd", "/usr/local/sbin/rsyslogd")
_GTLS = Path("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so")


def rsyslog_binary() -> str | None:
    found = shutil.which("rsyslogd")
    if found:
        return found
    return next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)


def gtls_available() -> bool:
    """Is rsyslog's GnuTLS network driver (Debian package rsyslog-gnutls) installed?"""
    return _GTLS.exists() or any(Path("/usr/lib").glob("*/rsyslog/lmnsd_gtls.so"))


class RsyslogServer(Server):
    name = "rsyslog"
    start_timeout = 20.0

    def __init__(self, port: int = 16514, tls: tuple[Path, Path, Path] | None = None) -> None:
        """``tls``: (CA file, certificate, key) for a TLS listener."""
        super().__init__(port)
        self.tls = tls
        self.config_path = self.dir / "rsyslog.conf"
        self.messages_path = self.dir / "messages.jsonl"
        self.work = self.dir / "work"

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://{self.host}:{self.port}"

    def _binary(self) -> str:
        path = rsyslog_binary()
        if path is None:
            raise self._error("binary not found (Debian package rsyslog not installed?)")
        return path

    def version(self) -> str:
        import subprocess

        path = rsyslog_binary()
        if path is None:
            return "rsyslogd (not installed)"
        out = subprocess.run([path, "-v"], capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0].strip() if out else "rsyslogd ?"

    def _install(self) -> None:
        need = [] if rsyslog_binary() else ["rsyslog"]
        if self.tls and not gtls_available():
            need.append("rsyslog-gnutls")
        if need:
            try:
                apt_install(need)
            except HarnessError as exc:
                raise self._error(f"install failed: {exc}") from None
            self._log(f"installed Debian packages {' '.join(need)}: {self.version()}")

    def _prepare(self) -> None:
        self.work.mkdir(exist_ok=True)
        tls_global = ""
        listener = f'input(type="imtcp" port="{self.port}" address="{self.host}" ruleset="fednids")'
        module = 'module(load="imtcp" maxSessions="100")'
        if self.tls:
            ca, cert, key = self.tls
            tls_global = (
                f'global(defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{ca}"\n'
                f'       defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}")\n'
            )
            module = (
                'module(load="imtcp" maxSessions="100" streamDriver.name="gtls" '
                'streamDriver.mode="1" streamDriver.authMode="anon")'
            )
        conf = f"""
global(workDirectory="{self.work}" maxMessageSize="64k")
{tls_global}{module}
{listener}
template(name="fednids_json" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="protocol_version" name="protocol-version" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
ruleset(name="fednids") {{
  action(type="omfile" file="{self.messages_path}" template="fednids_json" flushOnTXEnd="on"
         asyncWriting="off")
}}
"""
        self.config_path.write_text(conf.lstrip())

    def _command(self) -> list[str]:
        return [
            self._binary(),
            "-n",
            "-f",
            str(self.config_path),
            "-i",
            str(self.dir / "rsyslogd.pid"),
        ]

    def messages(self) -> list[dict[str, Any]]:
        """Every message rsyslog wrote so far, parsed."""
        if not self.messages_path.exists():
            return []
        out = []
        for line in self.messages_path.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def clear(self) -> None:
        self.messages_path.unlink(missing_ok=True)
