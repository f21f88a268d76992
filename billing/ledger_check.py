"""Proofs over a live database that billing's books are whole (``kyso admin check-ledger``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from billing.models import (
    BillingAccount,
    CreditNote,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    NumberSeries,
    PackPurchase,
    UsageDaily,
    UsageEvent,
    UsageRollup,
)
from kernel.vietnam import VIETNAM

__all__ = ["Finding", "check_books"]

_DEBITS = ("charge", "pack_purchase", "subscription_fee")


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up."""

    rule: str
    detail: str


def check_books(session: Session) -> tuple[dict[str, int], list[Finding]]:
    """Check every rule; (what was counted, what is wrong)."""
    findings: list[Finding] = []
    counted = {
        "accounts": _balances(session, findings),
        "ledger_entries": _chains(session, findings),
        "charged_events": _charges_have_entries(session, findings),
        "rollups": _rollups(session, findings),
        "invoices": _invoices(session, findings),
        "credit_notes": _credit_notes(session, findings),
        "packs": _packs(session, findings),
    }
    return counted, findings


def _balances(session: Session, findings: list[Finding]) -> int:
    sums = dict(
        session.execute(
            select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(
                col(LedgerEntry.account_id)
            )
        ).all()
    )
    accounts = session.exec(select(BillingAccount)).all()
    for account in accounts:
        total = int(sums.pop(account.id, 0) or 0)
        if account.balance != total:
            findings.append(
                Finding(
                    "balance_equals_entries",
                    f"account {account.id}: balance {account.balance} but entries "
                    f"add up to {total}",
                )
            )
        if account.credit_limit == 0 and account.balance < 0:  # prepaid (postpaid owe fees)
            findings.append(
                Finding(
                    "within_credit",
                    f"account {account.id} is overdrawn: "
                    f"{account.balance} with a limit of {account.credit_limit}",
                )
            )
    for orphan in sums:
        findings.append(Finding("entries_have_account", f"entries for unknown account {orphan}"))
    return len(accounts)


def _chains(session: Session, findings: list[Finding]) -> int:
    """Each entry's ``balance_after`` is the running sum of its account's entries."""
    limits = dict(session.execute(select(BillingAccount.id, BillingAccount.credit_limit)).all())
    running: dict[str, int] = defaultdict(int)
    count = 0
    rows = session.execute(
        sa_select(
            col(LedgerEntry.id),
            col(LedgerEntry.account_id),
            col(LedgerEntry.amount),
            col(LedgerEntry.balance_after),
            col(LedgerEntry.kind),
        )
        .order_by(col(LedgerEntry.account_id), col(LedgerEntry.id))
        .execution_options(yield_per=10_000)
    )
    for entry_id, account_id, amount, after, kind in rows:
        count += 1
        running[account_id] += amount
        if running[account_id] != after:
            findings.append(
                Finding(
                    "running_balance",
                    f"entry {entry_id}: balance_after {after}, running sum {running[account_id]}",
                )
            )
        limit = limits.get(account_id)
        if kind in ("charge", "pack_purchase") and limit is not None and after < -limit:
            findings.append(Finding("no_overdraft", f"entry {entry_id} overdrew {account_id}"))
    return count


def _charges_have_entries(session: Session, findings: list[Finding]) -> int:
    """Every priced event is debited exactly once, by its own amount, and every debit has its
    event."""
    debits = (
        select(
            LedgerEntry.usage_event_id,
            func.count(col(LedgerEntry.id)).label("n"),
            func.sum(LedgerEntry.amount).label("total"),
        )
        .where(col(LedgerEntry.kind).in_(_DEBITS))
        .group_by(col(LedgerEntry.usage_event_id))
        .subquery()
    )
    rows = session.execute(
        select(UsageEvent.id, UsageEvent.amount, debits.c.n, debits.c.total)
        .outerjoin(debits, debits.c.usage_event_id == UsageEvent.id)
        .where((col(UsageEvent.amount) != 0) | debits.c.n.is_not(None))
    ).all()
    for event_id, amount, n, total in rows:
        if n != 1 or -int(total) != amount:
            findings.append(
                Finding(
                    "charge_has_entry",
                    f"usage event {event_id} of {amount} VND "
                    f"has {n or 0} debit(s) totalling {total or 0}",
                )
            )
    orphans = session.execute(
        select(LedgerEntry.id)
        .where(col(LedgerEntry.kind).in_(_DEBITS))
        .where(~select(UsageEvent.id).where(UsageEvent.id == LedgerEntry.usage_event_id).exists())
    ).all()
    for (entry_id,) in orphans:
        findings.append(Finding("entry_has_charge", f"debit {entry_id} has no usage event"))
    return len(rows)


def _vietnam_day(session: Session) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(VIETNAM.key, col(UsageEvent.created_at)), "YYYY-MM-DD")
    return cast(
        func.strftime("%Y-%m-%d", col(UsageEvent.created_at), literal_column("'+7 hours'")), String
    )


