"""An RFC 6960 OCSP responder, signing as the issuing CA's delegated responder.

Requests are read and responses written as bytes (:mod:`certs.der`): the fixed parts of every
response (responder id, signature algorithm, the responder's certificate) are encoded once, and a
response is its statuses and times spliced between them, then signed. Requests the strict reader
does not accept are read again by asn1crypto, so the answer to any request is the same as a schema
library's reading of it. Responses to requests without a nonce are pre-produced (RFC 5019 2.2):
the same request for the same status is answered with the response signed for it less than
``reuse`` ago, so the status is still read for every request but not signed again. Where the
revocation source can name the committed state it reads (:meth:`RevocationSource.version`: a
SQLite database in WAL mode), a request seen before is answered from its bytes alone while
nothing has been committed since: no parsing, no status read. Any commit, a revocation among
them, makes the next answer read the status again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from asn1crypto import algos, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs import der
from certs.keys import SigningKey, signature_algorithm_identifier
from certs.revocation import RevocationReason, RevocationSource, Status

__all__ = ["MAX_NONCE_BYTES", "OcspResponder", "build_request", "error_response"]

MAX_NONCE_BYTES = 128
_HASHES = ("sha1", "sha256", "sha384", "sha512")
_NONCE_OID = bytes.fromhex("2b0601050507300102")  # 1.3.6.1.5.5.7.48.1.2
_BASIC_OID = bytes.fromhex("2b0601050507300101")  # 1.3.6.1.5.5.7.48.1.1
_GOOD = b"\x80\x00"  # [0] IMPLICIT NULL
_UNKNOWN = b"\x82\x00"  # [2] IMPLICIT NULL
_CRL_REASON_CODES = {
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
    RevocationReason.AA_COMPROMISE: 10,
}
_MAX_PREBUILT = 10_000
_NOT_PREBUILT = (datetime.min.replace(tzinfo=UTC), b"")
_MAX_KEPT_REQUEST = 512
"""Larger requests (a stock one is under 120 bytes) are answered, never kept: 10,000 kept
requests of 64 KiB each would be 640 MB."""
"""Pre-produced responses kept (one certificate each, about 0.5 KiB with its key)."""
MAX_CERTIFICATES_PER_REQUEST = 64
"""More in one request is answered ``malformedRequest``: one request is one signature's work
per certificate, on the event loop (stock clients ask for one; RFC 5019 allows only one)."""


def error_response(status: str) -> bytes:
    """An unsigned OCSP error: ``malformed_request``, ``internal_error``, ``unauthorized`` …"""
    response: bytes = ocsp.OCSPResponse({"response_status": status}).dump()
    return response


MALFORMED = error_response("malformed_request")


class _Malformed(Exception):
    pass


class _CertId(NamedTuple):
    """One requested certificate: its CertID as sent (echoed verbatim) and its parts."""

    encoded: bytes
    hash_oid: bytes
    name_hash: bytes
    key_hash: bytes
    serial: int


class _Request(NamedTuple):
    cert_ids: list[_CertId]
    nonce: bytes | None


def _parse_der(data: bytes) -> _Request:
    """The strict byte-level reading of an OCSPRequest; DerError for anything unusual."""
    tag, start, end = der.read(data, 0, len(data))
    if tag != der.SEQUENCE or end != len(data):
        raise der.DerError("not one SEQUENCE")
    tag, pos, tbs_end = der.read(data, start, end)
    if tag != der.SEQUENCE:
        raise der.DerError("no TBSRequest")
    if tbs_end != end:  # optionalSignature [0]
        tag, _, after = der.read(data, tbs_end, end)
        if tag != 0xA0 or after != end:
            raise der.DerError("trailing data")
    tag, value, after = der.read(data, pos, tbs_end)
    for optional in (0xA0, 0xA1):  # version, requestorName
        if tag == optional:
            tag, value, after = der.read(data, after, tbs_end)
    if tag != der.SEQUENCE:
        raise der.DerError("no requestList")
    cert_ids = _read_request_list(data, value, after)
    nonce = None
    if after != tbs_end:
        tag, value, extensions_end = der.read(data, after, tbs_end)
        if tag != 0xA2 or extensions_end != tbs_end:
            raise der.DerError("unexpected field in TBSRequest")
        nonce = _read_nonce(data, value, extensions_end)
    return _Request(cert_ids, nonce)


def _read_request_list(data: bytes, pos: int, end: int) -> list[_CertId]:
    cert_ids = []
    while pos < end:
        tag, value, request_end = der.read(data, pos, end)
        if tag != der.SEQUENCE:
            raise der.DerError("Request is not a SEQUENCE")
        tag, cert_value, cert_end = der.read(data, value, request_end)
        if tag != der.SEQUENCE:
            raise der.DerError("CertID is not a SEQUENCE")
        if cert_end != request_end:  # singleRequestExtensions [0]
            tag, _, after = der.read(data, cert_end, request_end)
            if tag != 0xA0 or after != request_end:
                raise der.DerError("unexpected field in Request")
        cert_ids.append(_read_cert_id(data, value, cert_value, cert_end))
        pos = request_end
    return cert_ids


def _read_cert_id(data: bytes, start: int, pos: int, end: int) -> _CertId:
    """The CertID whose TLV starts at ``start`` and whose content is ``pos`` to ``end``."""
    tag, algorithm, after = der.read(data, pos, end)
    if tag != der.SEQUENCE:
        raise der.DerError("no AlgorithmIdentifier")
    tag, oid, oid_end = der.read(data, algorithm, after)
    if tag != der.OBJECT_IDENTIFIER or oid == oid_end:
        raise der.DerError("no algorithm OID")
    if oid_end != after and der.read(data, oid_end, after)[2] != after:
        raise der.DerError("AlgorithmIdentifier parameters are not one value")
    fields = []
    pos = after
    for wanted in (der.OCTET_STRING, der.OCTET_STRING, der.INTEGER):
        tag, value, pos = der.read(data, pos, end)
        if tag != wanted:
            raise der.DerError("CertID field of the wrong type")
        fields.append(data[value:pos])
    if pos != end or not fields[2]:
        raise der.DerError("CertID has trailing fields or an empty serial")
    return _CertId(
        encoded=data[start:end],
        hash_oid=data[oid:oid_end],
        name_hash=fields[0],
        key_hash=fields[1],
        serial=int.from_bytes(fields[2], "big", signed=True),
    )


def _read_nonce(data: bytes, pos: int, end: int) -> bytes | None:
    """The nonce among the request's Extensions (``[2]`` content from ``pos`` to ``end``)."""
    tag, pos, extensions_end = der.read(data, pos, end)
    if tag != der.SEQUENCE or extensions_end != end:
        raise der.DerError("Extensions is not one SEQUENCE")
    nonce = None
    while pos < end:
        tag, value, extension_end = der.read(data, pos, end)
        if tag != der.SEQUENCE:
            raise der.DerError("Extension is not a SEQUENCE")
        tag, oid, after = der.read(data, value, extension_end)
        if tag != der.OBJECT_IDENTIFIER:
            raise der.DerError("Extension without an OID")
        tag, value, value_end = der.read(data, after, extension_end)
        if tag == der.BOOLEAN:
            tag, value, value_end = der.read(data, value_end, extension_end)
        if tag != der.OCTET_STRING or value_end != extension_end:
            raise der.DerError("Extension without its value")
        if data[oid:after] == _NONCE_OID:
            tag, inner, inner_end = der.read(data, value, value_end)
            if tag != der.OCTET_STRING or inner_end != value_end:
                raise der.DerError("nonce is not one OCTET STRING")
            nonce = data[inner:inner_end]
        pos = extension_end
    return nonce


