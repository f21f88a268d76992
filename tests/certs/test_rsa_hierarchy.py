"""An RSA-3072 hierarchy (KYSO_KEY_ALGORITHM=rsa-3072), signing with PKCS#1 v1.5 or RSASSA-PSS
(KYSO_RSA_SIGNATURE_SCHEME): openssl accepts its certificates, OCSP and TSA answers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import Session

from certs.issuance import issue_signing_certificate
from certs.keys import KeyAlgorithm
from certs.ocsp import OcspResponder
from certs.profiles import SignerSubject
from certs.revocation import DatabaseRevocationSource
from certs.tsa import TimeStampAuthority
from tests.support.local_ca import URLS, LocalCa, build_local_ca


@pytest.fixture(scope="module", params=["pkcs1v15", "pss"])
def rsa_ca(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalCa, Path]]:
    directory = tmp_path_factory.mktemp("rsa-ca")
    ca = build_local_ca(directory, KeyAlgorithm.RSA_3072, rsa_pss=request.param == "pss")
    for name in ("root", "issuing", "tsa"):
        cert: x509.Certificate = getattr(ca.authority, name)
        (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    yield ca, directory
    ca.engine.dispose()


def _openssl(*args: str) -> str:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def test_every_certificate_is_rsa_3072(rsa_ca: tuple[LocalCa, Path]) -> None:
    ca, directory = rsa_ca
    authority = ca.authority
    for cert in (authority.root, authority.issuing, authority.ocsp, authority.tsa):
        key = cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == 3072
    chain = ["-CAfile", str(directory / "root.pem"), "-untrusted", str(directory / "issuing.pem")]
    verified = _openssl("verify", "-purpose", "timestampsign", *chain, str(directory / "tsa.pem"))
    assert verified.strip().endswith("OK")
    wanted = "rsassaPss" if ca.authority.scheme.value == "rsa-pss" else "sha256WithRSAEncryption"
    text = _openssl("x509", "-in", str(directory / "tsa.pem"), "-noout", "-text")
    assert f"Signature Algorithm: {wanted}" in text


def test_rsa_ocsp_answer_verifies_in_openssl(rsa_ca: tuple[LocalCa, Path]) -> None:
    ca, directory = rsa_ca
    with Session(ca.engine) as session:
        leaf = issue_signing_certificate(
            session,
            issuing_certificate=ca.authority.issuing,
            issuing_key=ca.authority.issuing_key,
            subject=SignerSubject(full_name="Đỗ Minh Khoa", cccd="001090000123"),
            public_key=rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key(),
            urls=URLS,
            now=datetime.now(UTC),
        )
        (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        request = directory / "req.der"
        _openssl(
            "ocsp", "-issuer", str(directory / "issuing.pem"), "-cert", str(directory / "leaf.pem"),
            "-reqout", str(request),
        )  # fmt: skip
        responder = OcspResponder(
            issuer=ca.authority.issuing, responder=ca.authority.ocsp, key=ca.authority.ocsp_key
        )
        answer = responder.respond(
            request.read_bytes(), DatabaseRevocationSource(session), datetime.now(UTC)
        )
        session.rollback()
    (directory / "resp.der").write_bytes(answer)
    text = _openssl(
        "ocsp", "-respin", str(directory / "resp.der"), "-no_nonce",
        "-issuer", str(directory / "issuing.pem"), "-cert", str(directory / "leaf.pem"),
        "-CAfile", str(directory / "root.pem"),
    )  # fmt: skip
    assert "Response verify OK" in text
    assert ": good" in text


def test_rsa_timestamp_verifies_in_openssl(rsa_ca: tuple[LocalCa, Path]) -> None:
    ca, directory = rsa_ca
    data = directory / "data.txt"
    data.write_text("tờ khai")
    _openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(directory / "q"))
    tsa = TimeStampAuthority(
        certificate=ca.authority.tsa, chain=[ca.authority.issuing], key=ca.authority.tsa_key
    )
    (directory / "r").write_bytes(tsa.respond((directory / "q").read_bytes(), datetime.now(UTC)))
    text = _openssl(
        "ts", "-verify", "-data", str(data), "-in", str(directory / "r"),
        "-CAfile", str(directory / "root.pem"), "-untrusted", str(directory / "issuing.pem"),
    )  # fmt: skip
    assert "Verification: OK" in text
