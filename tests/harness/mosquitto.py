"""Eclipse Mosquitto from the Debian package, run as our own process on loopback.

The generated config has a plain listener on ``127.0.0.1:port`` (anonymous by default),
persistence in ``<dir>/data`` and ``per_listener_settings true``, so ``extra_config`` can
add e.g. a mutual-TLS listener with its own ``require_certificate true``,
``use_identity_as_username true`` and ``acl_file``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.harness.base import HarnessError, Server
from tests.harness.system import apt_install

_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)


class MosquittoServer(Server):
    name = "mosquitto"
    start_timeout = 20.0

    def __init__(self, port: int = 11883, extra_config: str = "", anonymous: bool = True) -> None:
        super().__init__(port)
        self.extra_config = extra_config
        self.anonymous = anonymous
        self.data = self.dir / "data"
        self.config_path = self.dir / "mosquitto.conf"

    def wipe(self) -> None:
        """Stop and forget every session and queued message (a fresh broker on next start)."""
        with self._locked():
            self.stop()
            shutil.rmtree(self.data, ignore_errors=True)

    def start_empty_unless_running(self) -> bool:
        """Reuse the running broker (True), or start one with no sessions and no queued
        messages (False); one locked step, so two processes never wipe each other's broker."""
        with self._locked():
            if self.is_running():
                self.start()
                return True
            shutil.rmtree(self.data, ignore_errors=True)
            self.start()
            return False

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _binary(self) -> str:
        path = mosquitto_binary()
        if path is None:
            raise self._error("binary not found (Debian package mosquitto not installed?)")
        return path

    def version(self) -> str:
        """First line of ``mosquitto -h``, e.g. ``mosquitto version 2.0.11``."""
        path = mosquitto_binary()
        if path is None:
            return "mosquitto (not installed)"
        out = subprocess.run([path, "-h"], capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0].strip() if out else "mosquitto ?"

    def _install(self) -> None:
        if mosquitto_binary() is None:
            try:
                apt_install(["mosquitto", "mosquitto-clients"])
            except HarnessError as exc:
                raise self._error(f"install failed: {exc}") from None
            self._log(f"installed Debian packages mosquitto mosquitto-clients: {self.version()}")

    def _prepare(self) -> None:
        self.data.mkdir(exist_ok=True)
        conf = [
            # as root, mosquitto 2 would drop to user `mosquitto`, who cannot write our dir
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings true",
            "persistence true",
            f"persistence_location {self.data}/",
            "autosave_interval 1",  # durability: a snapshot every second, not every 10 s
            "autosave_on_changes false",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "sys_interval 2",
            "max_queued_messages 1000000",
            "max_inflight_messages 1000",
            "max_queued_bytes 1073741824",  # bounds: a client's queue in bytes ...
            "max_packet_size 1048576",  # ... and one packet (4x the contracts' 256 KiB)
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
        ]
        text = "\n".join(conf) + "\n"
        if self.extra_config:
            text += "# -- extra_config --\n" + self.extra_config.strip() + "\n"
        self.config_path.write_text(text)

    def _command(self) -> list[str]:
        return [self._binary(), "-c", str(self.config_path)]
