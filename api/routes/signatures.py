"""Signing PDFs: the sign-and-charge transaction, history, re-download, and usage."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.deps import (
    IdentityDep,
    ReadSessionDep,
    SessionDep,
    require_roles,
    require_roles_reading,
    utc_now,
)
from api.downloads import LargeFileResponse, attachment
from api.file_digests import ReceivedFile, receive, signed_sha256
from api.identity_services import IdentityServices
from api.payers import lock_payer, payer_for
from api.signing_services import SigningServices
from billing.charges import Payer, charge, hold, release, reserve
from billing.plans import SIGNATURE_PRODUCTS
from certs.errors import WrongSecret
from certs.keys import SignatureScheme, SigningKey
from identity.audit import record_audit
from identity.errors import PinAttemptsBusy
from identity.models import Credential, Role, User
from identity.sessions import Principal
from signing.countersign import refuse_if_earlier_signature_fails
from signing.documents import PdfFacts, inspect_or_repair
from signing.errors import InvalidOption
from signing.models import SignatureRecord
from signing.pades import Level, Placement, SignatureOptions, sign_document
from signing.records import find_replay, history, owned_document
from signing.signer import KeyStoreSigner

__all__ = ["SignatureRequest", "new_upload_folder", "router", "sign_received"]

router = APIRouter(tags=["signatures"])
logger = logging.getLogger("kyso.api")

Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN.value))]
ReadingCitizen = Annotated[Principal, Depends(require_roles_reading(Role.CITIZEN.value))]


async def get_signing(request: Request) -> SigningServices:
    services: SigningServices = request.app.state.signing
    return services


SigningDep = Annotated[SigningServices, Depends(get_signing)]


class SignatureOut(BaseModel):
    id: str
    level: str
    filename: str
    visible: bool
    certified: int | None
    reason: str | None
    location: str | None
    created_at: str
    retain_until: str
    document_available: bool
    signed_sha256: str


def _out(record: SignatureRecord) -> SignatureOut:
    return SignatureOut(
        id=record.id, level=record.level, filename=record.filename, visible=record.visible,
        certified=record.certified, reason=record.reason, location=record.location,
        created_at=record.created_at.isoformat(), retain_until=record.retain_until.isoformat(),
        document_available=record.purged_at is None, signed_sha256=record.signed_sha256,
    )  # fmt: skip


def _options(
    *, level: str, reason: str | None, location: str | None, page: int | None, rect: str | None,
    field: str | None, invisible: bool, language: str, certify: int | None, signer_name: str,
) -> SignatureOptions:  # fmt: skip
    try:
        parsed_level = Level(level.upper())
    except ValueError:
        raise InvalidOption(f"level must be one of {', '.join(lv.value for lv in Level)}") from None
    if language not in ("vi", "en"):
        raise InvalidOption("language must be vi or en")
    if certify is not None and certify not in (1, 2, 3):
        raise InvalidOption("certify must be the DocMDP level 1, 2 or 3")
    box = None
    if rect:
        try:
            x1, y1, x2, y2 = (float(v) for v in rect.split(","))
        except ValueError:
            raise InvalidOption("rect must be four numbers: x1,y1,x2,y2 (PDF points)") from None
        box = (x1, y1, x2, y2)
    placement = None if invisible else Placement(page=page, box=box, field_name=field or None)
    return SignatureOptions(
        level=parsed_level, signer_name=signer_name, reason=(reason or None),
        location=(location or None), placement=placement, language=language, certify=certify,
    )  # fmt: skip


def _download(path: str, record: SignatureRecord, replayed: bool) -> FileResponse:
    name = Path(record.filename).stem + "-signed.pdf"
    return LargeFileResponse(
        path,
        media_type="application/pdf",
        headers={
            "X-Signature-Id": record.id,
            "Content-Disposition": attachment(name),
            **({"Idempotent-Replayed": "true"} if replayed else {}),
        },
    )


@router.post("/v1/signatures", response_class=FileResponse, status_code=200,
             summary="Sign a PDF (PAdES) and charge it, in one transaction")  # fmt: skip
def create_signature(
    caller: ReadingCitizen,
    session: ReadSessionDep,
    identity: IdentityDep,
    signing: SigningDep,
    file: Annotated[UploadFile, File(description="The PDF to sign")],
    pin: Annotated[str | None, Form(description="the signing PIN (or give sad)")] = None,
    level: Annotated[str, Form()] = "B-LT",
    otp: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=200)] = None,
    location: Annotated[str | None, Form(max_length=200)] = None,
    page: Annotated[int | None, Form(description="1-based page for the stamp")] = None,
    rect: Annotated[str | None, Form(description="x1,y1,x2,y2 in PDF points")] = None,
    field: Annotated[str | None, Form(description="an existing empty signature field")] = None,
    invisible: Annotated[bool, Form()] = False,
    language: Annotated[str, Form()] = "vi",
    certify: Annotated[int | None, Form(description="DocMDP level 1-3: certify")] = None,
    credential_id: Annotated[str | None, Form()] = None,
    purpose: Annotated[
        str | None,
        Form(
            description="public_service: a submission to a public "
            "service (a monthly free allowance applies)"
        ),
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
    confirm_countersign: Annotated[
        bool,
        Form(
            description="sign even though an earlier signature in the document already fails "
            "(without it, such a document is refused before anything is charged)"
        ),
    ] = False,
    sad: Annotated[
        str | None,
        Form(
            max_length=200,
            description="instead of the PIN: a signature authorisation from POST "
            "/v1/me/authorisations with a count (one batch, one PIN); each document spends one",
        ),
    ] = None,
) -> FileResponse:
    """Reads and the signing itself take no write lock; the PIN's bookkeeping, the one-time
    code and, at the end, the signature record with its usage event are each written in a
    short transaction. Nothing signed is delivered unless that last one commits."""
    request = SignatureRequest(
        pin=pin, sad=sad, otp=otp, level=level, reason=reason, location=location, page=page,
        rect=rect, field=field, invisible=invisible, language=language, certify=certify,
        credential_id=credential_id, purpose=purpose, idempotency_key=idempotency_key,
        filename=file.filename, confirm_countersign=confirm_countersign,
    )  # fmt: skip
    options = request.options(caller.user)  # refused before the upload is read
    work = new_upload_folder(signing.runtime)
    try:
        received = receive(file.file, work / "upload.pdf")
        return sign_received(caller.user, session, identity, signing, request, options,
                             received, work / "signed.pdf")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class SignatureRequest:
    """What a signing request asks, as sent (the multipart form or the PDF body's parameters)."""

    pin: str | None
    sad: str | None
    otp: str | None
    level: str
    reason: str | None
    location: str | None
    page: int | None
    rect: str | None
    field: str | None
    invisible: bool
    language: str
    certify: int | None
    credential_id: str | None
    purpose: str | None
    idempotency_key: str | None
    filename: str | None
    confirm_countersign: bool = False
    """Sign even though an earlier signature already fails."""

    def options(self, user: User) -> SignatureOptions:
        """The signature's options, or ``InvalidOption`` (before any document is read)."""
        if (self.pin is None) == (self.sad is None):
            raise InvalidOption("give the signing PIN (pin) or a signature authorisation (sad)")
        return _options(level=self.level, reason=self.reason, location=self.location,
                        page=self.page, rect=self.rect, field=self.field,
                        invisible=self.invisible, language=self.language,
                        certify=self.certify, signer_name=user.full_name)  # fmt: skip

    def fingerprint(self, document_sha256: str, level: str) -> str:
        """What makes two requests with one idempotency key the same request."""
        fields = [
            document_sha256,
            level,
            self.reason,
            self.location,
            self.page,
            self.rect,
            self.field,
            self.invisible,
            self.language,
            self.certify,
            self.credential_id,
        ]
        return hashlib.sha256(
            json.dumps(fields + ([self.purpose] if self.purpose else [])).encode()
        ).hexdigest()  # fmt: skip


def new_upload_folder(runtime: Runtime) -> Path:
    """A private folder for one request's files (the caller removes it with them)."""
    work = runtime.settings.upload_dir / uuid.uuid4().hex
    work.mkdir(mode=0o700)
    return work


def sign_received(
    user: User, session: Session, identity: IdentityServices, signing: SigningServices,
    request: SignatureRequest, options: SignatureOptions, received: ReceivedFile, signed: Path,
) -> FileResponse:  # fmt: skip
    """Sign and charge a document received in full (``signed``: where the result goes)."""
    runtime = signing.runtime
    key = request.idempotency_key or f"auto-{uuid.uuid4()}"
    request_sha256 = request.fingerprint(received.sha256, options.level.value)
    replay = find_replay(session, user_id=user.id, idempotency_key=key,
                         request_sha256=request_sha256)  # fmt: skip
    if replay is not None:
        return _replayed(session, signing, user.id, replay)

    # The document is judged before the key is touched: a bad upload never unlocks it.
    page = request.page
    facts, source = inspect_or_repair(received.path, signed.with_name("repaired.pdf"),
                                      pages=(page,) if page else (),
                                      max_pages=runtime.settings.max_pages, deep=True)  # fmt: skip
    if facts.signed_fields and not request.confirm_countersign:  # before any charge
        refuse_if_earlier_signature_fails(source, signing.verification_settings())
    now = utc_now()
    credential = identity.credentials.signing_credential(session, user, request.credential_id, now)
    payer = payer_for(session, user)
    session.close()  # one connection at a time from here on: each step is a short transaction
    product = SIGNATURE_PRODUCTS[options.level.value]
    purpose, sad = request.purpose, request.sad
    with unit_of_work(runtime.engine) as writing:  # priced and covered before any work
        priced = reserve(writing, payer, product, purpose=purpose, now=now)
        hold_id = hold(writing, payer.account_id, priced.amount, now)
        # a batch authorisation's use is spent with the hold: refused, nothing is held
        batch_key = None if sad is None else identity.authoriser.spend_one(
            writing, sad, credential_id=credential.id, now=now)[1]  # fmt: skip
    try:
        # the final transaction releases the hold as it charges (or replays) …
        return _sign_and_charge(
            runtime=runtime, identity=identity, signing=signing, user=user, payer=payer,
            credential=credential, pin=request.pin, batch_key=batch_key, otp=request.otp,
            options=options, facts=facts, received=received, source=source, signed=signed,
            now=now, key=key,
            request_sha256=request_sha256, purpose=purpose, hold_id=hold_id,
            filename=(request.filename or "document.pdf")[:255],
        )  # fmt: skip
    except BaseException:
        _release(runtime.engine, hold_id)  # … and a failure gives it back at once
        raise


def _sign_and_charge(
    *, runtime: Runtime, identity: IdentityServices, signing: SigningServices, user: User,
    payer: Payer, credential: Credential, pin: str | None, batch_key: SigningKey | None,
    otp: str | None, options: SignatureOptions,
    facts: PdfFacts, received: ReceivedFile, source: Path, signed: Path, now: datetime,
    key: str,
    request_sha256: str, purpose: str | None, hold_id: str | None,
    filename: str,
) -> FileResponse:  # fmt: skip
    key_handle = batch_key or _unlock(runtime.engine, identity, user, credential, pin=pin,
                                      otp=otp, now=now)  # fmt: skip
    scheme = SignatureScheme.for_key(
        key_handle.algorithm, rsa_pss=runtime.settings.rsa_signature_scheme == "pss"
    )
    signer = KeyStoreSigner(key_handle.with_scheme(scheme),
                            asn1_x509.Certificate.load(credential.certificate),
                            signing.chain)  # fmt: skip
    material = None
    if options.level.long_term:
        with unit_of_work(runtime.engine) as writing:  # may publish a due CRL
            material = signing.validation_material(
                writing, x509.load_der_x509_certificate(credential.certificate)
            )
    sign_document(source, signed, options=options, signer=signer,
                  timestamper=signing.timestamper() if options.level.timestamped else None,
                  material=material, font=runtime.settings.stamp_font, now=now,
                  facts=facts, timestamp_size=signing.timestamp_size)  # fmt: skip
    signed_digest = signed_sha256(received, signed)  # before the transaction: no lock held

    with unit_of_work(runtime.engine) as writing:
        lock_payer(writing, user, now)  # the account first, then the credential, then the audit
        winner = find_replay(writing, user_id=user.id, idempotency_key=key,
                             request_sha256=request_sha256)  # fmt: skip
        if winner is not None:  # a concurrent retry committed first: deliver its result
            release(writing, hold_id)
            return _replayed(writing, signing, user.id, winner)
        identity.credentials.confirm_signing(writing, credential.id, now)
        record = SignatureRecord(
            user_id=user.id, credential_id=credential.id, idempotency_key=key,
            request_sha256=request_sha256, level=options.level.value,
            visible=options.placement is not None, certified=options.certify,
            reason=options.reason, location=options.location, filename=filename,
            original_sha256=received.sha256, signed_sha256=signed_digest,
            signed_size=signed.stat().st_size, created_at=now,
            retain_until=now + timedelta(days=runtime.settings.retention_days),
        )  # fmt: skip
        writing.add(record)
        writing.flush()
        kept = signing.store.keep(writing, record.id, signed)
        charge(writing, payer, SIGNATURE_PRODUCTS[options.level.value], now=utc_now(),
               purpose=purpose, hold_id=hold_id, signature_id=record.id,
               idempotency_key=f"{user.id}:{key}")  # fmt: skip
        record_audit(writing, at=now, actor=f"user:{user.id}", action="signature.create",
                     target=record.id, credential_id=credential.id,
                     level=options.level.value)  # fmt: skip
        return _download(str(kept), record, replayed=False)  # after the commit


def _unlock(
    engine: Engine, identity: IdentityServices, user: User, credential: Credential, *,
    pin: str | None, otp: str | None, now: datetime,
) -> SigningKey:  # fmt: skip
    """The citizen's key, opened by this request's PIN (and one-time code)."""
    assert pin is not None
    if user.totp_enabled:
        with unit_of_work(engine) as writing:
            signer_now = writing.get(User, user.id)
            assert signer_now is not None
            identity.codes.require(writing, signer_now, otp, now, action="signature")
    _spend_pin_attempt(engine, identity, user, credential.id)
    try:
        key_handle: SigningKey | None = identity.credentials.unlock(credential, pin)
    except WrongSecret:
        key_handle = None
    except Exception:  # not checked at all (the key token is unavailable): not counted
        with unit_of_work(engine) as writing:
            identity.credentials.release_pin_attempt(writing, user, credential.id)
        raise
    with unit_of_work(engine) as writing:  # a wrong PIN raises here, counted
        identity.credentials.settle_pin_attempt(
            writing, user, credential.id, right=key_handle is not None, now=now
        )
    assert key_handle is not None
    return key_handle


_PIN_WAIT_SECONDS = 5.0


def _spend_pin_attempt(engine: Engine, identity: IdentityServices, user: User,
                       credential_id: str) -> None:  # fmt: skip
    """Take one PIN attempt; while every attempt left is taken by parallel requests of the
    same citizen that are still checking their PIN, wait for them to settle."""
    deadline = time.monotonic() + _PIN_WAIT_SECONDS
    while True:
        try:
            with unit_of_work(engine) as writing:
                identity.credentials.spend_pin_attempt(writing, user, credential_id, now=utc_now())
            return
        except PinAttemptsBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _release(engine: Engine, hold_id: str | None) -> None:
    """Give back the money held for a request that failed (its final transaction, which
    releases the hold when it charges or replays, did not commit)."""
    if hold_id is None:
        return
    try:
        with unit_of_work(engine) as writing:
            release(writing, hold_id)
    except Exception:  # the hold expires by itself; never hide the request's own outcome
        logger.exception("could not release charge hold %s", hold_id)


def _replayed(session: Session, signing: SigningServices, user_id: str,
              record: SignatureRecord) -> FileResponse:  # fmt: skip
    _, path = owned_document(session, signing.store, user_id=user_id, signature_id=record.id)
    return _download(path, record, replayed=True)


@router.get("/v1/signatures", summary="Your signatures, newest first")
def list_signatures(caller: Citizen, session: SessionDep) -> list[SignatureOut]:
    return [_out(r) for r in history(session, caller.user.id)]


@router.get("/v1/signatures/{signature_id}/document", response_class=FileResponse,
            summary="Download a signed document again (during its retention period)")  # fmt: skip
def download_signature(
    signature_id: str, caller: Citizen, session: SessionDep, signing: SigningDep
) -> FileResponse:
    record, path = owned_document(session, signing.store, user_id=caller.user.id,
                                  signature_id=signature_id)  # fmt: skip
    return _download(path, record, replayed=False)
