"""A bank statement as billing staff export it: CSV, UTF-8 (a byte-order mark is fine), a
header line naming the columns (in any order; others are ignored) and one line per
transaction::

    date,amount,description,bank_transaction_id
    2026-12-05,100000,MBVCB.1234.KYSO3F2A9C1B4D7E.CT tu 0123 NGUYEN VAN AN,FT26340123456

``date`` the Vietnamese day ``YYYY-MM-DD``; ``amount`` whole VND (``100000``, or ``100.000``
quoted); a debit (negative amount) is not a top-up; ``bank_transaction_id`` (or
``reference``) the bank's own id of the transaction, which makes each transfer count once
however often it is imported."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from billing.errors import InvalidBillingInput

__all__ = ["COLUMNS", "ID_COLUMNS", "MAX_LINES", "StatementLine", "parse_statement"]

COLUMNS = ("date", "amount", "description", "bank_transaction_id")
ID_COLUMNS = ("bank_transaction_id", "reference")
"""The bank's id of a transaction is in either of these columns."""
MAX_LINES = 10_000
_AMOUNT = re.compile(r"-?[0-9]{1,3}([.,\s]?[0-9]{3})*")


@dataclass(frozen=True)
class StatementLine:
    number: int
    """The line in the file (the header is line 1)."""
    day: date
    amount: int
    """Signed VND, as the bank wrote it."""
    description: str
    transaction_id: str


def _amount(text: str, number: int) -> int:
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        raise InvalidBillingInput(
            f"line {number}: the amount {text[:20]!r} is not whole VND", field="amount"
        )
    return int(re.sub(r"[.,\s]", "", text))


def _line(row: list[str], where: dict[str, int], number: int) -> StatementLine:
    if len(row) < len(where) or max(where.values()) >= len(row):
        raise InvalidBillingInput(f"line {number}: columns are missing", field="statement")
    day_text, amount_text, description, transaction_id = (
        row[where[name]].strip() for name in COLUMNS
    )
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise InvalidBillingInput(
            f"line {number}: the date is not YYYY-MM-DD", field="date"
        ) from None
    if not 0 < len(transaction_id) <= 100:
        raise InvalidBillingInput(
            f"line {number}: the bank transaction id is missing or too long",
            field="bank_transaction_id",
        )
    return StatementLine(number, day, _amount(amount_text, number), description[:300],
                         transaction_id)  # fmt: skip


def _columns(header: list[str]) -> dict[str, int]:
    """Where each needed column is, by its name."""
    names = [cell.strip().lower() for cell in header]
    where = {name: names.index(name) for name in COLUMNS[:3] if name in names}
    ids = [names.index(name) for name in ID_COLUMNS if name in names]
    if len(where) < 3 or not ids:
        raise InvalidBillingInput(
            "the first line of a statement names its columns: " + ",".join(COLUMNS)
            + " (or reference for the bank transaction id)", field="statement",
        )  # fmt: skip
    return where | {"bank_transaction_id": ids[0]}


def parse_statement(data: bytes) -> list[StatementLine]:
    """The transactions of a statement; a file not in the format is refused whole, naming
    the first wrong line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidBillingInput("a statement is a UTF-8 CSV file", field="statement") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    where = _columns(rows[0] if rows else [])
    if len(rows) - 1 > MAX_LINES:
        raise InvalidBillingInput(f"a statement has at most {MAX_LINES:,} lines", field="statement")
    lines = [_line(row, where, number) for number, row in enumerate(rows[1:], start=2)]
    seen: set[str] = set()
    for line in lines:
        if line.transaction_id in seen:
            raise InvalidBillingInput(
                f"line {line.number}: the bank transaction id {line.transaction_id} is "
                "in the file twice", field="bank_transaction_id",
            )  # fmt: skip
        seen.add(line.transaction_id)
    return lines
