"""Reports for billing staff read the daily rollups; they must agree with the events."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, func, select

from billing.charges import PUBLIC_SERVICE, charge
from billing.models import UsageEvent
from billing.reports import UsageFilter, citizen_comparisons, to_csv, usage_report
from tests.billing.conftest import Books


def test_reports_by_day_month_product_and_account_agree_with_the_events(books: Books) -> None:
    year = {"sqlite": 2033, "postgresql": 2034}[books.engine.dialect.name]
    last_of_jan = datetime(year, 1, 31, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Vietnam
    first_of_feb = datetime(year, 1, 31, 17, 0, 0, tzinfo=UTC)  # 00:00:00 in Vietnam
    alice, bob = (
        books.payer(funds=100_000, now=last_of_jan),
        books.payer(funds=100_000, now=last_of_jan),
    )
    with books.work() as session:
        charge(session, alice, "signature.B-T", now=last_of_jan)
        charge(session, alice, "signature.B-LT", now=first_of_feb)
        charge(session, alice, "signature.B-LT", now=first_of_feb, purpose=PUBLIC_SERVICE)
        charge(session, bob, "signature.B-LT", now=first_of_feb + timedelta(days=1))
    where = UsageFilter(first=date(year, 1, 1), last=date(year, 2, 28))
    with Session(books.engine) as session:
        by_month = usage_report(session, where, group="month", by="none")
        by_day = usage_report(session, where, group="day", by="product")
        by_account = usage_report(session, where, group="month", by="account")
        events = session.exec(select(func.count(), func.sum(UsageEvent.amount)).where(
            col(UsageEvent.account_id).in_([alice.account_id, bob.account_id]))).one()  # fmt: skip
    assert [(r.period, r.count, r.amount) for r in by_month] == [
        (f"{year}-01", 1, 4_000), (f"{year}-02", 3, 8_000),
    ]  # fmt: skip
    assert (sum(r.count for r in by_day), sum(r.amount for r in by_day)) == tuple(events)
    assert {(r.period, r.key, r.count) for r in by_day} == {
        (f"{year}-01-31", "signature.B-T", 1), (f"{year}-02-01", "signature.B-LT", 2),
        (f"{year}-02-02", "signature.B-LT", 1),
    }  # fmt: skip
    alice_rows = [r for r in by_account if r.key == alice.account_id]
    assert [(r.period, r.amount, r.label) for r in alice_rows] == [
        (f"{year}-01", 4_000, alice.label), (f"{year}-02", 4_000, alice.label),
    ]  # fmt: skip
    with Session(books.engine) as session:
        mine = citizen_comparisons(session, year, yearly_certificate_price=1_650_000,
                                   account_id=alice.account_id)  # fmt: skip
    assert [(c.signatures, c.paid, c.saved) for c in mine] == [(3, 8_000, 1_642_000)]


def test_csv_cells_cannot_smuggle_spreadsheet_formulas() -> None:
    text = to_csv(["label", "amount"], [['=HYPERLINK("x")', 4000], ["Nguyễn Văn A", -5]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["label", "amount"], ['\'=HYPERLINK("x")', "4000"], ["Nguyễn Văn A", "-5"]]
