"""Shared fixtures: a running server per database backend, built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, fresh_database
from tests.support.pki import PkiFiles, fetch_pki_files
from tests.support.server import KysoServer
from tests.support.softhsm import SoftHsm


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


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """This session's SoftHSM2 (its own configuration and token directory). The test process
    reads the same configuration, so tests can open the tokens their servers use."""
    hsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(hsm.conf)
    try:
        yield hsm
    finally:
        if before is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = before


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``one_database`` runs on SQLite alone: what it checks is above the data
    layer (a browser's view of pages whose data the API tests check on both databases, a
    figure measured once), so a second run on PostgreSQL would add minutes and nothing else."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if backend == "postgresql" and item.get_closest_marker("one_database") is not None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
