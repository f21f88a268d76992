"""A citizen pays per use through the real service: refused without money, charged exactly the
plan's price with money, free for public-service submissions within the allowance, paid by a
pack; billing staff see it in reports and CSV, record top-ups once, and the books add up."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator
from datetime import date, datetime

import httpx
import pytest

from kernel.vietnam import VIETNAM
from tests.e2e.signing_helpers import Signer, make_signers, sign, usage
from tests.support.api import PASSWORD, Account, new_cccd, staff, top_up
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer
from tests.support.snapshot import table_records

SCRIPTS_COLUMNS = ["id", "created_at", "account_id", "user_id", "product", "amount", "quantity",
                   "plan", "plan_version", "tier", "funding", "purpose", "signature_id"]  # fmt: skip
"""The per-event CSV's columns that scripts read, in their order: kept as they were."""


@pytest.fixture(scope="module")
def billing_staff(server: KysoServer) -> Iterator[Account]:
    account = staff(server, "billing_staff")
    yield account
    account.client.close()


def _wallet(signer: Signer) -> dict[str, object]:
    response = signer.account.client.get("/v1/me/wallet")
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def _credential_attempts(server: KysoServer, credential_id: str) -> int:
    (row,) = [r for r in table_records(server.database_url, "credential")
              if r["id"] == credential_id]  # fmt: skip
    return int(row["failed_pin_attempts"])


def test_without_money_a_signature_is_refused_before_the_pin_is_tried(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    refused = sign(signer, simple_pdf(), key="no-money", level="B-T", pin="000000")
    assert refused.status_code == 402
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert (problem["code"], problem["price"], problem["available"]) == (
        "billing.insufficient_funds", 4_000, 0,
    )  # fmt: skip
    assert _credential_attempts(server, signer.credential_id) == 0, "a PIN attempt was spent"
    assert [e for e in usage(signer) if str(e["product"]).startswith("signature.")] == []
    wallet = _wallet(signer)
    assert (wallet["balance"], wallet["paid_this_year"]) == (0, 0)


def test_a_citizen_pays_the_plans_price_and_sees_it_with_running_totals(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1, funds=10_000)
    signed = sign(signer, simple_pdf(), key="nop-1", level="B-LT")
    assert signed.status_code == 200, signed.text
    public = sign(signer, simple_pdf(text="ho so"), key="nop-2", level="B-T",
                  purpose="public_service")  # fmt: skip
    assert public.status_code == 200, public.text
    events = usage(signer)
    assert [(e["product"], e["amount"], e["tier"], e["running_total"]) for e in events[:3]] == [
        ("signature.B-T", 0, "allowance", 4_000),
        ("signature.B-LT", 4_000, "tier:0+", 4_000),
        ("certificate.issue", 0, "flat", 0),
    ]  # fmt: skip
    assert events[1]["signature_id"] == signed.headers["x-signature-id"]
    wallet = _wallet(signer)
    assert (wallet["balance"], wallet["available"], wallet["paid_this_year"]) == (
        6_000,
        6_000,
        4_000,
    )
    assert (wallet["signatures_this_year"], wallet["public_service_allowance_left"]) == (2, 4)
    assert wallet["saved_against_yearly_certificate"] == wallet["yearly_certificate_price"] - 4_000  # type: ignore[operator]
    entries = wallet["entries"]
    assert isinstance(entries, list)
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in entries] == [
        ("charge", -4_000, 6_000), ("top_up", 10_000, 10_000),
    ]  # fmt: skip


def test_a_pack_bought_from_the_wallet_pays_the_next_signatures(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1, funds=33_000)
    client = signer.account.client
    offers = {o["code"]: o for o in client.get("/v1/me/packs").json()}
    assert offers["pack-10"] == {"code": "pack-10", "signatures": 10, "price": 33_000, "months": 1}
    bought = client.post(
        "/v1/me/packs", json={"pack": "pack-10"}, headers={"Idempotency-Key": "p1"}
    )
    again = client.post("/v1/me/packs", json={"pack": "pack-10"}, headers={"Idempotency-Key": "p1"})
    assert bought.status_code == again.status_code == 201, bought.text
    assert again.json()["id"] == bought.json()["id"]
    other = client.post("/v1/me/packs", json={"pack": "pack-50"}, headers={"Idempotency-Key": "p1"})
    assert (other.status_code, other.json()["code"]) == (422, "request.idempotency_conflict")
    too_many = client.post("/v1/me/packs", json={"pack": "pack-10"})
    assert too_many.status_code == 402
    signed = sign(signer, simple_pdf(), key="from-pack", level="B-B", invisible="true")
    assert signed.status_code == 200, signed.text
    event = usage(signer)[0]
    assert (event["amount"], event["tier"], event["funding"]) == (
        0,
        "pack",
        f"pack:{bought.json()['id']}",
    )
    wallet = _wallet(signer)
    assert wallet["balance"] == 0
    assert [(p["used"], p["signatures"]) for p in wallet["packs"]] == [(1, 10)]  # type: ignore[union-attr]


