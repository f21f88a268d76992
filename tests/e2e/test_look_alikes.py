"""Issue 17 item 9: look-alike accounts. E-mail addresses and names are NFKC-normalised (an
address also case-folded); invisible characters and letters of two scripts are refused."""

from __future__ import annotations

import secrets
from datetime import date

import httpx

from tests.support.api import PASSWORD, new_cccd
from tests.support.server import KysoServer

BORN = date(1988, 11, 2)


def _register(server: KysoServer, email: str, name: str = "Lê Thị Hoa") -> httpx.Response:
    body = {"full_name": name, "cccd": new_cccd(BORN, male=False),
            "date_of_birth": BORN.isoformat(), "gender": "female", "email": email,
            "phone": "0912 345 678", "password": PASSWORD}  # fmt: skip
    return httpx.post(f"{server.url}/v1/auth/register", json=body, timeout=30)


def _refused_field(answer: httpx.Response) -> str:
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    return str(error["field"])


def _message(answer: httpx.Response) -> str:
    return str(answer.json()["errors"][0]["message"])


def test_look_alike_addresses_and_names_are_refused(server: KysoServer) -> None:
    local = f"hoa{secrets.token_hex(3)}"
    assert _register(server, f"a{local}@x.test").status_code == 201
    cyrillic = _register(server, f"\u0430{local}@x.test")  # CYRILLIC SMALL LETTER A
    assert _refused_field(cyrillic) == "email"
    assert "one alphabet" in _message(cyrillic)
    zero_width = _register(server, f"a\u200b{local}@x.test")
    assert _refused_field(zero_width) == "email"
    for same in (f"A{local.upper()}@X.TEST", f"\uff41{local}@x.test"):  # FULLWIDTH LATIN a
        again = _register(server, same)  # normalised to the address that exists
        assert _refused_field(again) == "email", again.text
        assert "exists already" in _message(again)
    mixed = _register(
        server, f"b{local}@x.test", name="Lê Thị \u041d\u043e\u0430"
    )  # Cyrillic EN, O, A
    assert _refused_field(mixed) == "full_name"
    hidden = _register(server, f"c{local}@x.test", name="Lê Thị\u200b Hoa")
    assert _refused_field(hidden) == "full_name"


def test_the_owner_signs_in_with_the_address_however_it_is_typed(server: KysoServer) -> None:
    email = f"mai{secrets.token_hex(3)}@example.vn"
    assert _register(server, email).status_code == 201
    form = {"grant_type": "password", "username": f" {email.upper()} ", "password": PASSWORD}
    assert httpx.post(f"{server.url}/v1/auth/token", data=form).status_code == 200
