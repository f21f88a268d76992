"""Every route by every role, anonymous, and another citizen: who may call what.

The table below is the authorisation policy. A route that the running service publishes without
an entry here fails the test: a new route must say who may call it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text

from api.settings import Settings
from tests.support.api import Account, proof, register_citizen, staff, top_up
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

ANYONE = "anonymous"
CITIZEN, OTHER_CITIZEN = "citizen", "other_citizen"
REG, AGENCY, BILLING, ADMIN = "registration_officer", "agency_officer", "billing_staff", "admin"
STAFF = (REG, AGENCY, BILLING, ADMIN)
EVERY_ROLE = (CITIZEN, *STAFF)
KEY_MANAGERS = (ADMIN, AGENCY, BILLING)
BILLERS = (BILLING, ADMIN)

PIN = "402917"

# (method, OpenAPI path) -> (roles allowed, JSON body, owned by the citizen).
# ANYONE in the roles means the route is public. "Owned" routes also refuse another citizen (404).
POLICY: dict[tuple[str, str], tuple[tuple[str, ...], object, bool]] = {
    ("GET", "/healthz"): ((ANYONE,), None, False),
    ("GET", "/metrics"): ((ANYONE,), None, False),  # open unless KYSO_METRICS_TOKEN is set
    ("GET", "/pki/ca/root.crt"): ((ANYONE,), None, False),
    ("GET", "/pki/ca/issuing.crt"): ((ANYONE,), None, False),
    ("GET", "/pki/crl/issuing.crl"): ((ANYONE,), None, False),
    ("GET", "/pki/crl/root.crl"): ((ANYONE,), None, False),
    ("POST", "/pki/ocsp"): ((ANYONE,), None, False),
    ("GET", "/pki/ocsp/{encoded}"): ((ANYONE,), None, False),
    ("POST", "/pki/tsa"): ((ANYONE,), None, False),
    ("POST", "/v1/auth/register"): ((ANYONE,), {}, False),
    ("POST", "/v1/auth/token"): ((ANYONE,), None, False),
    ("GET", "/v1/me"): (EVERY_ROLE, None, False),
    ("POST", "/v1/me/otp/enrol"): (EVERY_ROLE, {"password": "wrong"}, False),
    ("POST", "/v1/me/otp/disable"): (EVERY_ROLE, {"password": "wrong", "otp": "000000"}, False),
    ("POST", "/v1/me/otp/confirm"): (EVERY_ROLE, {"code": "000000"}, False),
    ("POST", "/v1/me/certificate"): ((CITIZEN,), {"pin": "12"}, False),
    ("POST", "/v1/me/certificate/csr"): ((CITIZEN,), {"csr": "x", "password": "x"}, False),
    ("GET", "/v1/me/credentials"): ((CITIZEN,), None, False),
    ("POST", "/v1/me/credentials/{credential_id}/pin"): ((CITIZEN,), {"old_pin": "739201", "new_pin": "12"}, True),
    ("POST", "/v1/me/credentials/{credential_id}/unlock"): ((CITIZEN,), {"puk": "x", "new_pin": "12"}, True),
    ("POST", "/v1/me/credentials/{credential_id}/reset"): ((CITIZEN,), {"password": "wrong", "new_pin": "12"}, True),
    ("POST", "/v1/me/credentials/{credential_id}/renew"): ((CITIZEN,), {"pin": "739201"}, True),
    ("POST", "/v1/me/credentials/{credential_id}/revoke"): ((CITIZEN,), {"reason": "removeFromCRL", "password": "x"}, True),
    ("POST", "/v1/me/authorisations"): ((CITIZEN,), {"credential_id": "{credential_id}", "pin": "739201", "count": 1}, True),
    ("POST", "/v1/signatures"): ((CITIZEN,), {}, False),
    # Portals only (client credentials, or an organisation's API key): no person's token.
    ("POST", "/v1/signing-requests"): ((), {}, False),
    ("GET", "/v1/signing-requests/{request_id}"): ((), None, False),
    ("GET", "/v1/signing-requests/{request_id}/documents/{number}"): ((), None, False),
    ("POST", "/v1/signatures/pdf"): ((CITIZEN,), {}, False),
    ("GET", "/v1/signatures"): ((CITIZEN,), None, False),
    ("GET", "/v1/signatures/{signature_id}/document"): ((CITIZEN,), None, True),
    ("GET", "/v1/me/usage"): (EVERY_ROLE, None, False),
    ("POST", "/v1/verifications"): ((AGENCY, CITIZEN, ADMIN), None, False),
    ("GET", "/v1/admin/trust-anchors"): ((ADMIN,), None, False),
    ("POST", "/v1/admin/trust-anchors"): ((ADMIN,), {"certificate": "x"}, False),
    ("DELETE", "/v1/admin/trust-anchors/{sha256}"): ((ADMIN,), None, False),
    ("GET", "/.well-known/openid-configuration"): ((ANYONE,), None, False),
    ("GET", "/oidc/jwks"): ((ANYONE,), None, False),
    ("GET", "/oidc/authorize"): ((ANYONE,), None, False),
    ("POST", "/oidc/login"): ((ANYONE,), None, False),
    ("POST", "/oidc/consent"): ((ANYONE,), None, False),
    ("POST", "/oidc/token"): ((ANYONE,), None, False),
    ("GET", "/oidc/userinfo"): ((ANYONE,), None, False),
    ("POST", "/oidc/userinfo"): ((ANYONE,), None, False),
    ("GET", "/oidc/logout"): ((ANYONE,), None, False),
    ("POST", "/oidc/logout"): ((ANYONE,), None, False),
    ("POST", "/v1/admin/oidc-clients"): ((ADMIN,), {"name": "", "redirect_uris": []}, False),
    ("POST", "/csc/v1/info"): ((ANYONE,), {}, False),
    ("POST", "/csc/v2/info"): ((ANYONE,), {}, False),
    ("POST", "/csc/v1/credentials/list"): ((CITIZEN,), {}, False),
    ("POST", "/csc/v2/credentials/list"): ((CITIZEN,), {}, False),
    ("POST", "/csc/v1/credentials/info"): ((CITIZEN,), {"credentialID": "{credential_id}"}, False),
    ("POST", "/csc/v2/credentials/info"): ((CITIZEN,), {"credentialID": "{credential_id}"}, False),
    ("POST", "/csc/v1/credentials/authorize"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v2/credentials/authorize"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v1/credentials/extendTransaction"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v2/credentials/extendTransaction"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v1/signatures/signHash"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v2/signatures/signHash"): ((CITIZEN,), {"credentialID": "x"}, False),
    ("POST", "/csc/v2/oauth2/token"): ((ANYONE,), None, False),  # the portal authenticates
    ("POST", "/csc/v2/oauth2/revoke"): ((ANYONE,), None, False),
    ("GET", "/v1/me/wallet"): ((CITIZEN,), None, False),
    ("GET", "/v1/me/packs"): ((CITIZEN,), None, False),
    ("POST", "/v1/me/packs"): ((CITIZEN,), {"pack": "no-such-pack"}, False),
    ("POST", "/v1/me/wallet/top-ups"): ((CITIZEN,), {"amount": 1}, False),
    ("POST", "/v1/payments/fake/{payment_id}/pay"): ((CITIZEN,), None, False),
    ("GET", "/v1/me/invoices"): ((CITIZEN,), None, False),
    ("GET", "/v1/me/invoices/{invoice_id}"): ((CITIZEN,), None, False),
    ("GET", "/v1/me/invoices/{invoice_id}/pdf"): ((CITIZEN,), None, False),
    ("GET", "/v1/billing/usage"): (BILLERS, None, False),
    ("GET", "/v1/billing/reports/usage"): (BILLERS, None, False),
    ("GET", "/v1/billing/comparisons/citizens"): (BILLERS, None, False),
    ("GET", "/v1/billing/comparisons/organisations"): (BILLERS, None, False),
    ("GET", "/v1/billing/accounts"): (BILLERS, None, False),
    ("GET", "/v1/billing/accounts/{account_id}/entries"): (BILLERS, None, False),
    ("PUT", "/v1/billing/accounts/{account_id}/plan"): (BILLERS, {"plan": "no-such-plan"}, False),
    ("POST", "/v1/billing/top-ups"): (BILLERS, {"amount": 0, "reference": "x"}, False),
    ("GET", "/v1/billing/plans"): (BILLERS, None, False),
    ("POST", "/v1/billing/plans"): ((ADMIN,), {"code": "x", "effective_from": "2020-01-01T00:00:00Z", "terms": {}}, False),
    ("POST", "/v1/billing/periods/{period}/close"): (BILLERS, None, False),
    ("GET", "/v1/billing/invoices"): (BILLERS, None, False),
    ("GET", "/v1/billing/invoices/{invoice_id}"): (BILLERS, None, False),
    ("GET", "/v1/billing/invoices/{invoice_id}/pdf"): (BILLERS, None, False),
    ("POST", "/v1/billing/invoices/{invoice_id}/credit-notes"): (BILLERS, {"reason": "x"}, False),
    ("GET", "/v1/proofing/queue"): ((REG,), None, False),
    ("POST", "/v1/proofing/{user_id}"): ((REG,), {"document": "", "method": "x"}, False),
    ("POST", "/v1/proofing/{user_id}/reject"): ((REG,), None, False),
    ("GET", "/v1/proofing/resets"): ((REG,), None, False),
    ("POST", "/v1/proofing/resets/{request_id}"): ((REG,), {"document": "", "method": "x"}, False),
    ("POST", "/v1/admin/organisations"): ((ADMIN,), {"name": "", "kind": "agency"}, False),
    ("POST", "/v1/admin/token-keys/rotate"): ((ADMIN,), None, False),
    ("GET", "/v1/admin/audit/verify"): ((ADMIN,), None, False),
    ("POST", "/v1/api-keys"): (KEY_MANAGERS, {"name": "", "roles": []}, False),
    ("GET", "/v1/api-keys"): (KEY_MANAGERS, None, False),
    ("DELETE", "/v1/api-keys/{key_id}"): (KEY_MANAGERS, None, False),
}  # fmt: skip

DENIED_CODES = {"auth.invalid_token", "auth.forbidden"}


# API keys, by who made them: (the owner's role, the key's role). Each acts within its role;
# the demoted owner's key (an agency officer made a citizen since) acts as nobody.
KEYS = {
    "agency_key": (AGENCY, AGENCY),
    "billing_key": (BILLING, BILLING),
    "admin_agency_key": (ADMIN, AGENCY),
    "admin_billing_key": (ADMIN, BILLING),
}
DEMOTED_KEY = "demoted_owner_key"
NO_KEYS = {
    ("POST", "/v1/api-keys"),
    ("POST", "/v1/me/otp/enrol"),
    ("POST", "/v1/me/otp/confirm"),
    ("POST", "/v1/me/otp/disable"),
}
"""Routes refused to every API key: a key makes no keys and changes no second factor."""


@dataclass
class Cast:
    accounts: dict[str, Account]
    values: dict[str, str]
    keys: dict[str, str]


def _make_key(owner: Account, role: str) -> str:
    made = owner.client.post("/v1/api-keys", json={"name": f"matrix {role}", "roles": [role]})
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    return key


def demote(server: KysoServer, account: Account, role: str) -> None:
    """What an administrator's change of a member's role writes (no route does it yet)."""
    engine = create_engine(Settings(database_url=server.database_url).sqlalchemy_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE app_user SET role = :role WHERE id = :id"),
                {"role": role, "id": account.id},
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cast(server: KysoServer) -> Iterator[Cast]:
    officer = staff(server, REG)
    accounts = {role: staff(server, role) for role in (AGENCY, BILLING, ADMIN)}
    accounts[REG] = officer
    for role in (CITIZEN, OTHER_CITIZEN):
        accounts[role] = register_citizen(server)
        proof(officer, accounts[role])
    owner = accounts[CITIZEN]
    credential = owner.client.post("/v1/me/certificate", json={"pin": PIN}).json()["credential_id"]
    top_up(server, owner, 100_000)
    signed = owner.client.post(
        "/v1/signatures", files={"file": ("a.pdf", simple_pdf(), "application/pdf")},
        data={"pin": PIN, "level": "B-B", "invisible": "true"},
    )  # fmt: skip
    assert signed.status_code == 200, signed.text
    pending = register_citizen(server)
    key = accounts[AGENCY].client.post("/v1/api-keys", json={"name": "matrix", "roles": [AGENCY]})
    values = {"credential_id": credential, "user_id": pending.id, "key_id": key.json()["id"],
              "encoded": "MA==", "signature_id": signed.headers["x-signature-id"],
              "payment_id": "no-such-payment", "invoice_id": "no-such-invoice",
              "account_id": owner.id, "period": "2020-01", "sha256": "00" * 32,
              "request_id": "no-such-request", "number": "1"}  # fmt: skip
    keys = {label: _make_key(accounts[owner], role) for label, (owner, role) in KEYS.items()}
    demoted = staff(server, AGENCY)
    keys[DEMOTED_KEY] = _make_key(demoted, AGENCY)
    demote(server, demoted, CITIZEN)
    yield Cast(accounts, values, keys)
    for account in (*accounts.values(), pending):
        account.client.close()


def test_every_published_route_has_a_policy(server: KysoServer) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    published = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    missing = published - set(POLICY)
    assert not missing, f"routes without an authorisation policy: {sorted(missing)}"
    assert not set(POLICY) - published, "policy entries for routes that do not exist"


def _call(server: KysoServer, method: str, path: str, body: object, account: Account | None,
          values: dict[str, str], api_key: str | None = None) -> httpx.Response:  # fmt: skip
    concrete = path
    for name, value in values.items():
        concrete = concrete.replace("{" + name + "}", value)
    if isinstance(body, dict):
        body = {k: (values[v[1:-1]] if isinstance(v, str) and v[1:-1] in values else v)
                for k, v in body.items()}  # fmt: skip
    headers = {"Authorization": f"Bearer {account.access_token}"} if account else {}
    if api_key:
        headers = {"X-API-Key": api_key}
    kwargs: dict[str, object] = {"headers": headers, "timeout": 30}
    if concrete == "/v1/auth/token":
        kwargs["data"] = {"grant_type": "password", "username": "x@y.vn", "password": "wrong"}
    elif body is not None:
        kwargs["json"] = body
    return httpx.request(method, f"{server.url}{concrete}", **kwargs)  # type: ignore[arg-type]


_CSC_DENIALS = {"invalid_token": "auth.invalid_token", "access_denied": "auth.forbidden"}


def _code(response: httpx.Response) -> str | None:
    if response.url.path.startswith("/csc/") and response.status_code in (401, 403):
        return _CSC_DENIALS.get(response.json().get("error"))  # CSC's own error format
    if response.headers.get("content-type") == "application/problem+json":
        code: str = response.json().get("code")
        return code
    return None


@pytest.mark.parametrize(("method", "path"), list(POLICY), ids=[f"{m} {p}" for m, p in POLICY])
def test_route_admits_exactly_its_roles(
    server: KysoServer, cast: Cast, method: str, path: str
) -> None:
    allowed, body, owned = POLICY[(method, path)]
    values = {**cast.values, "name": secrets.token_hex(3)}
    callers: list[tuple[str, Account | None]] = [(ANYONE, None)]
    callers += [(role, cast.accounts[role]) for role in (*STAFF, OTHER_CITIZEN, CITIZEN)]
    for label, account in callers:
        role = CITIZEN if label == OTHER_CITIZEN else label
        response = _call(server, method, path, body, account, values)
        assert response.status_code < 500, (label, response.text)
        code = _code(response)
        if ANYONE in allowed or role in allowed:
            assert code not in DENIED_CODES, f"{label} was refused: {response.text}"
            if owned and label == OTHER_CITIZEN:
                assert response.status_code == 404, f"another citizen reached it: {response.text}"
        else:
            expected = 401 if account is None else 403
            assert response.status_code == expected, (
                f"{label} got {response.status_code}: {response.text}"
            )
            assert code in DENIED_CODES


@pytest.mark.parametrize(("method", "path"), list(POLICY), ids=[f"{m} {p}" for m, p in POLICY])
def test_each_api_key_acts_within_its_role(
    server: KysoServer, cast: Cast, method: str, path: str
) -> None:
    allowed, body, _ = POLICY[(method, path)]
    values = {**cast.values, "name": secrets.token_hex(3)}
    for label, (_, role) in KEYS.items():
        response = _call(server, method, path, body, None, values, cast.keys[label])
        assert response.status_code < 500, (label, response.text)
        code = _code(response)
        if ANYONE in allowed or (role in allowed and (method, path) not in NO_KEYS):
            assert code not in DENIED_CODES, f"{label} was refused: {response.text}"
        else:
            assert response.status_code == 403, (
                f"{label} got {response.status_code}: {response.text}"
            )
            assert code == "auth.forbidden"
    demoted = _call(server, method, path, body, None, values, cast.keys[DEMOTED_KEY])
    assert demoted.status_code < 500, demoted.text
    if ANYONE not in allowed:
        assert demoted.status_code == 401, f"a demoted owner's key got {demoted.status_code}"
        assert _code(demoted) == "auth.invalid_token"


def test_an_admins_agency_key_revokes_only_its_own_keys(server: KysoServer, cast: Cast) -> None:
    other = _make_key(cast.accounts[AGENCY], AGENCY)
    other_id = next(k["id"] for k in cast.accounts[AGENCY].client.get("/v1/api-keys").json()
                    if other.startswith(f"kyso_{k['prefix']}_"))  # fmt: skip
    as_admins_key = httpx.delete(f"{server.url}/v1/api-keys/{other_id}",
                                 headers={"X-API-Key": cast.keys["admin_agency_key"]})  # fmt: skip
    assert as_admins_key.status_code == 404, as_admins_key.text
    assert httpx.get(f"{server.url}/v1/me", headers={"X-API-Key": other}).status_code == 200
