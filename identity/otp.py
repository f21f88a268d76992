"""TOTP second factor (RFC 6238) with replay protection, and one-time recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlmodel import Session, select

from certs.envelope import open_envelope, seal_envelope
from certs.masterkey import MasterKey
from identity.audit import record_audit
from identity.errors import AuthenticationFailed, OtpRequired
from identity.models import RecoveryCode, User
from identity.throttles import OTP_THROTTLE, throttle_row

__all__ = ["RECOVERY_CODE_COUNT", "OneTimeCodes"]

RECOVERY_CODE_COUNT = 10
_ISSUER = "kyso"


class OneTimeCodes:
    """TOTP secrets sealed under the master key; recovery codes kept as keyed hashes."""

    def __init__(self, master_key: MasterKey) -> None:
        self._master_key = master_key
        self._recovery_key = master_key.derive(b"kyso recovery codes v1")

    def _secret(self, user: User) -> str:
        if user.totp_sealed is None:
            raise ValueError("no second factor enrolled")
        return open_envelope(self._master_key, f"totp:{user.id}", user.totp_sealed).decode()

    def begin_enrolment(self, user: User) -> tuple[str, str]:
        """A fresh secret (kept sealed, not yet enabled) and its otpauth:// URI for an app."""
        secret = pyotp.random_base32()
        user.totp_sealed = seal_envelope(self._master_key, f"totp:{user.id}", secret.encode())
        user.totp_enabled = False
        user.totp_last_step = 0
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=_ISSUER)
        return secret, uri

    def verify(self, user: User, code: str, now: datetime) -> bool:
        """Accept a code of the current, previous or next 30-second step, each step only once."""
        if user.totp_sealed is None or not code.isdigit():
            return False
        totp = pyotp.TOTP(self._secret(user))
        step_now = int(now.timestamp()) // totp.interval
        for step in (step_now - 1, step_now, step_now + 1):
            if step > user.totp_last_step and hmac.compare_digest(totp.generate_otp(step), code):
                user.totp_last_step = step
                return True
        return False

    def _hash(self, code: str) -> str:
        normalised = code.replace("-", "").replace(" ", "").upper()
        return hmac.new(self._recovery_key, normalised.encode(), hashlib.sha256).hexdigest()

    def new_recovery_codes(self, session: Session, user: User) -> list[str]:
        """Replace the user's recovery codes; the plain codes are returned once, never kept."""
        for old in session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
            session.delete(old)
        codes = []
        for _ in range(RECOVERY_CODE_COUNT):
            raw = secrets.token_hex(5).upper()
            codes.append(f"{raw[:5]}-{raw[5:]}")
            session.add(RecoveryCode(user_id=user.id, code_hash=self._hash(raw)))
        session.flush()
        return codes

    def use_recovery_code(self, session: Session, user: User, code: str, now: datetime) -> bool:
        record = session.exec(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user.id)
            .where(RecoveryCode.code_hash == self._hash(code))
        ).first()
        if record is None or record.used_at is not None:
            return False
        record.used_at = now
        session.add(record)
        return True

    def require(
        self, session: Session, user: User, code: str | None, now: datetime, *, action: str
    ) -> None:
        """When the user has a second factor, demand a valid code for ``action`` (under a row
        lock, so a code serves one request only); a failure is audited and raised."""
        session.refresh(user, with_for_update=True)
        if not user.totp_enabled:
            return
        if not code:
            raise OtpRequired("enter the one-time code from your authenticator app")
        confirmed = self.check_second_factor(session, user, code, now)
        session.add(user)
        if not confirmed:
            record_audit(session, at=now, actor=f"user:{user.id}", action=f"{action}.otp_failed",
                         target=user.id)  # fmt: skip
            raise AuthenticationFailed("wrong or already used one-time code")

    def check_second_factor(self, session: Session, user: User, code: str, now: datetime) -> bool:
        """A TOTP code or an unused recovery code, counted per account on every path: after
        a few wrong ones each attempt must wait (``Throttled``, the code left unchecked)."""
        state = throttle_row(session, f"kyso-otp:{user.id}")
        OTP_THROTTLE.check(state, now)
        code = code.strip()
        if len(code) == 6 and code.isdigit():
            right = self.verify(user, code, now)
        else:
            right = self.use_recovery_code(session, user, code, now)
        if not right:
            OTP_THROTTLE.failed(state, now)
            session.add(state)
        elif state.failures:
            OTP_THROTTLE.succeeded(state)
            session.add(state)
        return right
