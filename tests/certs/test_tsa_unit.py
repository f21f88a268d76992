"""The time-stamping authority in-process: tokens, ESSCertIDv2, and every kind of rejection."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

import pytest
from asn1crypto import core, tsp
from cryptography.hazmat.primitives import serialization

from certs.profiles import TSA_POLICY_OID
from certs.tsa import TimeStampAuthority, TimeStampResponse
from tests.support.local_ca import LocalCa


def _tsa(local_ca: LocalCa) -> TimeStampAuthority:
    a = local_ca.authority
    return TimeStampAuthority(certificate=a.tsa, chain=[a.issuing], key=a.tsa_key)


def _query(**fields: object) -> bytes:
    request: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": hashlib.sha256(b"x").digest(),
        },
        "cert_req": True,
    }
    request.update(fields)
    return tsp.TimeStampReq(request).dump()


def _status(der: bytes) -> tuple[str, set[str] | None]:
    status = TimeStampResponse.load(der)["status"]
    return status["status"].native, status["fail_info"].native


def test_token_carries_imprint_nonce_policy_and_ess_cert_id_v2(local_ca: LocalCa) -> None:
    nonce = int.from_bytes(os.urandom(8), "big")
    der = _tsa(local_ca).respond(_query(nonce=nonce), datetime.now(UTC))
    response = tsp.TimeStampResp.load(der)
    assert response["status"]["status"].native == "granted"
    signed_data = response["time_stamp_token"]["content"]
    tst_info = signed_data["encap_content_info"]["content"].parsed
    assert tst_info["nonce"].native == nonce
    assert tst_info["policy"].native == TSA_POLICY_OID.dotted_string
    assert tst_info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"x").digest()
    assert tst_info["accuracy"]["seconds"].native == 1

    attrs = {
        a["type"].native: a["values"][0] for a in signed_data["signer_infos"][0]["signed_attrs"]
    }
    tsa_der = local_ca.authority.tsa.public_bytes(serialization.Encoding.DER)
    ess = attrs["signing_certificate_v2"]["certs"][0]
    assert ess["cert_hash"].native == hashlib.sha256(tsa_der).digest()
    assert ess["issuer_serial"]["serial_number"].native == local_ca.authority.tsa.serial_number
    assert (
        attrs["message_digest"].native
        == hashlib.sha256(signed_data["encap_content_info"]["content"].contents).digest()
    )
    assert tsa_der in [c.chosen.dump() for c in signed_data["certificates"]]


def test_serials_are_unique(local_ca: LocalCa) -> None:
    tsa = _tsa(local_ca)
    serials = {
        tsp.TimeStampResp.load(tsa.respond(_query(), datetime.now(UTC)))["time_stamp_token"][
            "content"
        ]["encap_content_info"]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(50)
    }
    assert len(serials) == 50


def test_without_cert_req_no_certificates_are_included(local_ca: LocalCa) -> None:
    der = _tsa(local_ca).respond(_query(cert_req=False), datetime.now(UTC))
    signed_data = tsp.TimeStampResp.load(der)["time_stamp_token"]["content"]
    assert not signed_data["certificates"]


@pytest.mark.parametrize(
    ("fields", "fail_info"),
    [
        (
            {
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha1"},
                    "hashed_message": hashlib.sha1(b"x").digest(),  # noqa: S324 - refused algorithm under test
                }
            },
            "bad_alg",
        ),
        (
            {
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "md5"},
                    "hashed_message": hashlib.md5(b"x").digest(),  # noqa: S324 - refused algorithm under test
                }
            },
            "bad_alg",
        ),
        (
            {
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": b"short",
                }
            },
            "bad_data_format",
        ),
        ({"req_policy": "1.2.3.4"}, "unaccepted_policy"),
        (
            {
                "extensions": [
                    {
                        "extn_id": "1.2.3.4.5",
                        "critical": False,
                        "extn_value": core.OctetString(b"x").dump(),
                    }
                ]
            },
            "unaccepted_extensions",
        ),
        ({"version": 2}, "bad_request"),
    ],
    ids=["sha1", "md5", "wrong_length", "foreign_policy", "extension", "version_2"],
)
def test_bad_requests_are_rejected_with_the_right_failure(
    local_ca: LocalCa, fields: dict[str, object], fail_info: str
) -> None:
    der = _tsa(local_ca).respond(_query(**fields), datetime.now(UTC))
    assert _status(der) == ("rejection", {fail_info})


def test_our_own_policy_is_accepted(local_ca: LocalCa) -> None:
    der = _tsa(local_ca).respond(_query(req_policy=TSA_POLICY_OID.dotted_string), datetime.now(UTC))
    assert _status(der)[0] == "granted"
