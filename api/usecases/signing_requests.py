"""Portal signing requests: a portal asks (``POST /v1/signing-requests``), the citizen signs
every document on kyso's page through the sign-and-charge use case, or declines; the portal
polls, downloads, and gets a webhook. Expired, declined and failed requests sign and charge
nothing; a request signs once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from api.file_digests import receive, upload_folder
from api.usecases import portal_webhook
from api.usecases.payer import payer_for
from api.usecases.services import Services
from billing.accounts import peek_account
from billing.charges import quote
from billing.plans import SIGNATURE_PRODUCTS
from identity import signing_requests as requests
from identity.errors import (
    CredentialLocked,
    CredentialNotFound,
    CredentialUnusable,
    IdentityError,
    LevelTooLow,
    SigningRequestClosed,
    SigningRequestNotFound,
)
from identity.models import OidcClient, SigningRequest, SigningRequestState, User
from identity.signing_requests import Document
from signing.models import SignatureRecord
from signing.records import owned_document

__all__ = [
    "LEVEL",
    "AskToSign",
    "CitizenView",
    "ConfigurePortal",
    "PortalCaller",
    "SignAll",
    "ask",
    "configure_portal",
    "decline",
    "lapse_overdue",
    "sign_all",
    "signed_document",
    "status",
    "view",
]

LEVEL = "B-LT"
"""The level a portal's documents are signed at."""
FINAL_FAILURES = (LevelTooLow, CredentialLocked, CredentialUnusable)
"""Refusals that end a request (``failed``, their code the reason): the citizen cannot sign
it by trying again."""


@dataclass(frozen=True, kw_only=True)
class PortalCaller:
    """Who asks: a portal by its client credentials, or an organisation's API key."""

    client_id: str | None = None
    client_secret: str | None = None
    organisation_id: str | None = None
    """The organisation of the API key's owner (its portal asks)."""

    def client(self, services: Services) -> OidcClient:
        with services.reading() as session:
            if self.client_id is not None:
                return requests.authenticate_portal(
                    session, self.client_id, self.client_secret or ""
                )
            return requests.portal_of_organisation(session, self.organisation_id)


@dataclass(frozen=True, kw_only=True)
class AskToSign:
    portal: PortalCaller
    sub: str | None = None
    cccd: str | None = None
    purpose: str
    return_url: str
    webhook_url: str | None = None
    expires_in: int | None = None
    payer: str = requests.CITIZEN_PAYS
    documents: list[Document]
    """The PDFs, already kept (with their page pictures) by the adapter."""


def ask(services: Services, command: AskToSign) -> SigningRequest:
    """A pending request (refused, nothing kept, when the portal may not ask this)."""
    client = command.portal.client(services)
    with services.unit_of_work() as session:
        user = requests.resolve_signer(session, client, sub=command.sub, cccd=command.cccd,
                                       subject=services.oidc.subject)  # fmt: skip
        return requests.open_request(
            session, client, user, purpose=command.purpose, return_url=command.return_url,
            webhook_url=command.webhook_url, expires_in=command.expires_in,
            payer=command.payer, documents=command.documents, now=services.clock(),
        )  # fmt: skip


def status(services: Services, portal: PortalCaller, request_id: str) -> SigningRequest:
    """The request as its portal sees it (an overdue one expires now)."""
    client = portal.client(services)
    with services.unit_of_work() as session:
        found = requests.for_portal(session, client.id, request_id)
        lapsed = requests.lapse_if_due(found, services.clock())
        session.add(found)
    if lapsed:
        portal_webhook.deliver_later(services, found.id)
    return found


def signed_document(
    services: Services, portal: PortalCaller, request_id: str, number: int
) -> tuple[SignatureRecord, str]:
    """The ``number``-th (1-based) signed PDF of a signed request, for its portal."""
    client = portal.client(services)
    with services.reading() as session:
        found = requests.for_portal(session, client.id, request_id)
        ids = requests.signature_ids_of(found)
        if not 1 <= number <= len(ids):
            raise SigningRequestNotFound("no signed document with this number")
        return owned_document(session, services.signing.store, user_id=found.user_id,
                              signature_id=ids[number - 1])  # fmt: skip


@dataclass(frozen=True)
class CitizenView:
    """What the citizen's page shows."""

    request: SigningRequest
    portal: str
    """The portal's registered name."""
    price: int
    """What all the documents cost (VND, VAT included) to whoever pays."""
    payer: str
    """Who pays: the sponsor organisation's name, or the citizen's own account."""
    sponsored: bool
    refusal: IdentityError | None = None
    """Why the citizen cannot sign it (the request failed with this code)."""


def view(services: Services, user: User, request_id: str) -> CitizenView:
    """The request for its citizen: an overdue one expires now; one they cannot sign (identity
    not proofed, credential locked or unusable) fails now with the reason, and the portal
    hears of it."""
    now = services.clock()
    refusal: IdentityError | None = None
    with services.unit_of_work() as session:
        found = requests.for_citizen(session, user.id, request_id)
        changed = requests.lapse_if_due(found, now)
        if found.state == SigningRequestState.PENDING.value:
            refusal = _why_not(services, session, user, now)
            if refusal is not None:
                requests.close(session, found, SigningRequestState.FAILED, now=now,
                               reason=refusal.code)  # fmt: skip
                changed = True
        session.add(found)
        client = session.get(OidcClient, found.client_id)
        assert client is not None
        payer = payer_for(session, user, sponsor=found.sponsor_organisation_id)
        account = peek_account(session, payer.account_id, kind=payer.kind, label=payer.label,
                               now=now)  # fmt: skip
        price = quote(session, account, SIGNATURE_PRODUCTS[LEVEL], purpose=None, now=now).amount
        session.expunge(account)
    if changed:
        portal_webhook.deliver_later(services, found.id)
    count = len(requests.documents_of(found))
    sponsored = found.sponsor_organisation_id is not None
    return CitizenView(found, client.name, price * count, payer.label if sponsored else "",
                       sponsored, refusal)  # fmt: skip


