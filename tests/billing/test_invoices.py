"""Month close, invoices, VAT, gapless numbers, credit notes, the invoice PDF, and the books."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select, update

from billing.accounts import ORGANISATION, locked_account
from billing.calendar import month_bounds
from billing.charges import charge
from billing.errors import CreditExceedsInvoice, PeriodClosed, PeriodNotOver
from billing.invoice_pdf import Buyer, Seller, format_vnd, render_invoice_pdf
from billing.invoices import close_period, issue_credit_note, vat_split, view_invoice
from billing.ledger_check import Finding, check_books
from billing.models import BillingAccount, Invoice, UsageEvent
from billing.packs import buy_pack
from tests.billing.conftest import Books

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SELLER = Seller(name="Công ty kyso", tax_code="0312345678", address="1 Lý Thái Tổ, Hà Nội",
                series_letters="KS")  # fmt: skip


@pytest.mark.parametrize(
    ("gross", "percent", "net", "vat"),
    [(4_000, 10, 3_636, 364), (8_000, 10, 7_273, 727), (33_000, 10, 30_000, 3_000),
     (0, 10, 0, 0), (1, 10, 1, 0), (5, 10, 5, 0), (11, 10, 10, 1), (4_000, 0, 4_000, 0),
     (4_000, 8, 3_704, 296)],
)  # fmt: skip
def test_vat_is_split_out_of_inclusive_prices_to_the_dong(
    gross: int, percent: int, net: int, vat: int
) -> None:
    assert vat_split(gross, percent) == (net, vat)
    assert net + vat == gross


def _month(books: Books, year: int, month: int) -> tuple[str, datetime, datetime, datetime]:
    """A month of its own per backend run, far from other tests' months: (period, its first
    instant, a day in it, its end) with the instants in UTC."""
    offset = {"sqlite": 0, "postgresql": 6}[books.engine.dialect.name]
    period = f"{year}-{month + offset:02d}"
    first, end = month_bounds(period)
    return period, first, first + timedelta(days=5), end


def test_closing_a_month_invoices_each_account_its_usage_with_gapless_numbers(
    books: Books,
) -> None:
    period, first, mid, end = _month(books, 2031, 3)
    alice, bob = books.payer(funds=200_000, now=first), books.payer(funds=200_000, now=first)
    org = books.payer(ORGANISATION, now=first)
    free = books.payer(funds=0, now=first)
    with books.work() as session:
        charge(session, free, "signature.B-LT", now=mid, purpose="public_service")
        charge(session, alice, "signature.B-T", now=first)  # 00:00:00 on the 1st in Vietnam
        charge(session, alice, "signature.B-LT", now=mid)
        buy_pack(session, bob, "pack-10", now=mid)
        charge(session, bob, "signature.B-B", now=mid)
        charge(session, org, "signature.B-LTA", now=mid)
        before = first - timedelta(seconds=1)  # the previous month in Vietnam
        charge(session, alice, "signature.B-B", now=before)
    with books.work() as session, pytest.raises(PeriodNotOver):
        close_period(session, period, now=end + timedelta(minutes=4), vat_percent=10)
    with books.work() as session:
        made = close_period(session, period, now=end + timedelta(minutes=5), vat_percent=10)
        invoices = {i.account_id: i for i in made}
        assert set(invoices) >= {alice.account_id, bob.account_id, org.account_id}
        assert free.account_id not in invoices, "a month of free signatures was invoiced"
        assert all(invoice.total > 0 for invoice in made), "a 0 ₫ invoice"
        for invoice in made:
            usage = session.exec(select(UsageEvent.amount).where(
                UsageEvent.account_id == invoice.account_id,
                col(UsageEvent.created_at) >= invoice.period_start,
                col(UsageEvent.created_at) < invoice.period_end)).all()  # fmt: skip
            lines = view_invoice(session, invoice.id).lines
            assert invoice.total == sum(usage) == sum(line.amount for line in lines)
            assert (invoice.net, invoice.vat) == vat_split(invoice.total, 10)
        assert invoices[alice.account_id].total == 8_000  # not the previous month's signature
        assert invoices[bob.account_id].total == 33_000  # the pack; its signature cost 0
        assert invoices[org.account_id].total == 2_000_000  # the fee; the signature in quota
        numbers = sorted(int(i.number.rsplit("-", 1)[1]) for i in made)
        assert numbers == list(range(numbers[0], numbers[0] + len(made)))
        again = close_period(session, period, now=end + timedelta(hours=1), vat_percent=10)
        assert again == []
    with books.work() as session, pytest.raises(PeriodClosed):
        charge(session, alice, "signature.B-B", now=end - timedelta(seconds=1))
    counted, findings = _books_findings(books)
    assert findings == [], findings
    assert counted["invoices"] >= 3


def _books_findings(books: Books) -> tuple[dict[str, int], list[Finding]]:
    with Session(books.engine) as session:
        return check_books(session)


def test_credit_notes_never_exceed_their_invoice_and_credit_the_wallet(books: Books) -> None:
    period, first, mid, end = _month(books, 2031, 4)
    citizen = books.payer(funds=20_000, now=first)
    with books.work() as session:
        for _ in range(3):
            charge(session, citizen, "signature.B-LT", now=mid)
    with books.work() as session:
        (invoice,) = [i for i in close_period(session, period, now=end + timedelta(hours=1),
                                              vat_percent=10) if i.account_id == citizen.account_id]  # fmt: skip
    assert invoice.total == 12_000
    with books.work() as session:
        partial = issue_credit_note(session, invoice.id, amount=4_000, reason="ký lỗi, hoàn tiền",
                                    actor="staff", now=end + timedelta(days=1))  # fmt: skip
        assert (partial.net, partial.vat) == (3_636, 364)
    with books.work() as session, pytest.raises(CreditExceedsInvoice):
        issue_credit_note(session, invoice.id, amount=8_001, reason="quá", actor="staff",
                          now=end + timedelta(days=1))  # fmt: skip
    with books.work() as session:
        rest = issue_credit_note(session, invoice.id, amount=None, reason="hoàn nốt",
                                 actor="staff", now=end + timedelta(days=2))  # fmt: skip
        assert rest.amount == 8_000
        assert partial.net + rest.net == invoice.net, "the notes' VAT drifted from the invoice's"
        assert partial.vat + rest.vat == invoice.vat
        assert locked_account(session, citizen.account_id).balance == 20_000
    with books.work() as session, pytest.raises(CreditExceedsInvoice):
        issue_credit_note(session, invoice.id, amount=None, reason="lần nữa", actor="staff",
                          now=end + timedelta(days=3))  # fmt: skip
    with books.work() as session:
        unchanged = session.get(Invoice, invoice.id)
        assert unchanged is not None
        assert unchanged.total == 12_000  # a closed period is never edited


def test_the_invoice_pdf_reads_correctly_in_tools_we_did_not_write(
    books: Books, tmp_path: Path
) -> None:
    period, first, mid, end = _month(books, 2031, 5)
    citizen = books.payer(funds=50_000, now=first)
    with books.work() as session:
        buy_pack(session, citizen, "pack-10", now=mid)
        charge(session, citizen, "signature.B-LT", now=mid)
    with books.work() as session:
        (invoice,) = [i for i in close_period(session, period, now=end + timedelta(hours=1),
                                              vat_percent=10) if i.account_id == citizen.account_id]  # fmt: skip
        issue_credit_note(session, invoice.id, amount=3_300, reason="Khiếu nại <đã duyệt>",
                          actor="staff", now=end + timedelta(days=1))  # fmt: skip
        pdf = render_invoice_pdf(view_invoice(session, invoice.id), font=FONT, seller=SELLER,
                                 buyer=Buyer("Nguyễn Thị Mai"))  # fmt: skip
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert "No syntax or stream encoding errors" in check.stdout, check.stdout + check.stderr
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    text = " ".join(text.split())
    year = period[2:4]
    for expected in ("HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "Mẫu số: 1", f"Ký hiệu: C{year}TKS",
                     f"Số: {invoice.number[-6:].rjust(8, '0')}", invoice.number,
                     "Đơn vị bán hàng: Công ty kyso", "Mã số thuế: 0312345678",
                     "Địa chỉ: 1 Lý Thái Tổ, Hà Nội", "Người mua hàng: Nguyễn Thị Mai",
                     "Thuế suất GTGT: 10%", "Tiền thuế GTGT", format_vnd(invoice.vat),
                     format_vnd(33_000), "Gói chữ ký pack-10", "Khiếu nại <đã duyệt>",
                     format_vnd(invoice.total), "trừ vào gói",
                     "Số tiền viết bằng chữ: Ba mươi ba nghìn đồng"):  # fmt: skip
        assert expected in text, f"{expected!r} not in the PDF's text:\n{text}"


def test_check_books_finds_a_tampered_balance_and_a_missing_entry(books: Books) -> None:
    citizen = books.payer(funds=10_000, now=datetime(2032, 1, 5, tzinfo=UTC))
    with books.work() as session:
        session.execute(update(BillingAccount).where(col(BillingAccount.id) == citizen.account_id)
                        .values(balance=BillingAccount.balance + 1))  # fmt: skip
    _, findings = _books_findings(books)
    rules = {f.rule for f in findings if citizen.account_id in f.detail}
    assert "balance_equals_entries" in rules
    with books.work() as session:  # put it back, so other tests' books stay clean
        session.execute(update(BillingAccount).where(col(BillingAccount.id) == citizen.account_id)
                        .values(balance=BillingAccount.balance - 1))  # fmt: skip
    _, findings = _books_findings(books)
    assert not [f for f in findings if citizen.account_id in f.detail]
