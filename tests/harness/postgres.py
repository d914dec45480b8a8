"""PostgreSQL 15 from the Debian binaries, run as a non-root user on loopback."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from tests.harness.base import HarnessError, Server
from tests.harness.system import apt_install

PG_BIN = Path("/usr/lib/postgresql/15/bin")
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
        out = subprocess.run(
            [str(PG_BIN / "postgres"), "--version"], capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    def _os_user(self) -> str:
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid()).pw_name
        for name in ("postgres", "fednids-pg"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "fednids-pg"], check=True)
        return "fednids-pg"

    def _user(self) -> str | None:
        return self._os_user() if os.geteuid() == 0 else None

    def _install(self) -> None:
        if not (PG_BIN / "postgres").exists():
            apt_install(["postgresql-15"])

    def _as_user(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        user = self._user()
        full = ["runuser", "-u", user, "--", *cmd] if user else cmd
        return subprocess.run(full, capture_output=True, text=True, check=False)

    def _prepare(self) -> None:
        user = self._os_user()
        for d in (self.dir, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, user)
            shutil.chown(self.socket_dir, user)
            # the log file is opened by us (root) and handed to the child: fine
        if not (self.data / "PG_VERSION").exists():
            proc = self._as_user(
                [
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
            )
            if proc.returncode != 0:
                raise HarnessError(f"postgres: initdb failed: {proc.stdout}{proc.stderr}")
            with (self.data / "postgresql.conf").open("a") as f:
                f.write(
                    f"listen_addresses = '{self.host}'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n"
                    "max_connections = 200\nshared_buffers = 128MB\nsynchronous_commit = on\n"
                )
            self._needs_bootstrap = True
        else:
            self._needs_bootstrap = False

    def _command(self) -> list[str]:
        return [str(PG_BIN / "postgres"), "-D", str(self.data)]

    def psql(self, sql: str, db: str = "postgres") -> str:
        proc = self._as_user(
            [
                str(PG_BIN / "psql") if (PG_BIN / "psql").exists() else "psql",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ]
        )
        if proc.returncode != 0:
            raise HarnessError(f"postgres: psql failed for {sql!r}: {proc.stderr}")
        return proc.stdout.strip()

    def _ready(self) -> bool:
        proc = self._as_user(
            [str(PG_BIN / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"]
        )
        return proc.returncode == 0

    def start(self) -> PostgresServer:
        super().start()
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{USER}'") != "1":
            self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'") != "1":
            self.psql(f"CREATE DATABASE {DB} OWNER {USER}")
        return self
