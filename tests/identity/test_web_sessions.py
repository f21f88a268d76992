"""Browser sessions end when idle, at their lifetime and at sign-out; form tokens are bound
to the browser they were shown to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from identity.models import User
from identity.web_sessions import SessionPolicy, WebSessions

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _sessions() -> WebSessions:
    return WebSessions(b"k" * 32, SessionPolicy(idle=timedelta(minutes=30),
                                                lifetime=timedelta(hours=12)))  # fmt: skip


def test_a_session_ends_after_thirty_idle_minutes(
    session: Session, make_citizen: Callable[..., User]
) -> None:
    sessions, user = _sessions(), make_citizen()
    token = sessions.open(session, user, ["pwd"], START)
    found = sessions.resume(session, token, START + timedelta(minutes=29, seconds=59))
    assert found is not None
    assert found[1].id == user.id
    assert sessions.resume(session, token, START + timedelta(minutes=30)) is None


def test_use_keeps_a_session_alive_until_its_lifetime(
    session: Session, make_citizen: Callable[..., User]
) -> None:
    sessions, user = _sessions(), make_citizen()
    token = sessions.open(session, user, ["pwd"], START)
    at = START
    while at < START + timedelta(hours=11, minutes=40):
        at += timedelta(minutes=20)
        found = sessions.resume(session, token, at)
        assert found is not None, at
        assert sessions.touch(session, found[0], at)
    assert sessions.resume(session, token, START + timedelta(hours=12)) is None


def test_signing_out_ends_the_session_and_disabling_the_account_too(
    session: Session, make_citizen: Callable[..., User]
) -> None:
    sessions = _sessions()
    alice, bob = make_citizen(), make_citizen()
    first = sessions.open(session, alice, ["pwd"], START)
    second = sessions.open(session, bob, ["pwd"], START)
    sessions.end(session, first, START + timedelta(minutes=1))
    assert sessions.resume(session, first, START + timedelta(minutes=2)) is None
    bob.disabled = True
    session.add(bob)
    assert sessions.resume(session, second, START + timedelta(minutes=2)) is None
    assert sessions.resume(session, "not-a-token", START) is None


def test_form_tokens_belong_to_one_browser() -> None:
    sessions, other_key = _sessions(), WebSessions(b"x" * 32)
    token = sessions.form_token("browser-a|")
    assert sessions.form_token_valid("browser-a|", token)
    assert not sessions.form_token_valid("browser-b|", token)
    assert not sessions.form_token_valid("browser-a|session", token)
    assert not other_key.form_token_valid("browser-a|", token)
    assert not sessions.form_token_valid("browser-a|", None)
    assert not sessions.form_token_valid("browser-a|", "")


def test_purge_deletes_sessions_a_day_after_they_end(
    session: Session, make_citizen: Callable[..., User]
) -> None:
    sessions, user = _sessions(), make_citizen()
    ended = sessions.open(session, user, ["pwd"], START)
    sessions.end(session, ended, START)
    live = sessions.open(session, user, ["pwd"], START + timedelta(hours=20))
    session.flush()
    assert WebSessions.purge(session, START + timedelta(days=1, minutes=1)) == 1
    assert sessions.resume(session, live, START + timedelta(hours=20, minutes=1)) is not None
