"""Sign a PDF and charge it: the central use case (``POST /v1/signatures`` as a form or with
the PDF as the body, and the citizen's signing page).

A signing attempt is claimed by (citizen, Idempotency-Key) before any PIN or signing work, in
the transaction that prices the signature and holds its price. Then its states are its
transactions: **reserved** (claimed, price held) → PIN checked, validation data made, signed →
**signed** → record, kept document, charge at the reserved price → **charged**, or **failed**
(what it held given back) / **expired** (its worker gone, taken over by a retry). One ``now``
dates the signature and its charge. A duplicate gets the stored result, or ``409`` with
``Retry-After`` while the first is in flight, and never touches the PIN. Nothing signed is
delivered unless the last transaction commits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from sqlmodel import Session

from api.file_digests import ReceivedFile, signed_sha256
from api.usecases.in_flight import LeaseKeeper, give_up
from api.usecases.payer import locked_payer
from api.usecases.pin_check import open_with_pin
from api.usecases.services import Services
from billing import reservations
from billing.models import ChargeHold
from billing.plans import SIGNATURE_PRODUCTS
from certs.keys import SignatureScheme, SigningKey
from identity.audit import record_audit
from identity.models import Credential, User
from kernel.errors import RequestInProgress
from signing import attempts
from signing.countersign import refuse_if_earlier_signature_fails
from signing.documents import PdfFacts, inspect_or_repair
from signing.errors import InvalidOption
from signing.known_prefix import KnownPrefix
from signing.models import AttemptState, SignatureRecord, SigningAttempt
from signing.pades import Level, Placement, SignatureOptions, sign_document
from signing.records import owned_document
from signing.signer import KeyStoreSigner

__all__ = ["SignDocument", "SignedDocument", "sign"]


@dataclass(frozen=True, kw_only=True)
class SignDocument:
    """What a signing request asks, as sent (the multipart form, the PDF body's parameters,
    the signing page's form)."""

    pin: str | None = None
    """The signing PIN; or ``sad``, a batch authorisation of which each document spends one."""
    sad: str | None = None
    otp: str | None = None
    level: str = "B-LT"
    reason: str | None = None
    location: str | None = None
    page: int | None = None
    """1-based page of the visible stamp."""
    rect: str | None = None
    """``x1,y1,x2,y2`` in PDF points."""
    field: str | None = None
    """An existing empty signature field to sign into."""
    invisible: bool = False
    language: str = "vi"
    certify: int | None = None
    """DocMDP level 1-3 for a certification signature."""
    credential_id: str | None = None
    purpose: str | None = None
    """``public_service``: a submission to a public service (the monthly allowance)."""
    idempotency_key: str | None = None
    filename: str | None = None
    sponsor: str | None = None
    """The organisation that pays instead of the citizen (a portal's sponsored signature)."""
    confirm_countersign: bool = False
    """Sign even though an earlier signature in the document already fails (without it, such
    a document is refused before anything is claimed or charged). Not part of the request's
    fingerprint: it permits, it does not change what is signed."""

    def options(self, user: User) -> SignatureOptions:
        """The signature's options, or ``InvalidOption`` (before any document is read)."""
        if (self.pin is None) == (self.sad is None):
            raise InvalidOption("give the signing PIN (pin) or a signature authorisation (sad)")
        try:
            level = Level(self.level.upper())
        except ValueError:
            raise InvalidOption(
                f"level must be one of {', '.join(lv.value for lv in Level)}"
            ) from None
        if self.language not in ("vi", "en"):
            raise InvalidOption("language must be vi or en")
        if self.certify is not None and self.certify not in (1, 2, 3):
            raise InvalidOption("certify must be the DocMDP level 1, 2 or 3")
        box = None
        if self.rect:
            try:
                x1, y1, x2, y2 = (float(v) for v in self.rect.split(","))
            except ValueError:
                raise InvalidOption("rect must be four numbers: x1,y1,x2,y2 (PDF points)") from None
            box = (x1, y1, x2, y2)
        placement = (
            None if self.invisible else Placement(page=self.page, box=box,
                                                  field_name=self.field or None)
        )  # fmt: skip
        return SignatureOptions(
            level=level, signer_name=user.full_name, reason=(self.reason or None),
            location=(self.location or None), placement=placement, language=self.language,
            certify=self.certify,
        )  # fmt: skip

    def fingerprint(self, document_sha256: str, level: str) -> str:
        """What makes two requests with one idempotency key the same request."""
        fields = [
            document_sha256, level, self.reason, self.location, self.page, self.rect,
            self.field, self.invisible, self.language, self.certify, self.credential_id,
        ]  # fmt: skip
        if self.purpose:
            fields.append(self.purpose)
        if self.sponsor:
            fields.append(f"sponsor:{self.sponsor}")
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True)
class SignedDocument:
    record: SignatureRecord
    path: str
    """Where the signed PDF is kept."""
    replayed: bool
    """The result of an earlier request with the same key (nothing new was signed)."""


