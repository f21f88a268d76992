"""The OCSP responder's byte-level reading and writing, judged by asn1crypto (which we did not write).

Every response must be canonical DER (asn1crypto re-encodes it from its values to the same
bytes); every request the strict reader accepts must read as asn1crypto reads it, and requests
it refuses (BER lengths, odd shapes) must still be answered through asn1crypto's reading.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs import der
from certs.ocsp import OcspResponder, _parse_asn1, _parse_der, parse_request
from certs.revocation import CertificateStatus, RevocationReason, Status
from tests.support.local_ca import LocalCa

REVOKED_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


class TableSource:
    """Statuses from a dict (the database source has tests of its own)."""

    def __init__(self, statuses: dict[int, CertificateStatus]) -> None:
        self.statuses = statuses
        self.reads = 0
        self.committed: bytes | None = None
        """What :meth:`version` answers: None, like a source that cannot tell."""

    def status(self, serial: int) -> CertificateStatus:
        self.reads += 1
        return self.statuses.get(serial, CertificateStatus(Status.UNKNOWN))

    def version(self) -> bytes | None:
        return self.committed


def _cert_id(local_ca: LocalCa, serial: int, algorithm: str = "sha1") -> dict[str, object]:
    issuer = asn1_x509.Certificate.load(
        local_ca.authority.issuing.public_bytes(serialization.Encoding.DER)
    )
    key_bits = bytes(issuer.public_key["public_key"].contents[1:])
    return {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": hashlib.new(algorithm, issuer.subject.dump()).digest(),
        "issuer_key_hash": hashlib.new(algorithm, key_bits).digest(),
        "serial_number": serial,
    }


def _request(cert_ids: list[dict[str, object]], nonce: bytes | None = None, **tbs: object) -> bytes:
    extensions = [{"extn_id": "nonce", "extn_value": nonce}] if nonce is not None else None
    body = {
        "request_list": [{"req_cert": c} for c in cert_ids],
        "request_extensions": extensions,
        **tbs,
    }
    return ocsp.OCSPRequest({"tbs_request": body}).dump()


def _responder(local_ca: LocalCa, reuse: timedelta = timedelta(minutes=1)) -> OcspResponder:
    a = local_ca.authority
    return OcspResponder(issuer=a.issuing, responder=a.ocsp, key=a.ocsp_key, reuse=reuse)


def _source() -> TableSource:
    return TableSource(
        {
            1: CertificateStatus(Status.GOOD),
            2: CertificateStatus(
                Status.REVOKED, revoked_at=REVOKED_AT, reason=RevocationReason.KEY_COMPROMISE
            ),
            3: CertificateStatus(
                Status.REVOKED, revoked_at=REVOKED_AT, reason=RevocationReason.AA_COMPROMISE
            ),
            4: CertificateStatus(
                Status.REVOKED, revoked_at=REVOKED_AT, reason=RevocationReason.UNSPECIFIED
            ),
        }
    )


@pytest.mark.parametrize(
    "nonce",
    [None, b"\x01", os.urandom(32), os.urandom(128)],
    ids=["none", "one-byte", "32-bytes", "128-bytes"],  # named: each test process draws its own
)
def test_responses_are_canonical_der_with_every_status(
    local_ca: LocalCa, nonce: bytes | None
) -> None:
    now = datetime(2026, 11, 22, 21, 30, 15, 999_999, tzinfo=UTC)
    cert_ids = [_cert_id(local_ca, serial) for serial in (1, 2, 3, 4, 5)]
    cert_ids.append(_cert_id(local_ca, 1, "sha512"))
    response_der = _responder(local_ca).respond(_request(cert_ids, nonce), _source(), now)

    response = ocsp.OCSPResponse.load(response_der)
    assert response.dump(force=True) == response_der  # re-encoded from its values: same bytes
    basic = response.basic_ocsp_response
    data = basic["tbs_response_data"]
    assert data["produced_at"].native == now.replace(microsecond=0)
    singles = data["responses"]
    assert [s["cert_status"].name for s in singles] == [
        "good", "revoked", "revoked", "revoked", "unknown", "good",
    ]  # fmt: skip
    assert [s["cert_status"].chosen["revocation_reason"].native for s in singles[1:4]] == [
        "key_compromise", "aa_compromise", "unspecified",
    ]  # fmt: skip
    assert singles[1]["cert_status"].chosen["revocation_time"].native == REVOKED_AT
    assert singles[5]["cert_id"]["hash_algorithm"]["algorithm"].native == "sha512"
    for single in singles:
        assert single["next_update"].native - single["this_update"].native == timedelta(minutes=15)
    nonces = [e["extn_value"].native for e in data["response_extensions"] or []]
    assert nonces == ([nonce] if nonce is not None else [])
    public_key = local_ca.authority.ocsp.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(basic["signature"].native, data.dump(), ec.ECDSA(hashes.SHA256()))
    key_bits = local_ca.authority.ocsp.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert data["responder_id"].chosen.native == hashlib.sha1(key_bits).digest()  # noqa: S324


def _shapes(local_ca: LocalCa) -> dict[str, bytes]:
    one = [_cert_id(local_ca, 1)]
    signed = ocsp.OCSPRequest(
        {
            "tbs_request": {"request_list": [{"req_cert": one[0]}]},
            "optional_signature": {
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": b"\x30\x00",
            },
        }
    ).dump()
    single_extension = ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [
                    {
                        "req_cert": one[0],
                        "single_request_extensions": [
                            {
                                "extn_id": "service_locator",
                                "extn_value": {
                                    "issuer": asn1_x509.Name.build({"common_name": "kyso"}),
                                    "locator": [],
                                },
                            }
                        ],
                    }
                ]
            }
        }
    ).dump()
    return {
        "plain": _request(one),
        "nonce": _request(one, b"n" * 20),
        "several": _request([_cert_id(local_ca, s, "sha256") for s in (1, 2, 99)]),
        "version": _request(one, version="v1"),
        "requestor_name": _request(one, requestor_name={"rfc822_name": "dan@example.vn"}),
        "optional_signature": signed,
        "single_request_extensions": single_extension,
        "negative_serial": _request([_cert_id(local_ca, -5)]),
        "md5_with_null_parameters": _request(
            [
                {
                    **_cert_id(local_ca, 1, "md5"),
                    "hash_algorithm": {"algorithm": "md5", "parameters": core.Null()},
                }
            ]
        ),
        "other_extension_then_nonce": ocsp.OCSPRequest(
            {
                "tbs_request": {
                    "request_list": [{"req_cert": one[0]}],
                    "request_extensions": [
                        {"extn_id": "acceptable_responses", "extn_value": ["basic_ocsp_response"]},
                        {"extn_id": "nonce", "critical": True, "extn_value": b"abc"},
                    ],
                }
            }
        ).dump(),
    }


def test_the_strict_reader_reads_as_asn1crypto_does(local_ca: LocalCa) -> None:
    for name, request in _shapes(local_ca).items():
        assert _parse_der(request) == _parse_asn1(request), name


def _long_lengths(request: bytes) -> bytes:
    """The same request with its outer length in a non-minimal long form (BER, not DER)."""
    tag, start, end = der.read(request, 0, len(request))
    return bytes((tag, 0x84)) + (end - start).to_bytes(4, "big") + request[start:end]


def test_requests_the_strict_reader_refuses_are_answered_through_asn1crypto(
    local_ca: LocalCa,
) -> None:
    request = _request([_cert_id(local_ca, 2)], b"nonce-1")
    ber = _long_lengths(request)
    with pytest.raises(der.DerError):
        _parse_der(ber)
    assert parse_request(ber) == parse_request(request)
    response = ocsp.OCSPResponse.load(
        _responder(local_ca).respond(ber, _source(), datetime.now(UTC))
    )
    assert response["response_status"].native == "successful"
    assert (
        response.basic_ocsp_response["tbs_response_data"]["responses"][0]["cert_status"].name
        == "revoked"
    )


@pytest.mark.parametrize(
    "request_der",
    [
        b"\x30\x03\x30\x01\x30",  # a length that runs past its parent
        b"\x30\x80\x30\x00\x00\x00",  # indefinite length
        b"\x30\x02\x30\x00",  # no requests
        b"\x1f\x30\x00",  # multi-byte tag
    ],
)
def test_broken_requests_are_malformed_on_both_readings(
    local_ca: LocalCa, request_der: bytes
) -> None:
    response = _responder(local_ca).respond(request_der, _source(), datetime.now(UTC))
    assert ocsp.OCSPResponse.load(response)["response_status"].native == "malformed_request"


def test_a_nonce_whose_value_is_not_an_octet_string_is_malformed(local_ca: LocalCa) -> None:
    request = _request([_cert_id(local_ca, 1)], b"x")
    assert request.count(b"\x04\x03\x04\x01x") == 1
    integer_nonce = request.replace(b"\x04\x03\x04\x01x", b"\x04\x03\x02\x01\x05")
    response = _responder(local_ca).respond(integer_nonce, _source(), datetime.now(UTC))
    assert ocsp.OCSPResponse.load(response)["response_status"].native == "malformed_request"


def test_requests_without_nonce_get_the_pre_produced_response_until_it_is_due(
    local_ca: LocalCa,
) -> None:
    responder = _responder(local_ca, reuse=timedelta(seconds=30))
    source = _source()
    request = _request([_cert_id(local_ca, 1)])
    t0 = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    first = responder.respond(request, source, t0)
    assert responder.respond(request, source, t0 + timedelta(seconds=29)) == first
    assert source.reads == 2  # the status is read every time, even when nothing is signed
    later = responder.respond(request, source, t0 + timedelta(seconds=30))
    assert later != first
    data = ocsp.OCSPResponse.load(later).basic_ocsp_response["tbs_response_data"]
    assert data["produced_at"].native == t0 + timedelta(seconds=30)
    # a status that changed is answered at once, not from what was signed before
    source.statuses[1] = CertificateStatus(
        Status.REVOKED, revoked_at=t0, reason=RevocationReason.SUPERSEDED
    )
    revoked = responder.respond(request, source, t0 + timedelta(seconds=31))
    single = ocsp.OCSPResponse.load(revoked).basic_ocsp_response["tbs_response_data"]["responses"][
        0
    ]
    assert single["cert_status"].name == "revoked"
    # a clock that went back never gets a response produced "in the future"
    assert responder.respond(request, source, t0) != revoked


def test_requests_with_a_nonce_are_signed_each_time(local_ca: LocalCa) -> None:
    responder = _responder(local_ca)
    now = datetime.now(UTC)
    first = responder.respond(_request([_cert_id(local_ca, 1)], b"a"), _source(), now)
    second = responder.respond(_request([_cert_id(local_ca, 1)], b"b"), _source(), now)
    nonces = [
        ocsp.OCSPResponse.load(r)
        .basic_ocsp_response["tbs_response_data"]["response_extensions"][0]["extn_value"]
        .native
        for r in (first, second)
    ]
    assert nonces == [b"a", b"b"]


def test_algorithm_parameters_that_are_no_value_are_malformed(local_ca: LocalCa) -> None:
    request = _request([_cert_id(local_ca, 1)])
    sha1_with_null = bytes.fromhex("06052b0e03021a0500")
    assert request.count(sha1_with_null) == 1
    broken = request.replace(sha1_with_null, bytes.fromhex("06052b0e03021a0557"))
    response = _responder(local_ca).respond(broken, _source(), datetime.now(UTC))
    assert ocsp.OCSPResponse.load(response)["response_status"].native == "malformed_request"


def test_at_most_64_certificates_per_request(local_ca: LocalCa) -> None:
    responder = _responder(local_ca)
    now = datetime.now(UTC)
    for count, expected in ((64, "successful"), (65, "malformed_request")):
        request = _request([_cert_id(local_ca, serial) for serial in range(1, count + 1)])
        response = ocsp.OCSPResponse.load(responder.respond(request, _source(), now))
        assert response["response_status"].native == expected, count


def test_only_single_certificate_requests_are_pre_produced(local_ca: LocalCa) -> None:
    responder = _responder(local_ca)
    now = datetime.now(UTC)
    pair = _request([_cert_id(local_ca, 1), _cert_id(local_ca, 2)])
    assert responder.respond(pair, _source(), now) != responder.respond(pair, _source(), now)
    single = _request([_cert_id(local_ca, 1)])
    assert responder.respond(single, _source(), now) == responder.respond(single, _source(), now)


def test_a_request_seen_before_is_answered_from_its_bytes_until_a_commit(
    local_ca: LocalCa,
) -> None:
    responder = _responder(local_ca, reuse=timedelta(seconds=30))
    source = _source()
    source.committed = b"state-1"
    request = _request([_cert_id(local_ca, 1)])
    t0 = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    first = responder.respond(request, source, t0)
    assert responder.respond(request, source, t0 + timedelta(seconds=29)) == first
    assert source.reads == 1  # nothing committed: neither the request nor its status read again
    assert responder.respond(request, source, t0 + timedelta(seconds=30)) != first  # due
    assert source.reads == 2
    # a revocation is a commit: the next answer reads the status and says so
    source.statuses[1] = CertificateStatus(
        Status.REVOKED, revoked_at=t0, reason=RevocationReason.SUPERSEDED
    )
    source.committed = b"state-2"
    revoked = responder.respond(request, source, t0 + timedelta(seconds=31))
    single = ocsp.OCSPResponse.load(revoked).basic_ocsp_response["tbs_response_data"]
    assert single["responses"][0]["cert_status"].name == "revoked"
    assert source.reads == 3
    # requests with a nonce are read and signed every time
    nonced = _request([_cert_id(local_ca, 1)], b"n")
    assert responder.respond(nonced, source, t0) != responder.respond(nonced, source, t0)
    assert source.reads == 5


def test_large_requests_are_answered_but_never_kept(local_ca: LocalCa) -> None:
    """What is kept is bounded: a request padded towards the 64 KiB limit (an extension the
    responder ignores) would otherwise keep 64 KiB per entry."""
    responder = _responder(local_ca)
    source = _source()
    source.committed = b"state-1"
    padding = [{"extn_id": "1.2.3.4", "extn_value": core.OctetString(b"x" * 4000).dump()}]
    request = _request([_cert_id(local_ca, 1)], request_extensions=padding)
    now = datetime.now(UTC)
    first = responder.respond(request, source, now)
    assert responder.respond(request, source, now) != first  # signed again: nothing kept
    assert source.reads == 2
    single = ocsp.OCSPResponse.load(first).basic_ocsp_response["tbs_response_data"]
    assert single["responses"][0]["cert_status"].name == "good"
