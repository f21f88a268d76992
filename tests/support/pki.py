"""Client-side PKI chores done with stock openssl: keys, CSRs, fetching CA files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509

from tests.support.server import KysoServer, require_tool


@dataclass(frozen=True)
class PkiFiles:
    root: Path
    issuing: Path


def openssl(
    *args: str, input_bytes: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [require_tool("openssl"), *args],
        input=input_bytes,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {result.stderr.decode()}")
    return result


def der_to_pem(der: bytes, path: Path, kind: str = "x509") -> Path:
    openssl(kind, "-inform", "DER", "-out", str(path), input_bytes=der)
    return path


def fetch_pki_files(base_url: str, directory: Path) -> PkiFiles:
    root = der_to_pem(httpx.get(f"{base_url}/pki/ca/root.crt").content, directory / "root.pem")
    issuing = der_to_pem(
        httpx.get(f"{base_url}/pki/ca/issuing.crt").content, directory / "issuing.pem"
    )
    return PkiFiles(root=root, issuing=issuing)


def fetch_crl(base_url: str, path: Path, name: str = "issuing") -> Path:
    return der_to_pem(httpx.get(f"{base_url}/pki/crl/{name}.crl").content, path, kind="crl")


@dataclass(frozen=True)
class IssuedCert:
    certificate: Path
    key: Path
    serial_hex: str

    def load(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate.read_bytes())


def issue_with_csr(
    server: KysoServer,
    directory: Path,
    *,
    full_name: str = "Nguyễn Văn An",
    cccd: str = "001203012345",
) -> IssuedCert:
    """A key made by openssl, certified through ``kyso admin issue-cert --csr``."""
    key = directory / "holder.key"
    csr = directory / "holder.csr"
    out = directory / "holder.pem"
    openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(key),
        "-subj",
        "/CN=from the request, ignored",
        "-out",
        str(csr),
    )
    server.cli(
        "admin",
        "issue-cert",
        "--csr",
        str(csr),
        "--full-name",
        full_name,
        "--cccd",
        cccd,
        "--out",
        str(out),
    )
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    return IssuedCert(certificate=out, key=key, serial_hex=format(cert.serial_number, "x"))
