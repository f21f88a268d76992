"""Signing credentials under the citizen's sole control: PIN, PUK, lock, renewal, revocation.

The key is generated in the service and sealed twice through ``certs.protected_keys``: under
master key + PIN, and under master key + PUK (shown once). The PIN and PUK are never stored.
Five wrong PINs lock the credential, as on a smart card. See ``certs/protected_keys.py`` for what
this protects against and what it does not.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import case, update
from sqlmodel import Session, col, select

from certs.authority import Authority
from certs.crl import CrlPolicy, publish_crl
from certs.errors import AlreadyRevoked, WrongSecret
from certs.issuance import DEFAULT_LIFETIME, issue_signing_certificate, public_key_from_csr
from certs.keys import KeyAlgorithm, SigningKey
from certs.profiles import PkiUrls, SignerSubject
from certs.protected_keys import ProtectedKeyVault
from certs.revocation import (
    DatabaseRevocationSource,
    RevocationReason,
    Status,
    parse_serial,
    revoke,
)
from identity.audit import record_audit, record_ca_key_use, record_key_generation
from identity.errors import (
    AlreadyExists,
    CredentialLocked,
    CredentialNotFound,
    CredentialUnusable,
    InvalidField,
    LevelTooLow,
    PinAttemptsBusy,
    WrongPin,
    WrongPuk,
)
from identity.models import Credential, CredentialStatus, User, new_id
from identity.throttles import PUK_THROTTLE, throttle_row

__all__ = ["PIN_ATTEMPTS", "CredentialService", "NewCredential", "Revoked", "pin_problems"]

_FLIGHT_TTL = timedelta(minutes=1)


def _fresh(flight_at: datetime | None, now: datetime) -> bool:
    """Whether PIN checks marked in flight at ``flight_at`` may still be running."""
    return flight_at is not None and flight_at > now - _FLIGHT_TTL


def _locked(credential_id: str) -> CredentialLocked:
    """The one answer of a locked credential, whatever PIN was given and on whatever path."""
    return CredentialLocked(
        "the PIN was entered wrongly too often: unlock with your PUK, or reset",
        credential_id=credential_id,
    )


PIN_ATTEMPTS = 5
CITIZEN_REVOCATION_REASONS = (
    RevocationReason.KEY_COMPROMISE,
    RevocationReason.CESSATION_OF_OPERATION,
    RevocationReason.UNSPECIFIED,
)


def pin_problems(pin: str, user: User) -> str | None:
    """Why a PIN is refused: 6-8 digits, no repeated digit, no run, not the birth date."""
    if not (pin.isascii() and pin.isdigit() and 6 <= len(pin) <= 8):
        return "the PIN must be 6 to 8 digits"
    if len(set(pin)) == 1:
        return "the PIN must not repeat one digit"
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        return "the PIN must not be a run of digits such as 123456"
    if len(set(pin)) <= 2:
        return "the PIN is too easy to guess"
    if user.date_of_birth is not None:
        dob = user.date_of_birth
        births = {f"{dob:%d%m%y}", f"{dob:%d%m%Y}", f"{dob:%Y%m%d}", f"{dob:%y%m%d}"}
        if pin in births:
            return "the PIN must not be your date of birth"
    return None


def _new_puk() -> str:
    raw = secrets.token_hex(8).upper()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _puk_secret(puk: str) -> bytes:
    return puk.replace("-", "").replace(" ", "").upper().encode()


@dataclass(frozen=True)
class Revoked:
    """A certificate revoked, and the CRL that says so."""

    serial: str
    reason: str
    revoked_at: datetime
    crl_number: int


@dataclass(frozen=True)
class NewCredential:
    credential: Credential
    certificate: x509.Certificate
    puk: str | None
    """Shown to the citizen once; None for a key held on the citizen's own token."""


