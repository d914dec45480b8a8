"""The fleet's certificate authority: node client certificates for MQTT mutual TLS.

The CA lives in one directory (``ca.crt`` + ``ca.key``, the key 0600). Node certificates carry
the node id as their common name: Mosquitto takes it as the client's identity
(``use_identity_as_username``), and the ACL lets a node write only under ``fednids/v1/<id>/``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
NODE_DAYS = 825


class ProvisionError(Exception):
    """Provisioning cannot go on (bad node id, unreadable CA, existing bundle...)."""


@dataclass(frozen=True)
class FleetCa:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(0o600)


def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def load_or_create_ca(ca_dir: Path, name: str = "fednids fleet CA") -> tuple[FleetCa, bool]:
    """The CA in ``ca_dir``, created there if missing; returns it and whether it is new."""
    cert_path, key_path = ca_dir / "ca.crt", ca_dir / "ca.key"
    if cert_path.exists() != key_path.exists():
        raise ProvisionError(f"{ca_dir}: has only one of ca.crt / ca.key; refusing to guess")
    if cert_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        except (OSError, ValueError, TypeError) as exc:
            raise ProvisionError(f"{ca_dir}: cannot read the fleet CA: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ProvisionError(f"{key_path}: not an EC private key")
        return FleetCa(cert, key, cert_path), False
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    ca_dir.mkdir(parents=True, exist_ok=True)
    write_private(key_path, pem_key(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return FleetCa(cert, key, cert_path), True


def _issue_leaf(
    ca: FleetCa,
    common_name: str,
    usage: x509.ObjectIdentifier,
    days: int,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256()), key


def issue_client(
    ca: FleetCa, common_name: str, days: int = NODE_DAYS
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A client-auth certificate (EC P-256) for ``common_name``, signed by the fleet CA."""
    return _issue_leaf(ca, common_name, ExtendedKeyUsageOID.CLIENT_AUTH, days)


def issue_server(
    ca: FleetCa, common_name: str, names: list[str], days: int = NODE_DAYS
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server-auth certificate for ``names`` (DNS names or IP addresses)."""
    import ipaddress

    sans: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    return _issue_leaf(ca, common_name, ExtendedKeyUsageOID.SERVER_AUTH, days, sans)