def _parse_asn1(data: bytes) -> _Request:
    """asn1crypto's reading, for requests the strict reader refused; _Malformed if none."""
    try:
        request = ocsp.OCSPRequest.load(data, strict=True)
        tbs = request["tbs_request"]
        cert_ids = []
        for item in tbs["request_list"]:
            cert_id = item["req_cert"]
            cert_ids.append(
                _CertId(
                    encoded=cert_id.dump(),
                    hash_oid=cert_id["hash_algorithm"]["algorithm"].contents,
                    name_hash=cert_id["issuer_name_hash"].native,
                    key_hash=cert_id["issuer_key_hash"].native,
                    serial=cert_id["serial_number"].native,
                )
            )
            cert_id["hash_algorithm"]["algorithm"].native  # noqa: B018 - force parsing
        nonce = None
        for extension in tbs["request_extensions"] or []:
            if extension["extn_id"].native == "nonce":
                nonce = extension["extn_value"].parsed.native
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _Malformed from exc
    return _Request(cert_ids, nonce)


def parse_request(data: bytes) -> _Request:
    """The certificates asked about and the nonce; _Malformed when it is no OCSPRequest."""
    try:
        request = _parse_der(data)
    except der.DerError:
        request = _parse_asn1(data)
    nonce = request.nonce
    if not 0 < len(request.cert_ids) <= MAX_CERTIFICATES_PER_REQUEST:
        raise _Malformed
    if nonce is not None and not 0 < len(nonce) <= MAX_NONCE_BYTES:
        raise _Malformed
    return request


