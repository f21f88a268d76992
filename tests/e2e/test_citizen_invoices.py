"""Invoices people can use, through the real service: closing a month issues no 0 ₫ invoice;
a citizen finds their invoices on a page and downloads a PDF that carries what a Vietnamese
VAT invoice carries (read back with poppler's pdftotext); nobody else can download it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session, select

from api.database import make_engine
from api.usecases.payer import payer_for
from billing.accounts import open_account
from billing.charges import charge
from billing.wallet import top_up
from identity.models import User
from kernel.vietnam import VIETNAM
from tests.support.api import Account, register_citizen
from tests.support.browser import chromium, screenshot
from tests.support.server import KysoServer, own_server
from tests.support.web import WebClient
from tests.web.test_journeys import sign_in

PAST = datetime(2025, 6, 10, 3, 0, tzinfo=UTC)
PERIOD = "2025-06"


@dataclass(frozen=True)
class Closed:
    payer: Account
    free: Account
    invoices: list[dict[str, object]]


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A server of this module's own: its charges dated in the past have no signature record,
    which the shared server's ledger check (other modules) would rightly call orphans."""
    with own_server(backend, tmp_path_factory.mktemp(f"invoices-{backend}")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _charges_in_the_past(server: KysoServer, email: str, *, paid: bool) -> None:
    """Signatures dated in June 2025, by billing's own functions (the API charges now)."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = session.exec(select(User).where(User.email == email)).one()
            payer = payer_for(session, user)
            open_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=PAST)
            if paid:
                top_up(session, payer.account_id, amount=50_000, reference=f"june-{user.id}",
                       actor="test", now=PAST)  # fmt: skip
            for n in range(3 if paid else 1):
                charge(session, payer, "signature.B-LT", now=PAST + timedelta(minutes=n),
                       purpose=None if paid else "public_service",
                       idempotency_key=f"june-{user.id}-{n}")  # fmt: skip
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def closed(server: KysoServer) -> Closed:
    payer, free = register_citizen(server), register_citizen(server)
    _charges_in_the_past(server, payer.email, paid=True)
    _charges_in_the_past(server, free.email, paid=False)
    done = json.loads(server.cli("billing", "close-period", "--period", PERIOD).stdout)
    return Closed(payer, free, done["invoices"])


def test_closing_a_month_issues_no_zero_dong_invoice(closed: Closed) -> None:
    accounts = {str(i["account_id"]): i for i in closed.invoices}
    assert closed.payer.id in accounts
    assert accounts[closed.payer.id]["total"] == 12_000
    assert closed.free.id not in accounts, "a month of free signatures was invoiced"
    assert all(int(str(i["total"])) > 0 for i in closed.invoices)
    assert closed.free.client.get("/v1/me/invoices").json() == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_citizen_downloads_an_invoice_with_the_legal_fields(
    server: KysoServer, browser: Browser, closed: Closed, width: int, tmp_path: Path
) -> None:
    page = sign_in(browser, server, closed.payer.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/me")
    if width < 700:
        page.goto("/me/invoices")
    else:
        page.get_by_role("navigation").get_by_role("link", name="Hoá đơn").click()
    row = page.locator("#invoices tbody tr").first
    assert "12.000 ₫" in row.inner_text()
    screenshot(page, f"citizen-invoices-{width}")
    (invoice,) = closed.payer.client.get("/v1/me/invoices").json()
    with page.expect_download() as caught:
        row.get_by_role("link", name=invoice["number"]).click()
    path = tmp_path / "hoa-don.pdf"
    caught.value.save_as(path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    text = " ".join(text.split())
    issued = datetime.fromisoformat(invoice["issued_at"]).astimezone(VIETNAM)
    for expected in (
        "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "Mẫu số: 1", "Ký hiệu: C25TKS",
        f"Số: {invoice['number'][-6:].rjust(8, '0')}", f"Ngày {issued:%d} tháng {issued:%m} năm {issued:%Y}",
        "Đơn vị bán hàng: kyso", "Mã số thuế: 0100000000", "Địa chỉ: Hà Nội, Việt Nam",
        "Người mua hàng: Nguyễn Thị Mai", "Chữ ký số PAdES B-LT", "Thuế suất GTGT: 10%",
        "Cộng tiền hàng 10.909 ₫", "Tiền thuế GTGT 1.091 ₫", "Tổng cộng tiền thanh toán 12.000 ₫",
        "Số tiền viết bằng chữ: Mười hai nghìn đồng",
    ):  # fmt: skip
        assert expected in text, f"{expected!r} not in the PDF's text:\n{text}"
    page.context.close()


def test_nobody_else_downloads_a_citizens_invoice(server: KysoServer, closed: Closed) -> None:
    (invoice,) = closed.payer.client.get("/v1/me/invoices").json()
    other = WebClient(server)
    other.sign_in(closed.free.email, closed.free.password)
    response = other.http.get(f"/me/invoices/{invoice['id']}/pdf")
    assert response.status_code == 404
    assert "application/pdf" not in response.headers["content-type"]
    assert other.http.get("/me/invoices").status_code == 200
    other.http.close()
