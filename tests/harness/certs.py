"""A throw-away PKI for tests: a CA, a server certificate for localhost, client certs by CN.

    pki = make_test_pki(tmp_path / "pki", clients=("node-a", "node-b"))
    pki.ca, pki.server.cert, pki.server.key        # ca.crt, server.crt/.key (CN localhost,
                                                   # SAN DNS:localhost, IP:127.0.0.1)
    pki.client("node-a").cert / .key               # node-a.crt/.key (CN node-a, clientAuth)

EC P-256 keys, PEM files (keys PKCS#8, mode 0600), valid 30 days; files that exist are
reused, so a directory can be shared by a test module.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertPaths:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TestPki:
    dir: Path
    ca: Path
    ca_key: Path
    server: CertPaths

    def client(self, cn: str) -> CertPaths:
        """A client certificate with common name ``cn`` (made on first use)."""
        cert, key = self.dir / f"{cn}.crt", self.dir / f"{cn}.key"
        if not cert.exists():
            _issue(self.dir, cn, self.ca, self.ca_key, server=False)
        return CertPaths(cert, key)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _issue(
    d: Path, cn: str, ca_cert_path: Path, ca_key_path: Path, server: bool, stem: str | None = None
) -> CertPaths:
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = b.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    stem = stem or cn
    paths = CertPaths(d / f"{stem}.crt", d / f"{stem}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths.key, key)
    return paths


def make_test_pki(d: Path, clients: tuple[str, ...] = ()) -> TestPki:
    """Create (or reuse) a CA, a ``localhost``/127.0.0.1 server cert and client certs in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    ca, ca_key = d / "ca.crt", d / "ca.key"
    if not ca.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fednids test CA")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(ca_key, key)
    server = CertPaths(d / "server.crt", d / "server.key")
    if not server.cert.exists():
        server = _issue(d, "localhost", ca, ca_key, server=True, stem="server")
    pki = TestPki(d, ca, ca_key, server)
    for cn in clients:
        pki.client(cn)
    return pki