class CredentialService:
    """Issues and guards citizens' signing credentials."""

    def __init__(
        self,
        *,
        vault: ProtectedKeyVault,
        authority: Authority,
        urls: PkiUrls,
        algorithm: KeyAlgorithm,
        crl_policy: CrlPolicy,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self._vault = vault
        self._authority = authority
        self._urls = urls
        self._algorithm = algorithm
        self._crl_policy = crl_policy
        self._lifetime = lifetime

    @staticmethod
    def key_name(credential_id: str) -> str:
        return f"credential-{credential_id}"

    # -- issuance -------------------------------------------------------------------------

    def _require_signer(self, session: Session, user: User) -> SignerSubject:
        if user.identity_level < 2 or not user.cccd:
            raise LevelTooLow(
                "only identities proofed by a registration officer (level 2) may hold a "
                "signing certificate"
            )
        active = session.exec(
            select(Credential)
            .where(Credential.user_id == user.id)
            .where(col(Credential.status).in_([CredentialStatus.ACTIVE, CredentialStatus.LOCKED]))
        ).first()
        if active is not None:
            raise AlreadyExists(
                "you have a signing certificate already: renew it or revoke it first",
                credential_id=active.id,
            )
        # No e-mail in the certificate: proofing checks the CCCD, not the mailbox.
        return SignerSubject(full_name=user.full_name, cccd=user.cccd)

    def _store(
        self,
        session: Session,
        user: User,
        credential_id: str,
        public_key: object,
        sealed: list[bytes] | None,
        now: datetime,
        subject: SignerSubject,
    ) -> tuple[Credential, x509.Certificate]:
        certificate = issue_signing_certificate(
            session,
            issuing_certificate=self._authority.issuing,
            issuing_key=self._authority.issuing_key,
            subject=subject,
            public_key=public_key,  # type: ignore[arg-type]
            urls=self._urls,
            now=now,
            lifetime=self._lifetime,
        )
        credential = Credential(
            id=credential_id,
            user_id=user.id,
            serial=format(certificate.serial_number, "x"),
            certificate=certificate.public_bytes(serialization.Encoding.DER),
            key_source="service" if sealed else "token",
            key_algorithm=self._algorithm.value if sealed else "external",
            sealed_by_pin=sealed[0] if sealed else None,
            sealed_by_puk=sealed[1] if sealed else None,
            status=CredentialStatus.ACTIVE.value,
            created_at=now,
            not_after=certificate.not_valid_after_utc,
        )
        session.add(credential)
        session.flush()
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="certificate.issue",
            target=credential.serial,
            credential_id=credential.id,
            key_source=credential.key_source,
        )
        record_ca_key_use(
            session,
            at=now,
            actor=f"user:{user.id}",
            key_id=self._authority.issuing_key.key_id,
            purpose="certificate",
            target=credential.serial,
        )
        return credential, certificate

    def create(self, session: Session, user: User, pin: str, now: datetime) -> NewCredential:
        """Generate a key in the service under the PIN (and a new PUK) and certify it."""
        subject = self._require_signer(session, user)
        if problem := pin_problems(pin, user):
            raise InvalidField({"pin": problem})
        credential_id, puk = new_id(), _new_puk()
        public_key, sealed = self._vault.generate(
            self.key_name(credential_id), self._algorithm, [pin.encode(), _puk_secret(puk)]
        )
        record_key_generation(
            session,
            at=now,
            actor=f"user:{user.id}",
            key_id=self.key_name(credential_id),
            purpose="citizen signing key",
            algorithm=self._algorithm.value,
            key_store=self._vault.custody,
        )
        credential, certificate = self._store(
            session, user, credential_id, public_key, sealed, now, subject
        )
        return NewCredential(credential, certificate, puk)

    def create_from_csr(
        self, session: Session, user: User, csr: bytes, now: datetime
    ) -> NewCredential:
        """Certify a key the citizen holds on a token (nothing is sealed here)."""
        subject = self._require_signer(session, user)
        public_key = public_key_from_csr(csr)
        credential, certificate = self._store(
            session, user, new_id(), public_key, None, now, subject
        )
        return NewCredential(credential, certificate, None)

    # -- use ------------------------------------------------------------------------------

    def get_own(
        self, session: Session, user: User, credential_id: str, *, lock: bool = True
    ) -> Credential:
        """The caller's credential, row-locked for the transaction unless ``lock=False``."""
        credential = session.get(
            Credential, credential_id, with_for_update=lock, populate_existing=lock
        )  # the locked row's values, not a stale copy
        if credential is None or credential.user_id != user.id:
            raise CredentialNotFound("no such signing credential")
        return credential

    def list_own(self, session: Session, user: User) -> list[Credential]:
        return list(
            session.exec(
                select(Credential)
                .where(Credential.user_id == user.id)
                .order_by(col(Credential.created_at).desc())
            )
        )

    def _check_usable(self, credential: Credential, now: datetime, session: Session) -> None:
        if credential.status == CredentialStatus.LOCKED.value:
            raise _locked(credential.id)
        if credential.status != CredentialStatus.ACTIVE.value or credential.not_after <= now:
            raise CredentialUnusable(
                f"this signing certificate is {credential.status} and can no longer sign",
                credential_id=credential.id,
            )
        if credential.sealed_by_pin is None:
            raise CredentialUnusable(
                "this certificate's key is on your own token: sign with the token",
                credential_id=credential.id,
            )
        status = DatabaseRevocationSource(session).status(int(credential.serial, 16))
        if status.status is not Status.GOOD:
            raise CredentialUnusable(
                f"this signing certificate is {status.status.value} and can no longer sign",
                credential_id=credential.id,
            )

    def _wrong_pin(
        self,
        session: Session,
        credential: Credential,
        user: User,
        now: datetime,
        *,
        counted: bool = False,
    ) -> None:
        if not counted:
            credential.failed_pin_attempts += 1
        left = PIN_ATTEMPTS - credential.failed_pin_attempts
        if left <= 0:
            credential.status = CredentialStatus.LOCKED.value
        session.add(credential)
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="credential.wrong_pin",
            target=credential.id,
            attempts_left=max(left, 0),
        )
        if left <= 0:
            record_audit(
                session,
                at=now,
                actor=f"user:{user.id}",
                action="credential.lock",
                target=credential.id,
            )
            session.flush()
            raise _locked(credential.id)
        session.flush()
        tries = "1 attempt" if left == 1 else f"{left} attempts"
        raise WrongPin(f"wrong PIN: {tries} left before the credential locks", attempts_left=left)

    def rewrap_with_pin(
        self,
        session: Session,
        user: User,
        credential: Credential,
        pin: str,
        new_secret: bytes,
        now: datetime,
        *,
        random_secret: bool,
    ) -> bytes:
        """The key re-sealed under ``new_secret``, after checking the PIN (counted). The
        caller holds the credential's row lock, so no attempt is spent meanwhile; attempts
        still being checked by parallel signatures count as spent (``PinAttemptsBusy``)."""
        self._check_usable(credential, now, session)
        in_flight = credential.pins_in_flight if _fresh(credential.pin_flight_at, now) else 0
        if credential.failed_pin_attempts + in_flight >= PIN_ATTEMPTS:
            raise PinAttemptsBusy(
                "other signatures with this credential are checking their PIN; try again",
                credential_id=credential.id,
            )
        assert credential.sealed_by_pin is not None
        try:
            sealed = self._vault.rewrap(
                self.key_name(credential.id),
                credential.sealed_by_pin,
                pin.encode(),
                new_secret,
                random_secret=random_secret,
            )
        except WrongSecret:
            self._wrong_pin(session, credential, user, now)
            raise  # unreachable: _wrong_pin raises
        if credential.failed_pin_attempts:
            credential.failed_pin_attempts = 0
            session.add(credential)
        return sealed

    def signing_credential(
        self, session: Session, user: User, credential_id: str | None, now: datetime
    ) -> Credential:
        """The credential to sign with (the given one, or the newest active one), checked usable
        and not revoked in the CA's own records."""
        credential: Credential | None
        if credential_id:
            credential = self.get_own(session, user, credential_id, lock=False)
        else:
            credential = session.exec(
                select(Credential)
                .where(Credential.user_id == user.id)
                .where(Credential.key_source == "service")
                .where(
                    col(Credential.status).in_(
                        [CredentialStatus.ACTIVE.value, CredentialStatus.LOCKED.value]
                    )
                )
                .order_by(col(Credential.created_at).desc())
            ).first()
            if credential is None:
                latest = session.exec(
                    select(Credential)
                    .where(Credential.user_id == user.id)
                    .order_by(col(Credential.created_at).desc())
                ).first()
                if latest is not None:
                    raise CredentialUnusable(
                        f"your signing certificate is {latest.status} and can no longer sign: "
                        "create a new one with POST /v1/me/certificate",
                        credential_id=latest.id,
                    )
                raise CredentialNotFound(
                    "you have no signing certificate yet: create one with POST /v1/me/certificate"
                )
        self._check_usable(credential, now, session)
        return credential

    def unlock(self, credential: Credential, pin: str) -> SigningKey:
        """The key of a usable credential, opened with the PIN; ``WrongSecret`` for a wrong one.

        Pure: nothing is written. The caller counts a failure with :meth:`count_wrong_pin`
        in a transaction of its own, so the key is opened without holding a write lock.
        """
        assert credential.sealed_by_pin is not None
        return self._vault.open(
            self.key_name(credential.id), credential.sealed_by_pin, pin.encode()
        )

    def spend_pin_attempt(
        self, session: Session, user: User, credential_id: str, *, now: datetime
    ) -> None:
        """As a smart card does: take one attempt away before the PIN is tried, atomically, so
        parallel guesses cannot outnumber the attempts left (failed ones plus those still being
        checked). ``PinAttemptsBusy`` when only checks in flight hold the rest,
        ``CredentialLocked`` when none is left."""
        fresh = col(Credential.pin_flight_at) > now - _FLIGHT_TTL
        in_flight = case((fresh, col(Credential.pins_in_flight)), else_=0)
        spent = session.execute(
            update(Credential)
            .where(col(Credential.id) == credential_id)
            .where(col(Credential.user_id) == user.id)
            .where(col(Credential.status) == CredentialStatus.ACTIVE.value)
            .where(col(Credential.failed_pin_attempts) + in_flight < PIN_ATTEMPTS)
            .values(pins_in_flight=in_flight + 1, pin_flight_at=now)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            status = session.exec(
                select(Credential.status).where(col(Credential.id) == credential_id)
            ).first()
            if status == CredentialStatus.ACTIVE.value:
                raise PinAttemptsBusy(
                    "other signatures with this credential are checking their PIN; try again",
                    credential_id=credential_id,
                )
            raise _locked(credential_id)

    def settle_pin_attempt(
        self, session: Session, user: User, credential_id: str, *, right: bool, now: datetime
    ) -> None:
        """After :meth:`spend_pin_attempt`: the attempt leaves the flight; a right PIN clears
        the failures, a wrong one is counted (locking at five) and raises ``WrongPin`` or
        ``CredentialLocked``. A wrong PIN among right ones in parallel counts once, no more."""
        credential = self.get_own(session, user, credential_id)
        credential.pins_in_flight = max(credential.pins_in_flight - 1, 0)
        session.add(credential)
        if credential.status == CredentialStatus.LOCKED.value:  # by parallel wrong PINs:
            raise _locked(credential_id)  # a right PIN answers as any other would now
        if right:
            credential.failed_pin_attempts = 0
            return
        self._wrong_pin(session, credential, user, now)

    def release_pin_attempt(self, session: Session, user: User, credential_id: str) -> None:
        """After :meth:`spend_pin_attempt`, when the PIN could not be checked at all (the key
        token was unavailable): the attempt leaves the flight, counted neither way."""
        credential = self.get_own(session, user, credential_id)
        credential.pins_in_flight = max(credential.pins_in_flight - 1, 0)
        session.add(credential)

    def confirm_signing(self, session: Session, credential_id: str, now: datetime) -> None:
        """Inside the transaction that records a signature: the credential must still be
        active and unrevoked (it may have changed while signing)."""
        credential = session.get(
            Credential, credential_id, with_for_update=True, populate_existing=True
        )
        if credential is not None and credential.status == CredentialStatus.LOCKED.value:
            raise _locked(credential_id)
        if credential is None or credential.status != CredentialStatus.ACTIVE.value:
            raise CredentialUnusable("the signing certificate ended meanwhile")
        status = DatabaseRevocationSource(session).status(int(credential.serial, 16))
        if status.status is not Status.GOOD:
            raise CredentialUnusable(f"the signing certificate is {status.status.value}")
        # The failures are not cleared here: the right PIN cleared them when it was checked,
        # and those counted since belong to other requests (clearing them again would give a
        # guesser racing the owner more tries than five).

    def open_with_secret(self, credential: Credential, sealed: bytes, secret: bytes) -> SigningKey:
        return self._vault.open(self.key_name(credential.id), sealed, secret)

    # -- PIN management -------------------------------------------------------------------

    def change_pin(
        self,
        session: Session,
        user: User,
        credential_id: str,
        old_pin: str,
        new_pin: str,
        now: datetime,
    ) -> Credential:
        credential = self.get_own(session, user, credential_id)
        if problem := pin_problems(new_pin, user):
            raise InvalidField({"new_pin": problem})
        credential.sealed_by_pin = self.rewrap_with_pin(
            session, user, credential, old_pin, new_pin.encode(), now, random_secret=False
        )
        session.add(credential)
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="credential.pin_change",
            target=credential.id,
        )
        return credential

    def unlock_with_puk(
        self,
        session: Session,
        user: User,
        credential_id: str,
        puk: str,
        new_pin: str,
        now: datetime,
    ) -> Credential:
        credential = self.get_own(session, user, credential_id)
        if credential.status not in (CredentialStatus.ACTIVE.value, CredentialStatus.LOCKED.value):
            raise CredentialUnusable(f"this credential is {credential.status}")
        if problem := pin_problems(new_pin, user):
            raise InvalidField({"new_pin": problem})
        if credential.sealed_by_puk is None:
            raise CredentialUnusable("this certificate's key is on your own token")
        wrong_puks = throttle_row(session, f"kyso-puk:{user.id}")
        PUK_THROTTLE.check(wrong_puks, now)
        try:
            credential.sealed_by_pin = self._vault.rewrap(
                self.key_name(credential.id),
                credential.sealed_by_puk,
                _puk_secret(puk),
                new_pin.encode(),
                random_secret=False,
            )
        except WrongSecret:
            record_audit(
                session,
                at=now,
                actor=f"user:{user.id}",
                action="credential.wrong_puk",
                target=credential.id,
            )
            PUK_THROTTLE.failed(wrong_puks, now)
            session.add(wrong_puks)
            session.flush()
            raise WrongPuk("wrong PUK") from None
        credential.status = CredentialStatus.ACTIVE.value
        credential.failed_pin_attempts = 0
        session.add(credential)
        if wrong_puks.failures:
            PUK_THROTTLE.succeeded(wrong_puks)
            session.add(wrong_puks)
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="credential.unlock",
            target=credential.id,
        )
        return credential

    # -- ending ---------------------------------------------------------------------------

    @staticmethod
    def _close(
        session: Session, credential: Credential, status: CredentialStatus, now: datetime
    ) -> None:
        """The credential ends: its key is destroyed, nothing can open it again."""
        credential.status = status.value
        credential.ended_at = now
        credential.sealed_by_pin = None
        credential.sealed_by_puk = None
        session.add(credential)

    def _publish_crl(self, session: Session, issuer: str, now: datetime, actor: str) -> int:
        """A fresh CRL of ``issuer`` (``root`` or ``issuing``), its use of the CA key
        audited; its number."""
        authority = self._authority
        if issuer == "root":
            certificate, key = authority.root, authority.root_key()
        else:
            certificate, key = authority.issuing, authority.issuing_key
        crl = publish_crl(session, issuer=issuer, issuer_certificate=certificate,
                          issuer_key=key, now=now, policy=self._crl_policy)  # fmt: skip
        record_ca_key_use(session, at=now, actor=actor, key_id=key.key_id, purpose="crl",
                          target=f"{issuer}-crl:{crl.number}")  # fmt: skip
        return crl.number

    def revoke_certificate(
        self, session: Session, serial: str, reason: str, *, actor: str, now: datetime
    ) -> Revoked:
        """Revoke any certificate the CA issued, on an operator's or administrator's
        authority: the CA's record, the citizen's credential for it (ended, its key
        destroyed), a fresh CRL of its issuer and the audit record."""
        parsed = RevocationReason.parse(reason)
        record = revoke(session, parse_serial(serial), parsed, now)
        status = (
            CredentialStatus.SUPERSEDED
            if parsed is RevocationReason.SUPERSEDED
            else CredentialStatus.REVOKED
        )
        for credential in session.exec(
            select(Credential).where(Credential.serial == record.serial)
        ):
            self._close(session, credential, status, now)
        number = self._publish_crl(session, record.issuer, now, actor)
        record_audit(session, at=now, actor=actor, action="certificate.revoke",
                     target=record.serial, reason=parsed.value, crl_number=number)  # fmt: skip
        return Revoked(record.serial, parsed.value, now, number)

    def _end(
        self,
        session: Session,
        credential: Credential,
        status: CredentialStatus,
        reason: RevocationReason,
        now: datetime,
        actor: str,
    ) -> None:
        """The citizen ends their own credential (revoked, or superseded by a new one)."""
        self._close(session, credential, status, now)
        try:
            revoke(session, int(credential.serial, 16), reason, now)
        except AlreadyRevoked:  # an operator revoked it at the desk: end the credential only
            return
        number = self._publish_crl(session, "issuing", now, actor)
        record_audit(session, at=now, actor=actor, action="certificate.revoke",
                     target=credential.serial, reason=reason.value, credential_id=credential.id,
                     crl_number=number)  # fmt: skip

    def revoke_own(
        self, session: Session, user: User, credential_id: str, reason: str, now: datetime
    ) -> Credential:
        credential = self.get_own(session, user, credential_id)
        parsed = RevocationReason.parse(reason)
        if parsed not in CITIZEN_REVOCATION_REASONS:
            raise InvalidField({"reason": "keyCompromise, cessationOfOperation or unspecified"})
        if credential.status in (CredentialStatus.REVOKED.value, CredentialStatus.SUPERSEDED.value):
            raise CredentialUnusable(f"this credential is {credential.status} already")
        self._end(session, credential, CredentialStatus.REVOKED, parsed, now, f"user:{user.id}")
        return credential

    def renew(
        self, session: Session, user: User, credential_id: str, pin: str, now: datetime
    ) -> NewCredential:
        """A new key and certificate under the same PIN; the old one is superseded."""
        old = self.get_own(session, user, credential_id)
        self.rewrap_with_pin(
            session, user, old, pin, secrets.token_bytes(32), now, random_secret=True
        )
        self._end(
            session,
            old,
            CredentialStatus.SUPERSEDED,
            RevocationReason.SUPERSEDED,
            now,
            f"user:{user.id}",
        )
        return self.create(session, user, pin, now)

    def reset(
        self, session: Session, user: User, credential_id: str, new_pin: str, now: datetime
    ) -> NewCredential:
        """Without the PUK: the caller re-authenticated the citizen with the second factor.
        The old key is abandoned (revoked as superseded) and a new one made under a new PIN."""
        old = self.get_own(session, user, credential_id)
        if old.status not in (CredentialStatus.ACTIVE.value, CredentialStatus.LOCKED.value):
            raise CredentialUnusable(f"this credential is {old.status} already")
        if problem := pin_problems(new_pin, user):
            raise InvalidField({"new_pin": problem})
        self._end(
            session,
            old,
            CredentialStatus.SUPERSEDED,
            RevocationReason.SUPERSEDED,
            now,
            f"user:{user.id}",
        )
        return self.create(session, user, new_pin, now)
