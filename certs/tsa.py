"""An RFC 3161 time-stamping authority with RFC 5816 ESSCertIDv2."""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.keys import SigningKey, signature_algorithm_identifier
from certs.profiles import TSA_POLICY_OID, random_serial

__all__ = ["ACCEPTED_HASHES", "TimeStampAuthority", "TimeStampResponse", "rejection"]

ACCEPTED_HASHES = {"sha256": 32, "sha384": 48, "sha512": 64, "sha3_256": 32, "sha3_512": 64}
"""Message-imprint algorithms accepted, with their digest lengths. SHA-1 and MD5 are refused."""


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    """TimeStampResp with the token optional, as RFC 3161 has it (asn1crypto requires it)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def rejection(fail_info: str, text: str) -> bytes:
    """A TimeStampResp with status ``rejection`` and one PKIFailureInfo bit.

    ``fail_info`` is asn1crypto's name: ``bad_alg``, ``bad_request``, ``bad_data_format``,
    ``unaccepted_policy``, ``unaccepted_extensions``, ``system_failure`` …
    """
    if fail_info not in tsp.PKIFailureInfo._map.values():
        raise ValueError(f"unknown PKIFailureInfo bit {fail_info!r}")
    response = TimeStampResponse(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": tsp.PKIFailureInfo({fail_info}),
            }
        }
    )
    der: bytes = response.dump()
    return der


def _frozen(value: core.Asn1Value) -> core.Asn1Value:
    """The value re-read from its own encoding: asn1crypto then reuses the bytes instead of
    re-encoding the whole tree each time it is placed into a new structure (5 ms a token)."""
    return type(value).load(value.dump())


class _Rejected(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


class TimeStampAuthority:
    """Signs TSTInfo for valid requests with the TSA key; bad requests get a PKIStatus rejection."""

    def __init__(
        self,
        *,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        key: SigningKey,
        policy: str = TSA_POLICY_OID.dotted_string,
    ) -> None:
        der = certificate.public_bytes(serialization.Encoding.DER)
        self._certificate = asn1_x509.Certificate.load(der)
        self._chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain
        ]
        self._key = key
        self._policy = policy
        issuer_serial = {
            "issuer": [
                asn1_x509.GeneralName(name="directory_name", value=self._certificate.issuer)
            ],
            "serial_number": self._certificate.serial_number,
        }
        self._signing_certificate_v2 = _frozen(
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha256"},
                                    "cert_hash": hashlib.sha256(der).digest(),
                                    "issuer_serial": issuer_serial,
                                }
                            ]
                        }
                    ],
                }
            )
        )
        self._content_type = _frozen(
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]})
        )
        self._sid = _frozen(
            cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={
                    "issuer": self._certificate.issuer,
                    "serial_number": self._certificate.serial_number,
                },
            )
        )
        self._tsa_name = _frozen(
            asn1_x509.GeneralName(name="directory_name", value=self._certificate.subject)
        )
        self._certificates = _frozen(cms.CertificateSet([self._certificate, *self._chain]))
        self._digest_algorithms = _frozen(
            cms.DigestAlgorithms([algos.DigestAlgorithm({"algorithm": "sha256"})])
        )
        self._signature_algorithm = _frozen(
            algos.SignedDigestAlgorithm(signature_algorithm_identifier(key))
        )

    def _check(self, request_der: bytes) -> tuple[tsp.MessageImprint, int | None, bool]:
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            version = request["version"].native
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            policy = request["req_policy"].native
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
            extensions = request["extensions"].native
        except (ValueError, TypeError, KeyError, AttributeError):
            raise _Rejected("bad_data_format", "the request is not a DER TimeStampReq") from None
        if version != "v1":
            raise _Rejected("bad_request", "only version 1 requests are supported")
        if algorithm not in ACCEPTED_HASHES:
            raise _Rejected(
                "bad_alg",
                f"unsupported hash algorithm {algorithm}; use one of {', '.join(ACCEPTED_HASHES)}",
            )
        if len(digest) != ACCEPTED_HASHES[algorithm]:
            raise _Rejected("bad_data_format", f"the {algorithm} imprint has the wrong length")
        if policy is not None and policy != self._policy:
            raise _Rejected("unaccepted_policy", f"only policy {self._policy} is offered")
        if extensions:
            raise _Rejected("unaccepted_extensions", "no request extensions are supported")
        return imprint, nonce, cert_req

    def respond(self, request_der: bytes, now: datetime) -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq; never raises on bad input."""
        try:
            imprint, nonce, cert_req = self._check(request_der)
        except _Rejected as rejected:
            return rejection(rejected.fail_info, rejected.text)
        tst_info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": self._policy,
                "message_imprint": imprint,
                "serial_number": random_serial(),
                "gen_time": now.replace(microsecond=0),
                "accuracy": {"seconds": 1},
                "ordering": False,
                "nonce": nonce,
                "tsa": self._tsa_name,
            }
        )
        content = tst_info.dump()
        signed_attrs = cms.CMSAttributes(
            [
                self._content_type,
                cms.CMSAttribute(
                    {
                        "type": "signing_time",
                        "values": [cms.Time(name="utc_time", value=now.replace(microsecond=0))],
                    }
                ),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
                self._signing_certificate_v2,
            ]
        )
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": self._signature_algorithm,
                "signature": self._key.sign(signed_attrs.dump()),
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": self._digest_algorithms,
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": self._certificates if cert_req else None,
                "signer_infos": [signer_info],
            }
        )
        response = tsp.TimeStampResp(
            {
                "status": {"status": "granted"},
                "time_stamp_token": {"content_type": "signed_data", "content": signed_data},
            }
        )
        der: bytes = response.dump()
        return der
