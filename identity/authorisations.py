"""Signature authorisation (SAD): short-lived, single-use, bound to a credential and hashes.

Made from the PIN (and the one-time code when enrolled): the key is re-sealed under a random
secret that only the caller receives, inside the token. The service keeps the sealed copy and a
hash of the secret, so it can sign later only when the caller presents the token, once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from certs.errors import WrongSecret
from certs.keys import SigningKey
from identity.audit import record_audit
from identity.credentials import CredentialService
from identity.errors import AuthorisationInvalid, InvalidField
from identity.models import Credential, SignatureAuthorisation, User
from identity.otp import OneTimeCodes

__all__ = ["MAX_AGE", "MAX_BATCH", "IssuedAuthorisation", "SignatureAuthoriser"]

MAX_BATCH = 100
"""Most signatures one authorisation may cover."""
MAX_AGE = timedelta(minutes=30)
"""However often it is extended, an authorisation ends this long after it was issued."""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class IssuedAuthorisation:
    token: str
    """``<id>.<secret>``: give it back to sign; it is never stored."""
    authorisation: SignatureAuthorisation
    expires_in: int


def _secret_of(token: str) -> bytes:
    encoded = token.partition(".")[2]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        raise AuthorisationInvalid("the signature authorisation is malformed") from None


def _secret_hash(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


class SignatureAuthoriser:
    def __init__(
        self,
        credentials: CredentialService,
        codes: OneTimeCodes,
        *,
        lifetime: timedelta = timedelta(minutes=5),
    ) -> None:
        self._credentials = credentials
        self._codes = codes
        self._lifetime = lifetime

    def authorise(
        self,
        session: Session,
        user: User,
        *,
        credential_id: str,
        pin: str,
        otp: str | None,
        hashes: list[bytes] | None,
        count: int | None,
        now: datetime,
    ) -> IssuedAuthorisation:
        """Check PIN (and one-time code), then bind a new authorisation to these hashes."""
        if hashes:
            allowed, number = [h.hex() for h in hashes], len(hashes)
        else:
            allowed, number = [], count or 1
        if not 1 <= number <= MAX_BATCH or len(set(allowed)) != len(allowed):
            raise InvalidField({"hashes": f"1 to {MAX_BATCH} distinct hashes (or a count)"})
        credential = self._credentials.get_own(session, user, credential_id)
        self._codes.require(session, user, otp, now, action="authorisation")
        secret = secrets.token_bytes(32)
        sealed = self._credentials.rewrap_with_pin(
            session, user, credential, pin, secret, now, random_secret=True
        )
        row = SignatureAuthorisation(
            credential_id=credential.id,
            user_id=user.id,
            secret_hash=_secret_hash(secret),
            sealed_key=sealed,
            hashes=json.dumps(allowed),
            max_signatures=number,
            created_at=now,
            expires_at=now + self._lifetime,
        )
        session.add(row)
        session.flush()
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="authorisation.create",
            target=row.id,
            credential_id=credential.id,
            signatures=number,
        )
        token = f"{row.id}.{base64.urlsafe_b64encode(secret).decode().rstrip('=')}"
        return IssuedAuthorisation(token, row, int(self._lifetime.total_seconds()))

    def consume(
        self,
        session: Session,
        token: str,
        *,
        credential_id: str,
        hashes: list[bytes] | None,
        count: int = 1,
        now: datetime,
        require_bound: bool = False,
    ) -> tuple[SignatureAuthorisation, SigningKey]:
        """Spend the authorisation for these hashes (or ``count`` documents): it cannot be used
        again. ``AuthorisationInvalid`` for a wrong, used, expired or foreign one."""
        row = self._usable(session, token, credential_id=credential_id, now=now)
        secret = _secret_of(token)
        allowed = json.loads(row.hashes)
        if require_bound and not allowed:
            raise AuthorisationInvalid(
                "this authorisation is not bound to hashes (SCAL 2 needs it)"
            )
        if allowed:
            wanted = [h.hex() for h in hashes or []]
            if not wanted or not set(wanted) <= set(allowed) or len(set(wanted)) != len(wanted):
                raise AuthorisationInvalid("these hashes were not authorised")
            number = len(wanted)
        else:
            number = count
            if hashes and len(hashes) != count:
                number = len(hashes)
        if number > row.max_signatures:
            raise AuthorisationInvalid(
                f"the authorisation covers {row.max_signatures} signatures, not {number}"
            )
        credential = session.get(Credential, row.credential_id)
        if credential is None or credential.status != "active" or row.sealed_key is None:
            raise AuthorisationInvalid("the credential can no longer sign")
        try:
            key = self._credentials.open_with_secret(credential, row.sealed_key, secret)
        except WrongSecret:
            raise AuthorisationInvalid("unknown signature authorisation") from None
        row.used_signatures = number
        row.sealed_key = None  # single use: the re-sealed key is gone
        session.add(row)
        session.flush()
        return row, key

    def spend_one(
        self, session: Session, token: str, *, credential_id: str, now: datetime
    ) -> tuple[SignatureAuthorisation, SigningKey]:
        """One document of a batch authorised by count (the REST API's signing): each call
        spends one of ``max_signatures``, and the re-sealed key is gone with the last one. A
        spent use is not given back if the signing then fails (as a PIN try is not)."""
        row = self._usable(session, token, credential_id=credential_id, now=now, batch=True)
        if json.loads(row.hashes):
            raise AuthorisationInvalid(
                "this authorisation is bound to hashes: spend it through the CSC API"
            )
        credential = session.get(Credential, row.credential_id)
        if credential is None or credential.status != "active" or row.sealed_key is None:
            raise AuthorisationInvalid("the credential can no longer sign")
        try:
            key = self._credentials.open_with_secret(credential, row.sealed_key, _secret_of(token))
        except WrongSecret:
            raise AuthorisationInvalid("unknown signature authorisation") from None
        row.used_signatures += 1
        if row.used_signatures >= row.max_signatures:
            row.sealed_key = None
        session.add(row)
        session.flush()
        return row, key

    def issued(
        self, session: Session, token: str, *, credential_id: str, now: datetime
    ) -> SignatureAuthorisation:
        """The authorisation ``token`` names, checked as :meth:`consume` checks it but for its
        use: a repeat of a request it served is answered with that request's result while it
        lives. ``AuthorisationInvalid`` for a wrong, expired or foreign one."""
        return self._checked(session, token, credential_id=credential_id, now=now, lock=False)

    def extend(self, session: Session, token: str, *, credential_id: str, now: datetime) -> int:
        """A fresh lifetime for an unused authorisation (CSC ``extendTransaction``); the
        seconds it now has. ``AuthorisationInvalid`` as for :meth:`consume`."""
        row = self._usable(session, token, credential_id=credential_id, now=now)
        credential = session.get(Credential, row.credential_id)
        if credential is None or credential.status != "active":
            raise AuthorisationInvalid("the credential can no longer sign")
        latest = row.created_at + MAX_AGE
        if now + self._lifetime > latest and row.expires_at >= latest:
            raise AuthorisationInvalid("this signature authorisation cannot be extended further")
        row.expires_at = min(now + self._lifetime, latest)
        session.add(row)
        session.flush()
        return int((row.expires_at - now).total_seconds())

    def _checked(
        self, session: Session, token: str, *, credential_id: str, now: datetime, lock: bool
    ) -> SignatureAuthorisation:
        row_id = token.partition(".")[0]
        if not _UUID.fullmatch(row_id):
            raise AuthorisationInvalid("the signature authorisation is malformed")
        secret = _secret_of(token)
        row = session.get(SignatureAuthorisation, row_id, with_for_update=lock)
        if row is None or not hmac.compare_digest(row.secret_hash, _secret_hash(secret)):
            raise AuthorisationInvalid("unknown signature authorisation")
        if row.expires_at <= now:
            raise AuthorisationInvalid("this signature authorisation has expired")
        if row.credential_id != credential_id:
            raise AuthorisationInvalid("this authorisation is for another credential")
        return row

    def _usable(
        self, session: Session, token: str, *, credential_id: str, now: datetime,
        batch: bool = False,
    ) -> SignatureAuthorisation:  # fmt: skip
        row = self._checked(session, token, credential_id=credential_id, now=now, lock=True)
        if row.sealed_key is None or (row.used_signatures and not batch):
            raise AuthorisationInvalid("this signature authorisation was used already")
        return row
