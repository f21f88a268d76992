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