@dataclass(frozen=True)
class _Request:
    """One signing request as the later steps need it: who, what, with which credential, and
    its one ``now``."""

    user: User
    command: SignDocument
    options: SignatureOptions
    credential: Credential
    key: str
    """The Idempotency-Key (or one made up for a request without)."""
    fingerprint: str
    now: datetime
    lease_for: timedelta
    source: Path
    """The file to sign: the upload, or its repaired copy."""


@dataclass(frozen=True)
class _Claimed:
    attempt: SigningAttempt
    lease: str
    batch_key: SigningKey | None


def sign(
    services: Services, user: User, command: SignDocument, received: ReceivedFile, output: Path
) -> SignedDocument:
    """Sign ``received`` for ``user`` and charge it (``output``: where the signed PDF is
    written before it is kept). ``received`` is the caller's own copy in ``output``'s folder:
    the signature is appended to it (no second copy of a large document is written)."""
    options = command.options(user)
    key = command.idempotency_key or f"auto-{uuid.uuid4()}"
    fingerprint = command.fingerprint(received.sha256, options.level.value)
    now = services.clock()
    with services.reading() as session:  # a repeat is answered before anything is judged
        if (earlier := _earlier(services, session, user, key, fingerprint, now)) is not None:
            return earlier
        credential = services.identity.credentials.signing_credential(
            session, user, command.credential_id, now
        )
    # The document is judged before anything is claimed or held (a damaged one that readers
    # open is signed as its clean copy).
    settings = services.runtime.settings
    facts, source = inspect_or_repair(received.path, output.with_name("repaired.pdf"),
                                      pages=(command.page,) if command.page else (),
                                      max_pages=settings.max_pages, deep=True)  # fmt: skip
    if facts.signed_fields and not command.confirm_countersign:
        refuse_if_earlier_signature_fails(source, services.signing.verification_settings())
    request = _Request(user, command, options, credential, key, fingerprint, now,
                       timedelta(seconds=settings.hold_seconds), source)  # fmt: skip
    claimed = _claim(services, request)
    if isinstance(claimed, SignedDocument):
        return claimed
    attempt_id, lease = claimed.attempt.id, claimed.lease
    try:
        with LeaseKeeper(services, attempt_id, lease, lease_for=request.lease_for):
            signing_key = claimed.batch_key or open_with_pin(
                services, user, credential, pin=command.pin or "", otp=command.otp, now=now
            )
            _sign(services, request, signing_key, facts, received, output)
            with services.unit_of_work() as session:  # signed: nothing delivered yet
                current = services.clock()
                attempts.mark(session, attempt_id, lease, AttemptState.SIGNED, now=current,
                              lease_for=request.lease_for)  # fmt: skip
                reservations.extend(session, lease, current + request.lease_for)
            digest = signed_sha256(received, output)  # before the transaction: no lock held
            return _record_and_charge(services, request, claimed, received, output, digest)
    except BaseException as exc:
        give_up(services, attempt_id, lease, exc)
        raise


def _earlier(
    services: Services, session: Session, user: User, key: str, fingerprint: str, now: datetime
) -> SignedDocument | None:
    """A repeat of a request already charged (its result), or in flight (``RequestInProgress``),
    answered before the document is even inspected; the claim decides the races."""
    found = attempts.find(session, user_id=user.id, idempotency_key=key)
    if found is None or found.request_sha256 != fingerprint:
        return None  # new, or a conflict: the claim says which
    if found.state == AttemptState.CHARGED.value:
        return _replay(services, session, user, found)
    if found.state in (AttemptState.RESERVED.value, AttemptState.SIGNED.value) and (
        found.expires_at > now
    ):
        raise RequestInProgress(
            "the request with this Idempotency-Key is still being signed: ask again shortly",
            retry_after=attempts.RETRY_AFTER,
        )
    return None


def _replay(services: Services, session: Session, user: User,
            attempt: SigningAttempt) -> SignedDocument:  # fmt: skip
    assert attempt.signature_id is not None
    record, path = owned_document(session, services.signing.store, user_id=user.id,
                                  signature_id=attempt.signature_id)  # fmt: skip
    return SignedDocument(record, path, replayed=True)


