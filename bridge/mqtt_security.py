"""Render the Mosquitto configuration for mutual TLS and per-node ACLs.

Two TLS listeners: nodes (``port``) with certificates of the node CA (``ca_file``, minus the
revoked ones in ``crl_file``) and the node ACL (each node its own topics only), services
(``service_port``) with certificates of the service CA and the service ACL (bridge, hub).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from contracts.topics import MQTT_PREFIX, MqttKind

TEMPLATES = Path(__file__).with_name("mosquitto")


@dataclass(frozen=True)
class MqttSecurity:
    ca_file: Path
    cert_file: Path
    key_file: Path
    data_dir: Path
    port: int = 8883
    bind: str = "0.0.0.0"  # noqa: S104 - the broker serves the fleet; mTLS guards it
    bridge_cn: str = "bridge"
    hub_cn: str = "hub"
    service_ca_file: Path | None = None
    """The service CA (default: ``ca_file``, one CA for both listeners, as in tests)."""
    service_port: int = 8884
    crl_file: Path | None = None
    """The node CRL (``fednids provision revoke``); Mosquitto reads it at start."""


def render_acl(sec: MqttSecurity) -> str:
    """The node listener's ACL: patterns only, one write line per agent topic kind."""
    del sec  # the same for every fleet: nodes are told apart by their CN alone
    patterns = "\n".join(f"pattern write {MQTT_PREFIX}/%u/{k.value}" for k in MqttKind)
    return Template((TEMPLATES / "acl.tmpl").read_text()).substitute(node_patterns=patterns)


def render_service_acl(sec: MqttSecurity) -> str:
    """The service listener's ACL (the bridge reads, the hub announces models)."""
    return Template((TEMPLATES / "acl-services.tmpl").read_text()).substitute(
        bridge_cn=sec.bridge_cn, hub_cn=sec.hub_cn
    )


def service_acl_path(acl_file: Path) -> Path:
    return acl_file.with_name(acl_file.name + "-services")


def render_config(sec: MqttSecurity, acl_file: Path, service_acl_file: Path | None = None) -> str:
    """``mosquitto.conf``; the service ACL defaults to ``<acl_file>-services`` beside it."""
    crl = f"crlfile {sec.crl_file}" if sec.crl_file else "# no crlfile: no node CRL given"
    return Template((TEMPLATES / "mosquitto.conf.tmpl").read_text()).substitute(
        data_dir=sec.data_dir,
        port=sec.port,
        bind=sec.bind,
        ca_file=sec.ca_file,
        cert_file=sec.cert_file,
        key_file=sec.key_file,
        acl_file=acl_file,
        crl_line=crl,
        service_port=sec.service_port,
        service_ca_file=sec.service_ca_file or sec.ca_file,
        service_acl_file=service_acl_file or service_acl_path(acl_file),
    )


def write_broker_files(sec: MqttSecurity, out: Path) -> tuple[Path, Path]:
    """Write ``mosquitto.conf``, ``acl`` and ``acl-services`` into ``out``; returns the first two."""
    out.mkdir(parents=True, exist_ok=True)
    acl = out / "acl"
    acl.write_text(render_acl(sec))
    service_acl_path(acl).write_text(render_service_acl(sec))
    conf = out / "mosquitto.conf"
    conf.write_text(render_config(sec, acl))
    return conf, acl


def listener_fragment(sec: MqttSecurity, acl_file: Path) -> str:
    """Only the two TLS listeners (for adding to an existing broker config).

    Writes the service ACL beside ``acl_file`` when it is not there yet (``<acl>-services``).
    """
    if not service_acl_path(acl_file).exists():
        service_acl_path(acl_file).write_text(render_service_acl(sec))
    text = render_config(sec, acl_file)
    return text[text.index("\nlistener ") + 1 :]
