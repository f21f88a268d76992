"""Password hashing (argon2id) and the login throttle: a growing delay, capped, never a lock
anyone could trigger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from identity.errors import AccountLocked, Throttled
from identity.models import LoginThrottleState

__all__ = ["LoginThrottle", "Passwords", "password_problems"]


class Passwords:
    """argon2id with OWASP's minimum profile (19 MiB, 2 passes): ~30 ms a hash here."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._dummy = self._hasher.hash("not a real password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when it matches. Unknown users verify against a dummy hash: same time taken."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


def password_problems(password: str, *, email: str, cccd: str | None) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < 10:
        return "use at least 10 characters"
    if len(password) > 128:
        return "use at most 128 characters"
    lowered = password.lower()
    if lowered == email.lower() or (cccd and cccd in password):
        return "the password must not be your e-mail address or CCCD number"
    if len(set(password)) < 4:
        return "the password is too simple"
    return None


def _duration(seconds: int) -> str:
    """Seconds in words: ``1 second``, ``40 seconds``, ``15 minutes``."""
    if seconds >= 90:
        minutes = round(seconds / 60)
        return f"{minutes} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


@dataclass(frozen=True)
class LoginThrottle:
    """After ``free_failures`` failures each attempt waits 2^(n - free) s (at most ``max_delay``),
    so the owner with the right password gets in after at most that wait; with ``lock_after``,
    that many failures lock for ``lock_for`` (no sign-in throttle does: anyone could lock
    someone else out)."""

    free_failures: int = 3
    max_delay: timedelta = timedelta(seconds=60)
    lock_after: int | None = None
    lock_for: timedelta = timedelta(minutes=15)
    what: str = "sign-ins"
    """What is counted, in the refusal's words."""

    def check(self, state: LoginThrottleState, now: datetime) -> None:
        """Refuse the attempt when the address is locked or must wait."""
        if state.locked_until is not None and state.locked_until > now:
            wait = int((state.locked_until - now).total_seconds()) + 1
            raise AccountLocked(
                f"too many failed sign-ins: the account is locked for {_duration(wait)}",
                retry_after=wait,
            )
        if state.failures >= self.free_failures and state.last_failed_at is not None:
            delay = min(
                timedelta(seconds=2 ** min(state.failures - self.free_failures, 16)),
                self.max_delay,
            )
            ready = state.last_failed_at + delay
            if ready > now:
                wait = int((ready - now).total_seconds()) + 1
                raise Throttled(
                    f"too many failed {self.what}: try again in {_duration(wait)}", wait
                )

    def failed(self, state: LoginThrottleState, now: datetime) -> None:
        state.failures += 1
        state.last_failed_at = now
        if self.lock_after is not None and state.failures >= self.lock_after:
            state.locked_until = now + self.lock_for

    @staticmethod
    def succeeded(state: LoginThrottleState) -> None:
        state.failures = 0
        state.last_failed_at = None
        state.locked_until = None
