"""Upgrading a database that signed before billing existed: its usage gets its rollups, so
reports and check-ledger agree with the events from the first day."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import Session

import migrations
from api.database import make_engine
from billing.ledger_check import check_books
from tests.support.databases import BACKENDS, fresh_database


def _upgrade(engine: object, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:  # type: ignore[attr-defined]
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.mark.parametrize("backend", BACKENDS)
def test_usage_from_before_billing_is_rolled_up_on_upgrade(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            _upgrade(engine, "0004")
            with engine.begin() as connection:
                for at in ("2026-10-31 16:59:59", "2026-10-31 17:00:00", "2026-10-31 17:30:00"):
                    connection.execute(text(
                        "INSERT INTO usage_event (account_id, user_id, product, quantity, amount,"
                        " created_at) VALUES ('a', 'a', 'signature.B-LT', 1, 0, :at)"), {"at": at})  # fmt: skip
            _upgrade(engine, "head")
            with engine.connect() as connection:
                rollups = connection.execute(text(
                    "SELECT day, count FROM usage_rollup ORDER BY day")).all()  # fmt: skip
            assert [tuple(r) for r in rollups] == [("2026-10-31", 1), ("2026-11-01", 2)]
            with Session(engine) as session:
                _, findings = check_books(session)
            assert findings == []
        finally:
            engine.dispose()


_AT = "2026-11-20 03:00:00"
_BEFORE_ATTEMPTS = [
    "INSERT INTO app_user (id, email, role, full_name, password_hash, identity_level,"
    " created_at, disabled, totp_enabled, totp_last_step)"
    " VALUES ('u1', 'mai@example.vn', 'citizen', 'Mai', 'x', 2, :at, false, false, 0)",
    "INSERT INTO credential (id, user_id, serial, certificate, key_source, key_algorithm,"
    " status, failed_pin_attempts, pins_in_flight, created_at, not_after)"
    " VALUES ('c1', 'u1', 'abc', :der, 'service', 'ecdsa-p256', 'active', 0, 0, :at, :at)",
    "INSERT INTO signature (id, user_id, credential_id, idempotency_key, request_sha256, level,"
    " visible, filename, original_sha256, signed_sha256, signed_size, created_at, retain_until)"
    " VALUES ('s1', 'u1', 'c1', 'ho-so-1', :fingerprint, 'B-T', false, 'don.pdf', 'o', 's', 1,"
    " :at, :at)",
    "INSERT INTO usage_event (account_id, user_id, product, quantity, amount, tier, funding,"
    " signature_id, created_at) VALUES ('u1', 'u1', 'signature.B-T', 1, 4000, 'tier:0+',"
    " 'wallet', 's1', :at)",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_signatures_from_before_attempts_get_their_charged_attempt_on_upgrade(
    backend: str, tmp_path: Path
) -> None:
    """A retry of a request signed before the upgrade still finds it (its key replays it)."""
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            _upgrade(engine, "0009")
            values = {"at": _AT, "der": b"\x30\x00", "fingerprint": "f" * 64}
            with engine.begin() as connection:
                for statement in _BEFORE_ATTEMPTS:
                    connection.execute(text(statement), values)
            _upgrade(engine, "head")
            with engine.connect() as connection:
                rows = connection.execute(text(
                    "SELECT user_id, account_id, idempotency_key, request_sha256, kind, state,"
                    " wallet_amount, signature_id FROM signing_attempt")).all()  # fmt: skip
            assert [tuple(r) for r in rows] == [
                ("u1", "u1", "ho-so-1", "f" * 64, "document", "charged", 4_000, "s1")
            ]
        finally:
            engine.dispose()