def _rollups(session: Session, findings: list[Finding]) -> int:
    day = _vietnam_day(session)
    events = {
        (a, p, d): (int(n), int(s))
        for a, p, d, n, s in session.execute(
            sa_select(
                col(UsageEvent.account_id),
                col(UsageEvent.product),
                day,
                func.sum(UsageEvent.quantity),
                func.sum(UsageEvent.amount),
            ).group_by(col(UsageEvent.account_id), col(UsageEvent.product), day)
        ).all()
    }
    daily_events: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for (_, product, on), (n, amount) in events.items():
        before = daily_events[(product, on)]
        daily_events[(product, on)] = (before[0] + n, before[1] + amount)
    daily: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for row in session.exec(select(UsageDaily)):
        before = daily[(row.product, row.day)]
        daily[(row.product, row.day)] = (before[0] + row.count, before[1] + row.amount)
    for pair in sorted(set(daily_events) | set(daily)):
        if daily_events[pair] != daily[pair]:
            findings.append(
                Finding(
                    "daily_total_matches_events",
                    f"{pair}: events {daily_events[pair]}, daily {daily[pair]}",
                )
            )
    rollups = {
        (r.account_id, r.product, r.day): (r.count, r.amount)
        for r in session.exec(select(UsageRollup))
    }
    for key in sorted(set(events) | set(rollups)):
        if events.get(key, (0, 0)) != rollups.get(key, (0, 0)):
            findings.append(
                Finding(
                    "rollup_matches_events",
                    f"{key}: events {events.get(key)}, rollup {rollups.get(key)}",
                )
            )
    return len(rollups)


def _invoices(session: Session, findings: list[Finding]) -> int:
    invoices = session.exec(select(Invoice)).all()
    line_sums = dict(
        session.execute(
            select(InvoiceLine.invoice_id, func.sum(InvoiceLine.amount)).group_by(
                col(InvoiceLine.invoice_id)
            )
        ).all()
    )
    for invoice in invoices:
        usage = session.exec(
            select(func.coalesce(func.sum(UsageEvent.amount), 0)).where(
                UsageEvent.account_id == invoice.account_id,
                col(UsageEvent.created_at) >= invoice.period_start,
                col(UsageEvent.created_at) < invoice.period_end,
            )
        ).one()
        lines = int(line_sums.get(invoice.id) or 0)
        if not invoice.total == lines == int(usage) or invoice.net + invoice.vat != invoice.total:
            findings.append(
                Finding(
                    "invoice_equals_usage",
                    f"invoice {invoice.number}: total "
                    f"{invoice.total}, lines {lines}, usage {usage}",
                )
            )
    _gapless(session, findings, [i.number for i in invoices], "invoice:", "HD")
    return len(invoices)


def _gapless(
    session: Session, findings: list[Finding], numbers: list[str], series: str, prefix: str
) -> None:
    by_year: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        year, _, serial = number.removeprefix(prefix).partition("-")
        by_year[year].append(int(serial))
    lasts = {s.name: s.last for s in session.exec(select(NumberSeries))}
    for year in set(by_year) | {n.removeprefix(series) for n in lasts if n.startswith(series)}:
        serials = sorted(by_year.get(year, []))
        if serials != list(range(1, lasts.get(series + year, 0) + 1)):
            findings.append(
                Finding(
                    "gapless_numbers",
                    f"{prefix}{year}: numbers {serials[:5]}… "
                    f"against a series at {lasts.get(series + year)}",
                )
            )


def _credit_notes(session: Session, findings: list[Finding]) -> int:
    notes = session.exec(select(CreditNote)).all()
    totals = {i.id: i for i in session.exec(select(Invoice))}
    credited: dict[str, int] = defaultdict(int)
    entries = {
        e.reference
        for e in session.exec(select(LedgerEntry).where(LedgerEntry.kind == "credit_note"))
    }
    for note in notes:
        credited[note.invoice_id] += note.amount
        if f"credit:{note.number}" not in entries:
            findings.append(Finding("credit_has_entry", f"credit note {note.number} not in wallet"))
    for invoice_id, amount in credited.items():
        invoice = totals.get(invoice_id)
        if invoice is None or amount > invoice.total:
            findings.append(
                Finding("credit_within_invoice", f"credit notes of {invoice_id} add up to {amount}")
            )
    _gapless(session, findings, [n.number for n in notes], "credit:", "CN")
    return len(notes)


def _packs(session: Session, findings: list[Finding]) -> int:
    used: dict[str | None, int] = dict(
        session.execute(
            select(UsageEvent.funding, func.count(col(UsageEvent.id)))
            .where(col(UsageEvent.funding).like("pack:%"))
            .group_by(col(UsageEvent.funding))
        ).all()
    )
    packs = session.exec(select(PackPurchase)).all()
    for pack in packs:
        spent = int(used.get(f"pack:{pack.id}", 0))
        if spent != pack.used or pack.used > pack.signatures:
            findings.append(
                Finding(
                    "pack_usage",
                    f"pack {pack.id}: used {pack.used} of {pack.signatures}, {spent} events",
                )
            )
    return len(packs)
