"""Portal signing requests: a registered portal asks a citizen (its pairwise ``sub`` or a
CCCD) to sign PDFs on kyso's own page, where only the citizen types the PIN. The rules of a
request's life: who may ask, for whom, back to where, who pays, and its states
(pending → signed | declined | expired | failed, each final). No HTTP here."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from identity.audit import record_audit
from identity.errors import (
    AccessDenied,
    InvalidField,
    InvalidToken,
    SigningRequestClosed,
    SigningRequestNotFound,
)
from identity.models import (
    OidcClient,
    OidcToken,
    Organisation,
    Role,
    SigningRequest,
    SigningRequestState,
    User,
)

__all__ = [
    "CITIZEN_PAYS",
    "DEFAULT_LIFETIME",
    "MAX_DOCUMENTS",
    "MAX_LIFETIME",
    "SPONSOR_PAYS",
    "Document",
    "authenticate_portal",
    "close",
    "configure_portal",
    "documents_of",
    "for_citizen",
    "for_portal",
    "lapse_if_due",
    "open_request",
    "overdue",
    "portal_of_organisation",
    "resolve_signer",
    "signature_ids_of",
    "sponsored_signatures",
    "webhooks_untried",
]

CITIZEN_PAYS = "citizen"
SPONSOR_PAYS = "sponsor"
MAX_DOCUMENTS = 5
"""PDFs in one request."""
DEFAULT_LIFETIME = timedelta(days=1)
MAX_LIFETIME = timedelta(days=7)
Document = dict[str, str]
"""``{"draft": id, "filename": name}``: one kept PDF of a request."""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _urls(client: OidcClient) -> tuple[list[str], list[str]]:
    """Its redirect URIs and its allowed webhook URLs."""
    return json.loads(client.redirect_uris), json.loads(client.webhook_urls or "[]")


def _may_ask(client: OidcClient | None) -> OidcClient:
    if client is None or not client.signing_requests:
        raise AccessDenied("this client is not registered as a portal that may ask for signatures")
    return client


def authenticate_portal(session: Session, client_id: str, secret: str) -> OidcClient:
    """A portal by its OpenID Connect client credentials (``client_secret_basic``)."""
    client = session.get(OidcClient, client_id)
    if (
        client is None
        or client.secret_hash is None
        or not hmac.compare_digest(client.secret_hash, _hash(secret))
    ):
        raise InvalidToken("portal authentication failed: send its client_id and client_secret")
    return _may_ask(client)


def portal_of_organisation(session: Session, organisation_id: str | None) -> OidcClient:
    """The portal an organisation's API key asks for (the one it pays for)."""
    found = None
    if organisation_id:
        found = session.exec(
            select(OidcClient)
            .where(OidcClient.payer_organisation_id == organisation_id)
            .where(col(OidcClient.signing_requests).is_(True))
            .order_by(col(OidcClient.created_at))
        ).first()
    return _may_ask(found)


def _check_webhook(url: str) -> str:
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or (parts.scheme == "http" and not local)
    ):
        raise InvalidField({"webhook_url": f"absolute https (http on localhost only): {url!r}"})
    return url


def configure_portal(
    session: Session,
    client_id: str,
    *,
    signing_requests: bool,
    payer_organisation_id: str | None,
    webhook_urls: list[str],
    now: datetime,
    actor: str,
) -> OidcClient:
    """An administrator makes a relying party a portal (or stops it being one)."""
    client = session.get(OidcClient, client_id)
    if client is None:
        raise SigningRequestNotFound(f"no OpenID Connect client {client_id!r}")
    if payer_organisation_id is not None:
        organisation = (
            session.get(Organisation, payer_organisation_id)
            or session.exec(
                select(Organisation).where(Organisation.name == payer_organisation_id)
            ).first()
        )
        if organisation is None:
            raise InvalidField({"payer_organisation": "no such organisation (its id or name)"})
        payer_organisation_id = organisation.id
    client.signing_requests = signing_requests
    client.payer_organisation_id = payer_organisation_id
    client.webhook_urls = json.dumps([_check_webhook(u) for u in dict.fromkeys(webhook_urls)])
    session.add(client)
    record_audit(session, at=now, actor=actor, action="oidc.client_portal", target=client.id,
                 signing_requests=signing_requests,
                 payer_organisation_id=payer_organisation_id)  # fmt: skip
    return client


def resolve_signer(
    session: Session,
    client: OidcClient,
    *,
    sub: str | None,
    cccd: str | None,
    subject: Callable[[OidcClient, str], str],
) -> User:
    """The citizen a request names: a pairwise ``sub`` this portal was given (computed again
    over the citizens who signed in there), or a CCCD."""
    if (sub is None) == (cccd is None):
        raise InvalidField({"signer": "give the citizen's sub (from OpenID Connect) or cccd"})
    user = None
    if cccd is not None:
        user = _citizen_of_cccd(session, cccd.strip())
    else:
        seen = session.exec(
            select(OidcToken.user_id).where(OidcToken.client_id == client.id).distinct()
        ).all()
        for user_id in seen:
            if user_id and hmac.compare_digest(subject(client, user_id), sub or ""):
                user = session.get(User, user_id)
                break
    if user is None or user.role != Role.CITIZEN.value or user.disabled:
        raise InvalidField({"signer": "no citizen with this sub or CCCD"})
    return user


def _citizen_of_cccd(session: Session, cccd: str) -> User | None:
    """The proofed account holding ``cccd``; else the one live account claiming it (not yet
    proofed: its page says so, the request fails with its reason); several claims name none."""
    holder = session.exec(select(User).where(User.cccd == cccd)).first()
    if holder is not None:
        return holder
    claims = session.exec(
        select(User).where(User.claimed_cccd == cccd).where(col(User.disabled).is_(False))
    ).all()
    return claims[0] if len(claims) == 1 else None


