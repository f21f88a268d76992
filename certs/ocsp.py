"""An RFC 6960 OCSP responder, signing as the issuing CA's delegated responder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import algos, core, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.keys import SigningKey, signature_algorithm_identifier
from certs.revocation import RevocationSource, Status

__all__ = ["MAX_NONCE_BYTES", "OcspResponder", "build_request", "error_response"]

MAX_NONCE_BYTES = 128
_HASHES = ("sha1", "sha256", "sha384", "sha512")


def error_response(status: str) -> bytes:
    """An unsigned OCSP error: ``malformed_request``, ``internal_error``, ``unauthorized`` …"""
    der: bytes = ocsp.OCSPResponse({"response_status": status}).dump()
    return der


MALFORMED = error_response("malformed_request")


def _frozen(value: core.Asn1Value) -> core.Asn1Value:
    """Re-read from its own encoding, so that asn1crypto reuses the bytes in every response."""
    return type(value).load(value.dump())


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class _IssuerHashes:
    name: bytes
    key: bytes


class OcspResponder:
    """Answers for certificates of one issuer, from a revocation source, signed by ``key``.

    Requests for another issuer, or serials never issued, are answered ``unknown``.
    """

    def __init__(
        self,
        *,
        issuer: x509.Certificate,
        responder: x509.Certificate,
        key: SigningKey,
        validity: timedelta = timedelta(minutes=15),
    ) -> None:
        issuer_asn1 = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
        responder_asn1 = asn1_x509.Certificate.load(
            responder.public_bytes(serialization.Encoding.DER)
        )
        subject_der = issuer_asn1.subject.dump()
        key_bits = bytes(issuer_asn1.public_key["public_key"].contents[1:])
        self._issuer_hashes = {
            name: _IssuerHashes(
                hashlib.new(name, subject_der).digest(), hashlib.new(name, key_bits).digest()
            )
            for name in _HASHES
        }
        responder_key_bits = bytes(responder_asn1.public_key["public_key"].contents[1:])
        self._responder_id = ocsp.ResponderId(
            name="by_key",
            value=hashlib.sha1(responder_key_bits).digest(),  # noqa: S324 - RFC 6960 KeyHash
        )
        self._responder_certificates = _frozen(ocsp.Certificates([responder_asn1]))
        self._key = key
        self._signature_algorithm = _frozen(
            algos.SignedDigestAlgorithm(signature_algorithm_identifier(key.algorithm))
        )
        self._validity = validity

    def _is_ours(self, cert_id: ocsp.CertId) -> bool:
        hashes = self._issuer_hashes.get(cert_id["hash_algorithm"]["algorithm"].native)
        return (
            hashes is not None
            and cert_id["issuer_name_hash"].native == hashes.name
            and cert_id["issuer_key_hash"].native == hashes.key
        )

    @staticmethod
    def _parse(request_der: bytes) -> tuple[list[ocsp.CertId], bytes | None]:
        try:
            request = ocsp.OCSPRequest.load(request_der, strict=True)
            tbs = request["tbs_request"]
            cert_ids = [item["req_cert"] for item in tbs["request_list"]]
            for cert_id in cert_ids:
                cert_id["hash_algorithm"]["algorithm"].native  # noqa: B018 - force parsing
                cert_id["serial_number"].native  # noqa: B018
            nonce = None
            for extension in tbs["request_extensions"] or []:
                if extension["extn_id"].native == "nonce":
                    nonce = extension["extn_value"].parsed.native
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _Malformed from exc
        if not cert_ids or (nonce is not None and not 0 < len(nonce) <= MAX_NONCE_BYTES):
            raise _Malformed
        return cert_ids, nonce

    def respond(self, request_der: bytes, source: RevocationSource, now: datetime) -> bytes:
        """The DER OCSPResponse for a DER OCSPRequest; never raises on bad input."""
        try:
            cert_ids, nonce = self._parse(request_der)
        except _Malformed:
            return MALFORMED
        now = now.replace(microsecond=0)
        responses = []
        for cert_id in cert_ids:
            if self._is_ours(cert_id):
                found = source.status(cert_id["serial_number"].native)
            else:
                found = None
            if found is None or found.status is Status.UNKNOWN:
                status = ocsp.CertStatus(name="unknown", value=core.Null())
            elif found.status is Status.GOOD:
                status = ocsp.CertStatus(name="good", value=core.Null())
            else:
                assert found.revoked_at is not None
                assert found.reason is not None
                status = ocsp.CertStatus(
                    name="revoked",
                    value={
                        "revocation_time": found.revoked_at.replace(microsecond=0),
                        "revocation_reason": found.reason.asn1_name,
                    },
                )
            responses.append(
                {
                    "cert_id": cert_id,
                    "cert_status": status,
                    "this_update": now,
                    "next_update": now + self._validity,
                }
            )
        response_data = ocsp.ResponseData(
            {
                "responder_id": self._responder_id,
                "produced_at": now,
                "responses": responses,
                "response_extensions": (
                    [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
                    if nonce is not None
                    else None
                ),
            }
        )
        basic = ocsp.BasicOCSPResponse(
            {
                "tbs_response_data": response_data,
                "signature_algorithm": self._signature_algorithm,
                "signature": self._key.sign(response_data.dump()),
                "certs": self._responder_certificates,
            }
        )
        response = ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        )
        der: bytes = response.dump()
        return der


def build_request(issuer: x509.Certificate, serial: int) -> bytes:
    """A DER OCSP request (SHA-1 CertID, no nonce) for one certificate of ``issuer``."""
    issuer_asn1 = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
    key_bits = bytes(issuer_asn1.public_key["public_key"].contents[1:])
    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": hashlib.sha1(issuer_asn1.subject.dump()).digest(),  # noqa: S324
        "issuer_key_hash": hashlib.sha1(key_bits).digest(),  # noqa: S324 - RFC 6960 CertID
        "serial_number": serial,
    }
    request = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    der: bytes = request.dump()
    return der
