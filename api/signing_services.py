"""Signing's collaborators for one process: the document store, the time-stamper, trust data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from sqlmodel import Session

from api.bootstrap import Runtime
from api.pki_services import PkiServices, crl_for
from certs.ocsp import build_request
from certs.revocation import DatabaseRevocationSource
from signing.pades import ValidationMaterial
from signing.storage import DocumentStore
from signing.timestamping import InProcessTimeStamper
from signing.verification import VerificationSettings

__all__ = ["SigningServices", "build_signing_services"]


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class SigningServices:
    runtime: Runtime
    pki: PkiServices
    store: DocumentStore
    chain_der: tuple[bytes, ...]
    """Issuing CA then root, as embedded in every signature."""
    timestamp_size: int
    """Size of one of our time-stamp tokens, for the CMS size reservation."""

    @property
    def chain(self) -> list[asn1_x509.Certificate]:
        """The chain, loaded anew for each caller: asn1crypto parses a structure the first
        time a part of it is read, and one certificate object shared by the request threads
        failed (``KeyError`` inside its extensions) when two of them first read it at once."""
        return [asn1_x509.Certificate.load(der) for der in self.chain_der]

    def timestamper(self) -> TimeStamper:
        if self.runtime.settings.tsa_url:
            return HTTPTimeStamper(self.runtime.settings.tsa_url, timeout=10)
        return InProcessTimeStamper(lambda der: self.pki.tsa.respond(der, datetime.now(UTC)))

    def verification_settings(self) -> VerificationSettings:
        """Offline, trusting our root: enough to tell an earlier signature that fails."""
        return VerificationSettings(trust_roots=[self.chain[1]])

    def validation_material(self, session: Session, signer: x509.Certificate) -> ValidationMaterial:
        """OCSP answers for the signer and the TSA, and the root CRL, made in-process."""
        authority = self.runtime.authority
        now = datetime.now(UTC)
        source = DatabaseRevocationSource(session)
        ocsps = [
            self.pki.ocsp.respond(build_request(authority.issuing, cert.serial_number), source, now)
            for cert in (signer, authority.tsa)
        ]
        return ValidationMaterial(
            trust_roots=[self.chain[1]],
            other_certs=[self.chain[0], _asn1(authority.tsa)],
            ocsps=ocsps,
            crls=[crl_for(self.runtime, session, "root", now)] if authority.root_is_ours else [],
        )


def build_signing_services(runtime: Runtime, pki: PkiServices) -> SigningServices:
    runtime.settings.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    sample = pki.tsa.respond(
        tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": bytes(32),
                },
                "cert_req": True,
                "nonce": 2**63,
            }
        ).dump(),
        datetime.now(UTC),
    )
    return SigningServices(
        runtime=runtime,
        pki=pki,
        store=DocumentStore(runtime.settings.documents_dir),
        chain_der=tuple(
            certificate.public_bytes(serialization.Encoding.DER)
            for certificate in (runtime.authority.issuing, runtime.authority.root)
        ),
        timestamp_size=len(sample) + 1024,
    )
