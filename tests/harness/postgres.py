"""PostgreSQL 15 from the Debian binaries, run as a non-root user on loopback.

``initdb`` (trust auth: a throw-away test cluster reachable only on 127.0.0.1 and a unix
socket in the state dir), then ``postgres -D data`` as the OS user ``postgres`` (or a
system user ``fednids-pg`` created when there is none) when we are root. After start,
role ``fednids`` (password ``fednids``) and database ``fednids`` exist.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from tests.harness.base import HarnessError, Server, as_user
from tests.harness.system import apt_install

PG_BIN = Path(os.environ.get("FEDNIDS_PG_BIN", "/usr/lib/postgresql/15/bin"))
DB = "fednids"
USER = "fednids"
PASSWORD = "fednids"  # test-only role on a loopback server the harness made


class PostgresServer(Server):
    name = "postgres"
    start_timeout = 60.0
    stop_signal = signal.SIGINT  # "fast" shutdown; SIGTERM would wait for clients to leave

    def __init__(self, port: int = 15432) -> None:
        super().__init__(port)
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "sock"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@{self.host}:{self.port}/{DB}"

    def version(self) -> str:
        """``SELECT version()`` when running, else ``postgres --version``."""
        if self.pid() is not None:
            try:
                return self.psql("SELECT version()")
            except HarnessError:
                pass
        out = subprocess.run(
            [str(PG_BIN / "postgres"), "--version"], capture_output=True, text=True, check=False
        )
        return out.stdout.strip() or "postgres (not installed)"

    def _os_user(self) -> str:
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid()).pw_name
        for name in ("postgres", "fednids-pg"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        self._log("creating system user fednids-pg (postgres refuses to run as root)")
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "fednids-pg",
            ],
            check=True,
        )
        return "fednids-pg"

    def _user(self) -> str | None:
        return self._os_user() if os.geteuid() == 0 else None

    def _install(self) -> None:
        if not (PG_BIN / "postgres").exists():
            try:
                apt_install(["postgresql-15"])
            except HarnessError as exc:
                raise self._error(f"install failed: {exc}") from None

    def _as_user(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.dir,
            env=os.environ | {"PGCONNECT_TIMEOUT": "5"},
            **as_user(self._user()),
        )

    def _prepare(self) -> None:
        user = self._os_user()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, user)
            shutil.chown(self.socket_dir, user)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)  # a half-made earlier attempt
            cmd = [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
            ]
            self._log(f"initdb as {user}: {' '.join(cmd)}")
            proc = self._as_user(cmd)
            if proc.returncode != 0:
                self._log(f"initdb failed:\n{proc.stdout}{proc.stderr}")
                raise self._error(f"initdb failed (exit {proc.returncode})")
            with (self.data / "postgresql.conf").open("a") as f:
                f.write(
                    "\n# fednids test harness\n"
                    f"listen_addresses = '{self.host}'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n"
                    "max_connections = 200\nshared_buffers = 128MB\n"
                    "logging_collector = off\n"
                )
            # initdb -A trust already writes trust lines for local/127.0.0.1/::1 only

    def _command(self) -> list[str]:
        return [str(PG_BIN / "postgres"), "-D", str(self.data)]

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run one statement as the superuser ``postgres`` over the unix socket; ``-tA`` output."""
        psql = str(PG_BIN / "psql") if (PG_BIN / "psql").exists() else "psql"
        proc = self._as_user(
            [psql, "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
             "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql]
        )  # fmt: skip
        if proc.returncode != 0:
            raise HarnessError(
                f"postgres on port {self.port}: psql failed for {sql!r}: {proc.stderr.strip()}"
            )
        return proc.stdout.strip()

    def _ready(self) -> bool:
        proc = self._as_user(
            [str(PG_BIN / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q", "-t", "2"]
        )
        return proc.returncode == 0

    def _after_start(self) -> None:
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{USER}'") != "1":
            self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'") != "1":
            self.psql(f"CREATE DATABASE {DB} OWNER {USER}")

    def start(self) -> PostgresServer:
        super().start()
        return self
