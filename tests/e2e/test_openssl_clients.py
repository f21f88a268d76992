"""Stock openssl, as any relying party would use it, against a running kyso over HTTP."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import httpx
from asn1crypto import ocsp

from tests.support.pki import PkiFiles, fetch_crl, issue_with_csr, openssl
from tests.support.server import KysoServer


def _verify_with_crl(pki: PkiFiles, crl: Path, certificate: Path) -> str:
    result = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(pki.root),
        "-untrusted",
        str(pki.issuing),
        "-CRLfile",
        str(crl),
        str(certificate),
        check=False,
    )
    return (result.stdout + result.stderr).decode()


def _ocsp_status(server: KysoServer, pki: PkiFiles, certificate: Path) -> str:
    result = openssl(
        "ocsp",
        "-url",
        f"{server.url}/pki/ocsp",
        "-issuer",
        str(pki.issuing),
        "-cert",
        str(certificate),
        "-CAfile",
        str(pki.root),
        check=False,
    )
    return (result.stdout + result.stderr).decode()


def test_issued_certificate_verifies_against_crl_until_revoked(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)

    before = _verify_with_crl(
        pki, fetch_crl(server.url, workdir / "before.crl"), issued.certificate
    )
    assert f"{issued.certificate}: OK" in before

    server.cli(
        "admin", "revoke", "--serial", issued.serial_hex.upper(), "--reason", "keyCompromise"
    )

    after = _verify_with_crl(pki, fetch_crl(server.url, workdir / "after.crl"), issued.certificate)
    assert "certificate revoked" in after
    assert ": OK" not in after


def test_crl_chain_checks_pass_for_issuing_ca_too(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)
    crls = workdir / "all.crl"
    crls.write_bytes(
        fetch_crl(server.url, workdir / "i.crl").read_bytes()
        + fetch_crl(server.url, workdir / "r.crl", name="root").read_bytes()
    )
    result = openssl(
        "verify",
        "-crl_check_all",
        "-CAfile",
        str(pki.root),
        "-untrusted",
        str(pki.issuing),
        "-CRLfile",
        str(crls),
        str(issued.certificate),
        check=False,
    )
    assert f"{issued.certificate}: OK" in result.stdout.decode(), result.stderr.decode()


def test_ocsp_says_good_then_revoked_with_time_and_reason(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)

    good = _ocsp_status(server, pki, issued.certificate)
    assert "Response verify OK" in good
    assert f"{issued.certificate}: good" in good

    server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "superseded")

    revoked = _ocsp_status(server, pki, issued.certificate)
    assert "Response verify OK" in revoked
    assert f"{issued.certificate}: revoked" in revoked
    assert "Reason: superseded" in revoked
    assert "Revocation Time:" in revoked


def test_ocsp_get_binding_answers_like_post(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)
    request = workdir / "req.der"
    openssl(
        "ocsp",
        "-issuer",
        str(pki.issuing),
        "-cert",
        str(issued.certificate),
        "-no_nonce",
        "-reqout",
        str(request),
    )
    encoded = quote(base64.b64encode(request.read_bytes()).decode(), safe="")
    response = httpx.get(f"{server.url}/pki/ocsp/{encoded}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    parsed = ocsp.OCSPResponse.load(response.content)
    assert parsed["response_status"].native == "successful"
    single = parsed.basic_ocsp_response["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == "good"
    assert single["cert_id"]["serial_number"].native == int(issued.serial_hex, 16)


def test_openssl_timestamp_query_verifies(server: KysoServer, pki: PkiFiles, workdir: Path) -> None:
    data = workdir / "submission.txt"
    data.write_text("Đơn đề nghị cấp giấy phép\n")
    query = workdir / "request.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query))

    response = httpx.post(
        f"{server.url}/pki/tsa",
        content=query.read_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"
    reply = workdir / "reply.tsr"
    reply.write_bytes(response.content)

    text = openssl("ts", "-reply", "-in", str(reply), "-text").stdout.decode()
    assert "Status: Granted." in text
    verified = openssl(
        "ts",
        "-verify",
        "-data",
        str(data),
        "-in",
        str(reply),
        "-CAfile",
        str(pki.root),
        "-untrusted",
        str(pki.issuing),
        check=False,
    )
    assert "Verification: OK" in verified.stdout.decode(), verified.stderr.decode()

    data.write_text("a different document\n")
    tampered = openssl(
        "ts",
        "-verify",
        "-data",
        str(data),
        "-in",
        str(reply),
        "-CAfile",
        str(pki.root),
        "-untrusted",
        str(pki.issuing),
        check=False,
    )
    assert "Verification: OK" not in tampered.stdout.decode()