def open_request(
    session: Session,
    client: OidcClient,
    user: User,
    *,
    purpose: str,
    return_url: str,
    webhook_url: str | None,
    expires_in: int | None,
    payer: str,
    documents: list[Document],
    now: datetime,
) -> SigningRequest:
    """A pending request, every field checked against what the portal registered."""
    redirects, webhooks = _urls(client)
    errors = {}
    if not purpose.strip() or len(purpose) > 300:
        errors["purpose"] = "say what the citizen signs, in at most 300 characters"
    if return_url not in redirects:
        errors["return_url"] = "must be one of the portal's registered redirect URIs"
    if webhook_url is not None and webhook_url not in webhooks:
        errors["webhook_url"] = "must be one of the portal's allowed webhook URLs"
    if payer not in (CITIZEN_PAYS, SPONSOR_PAYS):
        errors["payer"] = "citizen or sponsor"
    elif payer == SPONSOR_PAYS and client.payer_organisation_id is None:
        errors["payer"] = "this portal has no paying organisation: the citizen pays"
    seconds = int(DEFAULT_LIFETIME.total_seconds()) if expires_in is None else expires_in
    if not 1 <= seconds <= MAX_LIFETIME.total_seconds():
        errors["expires_in"] = "seconds, between 1 and 604800 (seven days)"
    lifetime = timedelta(seconds=min(max(seconds, 1), MAX_LIFETIME.total_seconds()))
    if not 1 <= len(documents) <= MAX_DOCUMENTS:
        errors["file"] = f"one to {MAX_DOCUMENTS} PDF documents"
    if errors:
        raise InvalidField(errors)
    request = SigningRequest(
        client_id=client.id, user_id=user.id, purpose=purpose.strip(), return_url=return_url,
        webhook_url=webhook_url, payer=payer,
        sponsor_organisation_id=client.payer_organisation_id if payer == SPONSOR_PAYS else None,
        documents=json.dumps(documents), created_at=now, expires_at=now + lifetime,
    )  # fmt: skip
    session.add(request)
    session.flush()
    record_audit(session, at=now, actor=f"oidc_client:{client.id}", action="signing_request.open",
                 target=request.id, documents=len(documents), payer=payer)  # fmt: skip
    return request


def for_portal(session: Session, client_id: str, request_id: str) -> SigningRequest:
    found = session.get(SigningRequest, request_id)
    if found is None or found.client_id != client_id:
        raise SigningRequestNotFound("no such signing request for this portal")
    return found


def for_citizen(session: Session, user_id: str, request_id: str) -> SigningRequest:
    found = session.get(SigningRequest, request_id)
    if found is None or found.user_id != user_id:
        raise SigningRequestNotFound("no such signing request for you")
    return found


def lapse_if_due(request: SigningRequest, now: datetime) -> bool:
    """A pending request past its expiry becomes expired (True when it changed now)."""
    if request.state == SigningRequestState.PENDING.value and request.expires_at <= now:
        request.state, request.decided_at = SigningRequestState.EXPIRED.value, request.expires_at
        return True
    return False


def close(
    session: Session,
    request: SigningRequest,
    state: SigningRequestState,
    *,
    now: datetime,
    reason: str | None = None,
    signature_ids: list[str] | None = None,
) -> None:
    """The request's one final state; ``SigningRequestClosed`` when it has one already."""
    if lapse_if_due(request, now) or request.state != SigningRequestState.PENDING.value:
        session.add(request)
        raise SigningRequestClosed(f"this signing request is {request.state}", state=request.state)
    request.state, request.decided_at, request.reason = state.value, now, reason
    if signature_ids is not None:
        request.signature_ids = json.dumps(signature_ids)
    session.add(request)
    record_audit(session, at=now, actor=f"user:{request.user_id}",
                 action=f"signing_request.{state.value}", target=request.id,
                 reason=reason)  # fmt: skip


def documents_of(request: SigningRequest) -> list[Document]:
    documents: list[Document] = json.loads(request.documents)
    return documents


def signature_ids_of(request: SigningRequest) -> list[str]:
    ids: list[str] = json.loads(request.signature_ids)
    return ids


def sponsored_signatures(session: Session, user_id: str) -> dict[str, str]:
    """Signature id → the portal that paid for it, for a citizen's history."""
    rows = session.exec(
        select(SigningRequest, OidcClient)
        .where(SigningRequest.user_id == user_id)
        .where(SigningRequest.payer == SPONSOR_PAYS)
        .where(SigningRequest.state == SigningRequestState.SIGNED.value)
        .where(OidcClient.id == SigningRequest.client_id)
    ).all()
    return {sid: client.name for request, client in rows for sid in signature_ids_of(request)}


def overdue(session: Session, now: datetime) -> list[SigningRequest]:
    """Pending requests past their expiry (locked: one process lapses each)."""
    return list(
        session.exec(
            select(SigningRequest)
            .where(SigningRequest.state == SigningRequestState.PENDING.value)
            .where(col(SigningRequest.expires_at) <= now)
            .with_for_update(skip_locked=True)
            .limit(500)
        )
    )


def webhooks_untried(session: Session, now: datetime) -> list[SigningRequest]:
    """Decided requests with a webhook never tried, decided over a minute ago."""
    return list(
        session.exec(
            select(SigningRequest)
            .where(SigningRequest.state != SigningRequestState.PENDING.value)
            .where(col(SigningRequest.webhook_url).is_not(None))
            .where(SigningRequest.webhook_attempts == 0)
            .where(col(SigningRequest.decided_at) <= now - timedelta(minutes=1))
            .limit(500)
        )
    )
