"""Sign hashes for a remote-signing client (CSC ``signatures/signHash``) and charge each.

One transaction: the SAD checked and spent, the batch priced and covered as a whole before
anything is signed, each hash signed and charged (product ``signature.hash``), and the attempt
keyed by the SAD recorded as charged with the signatures it returned. A repeat of the same
request (the same SAD, credential, algorithm and hashes) while the SAD lives (a client whose
answer was lost) gets the same signatures and is not charged again; any other use of a spent
SAD is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from sqlmodel import Session

from api.usecases.authorise import remote_credential
from api.usecases.payer import lock_payer
from api.usecases.services import Services
from billing.accounts import locked_account
from billing.charges import Payer, available_funds, charge, quote, refuse_unless_covered
from billing.models import UsageEvent
from certs.keys import KeyAlgorithm
from identity.audit import record_audit
from identity.errors import AuthorisationInvalid, CredentialLocked, CredentialUnusable
from identity.models import Credential, CredentialStatus, User
from signing import attempts
from signing.errors import InvalidOption
from signing.models import AttemptState, SigningAttempt

__all__ = ["SIGN_ALGORITHMS", "SignHashes", "sign_hashes"]

PRODUCT = "signature.hash"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
RSA_SHA256 = "1.2.840.113549.1.1.11"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
SIGN_ALGORITHMS = {
    KeyAlgorithm.ECDSA_P256: (ECDSA_SHA256,),
    KeyAlgorithm.RSA_3072: (RSA_SHA256, RSA_ENCRYPTION),
}
"""Signature algorithms (OIDs) each kind of key signs hashes with: ECDSA values DER-encoded,
RSA PKCS#1 v1.5 over SHA-256."""


@dataclass(frozen=True, kw_only=True)
class SignHashes:
    user: User
    credential_id: str
    sad: str
    hashes: tuple[bytes, ...]
    """SHA-256 digests, each one signature."""
    sign_algo: str
    """The signature algorithm's OID."""

    def fingerprint(self) -> str:
        """What makes a repeat the same request."""
        fields = [self.credential_id, self.sign_algo, [h.hex() for h in self.hashes]]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def sign_hashes(services: Services, command: SignHashes) -> list[bytes]:
    """The signature values, one per hash, in order."""
    now = services.clock()
    identity = services.identity
    with services.unit_of_work() as session:
        user = session.get(User, command.user.id)
        assert user is not None
        payer = lock_payer(session, user, now)  # the account first, then the credential
        claim = _claim(services, session, user, payer, command, now)
        if claim.replay:  # the answer this client lost: the same signatures, no new charge
            assert claim.attempt.result is not None
            return [base64.b64decode(v) for v in json.loads(claim.attempt.result)]
        _refuse_uncovered_batch(session, payer, len(command.hashes), now)
        credential = _signing_credential(session, user, command)
        row, key = identity.authoriser.consume(
            session, command.sad, credential_id=credential.id, hashes=list(command.hashes),
            now=now, require_bound=True,
        )  # fmt: skip
        identity.credentials.confirm_signing(session, credential.id, now)
        signatures = [key.sign_digest(digest, hashes.SHA256()) for digest in command.hashes]
        events = [
            charge(session, payer, PRODUCT, now=now, reference=digest.hex()[:80],
                   idempotency_key=f"csc:{row.id}:{index}")
            for index, digest in enumerate(command.hashes)
        ]  # fmt: skip
        _charged(session, claim.attempt, events, signatures, now)
        record_audit(session, at=now, actor=f"user:{user.id}", action="signature.hash",
                     target=row.id, credential_id=credential.id,
                     hashes=len(command.hashes))  # fmt: skip
        return signatures


def _claim(
    services: Services, session: Session, user: User, payer: Payer, command: SignHashes,
    now: datetime,
) -> attempts.Claim:  # fmt: skip
    """The attempt keyed by the SAD (which must still live): a fresh one, or the one whose
    result a repeat of the same request gets; another request under a spent SAD is refused."""
    remote_credential(session, user, command.credential_id)
    issued = services.identity.authoriser.issued(
        session, command.sad, credential_id=command.credential_id, now=now
    )
    key, fingerprint = f"csc:{issued.id}", command.fingerprint()
    earlier = attempts.find(session, user_id=user.id, idempotency_key=key)
    if earlier is not None and earlier.request_sha256 != fingerprint:
        raise AuthorisationInvalid("this signature authorisation was used already")
    lease_for = timedelta(seconds=services.runtime.settings.hold_seconds)
    return attempts.claim(session, user_id=user.id, account_id=payer.account_id,
                          idempotency_key=key, request_sha256=fingerprint, kind="hashes",
                          now=now, lease_for=lease_for)  # fmt: skip


def _signing_credential(session: Session, user: User, command: SignHashes) -> Credential:
    """The credential, locked, able to sign with the asked algorithm."""
    credential = remote_credential(session, user, command.credential_id, lock=True)
    if credential.status == CredentialStatus.LOCKED.value:
        raise CredentialLocked(f"the credential is {credential.status}",
                               credential_id=credential.id)  # fmt: skip
    if credential.status != CredentialStatus.ACTIVE.value:
        raise CredentialUnusable(f"the credential is {credential.status}",
                                 credential_id=credential.id)  # fmt: skip
    if command.sign_algo not in SIGN_ALGORITHMS[KeyAlgorithm(credential.key_algorithm)]:
        raise InvalidOption("Invalid parameter signAlgo for this key")
    return credential


def _refuse_uncovered_batch(session: Session, payer: Payer, count: int, now: datetime) -> None:
    """The whole batch is priced before any signing; refused whole when not covered."""
    account = locked_account(session, payer.account_id)
    one = quote(session, account, PRODUCT, purpose=None, now=now)
    refuse_unless_covered(one.amount * count, available_funds(session, account, now), account)


def _charged(
    session: Session, attempt: SigningAttempt, events: list[UsageEvent],
    signatures: list[bytes], now: datetime,
) -> None:  # fmt: skip
    """The attempt, charged in the same transaction, keeps what it returned."""
    attempt.units = len(events)
    attempt.wallet_amount = sum(e.amount for e in events)
    attempt.allowance_units = sum(e.funding == "allowance" for e in events)
    attempt.pack_units = sum(bool(e.funding and e.funding.startswith("pack:")) for e in events)
    attempt.quota_units = sum(e.funding == "quota" for e in events)
    session.add(attempt)
    values = json.dumps([base64.b64encode(value).decode() for value in signatures])
    attempts.finish(
        session, attempt.id, attempt.lease, AttemptState.CHARGED, now=now, result=values
    )
