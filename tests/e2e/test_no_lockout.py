"""Issue 17 item 6: nobody can lock someone else out. Wrong passwords from one address make the
account wait (at most a minute; on this test's own server at most KYSO_LOGIN_MAX_WAIT_SECONDS=4,
so that ten failures take seconds, not minutes), never lock it: the owner with the right
password, from another address, gets in after at most that wait."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import PASSWORD, register_citizen
from tests.support.server import KysoServer, own_server

MAX_WAIT = 4


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    with own_server(backend, tmp_path_factory.mktemp(f"lockout-{backend}"),
                    extra_env={"KYSO_LOGIN_MAX_WAIT_SECONDS": str(MAX_WAIT)}) as running:  # fmt: skip
        yield running


def _from(server: KysoServer, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def _sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    form = {"grant_type": "password", "username": email, "password": password}
    return client.post("/v1/auth/token", data=form)


def test_wrong_passwords_from_one_address_keep_the_owner_out_a_minute_at_most(
    server: KysoServer,
) -> None:
    owner = register_citizen(server)
    attacker, home = _from(server, "127.0.0.2"), _from(server, "127.0.0.3")
    wrong = 0
    while wrong < 10:  # ten wrong passwords checked, each after the wait the last one set
        answer = _sign_in(attacker, owner.email, "đoán sai mật khẩu")
        if answer.status_code == 429:
            assert answer.json()["code"] == "auth.throttled", answer.text
            time.sleep(int(answer.headers["Retry-After"]))
        else:
            assert answer.status_code == 400, answer.text
            wrong += 1
    refused = _sign_in(home, owner.email, PASSWORD)
    if refused.status_code == 429:
        assert refused.json()["code"] == "auth.throttled", refused.text  # a wait, not a lock
        wait = int(refused.headers["Retry-After"])
        assert wait <= MAX_WAIT + 1
        time.sleep(wait + 0.2)
    welcome = _sign_in(home, owner.email, PASSWORD)
    assert welcome.status_code == 200, welcome.text
