"""The webhook a portal gets when its signing request is signed, declined, expires or fails:
a compact JWS (ES256, ``kid`` in its header) signed with the key that signs ID tokens, so the
portal checks it against kyso's JWKS (``/oidc/jwks``). Sent after the decision's commit, on a
thread of its own (the citizen never waits for the portal), a bounded number of times."""

from __future__ import annotations

import logging
import threading
import time

import httpx

from api.usecases.services import Services
from identity import signing_requests as requests
from identity.models import SigningRequest
from identity.tokens import epoch

__all__ = ["MAX_TRIES", "claims", "deliver", "deliver_later"]

logger = logging.getLogger("kyso.webhook")

MAX_TRIES = 4
"""Posts of one webhook at most (waiting 1, 2, 4 s between them)."""
TIMEOUT_SECONDS = 5.0
MEDIA_TYPE = "application/jose"


def claims(services: Services, found: SigningRequest) -> dict[str, object]:
    """What the webhook says: the request, its state, where its signed PDFs are, and when."""
    base = services.runtime.urls.base
    count = len(requests.signature_ids_of(found))
    body: dict[str, object] = {
        "iss": base,
        "aud": found.client_id,
        "id": found.id,
        "status": found.state,
        "documents": [
            f"{base}/v1/signing-requests/{found.id}/documents/{n}" for n in range(1, count + 1)
        ],
        "time": epoch(services.clock()),
    }
    if found.reason:
        body["reason"] = found.reason
    return body


def deliver(services: Services, request_id: str, *, pause: float = 1.0) -> bool:
    """Post the webhook until the portal answers 2xx or the tries run out (True: delivered)."""
    with services.unit_of_work() as session:
        found = session.get(SigningRequest, request_id)
        if found is None or not found.webhook_url or found.webhook_delivered_at is not None:
            return False
        url = found.webhook_url
        token = services.identity.tokens.sign_claims(
            session, claims(services, found), algorithm="ES256", now=services.clock()
        )
    for attempt in range(MAX_TRIES):
        if attempt:
            time.sleep(pause * 2 ** (attempt - 1))
        try:
            answer = httpx.post(url, content=token, headers={"Content-Type": MEDIA_TYPE},
                                timeout=TIMEOUT_SECONDS)  # fmt: skip
            delivered = answer.is_success
        except httpx.HTTPError:
            delivered = False
        with services.unit_of_work() as session:
            row = session.get(SigningRequest, request_id)
            assert row is not None
            row.webhook_attempts += 1
            if delivered:
                row.webhook_delivered_at = services.clock()
            session.add(row)
        if delivered:
            return True
    logger.warning("webhook of signing request %s not delivered", request_id)
    return False


def deliver_later(services: Services, request_id: str) -> None:
    """:func:`deliver` on a thread of its own: the caller answers at once."""

    def run() -> None:
        try:
            deliver(services, request_id)
        except Exception:  # a thread's failure is logged, never raised into nowhere
            logger.exception("webhook of signing request %s failed", request_id)

    threading.Thread(target=run, name=f"webhook-{request_id}", daemon=True).start()
