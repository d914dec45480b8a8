"""``fednids provision``: everything one sensor node needs, in one bundle directory.

For a node id the bundle holds: the agent's settings (``agent.env``, read by systemd into the
``FEDNIDS_AGENT_*`` variables of :class:`edge_agent.settings.AgentSettings`), the SuperNode's
(``fl.env``), an MQTT client certificate with the node id as CN signed by the node CA
(:mod:`provisioning.pki`; reserved names are refused, :mod:`provisioning.names`), the service
CA that signed the hub's servers (``certs/ca.crt``), the Flower node key pair (EC P-256,
OpenSSH format, as ``flower-supernode --auth-supernode-private-key`` and ``flwr supernode
register`` want), cloud-init files for Raspberry Pi OS Bookworm and Ubuntu Server rendered
from the package's templates (:mod:`provisioning.resources`), and the variables of a balena
device. Private keys are written 0600.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contracts.topics import FLEET_ID_PATTERN
from provisioning.ca import ProvisionError, pem_key, write_private
from provisioning.names import check_node_id
from provisioning.pki import issue_node, open_fleet_pki
from provisioning.resources import (
    CLOUD_INIT_FILES,
    OS_FLAVOURS,
    SYSTEMD_UNITS,
    missing_templates,
    shipped_templates,
)

ETC = "/etc/fednids"
STATE = "/var/lib/fednids"
_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
_SAFE_VALUE = re.compile(r"^[^\s'\"\\$`]*$")
_IFACE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")

__all__ = ["OS_FLAVOURS", "ProvisionError", "ProvisionRequest", "provision"]


@dataclass(frozen=True)
class ProvisionRequest:
    node_id: str
    out: Path
    ca_dir: Path
    mqtt_url: str = "mqtts://fednids-hub.local:8883"
    superlink: str = "fednids-hub.local:9092"
    iface: str = "eth0"
    package: str = "fednids[edge]"
    model_keys: tuple[Path, ...] = ()
    templates: Traversable | None = None
    """A directory laid out like ``provisioning/templates`` (default: the shipped one)."""
    force: bool = False
    extra_pip_args: str = ""
    fleet_id: str | None = None
    """The fleet the node belongs to: it then refuses models signed for any other fleet."""


def check_request(req: ProvisionRequest) -> None:
    """Refuse bad input before anything is written."""
    check_node_id(req.node_id)
    if not req.mqtt_url.startswith("mqtts://") or not _HOSTPORT.fullmatch(req.mqtt_url[8:]):
        raise ProvisionError(
            f"--mqtt-url {req.mqtt_url!r}: the node talks mutual TLS, use mqtts://HOST:PORT"
        )
    if not _HOSTPORT.fullmatch(req.superlink):
        raise ProvisionError(f"--superlink {req.superlink!r}: expected HOST:PORT")
    if not _IFACE.fullmatch(req.iface):
        raise ProvisionError(f"--iface {req.iface!r}: not an interface name")
    for text in (req.package, req.extra_pip_args):
        if "'" in text or "\n" in text:
            raise ProvisionError(f"{text!r}: quotes and newlines are not allowed here")
    if req.fleet_id is not None and not re.fullmatch(FLEET_ID_PATTERN, req.fleet_id):
        raise ProvisionError(f"--fleet-id {req.fleet_id!r}: must match {FLEET_ID_PATTERN}")
    for key in req.model_keys:
        if not key.is_file():
            raise ProvisionError(f"--model-key {key}: no such file")
    missing = missing_templates(_templates(req))
    if missing:
        raise ProvisionError(f"{_templates(req)}: templates missing: {', '.join(missing)}")
    if req.out.exists() and any(req.out.iterdir()) and not req.force:
        raise ProvisionError(f"{req.out} is not empty (use --force to overwrite the bundle)")


def _templates(req: ProvisionRequest) -> Traversable:
    return req.templates if req.templates is not None else shipped_templates()


def hostname_for(node_id: str) -> str:
    return node_id.replace("_", "-").strip("-")[:63] or "fednids-node"


def _env_file(title: str, values: dict[str, str]) -> str:
    lines = [f"# {title}", "# Written by `fednids provision`; read by systemd (EnvironmentFile)."]
    for k, v in values.items():
        if "\n" in v or "'" in v:
            raise ProvisionError(f"{k}: value cannot go into an environment file: {v!r}")
        lines.append(f"{k}={v}" if _SAFE_VALUE.fullmatch(v) else f"{k}='{v}'")
    return "\n".join(lines) + "\n"


def agent_env(req: ProvisionRequest) -> dict[str, str]:
    env = {
        "FEDNIDS_AGENT_NODE_ID": req.node_id,
        "FEDNIDS_AGENT_SOURCE": f"live:{req.iface}",
        "FEDNIDS_AGENT_MQTT_URL": req.mqtt_url,
        "FEDNIDS_AGENT_CA_FILE": f"{ETC}/certs/ca.crt",
        "FEDNIDS_AGENT_CERT_FILE": f"{ETC}/certs/node.crt",
        "FEDNIDS_AGENT_KEY_FILE": f"{ETC}/certs/node.key",
        "FEDNIDS_AGENT_OUTBOX_PATH": f"{STATE}/outbox.db",
        "FEDNIDS_AGENT_MODEL_DIR": f"{STATE}/model",
        "FEDNIDS_AGENT_MODELS_ROOT": f"{STATE}/models",
        "FEDNIDS_AGENT_FLOW_STORE_PATH": f"{STATE}/flows.db",
    }
    if req.fleet_id is not None:
        env["FEDNIDS_AGENT_FLEET_ID"] = req.fleet_id
    if req.model_keys:
        keys = [f"{ETC}/model-keys/{k.name}" for k in req.model_keys]
        env["FEDNIDS_AGENT_MODEL_PUBLIC_KEYS"] = json.dumps(keys)
    return env


def fl_env(req: ProvisionRequest) -> dict[str, str]:
    node_config = f'node-id="{req.node_id}" data="store:{STATE}/flows.db" state-dir="{STATE}/fl"'
    return {"FEDNIDS_FL_SUPERLINK": req.superlink, "FEDNIDS_FL_NODE_CONFIG": node_config}


def flower_keypair() -> tuple[bytes, bytes]:
    """An EC P-256 key pair: private key in OpenSSH format, public key as an SSH line."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public + b"\n"