def _oid_contents(dotted: str) -> bytes:
    contents: bytes = algos.DigestAlgorithmId(dotted).contents
    return contents


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
        reuse: timedelta = timedelta(minutes=1),
    ) -> None:
        issuer_asn1 = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
        subject_der = issuer_asn1.subject.dump()
        key_bits = bytes(issuer_asn1.public_key["public_key"].contents[1:])
        self._issuer_hashes = {
            _oid_contents(name): (
                hashlib.new(name, subject_der).digest(),
                hashlib.new(name, key_bits).digest(),
            )
            for name in _HASHES
        }
        responder_der = responder.public_bytes(serialization.Encoding.DER)
        responder_asn1 = asn1_x509.Certificate.load(responder_der)
        responder_key_bits = bytes(responder_asn1.public_key["public_key"].contents[1:])
        key_hash = hashlib.sha1(responder_key_bits).digest()  # noqa: S324 - RFC 6960 KeyHash
        self._responder_id = der.encode(0xA2, der.encode(der.OCTET_STRING, key_hash))
        self._certificates = der.encode(0xA0, der.encode(der.SEQUENCE, responder_der))
        self._signature_algorithm = algos.SignedDigestAlgorithm(
            signature_algorithm_identifier(key)
        ).dump()
        self._key = key
        self._validity = validity
        self._reuse = min(reuse, validity / 4)
        self._prebuilt: dict[bytes, tuple[datetime, bytes]] = {}
        """Pre-produced responses by CertID and status: when produced, the response."""
        self._by_request: dict[bytes, tuple[bytes, bytes]] = {}
        """Requests answered from ``_prebuilt``, as sent: the source's version when its status
        was read, the key of its response. Seen again while nothing was committed, such a
        request is answered without reading it or its status again."""
        self._encoded_times: tuple[datetime, bytes, bytes] | None = None

    def _is_ours(self, cert_id: _CertId) -> bool:
        hashes = self._issuer_hashes.get(cert_id.hash_oid)
        return hashes is not None and hashes == (cert_id.name_hash, cert_id.key_hash)

    @staticmethod
    def _status(cert_id: _CertId, ours: bool, source: RevocationSource) -> bytes:
        found = source.status(cert_id.serial) if ours else None
        if found is None or found.status is Status.UNKNOWN:
            return _UNKNOWN
        if found.status is Status.GOOD:
            return _GOOD
        assert found.revoked_at is not None
        assert found.reason is not None
        reason = der.encode(der.ENUMERATED, bytes((_CRL_REASON_CODES[found.reason],)))
        revoked_info = der.generalized_time(found.revoked_at) + der.encode(0xA0, reason)
        return der.encode(0xA1, revoked_info)

    def respond(self, request_der: bytes, source: RevocationSource, now: datetime) -> bytes:
        """The DER OCSPResponse for a DER OCSPRequest; never raises on bad input."""
        now = now.replace(microsecond=0)
        version = source.version()  # before any status is read: a later commit is a change
        if version is not None:
            answered = self._by_request.get(request_der)
            if answered is not None and answered[0] == version:
                produced, response = self._prebuilt.get(answered[1], _NOT_PREBUILT)
                if now - self._reuse < produced <= now:
                    return response
        try:
            request = parse_request(request_der)
        except _Malformed:
            return MALFORMED
        statuses = [
            (c.encoded, self._status(c, self._is_ours(c), source)) for c in request.cert_ids
        ]
        if request.nonce is not None or len(statuses) != 1 or len(request_der) > _MAX_KEPT_REQUEST:
            return self._sign(statuses, request.nonce, now)  # RFC 5019: one certificate
        ((encoded, status),) = statuses
        key = encoded + b"\x00" + status
        prebuilt = self._prebuilt.get(key)
        if prebuilt is not None and now - self._reuse < prebuilt[0] <= now:
            response = prebuilt[1]
        else:
            response = self._sign(statuses, None, now)
            if len(self._prebuilt) >= _MAX_PREBUILT:
                self._prebuilt.clear()
            self._prebuilt[key] = (now, response)
        if version is not None:
            if len(self._by_request) >= _MAX_PREBUILT:
                self._by_request.clear()
            self._by_request[request_der] = (version, key)
        return response

    def response_data(
        self, statuses: list[tuple[bytes, bytes]], nonce: bytes | None, now: datetime
    ) -> bytes:
        """The DER ResponseData for (CertID, CertStatus) pairs, produced at ``now``."""
        this_update, next_update = self._times(now)
        responses = b"".join(
            der.encode(der.SEQUENCE, cert_id + status + this_update + next_update)
            for cert_id, status in statuses
        )
        extensions = b""
        if nonce is not None:
            value = der.encode(der.OCTET_STRING, der.encode(der.OCTET_STRING, nonce))
            extension = der.encode(der.OBJECT_IDENTIFIER, _NONCE_OID) + value
            extensions = der.encode(
                0xA1, der.encode(der.SEQUENCE, der.encode(der.SEQUENCE, extension))
            )
        return der.encode(
            der.SEQUENCE,
            self._responder_id + this_update + der.encode(der.SEQUENCE, responses) + extensions,
        )

    def _times(self, now: datetime) -> tuple[bytes, bytes]:
        """thisUpdate and the tagged nextUpdate for ``now``, encoded once a second (a busy
        responder answers many times within one)."""
        kept = self._encoded_times
        if kept is not None and kept[0] == now:
            return kept[1], kept[2]
        this_update = der.generalized_time(now)
        next_update = der.encode(0xA0, der.generalized_time(now + self._validity))
        self._encoded_times = (now, this_update, next_update)
        return this_update, next_update

    def _sign(
        self, statuses: list[tuple[bytes, bytes]], nonce: bytes | None, now: datetime
    ) -> bytes:
        tbs = self.response_data(statuses, nonce, now)
        signature = der.encode(der.BIT_STRING, b"\x00" + self._key.sign(tbs))
        basic = der.encode(
            der.SEQUENCE, tbs + self._signature_algorithm + signature + self._certificates
        )
        response_bytes = der.encode(der.OBJECT_IDENTIFIER, _BASIC_OID) + der.encode(
            der.OCTET_STRING, basic
        )
        return der.encode(
            der.SEQUENCE,
            b"\x0a\x01\x00" + der.encode(0xA0, der.encode(der.SEQUENCE, response_bytes)),
        )


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
    encoded: bytes = request.dump()
    return encoded
