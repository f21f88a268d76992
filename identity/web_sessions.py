"""Browser sessions: a random cookie value (only its hash is stored), an idle timeout, an
absolute lifetime, sign-out, and the form token that proves a form came from our page."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, or_, select

from identity.audit import record_audit
from identity.models import User, WebSession

__all__ = ["SessionPolicy", "WebSessions"]


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    """A session not used for this long has ended."""
    lifetime: timedelta = timedelta(hours=12)
    """A session ends this long after sign-in, used or not."""
    touch_every: timedelta = timedelta(minutes=1)
    """``last_seen_at`` is written at most this often (a page view is not a write)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    """Opens, resumes and ends browser sessions; derives their form (CSRF) tokens."""

    def __init__(self, form_key: bytes, policy: SessionPolicy | None = None) -> None:
        self._form_key = form_key
        self.policy = policy or SessionPolicy()

    def open(self, session: Session, user: User, amr: list[str], now: datetime) -> str:
        """A new session for a user who just signed in: the cookie value (shown once)."""
        token = secrets.token_urlsafe(32)
        session.add(
            WebSession(
                token_hash=_hash(token),
                user_id=user.id,
                amr=",".join(amr),
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.policy.lifetime,
            )
        )
        record_audit(session, at=now, actor=f"user:{user.id}", action="web.session_open",
                     target=user.id, amr=amr)  # fmt: skip
        return token

    def resume(self, session: Session, token: str, now: datetime) -> tuple[WebSession, User] | None:
        """The live session and its user for a cookie value, or None (unknown, ended, idle,
        expired, or the account disabled)."""
        record = session.exec(
            select(WebSession).where(WebSession.token_hash == _hash(token))
        ).first()
        if (
            record is None
            or record.ended_at is not None
            or record.expires_at <= now
            or record.last_seen_at + self.policy.idle <= now
        ):
            return None
        user = session.get(User, record.user_id)
        if user is None or user.disabled:
            return None
        return record, user

    def touch(self, session: Session, record: WebSession, now: datetime) -> bool:
        """Note the use (at most once per ``touch_every``); True when something was written."""
        if now - record.last_seen_at < self.policy.touch_every:
            return False
        record.last_seen_at = now
        session.add(record)
        return True

    def end(self, session: Session, token: str, now: datetime) -> None:
        """Sign out: the cookie value stops working at once, in every process."""
        record = session.exec(
            select(WebSession).where(WebSession.token_hash == _hash(token))
        ).first()
        if record is not None and record.ended_at is None:
            record.ended_at = now
            session.add(record)
            record_audit(session, at=now, actor=f"user:{record.user_id}",
                         action="web.session_end", target=record.user_id)  # fmt: skip

    def mac(self, purpose: str, data: str) -> str:
        """A keyed hash of ``data`` for ``purpose`` (the flash message a redirect carries)."""
        message = f"{purpose}:{data}".encode()
        return hmac.new(self._form_key, message, hashlib.sha256).hexdigest()[:32]

    def form_token(self, anchor: str) -> str:
        """The token a form carries: bound to the browser's anchor (its session cookie, or the
        pre-sign-in cookie), so another site cannot forge it."""
        return hmac.new(self._form_key, b"form:" + anchor.encode(), hashlib.sha256).hexdigest()

    def form_token_valid(self, anchor: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.form_token(anchor), presented or "")

    @staticmethod
    def purge(session: Session, now: datetime, keep: timedelta = timedelta(days=1)) -> int:
        """Delete sessions that ended or expired more than ``keep`` ago."""
        cutoff = now - keep
        result = session.execute(
            delete(WebSession).where(
                or_(col(WebSession.expires_at) < cutoff, col(WebSession.ended_at) < cutoff)
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
