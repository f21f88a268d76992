"""What verification needs from this installation: its trust anchors and its CA's records."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.outbound import fetch_policy, http_fetchers
from api.pki_services import PkiServices, crl_for
from certs.ocsp import build_request
from certs.revocation import DatabaseRevocationSource
from signing.trust import anchor_certificates
from signing.verification import VerificationSettings

__all__ = ["VerificationServices"]

Revinfo = tuple[list[asn1_ocsp.OCSPResponse], list[asn1_crl.CertificateList]]
_RevinfoDer = tuple[tuple[bytes, ...], tuple[bytes, ...]]


_ANSWER_SECONDS = 60.0
"""How long an in-process answer of our CA is reused: well inside OCSP's own validity
(``KYSO_OCSP_VALIDITY_MINUTES``, which relying parties may cache anyway)."""


@dataclass(frozen=True)
class VerificationServices:
    runtime: Runtime
    pki: PkiServices
    _answers: dict[bytes, tuple[float, _RevinfoDer]] = field(default_factory=dict)
    """Kept as DER: asn1crypto parses lazily and without a lock, so one object handed to two
    verifying threads at once can fail to parse (a false "damaged" verdict); each caller
    gets objects of its own."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> asn1_x509.Certificate:
        der = self.runtime.authority.root.public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(der)

    def settings(
        self,
        session: Session,
        *,
        extra_roots: Sequence[asn1_x509.Certificate] = (),
        online: bool | None = None,
    ) -> VerificationSettings:
        """Our root, the anchors administrators added, and any given; our CA's records for
        our certificates; the network for others' when the installation allows it."""
        roots = [self.root, *anchor_certificates(session), *extra_roots]
        allowed = self.runtime.settings.verify_online if online is None else online
        return VerificationSettings(
            trust_roots=roots,
            online=allowed,
            fetchers=http_fetchers(fetch_policy(self.runtime.settings.verify_private_addresses)),
            local_revocation=self._our_revocation,
        )

    def _our_revocation(self, cert: asn1_x509.Certificate) -> Revinfo:
        """``_answer`` for ``cert``, reused for a minute, as objects of this caller's own."""
        key = cert.dump()
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and cached[0] > now:
            answer = cached[1]
        else:
            answer = self._answer(cert)
            with self._lock:
                if len(self._answers) > 10_000:
                    self._answers.clear()
                self._answers[key] = (now + _ANSWER_SECONDS, answer)
        responses, crls = answer
        return ([asn1_ocsp.OCSPResponse.load(der) for der in responses],
                [asn1_crl.CertificateList.load(der) for der in crls])  # fmt: skip

    def _answer(self, cert: asn1_x509.Certificate) -> _RevinfoDer:
        """An OCSP answer for what our issuing CA issued, the root CRL for the issuing CA,
        each made in-process in a short transaction of its own."""
        authority = self.runtime.authority
        issuing = asn1_x509.Certificate.load(
            authority.issuing.public_bytes(serialization.Encoding.DER)
        )
        now = datetime.now(UTC)
        if cert.issuer == issuing.subject and cert.authority_key_identifier == (
            issuing.key_identifier
        ):
            with unit_of_work(self.runtime.engine) as session:
                answer = self.pki.ocsp.respond(
                    build_request(authority.issuing, cert.serial_number),
                    DatabaseRevocationSource(session),
                    now,
                )
            return (answer,), ()
        if cert.dump() == issuing.dump() and authority.root_is_ours:
            with unit_of_work(self.runtime.engine) as session:
                crl = crl_for(self.runtime, session, "root", now)
            return (), (crl,)
        return (), ()