def _claim(services: Services, request: _Request) -> _Claimed | SignedDocument:
    """Reserved: the attempt claimed and the signature's price held, in one transaction under
    the payer's lock (a batch authorisation's use is spent with it); refused, nothing held."""
    user, command, now = request.user, request.command, request.now
    product = SIGNATURE_PRODUCTS[request.options.level.value]
    with services.unit_of_work() as session, session.no_autoflush:  # one write per row
        # the account first, then the rest
        payer, account = locked_payer(session, user, now, sponsor=command.sponsor)
        claim = attempts.claim(session, user_id=user.id, account_id=payer.account_id,
                               idempotency_key=request.key, request_sha256=request.fingerprint,
                               kind="document", now=now, lease_for=request.lease_for)  # fmt: skip
        if claim.replay:
            return _replay(services, session, user, claim.attempt)
        if claim.lapsed_lease is not None:
            reservations.release(session, claim.lapsed_lease)
        attempt = claim.attempt
        held = reservations.reserve(session, payer, product, purpose=command.purpose,
                                    owner=attempt.lease, now=now,
                                    expires_at=now + request.lease_for, locked=account)  # fmt: skip
        _carry(attempt, held)
        batch_key = None
        if command.sad is not None:  # spent with the hold: refused, nothing is held
            batch_key = services.identity.authoriser.spend_one(
                session, command.sad, credential_id=request.credential.id, now=now
            )[1]
        return _Claimed(attempt, attempt.lease, batch_key)


def _carry(attempt: SigningAttempt, held: ChargeHold) -> None:
    """The attempt shows what it holds."""
    attempt.wallet_amount = held.amount
    attempt.allowance_units = int(held.funding == "allowance")
    attempt.pack_units = int(held.pack_id is not None)
    attempt.quota_units = int(held.funding == "quota")


def _sign(
    services: Services, request: _Request, key: SigningKey, facts: PdfFacts,
    received: ReceivedFile, output: Path,
) -> None:  # fmt: skip
    signing, credential, options = services.signing, request.credential, request.options
    scheme = SignatureScheme.for_key(
        key.algorithm, rsa_pss=services.runtime.settings.rsa_signature_scheme == "pss"
    )
    signer = KeyStoreSigner(key.with_scheme(scheme),
                            asn1_x509.Certificate.load(credential.certificate),
                            signing.chain)  # fmt: skip
    material = None
    if options.level.long_term:
        with services.unit_of_work() as session:  # may publish a due CRL
            material = signing.validation_material(
                session, x509.load_der_x509_certificate(credential.certificate)
            )
    sign_document(request.source, output, options=options, signer=signer,
                  timestamper=signing.timestamper() if options.level.timestamped else None,
                  material=material, font=services.runtime.settings.stamp_font,
                  now=request.now, facts=facts, timestamp_size=signing.timestamp_size,
                  in_place=request.source.parent == output.parent,
                  prefix=KnownPrefix(received.digest, received.size)
                  if received.path == request.source else None)  # fmt: skip


def _record_and_charge(
    services: Services, request: _Request, claimed: _Claimed, received: ReceivedFile,
    output: Path, digest: str,
) -> SignedDocument:  # fmt: skip
    """Charged: the record, the kept document and the charge at the reserved price, in one
    transaction; the attempt's lease and holds are re-checked under the locks."""
    user, options, now, lease = request.user, request.options, request.now, claimed.lease
    retention = timedelta(days=services.runtime.settings.retention_days)
    with services.unit_of_work() as session:
        # then the credential, the audit
        payer, account = locked_payer(session, user, now, sponsor=request.command.sponsor)
        services.identity.credentials.confirm_signing(session, request.credential.id, now)
        record = SignatureRecord(
            user_id=user.id, credential_id=request.credential.id, idempotency_key=request.key,
            request_sha256=request.fingerprint, level=options.level.value,
            visible=options.placement is not None, certified=options.certify,
            reason=options.reason, location=options.location,
            filename=(request.command.filename or "document.pdf")[:255],
            original_sha256=received.sha256, signed_sha256=digest,
            signed_size=output.stat().st_size, created_at=now, retain_until=now + retention,
        )  # fmt: skip
        session.add(record)
        session.flush()
        checked_at = services.clock()
        attempts.finish(session, claimed.attempt.id, lease, AttemptState.CHARGED,
                        now=checked_at, signature_id=record.id)  # fmt: skip
        reservations.charge_reserved(session, payer, lease, now=now, checked_at=checked_at,
                                     signature_id=record.id, locked=account,
                                     idempotency_key=f"{user.id}:{request.key}")  # fmt: skip
        kept = services.signing.store.keep(session, record.id, output)
        record_audit(session, at=now, actor=f"user:{user.id}", action="signature.create",
                     target=record.id, credential_id=request.credential.id,
                     level=options.level.value)  # fmt: skip
    return SignedDocument(record, str(kept), replayed=False)
