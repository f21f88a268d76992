"""An in-process CA over a throw-away SQLite database, built once for the certs unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from certs.keys import KeyAlgorithm
from tests.support.local_ca import LocalCa, build_local_ca


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCa]:
    ca = build_local_ca(tmp_path_factory.mktemp("local-ca"), KeyAlgorithm.ECDSA_P256)
    yield ca
    ca.engine.dispose()


@pytest.fixture
def session(local_ca: LocalCa) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with Session(local_ca.engine) as s:
        yield s
        s.rollback()