def _write_files_block(entries: list[tuple[str, str, str, str]]) -> str:
    """cloud-init ``write_files`` items (path, owner, mode, text), deferred until users exist."""
    out = []
    for path, owner, mode, text in entries:
        body = "\n".join("      " + line if line else "" for line in text.rstrip("\n").split("\n"))
        out.append(
            f"  - path: {path}\n    owner: {owner}\n    permissions: '{mode}'\n"
            f"    defer: true\n    content: |\n{body}"
        )
    return "\n".join(out)


def provision(req: ProvisionRequest) -> dict[str, object]:
    """Write the node's bundle into ``req.out``; returns a summary (paths and next steps)."""
    check_request(req)
    pki = open_fleet_pki(req.ca_dir)
    cert, key = issue_node(pki, req.node_id)
    fl_private, fl_public = flower_keypair()
    # the node verifies the hub's servers (broker, SuperLink): their CA is the service CA
    ca_pem = pki.services.cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = pem_key(key).decode()
    out = req.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "certs").mkdir(exist_ok=True)
    (out / "certs" / "ca.crt").write_text(ca_pem)
    (out / "certs" / "node.crt").write_text(cert_pem)
    write_private(out / "certs" / "node.key", key_pem.encode())
    write_private(out / "flower" / "node.key", fl_private)
    (out / "flower" / "node.pub").write_bytes(fl_public)
    agent_text = _env_file(f"fednids agent of node {req.node_id}", agent_env(req))
    fl_text = _env_file(f"fednids Flower SuperNode of node {req.node_id}", fl_env(req))
    (out / "agent.env").write_text(agent_text)
    (out / "fl.env").write_text(fl_text)
    model_keys = [(k.name, k.read_text()) for k in req.model_keys]
    for name, text in model_keys:
        (out / "model-keys").mkdir(exist_ok=True)
        (out / "model-keys" / name).write_text(text)
    t = _templates(req)
    install = Template((t / "cloud-init" / "fednids-install.sh").read_text()).substitute(
        package=req.package, pip_args=req.extra_pip_args
    )
    entries = [
        (f"{ETC}/agent.env", "root:fednids", "0640", agent_text),
        (f"{ETC}/fl.env", "root:fednids", "0640", fl_text),
        (f"{ETC}/certs/ca.crt", "root:root", "0644", ca_pem),
        (f"{ETC}/certs/node.crt", "root:root", "0644", cert_pem),
        (f"{ETC}/certs/node.key", "fednids:fednids", "0600", key_pem),
        (f"{ETC}/flower/node.key", "fednids:fednids", "0600", fl_private.decode()),
        (f"{ETC}/flower/node.pub", "root:root", "0644", fl_public.decode()),
        *[(f"{ETC}/model-keys/{n}", "root:root", "0644", txt) for n, txt in model_keys],
        *[
            (f"/etc/systemd/system/{u}", "root:root", "0644", (t / "systemd" / u).read_text())
            for u in SYSTEMD_UNITS
        ],
        ("/usr/local/sbin/fednids-install", "root:root", "0755", install),
    ]
    values = {
        "node_id": req.node_id,
        "hostname": hostname_for(req.node_id),
        "iface": req.iface,
        "write_files": _write_files_block(entries),
    }
    for flavour in OS_FLAVOURS:
        d = out / "cloud-init" / flavour
        d.mkdir(parents=True, exist_ok=True)
        for name in CLOUD_INIT_FILES:
            tmpl = Template((t / "cloud-init" / flavour / f"{name}.tmpl").read_text())
            dest = d / name
            dest.write_text(tmpl.substitute(values))
            if name == "user-data":
                dest.chmod(0o600)  # it carries the private keys
    balena = {
        **agent_env(req),
        "FEDNIDS_CA_PEM_B64": base64.b64encode(ca_pem.encode()).decode(),
        "FEDNIDS_CERT_PEM_B64": base64.b64encode(cert_pem.encode()).decode(),
        "FEDNIDS_KEY_PEM_B64": base64.b64encode(key_pem.encode()).decode(),
    }
    balena["FEDNIDS_AGENT_MODEL_DIR"] = "/opt/fednids/model"
    write_private(
        out / "balena-device.env",
        _env_file(f"balena device variables of node {req.node_id}", balena).encode(),
    )
    return {
        "node_id": req.node_id,
        "bundle": str(out),
        "ca": str(pki.services.cert_path),
        "node_ca": str(pki.nodes.cert_path),
        "ca_created": pki.created,
        "client_certificate": str(out / "certs" / "node.crt"),
        "flower_public_key": str(out / "flower" / "node.pub"),
        "cloud_init": [str(out / "cloud-init" / f) for f in OS_FLAVOURS],
        "next": [
            f"flwr supernode register {out / 'flower' / 'node.pub'} <federation>",
            "copy cloud-init/<os>/{user-data,network-config,meta-data} to the boot partition",
        ],
    }
