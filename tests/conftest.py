"""Shared fixtures: a running server per database backend, built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, fresh_database
from tests.support.pki import PkiFiles, fetch_pki_files
from tests.support.server import KysoServer


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each end-to-end test runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A ``kyso serve`` process over a fresh database of the backend, shared by the session."""
    directory = tmp_path_factory.mktemp(f"server-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url).start()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="session")
def pki(server: KysoServer, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    """The server's CA certificates as PEM files, fetched over HTTP."""
    return fetch_pki_files(server.url, tmp_path_factory.mktemp("pki"))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
