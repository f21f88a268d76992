"""Paying into a wallet through the real service: the wallet page's VietQR code (read back
from the picture Chromium draws, with zxing-cpp) carries NAPAS's fields and the wallet's one
payment code; a bank statement imported twice (page and command line) records each transfer
once; the clerk sees whose wallet it is before a top-up is recorded."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.support.api import Account, register_citizen, staff
from tests.support.browser import chromium, screenshot
from tests.support.emv import crc_is_right, tlv
from tests.support.server import KysoServer
from tests.support.web import WebClient
from tests.web.test_journeys import sign_in


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def clerk_account(server: KysoServer) -> Account:
    account = staff(server, "billing_staff")
    account.client.close()
    return account


@pytest.fixture(scope="module")
def clerk(server: KysoServer, clerk_account: Account) -> Iterator[WebClient]:
    web = WebClient(server)
    web.sign_in(clerk_account.email, clerk_account.password)
    yield web
    web.http.close()


def _wallet(citizen: Account) -> dict[str, object]:
    response = citizen.client.get("/v1/me/wallet")
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def _read_qr(page: Page) -> str:
    picture = Image.open(io.BytesIO(page.locator("#vietqr").screenshot()))
    (found,) = zxingcpp.read_barcodes(picture)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return str(found.text)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_wallet_pages_vietqr_code_decodes_to_napas_fields_and_the_wallets_code(
    server: KysoServer, browser: Browser, width: int
) -> None:
    citizen = register_citizen(server)
    code = _wallet(citizen)["payment_code"]
    assert isinstance(code, str)
    assert code.isalnum()
    assert code.isupper()
    page = sign_in(browser, server, citizen.email)
    page.set_viewport_size({"width": width, "height": 900})
    for amount in (None, 200_000):
        page.goto("/me/wallet" + (f"?amount={amount}" if amount else ""))
        text = _read_qr(page)
        assert crc_is_right(text), text
        root = tlv(text)
        assert (root["00"], root["01"], root["53"], root["58"]) == (
            "01", "11" if amount is None else "12", "704", "VN",
        )  # fmt: skip
        assert root.get("54") == (str(amount) if amount else None)
        merchant = tlv(root["38"])
        assert (merchant["00"], merchant["02"]) == ("A000000727", "QRIBFTTA")
        assert tlv(merchant["01"]) == {"00": "970436", "01": "0000000000000"}
        assert tlv(root["62"]) == {"08": code}, "the code differs from the API's"
        assert page.locator("#payment-code").inner_text() == code
        assert text == _wallet(citizen)["vietqr"] or amount is not None
    assert page.locator("#demo-bank").is_visible(), "the demo account is not labelled"
    assert "@" not in page.locator("#pay-in").inner_text()
    screenshot(page, f"wallet-vietqr-{width}")
    page.context.close()


def _statement(lines: list[tuple[str, int, str, str]]) -> bytes:
    rows = ["date,amount,description,bank_transaction_id"]
    rows += [f"{day},{amount},{words},{txid}" for day, amount, words, txid in lines]
    return ("\n".join(rows) + "\n").encode()


def test_a_statement_imported_twice_records_each_transfer_once(
    server: KysoServer, clerk: WebClient, tmp_path: Path
) -> None:
    citizen, other = register_citizen(server), register_citizen(server)
    code, tag = str(_wallet(citizen)["payment_code"]), secrets.token_hex(4).upper()
    spaced = f"{code[:4]} {code[4:10]}.{code[10:].lower()}"
    statement = _statement([
        ("2026-12-05", 100_000, f"MBVCB.1.{code}.CT tu 0123 NGUYEN THI MAI", f"FT{tag}1"),
        ("2026-12-05", 50_000, f"IBFT {spaced}", f"FT{tag}2"),
        ("2026-12-05", 70_000, f"KYSO {other.email}", f"FT{tag}3"),
        ("2026-12-06", -22_000, "PHI DICH VU", f"FT{tag}4"),
    ])  # fmt: skip
    first = clerk.post_form("/billing/statements", {},
                            files={"statement": ("sao-ke.csv", statement, "text/csv")})  # fmt: skip
    assert first.status_code == 200, first.text[:500]
    assert "Ghi mới 2; đã có 0; chưa khớp 1; xung đột 0; bỏ qua 1." in first.text
    assert _wallet(citizen)["balance"] == 150_000
    path = tmp_path / "sao-ke.csv"
    path.write_bytes(statement)
    again = server.cli("billing", "import-statement", str(path)).stdout.splitlines()
    assert json.loads(again[-1]) == {"recorded": 0, "already_recorded": 2, "unmatched": 1,
                                     "conflict": 0, "not_a_credit": 1}  # fmt: skip
    unmatched = [json.loads(line) for line in again[:-1] if '"unmatched"' in line]
    assert [(u["line"], u["reason"]) for u in unmatched] == [(4, "no payment code")]
    twice = clerk.post_form("/billing/statements", {},
                            files={"statement": ("sao-ke.csv", statement, "text/csv")})  # fmt: skip
    assert "Ghi mới 0; đã có 2" in twice.text
    assert _wallet(citizen)["balance"] == 150_000, "a re-imported statement changed the wallet"
    by_hand = server.cli("billing", "top-up", "--email", citizen.email, "--amount", "100000",
                         "--reference", f"FT{tag}1")  # fmt: skip
    assert json.loads(by_hand.stdout)["recorded"] is False
    assert _wallet(citizen)["balance"] == 150_000
    entries = [e for e in _wallet(citizen)["entries"] if e["kind"] == "top_up"]  # type: ignore[union-attr,index]
    assert len(entries) == 2


@pytest.mark.parametrize("width", [1280, 390])
def test_the_clerk_sees_the_citizens_name_and_cccd_tail_before_a_top_up_is_recorded(
    server: KysoServer, clerk_account: Account, browser: Browser, width: int, tmp_path: Path
) -> None:
    citizen = register_citizen(server)
    cccd_tail = str(citizen.client.get("/v1/me").json()["cccd"])[-4:]
    page = sign_in(browser, server, clerk_account.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/billing/top-ups")
    page.get_by_label("Email của người dân").fill(citizen.email)
    page.get_by_label("Số tiền (đồng)").fill("200.000")
    page.get_by_label("Mã tham chiếu giao dịch ngân hàng").fill(f"FT{secrets.token_hex(5)}")
    page.get_by_role("button", name="Tiếp tục").click()
    assert page.locator("#payee-name").inner_text() == "Nguyễn Thị Mai"
    assert page.locator("#payee-cccd").inner_text() == f"••••••••{cccd_tail}"
    assert page.locator("#payee-amount").inner_text() == "200.000 ₫"
    screenshot(page, f"billing-top-up-check-{width}")
    assert _wallet(citizen)["balance"] == 0, "recorded before the clerk confirmed"
    page.get_by_role("button", name="Đúng người, ghi nhận").click()
    # the form posts to the URL it is on, so wait for the page that says it was recorded
    expect(page.get_by_text("Đã ghi nhận 200.000")).to_be_visible()
    assert _wallet(citizen)["balance"] == 200_000
    code = str(_wallet(citizen)["payment_code"])
    path = tmp_path / "sao-ke.csv"
    path.write_bytes(_statement([("2026-12-05", 30_000, f"CT {code}", f"FT{secrets.token_hex(5)}"),
                                 ("2026-12-05", 10_000, "no code", f"FT{secrets.token_hex(5)}")]))  # fmt: skip
    page.goto("/billing/statements")
    page.get_by_label("Tệp sao kê (CSV)").set_input_files(str(path))
    page.get_by_role("button", name="Nhập sao kê").click()
    expect(page.locator("#statement-lines tbody tr")).to_have_count(2)  # waits for the answer
    screenshot(page, f"billing-statement-{width}")
    assert _wallet(citizen)["balance"] == 230_000
    page.context.close()