def test_billing_staff_record_top_ups_once_and_see_usage_in_reports_and_csv(
    server: KysoServer, billing_staff: Account
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    body = {
        "email": signer.account.email,
        "amount": 8_000,
        "reference": f"VCB-{signer.account.id[:8]}",
    }
    first = billing_staff.client.post("/v1/billing/top-ups", json=body)
    again = billing_staff.client.post("/v1/billing/top-ups", json=body)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    clash = billing_staff.client.post("/v1/billing/top-ups", json={**body, "amount": 9_000})
    assert (clash.status_code, clash.json()["code"]) == (409, "billing.reference_conflict")
    for bad in (0, -5, 4000.5, "4000"):
        refused = billing_staff.client.post("/v1/billing/top-ups", json={**body, "amount": bad})
        assert refused.status_code == 422, (bad, refused.text)
    assert sign(signer, simple_pdf(), key="r1", level="B-B").status_code == 200
    assert sign(signer, simple_pdf(text="2"), key="r2", level="B-T").status_code == 200
    assert _wallet(signer)["balance"] == 0

    listed = billing_staff.client.get("/v1/billing/usage", params={"account_id": signer.account.id})
    assert listed.status_code == 200, listed.text
    mine = listed.json()["items"]
    assert sorted((e["product"], e["amount"]) for e in mine) == [
        ("certificate.issue", 0), ("signature.B-B", 4_000), ("signature.B-T", 4_000),
    ]  # fmt: skip
    exported = billing_staff.client.get(
        "/v1/billing/usage", params={"account_id": signer.account.id, "format": "csv"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert sum(int(r["amount"]) for r in rows) == 8_000
    header = exported.text.lstrip("\ufeff").splitlines()[0].split(",")
    assert header == [*SCRIPTS_COLUMNS, "time_vietnam", "name", "cccd_last4", "organisation"]
    cccd = signer.account.client.get("/v1/me").json()["cccd"]
    for row in rows:  # for people: who, and when in Vietnam
        assert (row["name"], row["cccd_last4"], row["organisation"]) == (
            "Nguyễn Thị Mai", cccd[-4:], "")  # fmt: skip
        utc = datetime.fromisoformat(row["created_at"])
        assert row["time_vietnam"] == f"{utc.astimezone(VIETNAM):%Y-%m-%d %H:%M:%S}"
        assert cccd not in exported.text, "the whole CCCD is in the export"
    report = billing_staff.client.get("/v1/billing/reports/usage", params={
        "account_id": signer.account.id, "group": "day", "by": "product"}).json()  # fmt: skip
    assert report["total_amount"] == 8_000
    assert report["total_count"] == 3
    by_account = billing_staff.client.get("/v1/billing/reports/usage", params={
        "by": "account", "format": "csv"})  # fmt: skip
    assert signer.account.email in by_account.text
    citizens = billing_staff.client.get("/v1/billing/comparisons/citizens").json()
    (mine_compared,) = [c for c in citizens if c["account_id"] == signer.account.id]
    assert (mine_compared["signatures"], mine_compared["paid"]) == (2, 8_000)
    entries = billing_staff.client.get(f"/v1/billing/accounts/{signer.account.id}/entries").json()
    assert [e["kind"] for e in entries] == ["charge", "charge", "top_up"]


def test_the_current_month_cannot_be_closed_and_the_books_add_up(
    server: KysoServer, billing_staff: Account
) -> None:
    from datetime import UTC, datetime

    from billing.calendar import month_key

    closing = billing_staff.client.post(f"/v1/billing/periods/{month_key(datetime.now(UTC))}/close")
    assert (closing.status_code, closing.json()["code"]) == (409, "billing.period_not_over")
    report = json.loads(server.cli("admin", "check-ledger").stdout)
    assert report["ok"], report["findings"]
    assert report["checked"]["signatures"] >= 1


def test_top_up_on_the_command_line_is_idempotent_by_reference(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    first = top_up(server, signer.account, 20_000, reference="ACB-77")
    again = top_up(server, signer.account, 20_000, reference="ACB-77")
    assert (first["recorded"], again["recorded"]) == (True, False)
    assert again["balance"] == 20_000
    clash = server.cli("billing", "top-up", "--email", signer.account.email, "--amount", "1",
                       "--reference", "ACB-77", check=False)  # fmt: skip
    assert clash.returncode == 1
    assert "billing.reference_conflict" in clash.stderr


def test_an_organisations_member_bills_to_the_organisation_within_its_quota(
    server: KysoServer, billing_staff: Account
) -> None:
    name = f"Sở Tư pháp {secrets.token_hex(3)}"
    organisation = json.loads(server.cli("admin", "create-organisation", "--name", name,
                                         "--kind", "agency").stdout)  # fmt: skip
    email = f"can-bo-{secrets.token_hex(3)}@stp.gov.vn"
    server.cli("admin", "create-user", "--email", email, "--password", PASSWORD, "--role",
               "citizen", "--full-name", "Trần Văn Bình", "--cccd",
               new_cccd(date(1985, 3, 9)), "--date-of-birth", "1985-03-09", "--gender", "male",
               "--organisation", name, "--verified")  # fmt: skip
    member = Account(email=email, password=PASSWORD, id="", client=httpx.Client(
        base_url=server.url, timeout=60))  # fmt: skip
    assert member.login().status_code == 200
    issued = member.client.post("/v1/me/certificate", json={"pin": "402917"})
    assert issued.status_code == 201, issued.text
    signer = Signer(member, issued.json()["credential_id"])
    signed = sign(signer, simple_pdf(), key="cong-van-1", level="B-T")
    assert signed.status_code == 200, signed.text  # postpaid: no top-up needed
    events = billing_staff.client.get("/v1/billing/usage",
                                      params={"account_id": organisation["id"]}).json()["items"]  # fmt: skip
    assert sorted((e["product"], e["amount"], e["tier"]) for e in events) == [
        ("certificate.issue", 0, "flat"), ("signature.B-T", 0, "quota"),
        ("subscription.fee", 2_000_000, "fee"),
    ]  # fmt: skip
    wallet = _wallet(signer)
    assert (wallet["kind"], wallet["balance"], wallet["entries"]) == ("organisation", None, []), (
        "a member saw the organisation's money"
    )
    assert (wallet["signatures_this_year"], wallet["paid_this_year"]) == (1, 0)  # their own use
    refused = member.client.post("/v1/me/packs", json={"pack": "pack-10"})
    assert (refused.status_code, refused.json()["code"]) == (403, "billing.organisation_account")
    entries = billing_staff.client.get(f"/v1/billing/accounts/{organisation['id']}/entries").json()
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in entries] == [
        ("subscription_fee", -2_000_000, -2_000_000),
    ]
    (compared,) = [c for c in billing_staff.client.get(
        "/v1/billing/comparisons/organisations").json() if c["account_id"] == organisation["id"]]  # fmt: skip
    assert compared["signatures"] == 1
    assert compared["cost_by_plan"]["citizen"] == 4_000
    assert compared["cheapest_plan"] == "citizen"
    member.client.close()


@pytest.mark.parametrize(
    ("period", "words"),
    [("0000-01", "from 2000"), ("9999-12", "from 2000"), ("2026-13", "no month 13"),
     ("2026-1", "YYYY-MM"), ("tháng-11", "YYYY-MM")],
)  # fmt: skip
def test_closing_an_impossible_period_is_a_clear_422(
    billing_staff: Account, period: str, words: str
) -> None:
    refused = billing_staff.client.post(f"/v1/billing/periods/{period}/close")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "billing.invalid_input"
    assert words in refused.json()["detail"]


def test_a_past_month_closes_once_and_says_so(billing_staff: Account) -> None:
    first = billing_staff.client.post("/v1/billing/periods/2021-02/close")
    again = billing_staff.client.post("/v1/billing/periods/2021-02/close")
    assert first.status_code == again.status_code == 200, first.text
    assert (again.json()["closed"], again.json()["invoices"]) == (True, [])


def test_a_citizen_cannot_be_moved_to_an_organisations_plan(
    server: KysoServer, billing_staff: Account
) -> None:
    (signer,) = make_signers(server, count=1, funds=4_000)
    moved = billing_staff.client.put(f"/v1/billing/accounts/{signer.account.id}/plan",
                                     json={"plan": "organisation"})  # fmt: skip
    assert moved.status_code == 422, moved.text
    assert "for organisations" in moved.json()["detail"]
    assert _wallet(signer)["plan"]["code"] == "citizen"  # type: ignore[index]
