"""pyHanko's own HTTP clients against a running kyso: timestamper and certificate validator."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import aiohttp
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from tests.support.pki import PkiFiles, issue_with_csr
from tests.support.server import KysoServer


def _load(path: Path) -> asn1_x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def test_pyhanko_http_timestamper_gets_a_valid_token(server: KysoServer, pki: PkiFiles) -> None:
    digest = hashlib.sha256(b"ho so dang ky kinh doanh").digest()

    async def fetch_and_validate() -> TimestampSignatureStatus:
        async with aiohttp.ClientSession() as session:
            stamper = HTTPTimeStamper(f"{server.url}/pki/tsa", session=session)
            token = await stamper.async_timestamp(digest, "sha256")
        context = ValidationContext(trust_roots=[_load(pki.root)], other_certs=[_load(pki.issuing)])
        found = await validate_tst_signed_data(token["content"], context, lambda _alg: digest)
        return TimestampSignatureStatus(**found)

    status = asyncio.run(fetch_and_validate())
    assert status.intact
    assert status.valid
    assert status.trusted, status.trust_problem_indic
    assert status.signing_cert.subject.native["common_name"] == "kyso Time-Stamping Authority 1"


def _validate(pki: PkiFiles, certificate: Path) -> ValidationContext:
    """Validate with revocation required, fetching OCSP and CRLs over HTTP as pyHanko does."""

    async def validate() -> ValidationContext:
        async with aiohttp.ClientSession() as session:
            context = ValidationContext(
                trust_roots=[_load(pki.root)],
                other_certs=[_load(pki.issuing)],
                allow_fetching=True,
                revocation_mode="require",
                fetcher_backend=AIOHttpFetcherBackend(session),
            )
            validator = CertificateValidator(_load(certificate), validation_context=context)
            await validator.async_validate_usage({"non_repudiation", "digital_signature"})
            return context

    return asyncio.run(validate())


def test_certvalidator_checks_revocation_through_our_ocsp(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)

    context = _validate(pki, issued.certificate)
    fetched = [
        response.basic_ocsp_response["tbs_response_data"]["responses"][0]["cert_id"][
            "serial_number"
        ].native
        for response in context.ocsps
    ]
    assert int(issued.serial_hex, 16) in fetched

    server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "keyCompromise")

    with pytest.raises(RevokedError):
        _validate(pki, issued.certificate)
