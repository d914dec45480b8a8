"""Eclipse Mosquitto from the Debian package, run as our own process on loopback."""

from __future__ import annotations

import shutil
import subprocess

from tests.harness.base import HarnessError, Server
from tests.harness.system import apt_install


class MosquittoServer(Server):
    name = "mosquitto"
    start_timeout = 20.0

    def __init__(self, port: int = 11883, extra_config: str = "", anonymous: bool = True) -> None:
        super().__init__(port)
        self.extra_config = extra_config
        self.anonymous = anonymous
        self.fresh = False

    def wipe(self) -> None:
        """Stop and forget every session and queued message (a fresh broker on next start)."""
        self.stop()
        self.fresh = True

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _binary(self) -> str:
        path = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if shutil.os.path.exists("/usr/sbin/mosquitto") else None
        )  # type: ignore[attr-defined]
        if path is None:
            raise HarnessError("mosquitto: binary not found after install")
        return path

    def version(self) -> str:
        out = subprocess.run(
            [self._binary(), "-h"], capture_output=True, text=True, check=False
        ).stdout
        return out.splitlines()[0] if out else "mosquitto ?"

    def _install(self) -> None:
        if shutil.which("mosquitto") is None and not shutil.os.path.exists("/usr/sbin/mosquitto"):  # type: ignore[attr-defined]
            apt_install(["mosquitto", "mosquitto-clients"])

    def _prepare(self) -> None:
        data = self.dir / "data"
        data.mkdir(exist_ok=True)
        if self.fresh:
            import shutil as _sh

            _sh.rmtree(data, ignore_errors=True)
            data.mkdir()
            self.fresh = False
        conf = [
            "user root",
            "per_listener_settings true",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 10",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "sys_interval 2",
            "max_queued_messages 1000000",
            "max_inflight_messages 1000",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
        ]
        text = (
            "\n".join(conf) + "\n" + (self.extra_config.strip() + "\n" if self.extra_config else "")
        )
        (self.dir / "mosquitto.conf").write_text(text)

    def _command(self) -> list[str]:
        return [self._binary(), "-c", str(self.dir / "mosquitto.conf")]
