"""Billing over a real database of each backend, migrated once; each test opens its own
accounts, so tests do not see each other's money."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.database import make_engine, migrate, unit_of_work
from billing.accounts import CITIZEN, open_account
from billing.charges import Payer
from billing.plans import seed_default_plans
from billing.wallet import top_up
from tests.support.databases import BACKENDS, fresh_database


@dataclass(frozen=True)
class Books:
    engine: Engine

    def work(self) -> AbstractContextManager[Session]:
        """One unit of work (committed when the block ends normally)."""
        return unit_of_work(self.engine)

    def payer(self, kind: str = CITIZEN, *, funds: int = 0, now: datetime) -> Payer:
        """A new account of ``kind`` holding ``funds``."""
        account_id = secrets.token_hex(8)
        payer = Payer(account_id=account_id, kind=kind, label=f"Khách {account_id}",
                      user_id=account_id)  # fmt: skip
        with self.work() as session:
            open_account(session, account_id, kind=kind, label=payer.label, now=now)
            if funds:
                top_up(session, account_id, amount=funds, reference=f"seed-{account_id}",
                       actor="test", now=now)  # fmt: skip
        return payer


@pytest.fixture(scope="session", params=BACKENDS)
def books(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Books]:
    directory = tmp_path_factory.mktemp(f"billing-{request.param}")
    with fresh_database(str(request.param), directory) as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        migrate(engine)
        with unit_of_work(engine) as session:
            seed_default_plans(session)
        try:
            yield Books(engine)
        finally:
            engine.dispose()
