"""TLS and mutual TLS to the Temporal frontend (RATIFY_TEMPORAL_TLS*).

`ratify.infra.temporal.temporal_tls` builds the SDK's `TLSConfig` from the settings, and `connect`
beside it (every process's client) uses it: here against a TLS listener on the loopback with its own
CA, which records the handshake (the server name the client asked for, the certificate it
presented). It speaks no gRPC, so the connection then fails: the handshake is the point.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError
from temporalio.service import TLSConfig

from ratify.infra.observability.startup import BAD_CONFIGURATION, StartupError
from ratify.infra.settings import Settings
from ratify.infra.temporal import connect, temporal_tls
from tests.keys import TEMPORAL_SECRETS

SERVER_NAME = "temporal-frontend.test"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    dns: str | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    directory: Path
    ca: Path = field(init=False)
    server_cert: Path = field(init=False)
    server_key: Path = field(init=False)
    client_cert: Path = field(init=False)
    client_key: Path = field(init=False)

    def __post_init__(self) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _issue("Test CA", ca_key, None, ca=True)
        issuer = (ca_cert.subject, ca_key)
        server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
        server = _issue(
            SERVER_NAME, server_key, issuer, dns=SERVER_NAME, usage=ExtendedKeyUsageOID.SERVER_AUTH
        )
        client = _issue("ratify-worker", client_key, issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        self.ca = self._pem("ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
        self.server_cert = self._pem("server.pem", server.public_bytes(serialization.Encoding.PEM))
        self.client_cert = self._pem("client.pem", client.public_bytes(serialization.Encoding.PEM))
        self.server_key = self._pem("server-key.pem", _key_pem(server_key))
        self.client_key = self._pem("client-key.pem", _key_pem(client_key))

    def _pem(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Handshakes:
    port: int
    server_names: list[str | None] = field(default_factory=list)
    client_subjects: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def frontend(pki: Pki) -> Iterator[Handshakes]:
    """A TLS listener on the loopback that requires a client certificate from the CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))
    seen = Handshakes(port=listener.getsockname()[1])

    def sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        seen.server_names.append(name)

    context.sni_callback = sni
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    peer: dict[str, Any] = dict(tls.getpeercert() or {})
                    for rdn in peer.get("subject", ()):
                        seen.client_subjects += [str(v) for k, v in rdn if k == "commonName"]
            except (ssl.SSLError, OSError) as exc:
                seen.errors.append(type(exc).__name__)
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def test_no_tls_unless_asked() -> None:
    assert temporal_tls(Settings()) is False


def test_tls_with_the_system_cas() -> None:
    config = temporal_tls(Settings(temporal_tls=True))
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert is None and config.client_cert is None


def test_mutual_tls_config_is_built_from_the_files(pki: Pki) -> None:
    settings = Settings(
        temporal_tls_ca=pki.ca,
        temporal_tls_cert=pki.client_cert,
        temporal_tls_key=pki.client_key,
        temporal_tls_server_name=SERVER_NAME,
    )
    config = temporal_tls(settings)
    assert isinstance(config, TLSConfig)  # the files alone turn TLS on
    assert config.server_root_ca_cert == pki.ca.read_bytes()
    assert config.client_cert == pki.client_cert.read_bytes()
    assert config.client_private_key == pki.client_key.read_bytes()
    assert config.domain == SERVER_NAME


def test_a_certificate_without_its_key_is_refused(pki: Pki) -> None:
    with pytest.raises(ValidationError, match="RATIFY_TEMPORAL_TLS_KEY go together"):
        Settings(temporal_tls_cert=pki.client_cert)


def test_an_unreadable_file_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(StartupError) as caught:
        temporal_tls(Settings(temporal_tls_ca=tmp_path / "missing.pem"))
    assert caught.value.exit_code == BAD_CONFIGURATION
    assert caught.value.message.startswith("RATIFY_TEMPORAL_TLS_CA: cannot read")


async def test_every_process_connects_with_mutual_tls(pki: Pki, frontend: Handshakes) -> None:
    settings = Settings(
        temporal_address=f"127.0.0.1:{frontend.port}",
        payload_keys=TEMPORAL_SECRETS["RATIFY_PAYLOAD_KEYS"],
        action_signing_key=TEMPORAL_SECRETS["RATIFY_ACTION_SIGNING_KEY"],
        temporal_tls_ca=pki.ca,
        temporal_tls_cert=pki.client_cert,
        temporal_tls_key=pki.client_key,
        temporal_tls_server_name=SERVER_NAME,
    )
    async with AsyncExitStack() as stack:
        with pytest.raises(StartupError):  # no gRPC behind the handshake
            await connect(settings, stack)
    # The client checked the server against the CA, asked for its name, and presented
    # its own certificate (the listener requires one).
    assert SERVER_NAME in frontend.server_names
    assert "ratify-worker" in frontend.client_subjects, frontend.errors
