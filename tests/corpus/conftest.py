"""A ``kyso serve`` over SQLite for the document tests (PDF handling does not depend on the
database: these run on one backend only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import fresh_database
from tests.support.server import KysoServer


@pytest.fixture(scope="session")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    directory = tmp_path_factory.mktemp("corpus-server")
    with fresh_database("sqlite", directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url, workers=2)
        running.start()
        try:
            yield running
        finally:
            running.stop()
