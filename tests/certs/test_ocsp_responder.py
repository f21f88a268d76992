"""The OCSP responder in-process: statuses, nonces, several requests, foreign issuers."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session

from certs.issuance import issue_signing_certificate
from certs.ocsp import OcspResponder
from certs.profiles import SignerSubject
from certs.revocation import DatabaseRevocationSource, RevocationReason, revoke
from tests.support.local_ca import URLS, LocalCa


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _cert_id(issuer: x509.Certificate, serial: int, algorithm: str = "sha1") -> dict[str, object]:
    issuer_asn1 = _asn1(issuer)
    key_bits = bytes(issuer_asn1.public_key["public_key"].contents[1:])
    return {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": hashlib.new(algorithm, issuer_asn1.subject.dump()).digest(),
        "issuer_key_hash": hashlib.new(algorithm, key_bits).digest(),
        "serial_number": serial,
    }


def _request(cert_ids: list[dict[str, object]], nonce: bytes | None = None) -> bytes:
    extensions = (
        [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
        if nonce is not None
        else None
    )
    return ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [{"req_cert": c} for c in cert_ids],
                "request_extensions": extensions,
            }
        }
    ).dump()


def _responder(local_ca: LocalCa) -> OcspResponder:
    a = local_ca.authority
    return OcspResponder(issuer=a.issuing, responder=a.ocsp, key=a.ocsp_key)


def _issue(local_ca: LocalCa, session: Session) -> x509.Certificate:
    return issue_signing_certificate(
        session,
        issuing_certificate=local_ca.authority.issuing,
        issuing_key=local_ca.authority.issuing_key,
        subject=SignerSubject(full_name="Lê Văn Cường", cccd="001099000111"),
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        urls=URLS,
        now=datetime.now(UTC),
    )


def _statuses(response_der: bytes) -> list[str]:
    basic = ocsp.OCSPResponse.load(response_der).basic_ocsp_response
    return [r["cert_status"].name for r in basic["tbs_response_data"]["responses"]]


def test_statuses_for_several_certificates_in_one_request(
    local_ca: LocalCa, session: Session
) -> None:
    good, revoked = _issue(local_ca, session), _issue(local_ca, session)
    revoke(
        session,
        revoked.serial_number,
        RevocationReason.KEY_COMPROMISE,
        datetime.now(UTC) - timedelta(hours=1),
    )
    issuing = local_ca.authority.issuing
    request = _request(
        [
            _cert_id(issuing, good.serial_number),
            _cert_id(issuing, revoked.serial_number, "sha256"),
            _cert_id(issuing, 123456789),
            _cert_id(local_ca.authority.root, good.serial_number),
        ]
    )
    response = _responder(local_ca).respond(
        request, DatabaseRevocationSource(session), datetime.now(UTC)
    )
    assert _statuses(response) == ["good", "revoked", "unknown", "unknown"]
    single = ocsp.OCSPResponse.load(response).basic_ocsp_response["tbs_response_data"]["responses"][
        1
    ]
    assert single["cert_status"].chosen["revocation_reason"].native == "key_compromise"
    assert single["cert_id"]["hash_algorithm"]["algorithm"].native == "sha256"


def test_nonce_is_echoed_and_response_is_signed_by_delegated_responder(
    local_ca: LocalCa, session: Session
) -> None:
    cert = _issue(local_ca, session)
    nonce = os.urandom(16)
    now = datetime.now(UTC)
    der = _responder(local_ca).respond(
        _request([_cert_id(local_ca.authority.issuing, cert.serial_number)], nonce),
        DatabaseRevocationSource(session),
        now,
    )
    basic = ocsp.OCSPResponse.load(der).basic_ocsp_response
    data = basic["tbs_response_data"]
    assert [
        e["extn_value"].native
        for e in data["response_extensions"]
        if e["extn_id"].native == "nonce"
    ] == [nonce]
    single = data["responses"][0]
    assert single["next_update"].native - single["this_update"].native == timedelta(minutes=15)
    assert basic["certs"][0].dump() == local_ca.authority.ocsp.public_bytes(
        serialization.Encoding.DER
    )
    public_key = local_ca.authority.ocsp.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(basic["signature"].native, data.dump(), ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    "request_der",
    [
        b"",
        b"\x30\x00",
        ocsp.OCSPRequest({"tbs_request": {"request_list": []}}).dump(),
        b"\x30\x03\x02\x01\x01",
    ],
    ids=["empty", "empty_sequence", "no_requests", "integer_inside"],
)
def test_malformed_requests_get_malformed_request(
    local_ca: LocalCa, session: Session, request_der: bytes
) -> None:
    der = _responder(local_ca).respond(
        request_der, DatabaseRevocationSource(session), datetime.now(UTC)
    )
    assert ocsp.OCSPResponse.load(der)["response_status"].native == "malformed_request"


def test_oversized_nonce_is_malformed(local_ca: LocalCa, session: Session) -> None:
    request = _request([_cert_id(local_ca.authority.issuing, 1)], os.urandom(200))
    der = _responder(local_ca).respond(
        request, DatabaseRevocationSource(session), datetime.now(UTC)
    )
    assert ocsp.OCSPResponse.load(der)["response_status"].native == "malformed_request"


def test_unknown_hash_algorithm_in_cert_id_is_unknown(local_ca: LocalCa, session: Session) -> None:
    cert_id = _cert_id(local_ca.authority.issuing, 1)
    cert_id["hash_algorithm"] = {"algorithm": "md5", "parameters": core.Null()}
    der = _responder(local_ca).respond(
        _request([cert_id]), DatabaseRevocationSource(session), datetime.now(UTC)
    )
    assert _statuses(der) == ["unknown"]