def _why_not(
    services: Services, session: Session, user: User, now: datetime
) -> IdentityError | None:
    if user.identity_level < 2:
        return LevelTooLow("your identity is not proofed yet: a registration officer checks it")
    try:
        services.identity.credentials.signing_credential(session, user, None, now)
    except FINAL_FAILURES as exc:
        return exc
    except CredentialNotFound:
        return None  # the citizen can make one and come back
    return None


@dataclass(frozen=True, kw_only=True)
class SignAll:
    user: User
    request_id: str
    pin: str
    otp: str | None = None
    documents: list[Path]
    """The kept PDFs, in the request's order (the adapter finds them)."""
    page: int | None = None
    """Where the stamp goes on the first document (its default corner without)."""
    rect: str | None = None
    language: str = "vi"


def _open(services: Services, user: User, request_id: str) -> SigningRequest:
    """The request, still pending; an overdue one expires now (``SigningRequestClosed``)."""
    with services.unit_of_work() as session:
        found = requests.for_citizen(session, user.id, request_id)
        if requests.lapse_if_due(found, services.clock()):
            session.add(found)
            lapsed = True
        else:
            lapsed = False
    if lapsed:
        portal_webhook.deliver_later(services, found.id)
    if found.state != SigningRequestState.PENDING.value:
        raise SigningRequestClosed(f"this signing request is {found.state}", state=found.state)
    return found


def sign_all(services: Services, command: SignAll, work: Path) -> SigningRequest:
    """Every document signed (and charged to the request's payer) through the sign-and-charge
    use case, each under its own idempotency key: a second press signs nothing more."""
    from api.usecases import sign_document  # pyHanko: not imported by the command line's start

    found = _open(services, command.user, command.request_id)
    documents = requests.documents_of(found)
    if len(command.documents) != len(documents):
        raise SigningRequestNotFound("the request's documents are no longer kept")
    signed: list[str] = []
    try:
        for number, (path, document) in enumerate(zip(command.documents, documents, strict=True)):
            first = number == 0 and command.rect is not None
            sign = sign_document.SignDocument(
                pin=command.pin, otp=command.otp, level=LEVEL, reason=found.purpose[:200],
                page=command.page if first else None, rect=command.rect if first else None,
                language=command.language, idempotency_key=f"request-{found.id}-{number}",
                filename=document["filename"], sponsor=found.sponsor_organisation_id,
            )  # fmt: skip
            with path.open("rb") as stream, upload_folder(work) as folder:
                received = receive(stream, folder / "upload.pdf")
                done = sign_document.sign(services, command.user, sign, received,
                                          folder / "signed.pdf")  # fmt: skip
            signed.append(done.record.id)
    except FINAL_FAILURES as exc:
        _finish(services, found, SigningRequestState.FAILED, reason=exc.code)
        raise
    return _finish(services, found, SigningRequestState.SIGNED, signature_ids=signed)


def decline(services: Services, user: User, request_id: str) -> SigningRequest:
    """Nothing signed, nothing charged; the portal hears of it."""
    return _finish(services, _open(services, user, request_id), SigningRequestState.DECLINED)


def _finish(
    services: Services,
    found: SigningRequest,
    state: SigningRequestState,
    *,
    reason: str | None = None,
    signature_ids: list[str] | None = None,
) -> SigningRequest:
    with services.unit_of_work() as session:
        current = session.get(SigningRequest, found.id, with_for_update=True)
        assert current is not None
        requests.close(session, current, state, now=services.clock(), reason=reason,
                       signature_ids=signature_ids)  # fmt: skip
    portal_webhook.deliver_later(services, current.id)
    return current


@dataclass(frozen=True, kw_only=True)
class ConfigurePortal:
    """An administrator makes a relying party a portal: it may ask for signatures, an
    organisation pays for the ones it sponsors, its webhooks go to these URLs."""

    client_id: str
    signing_requests: bool = True
    payer_organisation_id: str | None = None
    webhook_urls: list[str]
    actor: str


def configure_portal(services: Services, command: ConfigurePortal) -> OidcClient:
    with services.unit_of_work() as session:
        return requests.configure_portal(
            session, command.client_id, signing_requests=command.signing_requests,
            payer_organisation_id=command.payer_organisation_id,
            webhook_urls=command.webhook_urls, now=services.clock(), actor=command.actor,
        )  # fmt: skip


def lapse_overdue(services: Services) -> int:
    """Housekeeping: pending requests past their expiry become expired (their portals get the
    webhook), and decided ones whose webhook was never tried (a process that stopped) are sent."""
    now = services.clock()
    with services.unit_of_work() as session:
        overdue = requests.overdue(session, now)
        for found in overdue:
            requests.lapse_if_due(found, now)
            session.add(found)
        untried = [r.id for r in requests.webhooks_untried(session, now)]
    for request_id in [r.id for r in overdue] + untried:
        portal_webhook.deliver_later(services, request_id)
    return len(overdue)
