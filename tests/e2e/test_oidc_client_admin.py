"""``kyso admin oidc-client list | show | remove | rotate-secret``: what an operator keeps of
the portals; a rotated secret works at once and the old one stops; a removed portal's tokens
and sign-ins end with it."""

from __future__ import annotations

import json

import httpx

from tests.support.server import KysoServer

PORTAL = "https://dichvucong.example.vn/callback"


def _add(server: KysoServer, name: str, *extra: str) -> dict[str, str]:
    done = server.cli("admin", "oidc-client", "add", "--name", name, "--redirect-uri", PORTAL,
                      "--scopes", "openid profile cccd", *extra)  # fmt: skip
    added: dict[str, str] = json.loads(done.stdout)
    return added


def _token_error(server: KysoServer, client_id: str, secret: str) -> tuple[int, str]:
    """The token endpoint's answer to a made-up code: invalid_client when the secret is
    wrong, invalid_grant when the client authenticated."""
    answer = httpx.post(f"{server.url}/oidc/token", auth=(client_id, secret),
                        data={"grant_type": "authorization_code", "code": "x",
                              "redirect_uri": PORTAL})  # fmt: skip
    body = answer.json()
    return answer.status_code, body.get("error", body.get("code"))


def test_list_and_show_name_each_portal_without_its_secret(server: KysoServer) -> None:
    confidential = _add(server, "Cổng dịch vụ công Hà Nội")
    public = _add(server, "Ứng dụng di động", "--public")
    listed = [json.loads(line) for line in server.cli("admin", "oidc-client", "list")
              .stdout.splitlines()]  # fmt: skip
    by_id = {c["client_id"]: c for c in listed}
    assert by_id[confidential["client_id"]]["name"] == "Cổng dịch vụ công Hà Nội"
    assert by_id[confidential["client_id"]]["kind"] == "client_secret"
    assert by_id[public["client_id"]]["kind"] == "public"
    shown = json.loads(server.cli("admin", "oidc-client", "show", confidential["client_id"]).stdout)
    assert shown["redirect_uris"] == [PORTAL]
    assert shown["scopes"] == ["openid", "profile", "cccd"]
    assert shown["created_by"].startswith("operator:")
    everything = server.cli("admin", "oidc-client", "list").stdout
    assert confidential["client_secret"] not in everything
    assert '"client_secret":' not in everything
    assert "hash" not in everything
    missing = server.cli("admin", "oidc-client", "show", "kyso-nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error [identity.not_found]")


def test_a_rotated_secret_replaces_the_old_one_at_once(server: KysoServer) -> None:
    portal = _add(server, "Cổng thuế")
    old = portal["client_secret"]
    assert _token_error(server, portal["client_id"], old) == (400, "invalid_grant")
    rotated = json.loads(server.cli("admin", "oidc-client", "rotate-secret",
                                    portal["client_id"]).stdout)  # fmt: skip
    new = rotated["client_secret"]
    assert new != old
    assert len(new) >= 40
    assert _token_error(server, portal["client_id"], old) == (401, "invalid_client")
    assert _token_error(server, portal["client_id"], new) == (400, "invalid_grant")
    public = _add(server, "Ứng dụng công khai", "--public")
    refused = server.cli("admin", "oidc-client", "rotate-secret", public["client_id"], check=False)
    assert refused.returncode == 1
    assert "error [oidc.client_without_secret]" in refused.stderr


def test_a_removed_portal_signs_nobody_in(server: KysoServer) -> None:
    portal = _add(server, "Cổng cũ")
    params = {"client_id": portal["client_id"], "redirect_uri": PORTAL, "response_type": "code",
              "scope": "openid", "state": "s"}  # fmt: skip
    assert httpx.get(f"{server.url}/oidc/authorize", params=params).status_code == 200
    asked = server.cli("admin", "oidc-client", "remove", portal["client_id"], check=False)
    assert asked.returncode != 0  # asks first; no terminal, no answer: nothing removed
    server.cli("admin", "oidc-client", "show", portal["client_id"])
    removed = json.loads(server.cli("admin", "oidc-client", "remove", portal["client_id"],
                                    "--yes").stdout)  # fmt: skip
    assert removed["removed"] == portal["client_id"]
    assert httpx.get(f"{server.url}/oidc/authorize", params=params).status_code == 400
    assert _token_error(server, portal["client_id"], portal["client_secret"]) == (
        401, "invalid_client")  # fmt: skip
    listed = server.cli("admin", "oidc-client", "list").stdout
    assert portal["client_id"] not in listed
