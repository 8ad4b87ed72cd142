"""A real HTTP CONNECT proxy for the tests: proxy.py (PyPI `proxy.py`) as a child process on
127.0.0.1 with its log in a file, whose access lines say what it was asked to reach; and a
throwaway certificate authority (made with `cryptography`) for TLS receivers."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import IN_CI, free_port

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
# proxy.py's access line: "<client> - CONNECT 127.0.0.1:8443 - …"
_ACCESS = re.compile(r"access_log:\d+ - \S+ - (\S+) (\S+)")
# Its debug line as it connects to what a client asked for (written at once).
_UPSTREAM = re.compile(r"Connecting to upstream (\S+)")


def require_proxy_py() -> None:
    if importlib.util.find_spec("proxy") is None:
        if IN_CI:
            pytest.fail("proxy.py is not installed (requirements-dev.lock; CI=true)")
        pytest.skip("proxy.py is not installed: no proxy to send through")


@dataclass
class ProxyServer:
    """A running proxy.py; `requests()` lists (method, target) of each finished connection
    (proxy.py writes a connection's access line when it closes), `upstreams()` every address
    it connected to for a client so far."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def requests(self) -> list[tuple[str, str]]:
        return [(m.group(1), m.group(2)) for m in _ACCESS.finditer(self.log())]

    def upstreams(self) -> list[str]:
        return _UPSTREAM.findall(self.log())

    def stop(self) -> None:
        """Stop it gracefully (its log complete), then for good."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)


@contextmanager
def running_proxy(directory: Path, *, basic_auth: str | None = None) -> Iterator[ProxyServer]:
    """proxy.py on 127.0.0.1 (a free port), optionally asking for `user:password`."""
    require_proxy_py()
    port = free_port()
    log_path = directory / f"proxy-{port}.log"
    args = [
        sys.executable,
        "-m",
        "proxy",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        "--num-acceptors",
        "1",
        "--num-workers",
        "1",
        "--log-level",
        "DEBUG",
        "--log-file",
        str(log_path),
    ]
    if basic_auth is not None:
        args += ["--basic-auth", basic_auth]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=directory
    )
    server = ProxyServer(port, log_path, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, f"proxy.py exited: {server.log()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("proxy.py did not start") from None
                time.sleep(0.05)
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Certificates:
    """A CA certificate file to trust, and a server certificate it signed for `names`."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path, names: list[str]) -> Certificates:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promptha test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
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
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
