"""A real Flower federation on one machine, for the demo, the tests and the benchmarks: one
``flower-superlink`` and N ``flower-supernode`` processes (separate processes; TLS and
SuperNode authentication with registered keys when given a PKI), driven with the ``flwr`` CLI
exactly as an operator would.

    dep = FlowerDeployment(tmp_path, port=19400, tls=TlsFiles(ca, cert, key))
    dep.start_superlink()
    dep.start_supernode("sensor-1", data="sim:benign?seed=1")
    dep.run({"num-rounds": 3, ...})     # `flwr run federated/app fednids --stream`
    dep.stop()
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from federated import APP_DIR

BIN = Path(sys.executable).parent
SUPEREXEC_POLL_S = 0.1
"""How often each SuperExec (the SuperLink's, for the ServerApp; each SuperNode's, for its
ClientApp processes) asks for a new task: Flower 1.42's default is 1 s
(``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``, 0.01-60 s); each message waited 0.5 s on average."""
__all__ = ["APP_DIR", "FederationError", "FlowerDeployment", "TlsFiles"]


class FederationError(Exception):
    """A local Flower process did not start, or a run failed."""


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def port_open(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_keypair(d: Path, name: str) -> tuple[Path, Path]:
    """An EC P-256 key pair in OpenSSH format, as flwr's SuperNode authentication wants."""
    priv, pub = d / f"{name}.key", d / f"{name}.pub"
    if not priv.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        priv.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
        priv.chmod(0o600)
        pub.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            )
        )
    return priv, pub


@dataclass
class FlowerDeployment:
    dir: Path
    port: int = 19400
    tls: TlsFiles | None = None
    auth: bool = True
    superexec_poll_s: float | None = SUPEREXEC_POLL_S
    """``FLWR_SUPEREXEC_TASK_POLL_INTERVAL`` of every process (None: Flower's default, 1 s)"""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "pki").mkdir(exist_ok=True)
        self.cli_home = self.dir / "flwr-cli"
        self.cli_home.mkdir(exist_ok=True)
        conn = {"address": f"127.0.0.1:{self.port}"}
        lines = ["[superlink]", 'default = "fednids"', "", "[superlink.fednids]"]
        lines += [f"address = {_toml_value(conn['address'])}"]
        if self.tls:
            lines.append(f"root-certificates = {_toml_value(self.tls.ca)}")
        else:
            lines.append("insecure = true")
        (self.cli_home / "config.toml").write_text("\n".join(lines) + "\n")
        self._next_port = self.port + 10

    def env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            FLWR_HOME=str(home),
            FLWR_TELEMETRY_ENABLED="0",
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        if self.superexec_poll_s is not None:
            env["FLWR_SUPEREXEC_TASK_POLL_INTERVAL"] = str(self.superexec_poll_s)
        else:
            env.pop("FLWR_SUPEREXEC_TASK_POLL_INTERVAL", None)
        return env

    def _spawn(self, name: str, cmd: list[str], home: Path) -> subprocess.Popen[bytes]:
        home.mkdir(parents=True, exist_ok=True)
        log = (self.dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env(home),
            cwd=home,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        p = self.dir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def start_superlink(self, timeout: float = 60) -> None:
        cmd = [
            str(BIN / "flower-superlink"),
            "--port",
            str(self.port),
            "--database",
            str(self.dir / "superlink.db"),
            "--disable-runtime-dependency-installation",
        ]
        if self.tls:
            cmd += ["--ssl-ca-certfile", str(self.tls.ca)]
            cmd += ["--ssl-certfile", str(self.tls.cert)]
            cmd += ["--ssl-keyfile", str(self.tls.key)]
        else:
            cmd.append("--insecure")
        if self.auth:
            cmd.append("--enable-supernode-auth")
        proc = self._spawn("superlink", cmd, self.dir / "superlink-home")
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise FederationError(
                    f"flower-superlink did not start:\n{self.log('superlink')[-3000:]}"
                )
            time.sleep(0.2)

    def flwr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flwr"), *args],
            env=self.env(self.cli_home),
            cwd=self.cli_home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def register(self, name: str) -> Path:
        """Make the node's key pair and register its public key with the SuperLink."""
        priv, pub = node_keypair(self.dir / "pki", f"flwr-{name}")
        res = self.flwr("supernode", "register", str(pub), "fednids", "--name", name)
        if res.returncode != 0:
            raise FederationError(
                f"flwr supernode register {name} failed:\n{res.stdout}\n{res.stderr}"
            )
        return priv

    def start_supernode(
        self,
        name: str,
        data: str,
        extra_config: dict[str, object] | None = None,
        register: bool = True,
    ) -> subprocess.Popen[bytes]:
        """A SuperNode registered as ``name`` (``extra_config`` adds to or overrides its node
        config, e.g. its privacy policy)."""
        port = self._next_port
        self._next_port += 1
        config: dict[str, object] = {
            "node-id": name,
            "data": data,
            "state-dir": str(self.dir / "nodes" / name),
        }
        config |= extra_config or {}
        cmd = [
            str(BIN / "flower-supernode"),
            "--superlink",
            f"127.0.0.1:{self.port}",
            "--port",
            str(port),
            "--node-config",
            " ".join(f"{k}={_toml_value(v)}" for k, v in config.items()),
            "--max-retries",
            "30",
        ]
        cmd += ["--root-certificates", str(self.tls.ca)] if self.tls else ["--insecure"]
        if self.auth:
            key = (
                self.register(name)
                if register
                else node_keypair(self.dir / "pki", f"flwr-{name}")[0]
            )
            cmd += ["--auth-supernode-private-key", str(key)]
        return self._spawn(name, cmd, self.dir / "homes" / name)

    def run(self, run_config: dict[str, object], app: Path = APP_DIR, timeout: float = 600) -> str:
        """``flwr run`` with ``--stream``: returns the ServerApp's log when the run ends."""
        overrides = " ".join(f"{k}={_toml_value(v)}" for k, v in run_config.items())
        res = self.flwr(
            "run", str(app), "fednids", "--run-config", overrides, "--stream", timeout=timeout
        )
        out = res.stdout + res.stderr
        if res.returncode != 0:
            raise FederationError(f"flwr run failed ({res.returncode}):\n{out[-5000:]}")
        return out

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
            self.procs.pop(name, None)

    def command_line(self, name: str) -> str:
        proc = self.procs[name]
        return shlex.join(proc.args)  # type: ignore[arg-type]
