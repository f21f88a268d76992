"""Issue 17 item 8 (its first part): registration is throttled per client address. A burst of
registrations from one address is mostly refused; another address is not held up by it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest

from tests.support.api import PASSWORD, new_cccd
from tests.support.databases import fresh_database
from tests.support.server import KysoServer

LIMIT = 10


@pytest.fixture
def counting_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A server of its own that counts registrations per address (the shared one does not)."""
    directory = tmp_path_factory.mktemp(f"registrations-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url,
                             extra_env={"KYSO_REGISTER_SOURCE_LIMIT": str(LIMIT)}).start()  # fmt: skip
        try:
            yield running
        finally:
            running.stop()


def _register(server: KysoServer, address: str) -> int:
    born = date(1991, 3, 8)
    body = {"full_name": "Trần Văn Nam", "cccd": new_cccd(born), "date_of_birth": born.isoformat(),
            "gender": "male", "email": f"burst-{secrets.token_hex(5)}@example.vn",
            "phone": "0912 345 678", "password": PASSWORD}  # fmt: skip
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as client:
        return client.post("/v1/auth/register", json=body).status_code


def test_a_burst_of_registrations_from_one_address_is_throttled(
    counting_server: KysoServer,
) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _register(counting_server, "127.0.0.2"), range(31)))
    # ten free, then each waits 1, 2, 4 … s: the burst's few seconds let two or three more in
    assert answers.count(201) <= LIMIT + 3, answers
    assert answers.count(429) >= 31 - LIMIT - 3, answers
    assert _register(counting_server, "127.0.0.3") == 201  # another address registers at once
