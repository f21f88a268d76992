"""The monthly usage report on PostgreSQL at 100,000 and at 1,000,000 usage events (P7).

Each size gets a fresh database migrated by kyso, a month of signature events spread over
one account per five events, and the rollups kyso's charges keep (derived here from the
events in SQL, as check-ledger would). The report is billing.reports.usage_report, the
function behind GET /v1/billing/reports/usage, timed in-process (median of the runs).
Also printed, for context: the same month by account (which grows with the accounts, as its
output does) and a plain GROUP BY over the events (what the report would cost without the
rollups).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

import psycopg
from sqlalchemy import text
from sqlmodel import Session

from api.database import make_engine, migrate, unit_of_work
from billing.plans import seed_default_plans
from billing.reports import UsageFilter, usage_report

ADMIN_URL = os.environ.get("KYSO_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
POPULATE = """
INSERT INTO usage_event (account_id, user_id, product, quantity, amount, plan_code,
                         plan_version, tier, funding, created_at)
SELECT 'acct-' || (g % :accounts), 'acct-' || (g % :accounts),
       (ARRAY['signature.B-B', 'signature.B-T', 'signature.B-LT', 'signature.B-LTA'])[1 + g % 4], 1,
       4000, 'citizen', 1, 'tier:0+', 'wallet',
       TIMESTAMPTZ '2026-10-01 00:00:00+07' + (g::float8 / :events) * INTERVAL '31 days'
FROM generate_series(0, :events - 1) AS g;
INSERT INTO usage_rollup (account_id, product, day, count, amount)
SELECT account_id, product, to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD'),
       sum(quantity), sum(amount)
FROM usage_event GROUP BY 1, 2, 3;
INSERT INTO usage_daily (product, day, shard, count, amount)
SELECT product, day, abs(hashtext(account_id)) % 16, sum(count), sum(amount)
FROM usage_rollup GROUP BY 1, 2, 3;
"""

PLAIN_GROUP_BY = """
SELECT to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM'), product, count(*),
       sum(amount)
FROM usage_event
WHERE created_at >= TIMESTAMPTZ '2026-10-01 00:00:00+07'
  AND created_at < TIMESTAMPTZ '2026-11-01 00:00:00+07'
GROUP BY 1, 2
"""


def _median_seconds(action: Callable[[], object], runs: int) -> float:
    action()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(events: int, runs: int) -> dict[str, float | int]:
    name = f"kyso_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(f"{base}/{name}")
    try:
        migrate(engine)
        with unit_of_work(engine) as session:
            seed_default_plans(session)
        started = time.perf_counter()
        with engine.begin() as connection:
            for statement in POPULATE.split(";"):
                if statement.strip():
                    connection.execute(
                        text(statement), {"events": events, "accounts": max(1, events // 5)}
                    )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        populated = time.perf_counter() - started
        month = UsageFilter(first=date(2026, 10, 1), last=date(2026, 10, 31))
        with Session(engine) as session:
            rows = usage_report(session, month, group="month", by="product")
            assert sum(r.count for r in rows) == events, "the report lost events"
            report = _median_seconds(lambda: usage_report(session, month, group="month"), runs)
            by_day = _median_seconds(
                lambda: usage_report(session, month, group="day", by="product"), runs
            )
            by_account = _median_seconds(
                lambda: usage_report(session, month, group="month", by="account"), max(1, runs // 3)
            )
            plain = _median_seconds(lambda: session.execute(text(PLAIN_GROUP_BY)).all(), runs)
        return {
            "events": events,
            "populate_s": populated,
            "report_s": report,
            "report_by_day_s": by_day,
            "by_account_s": by_account,
            "plain_group_by_s": plain,
        }
    finally:
        engine.dispose()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs per measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    options = parser.parse_args(argv)
    runs = 5 if options.quick else 21
    small, large = measure(options.small, runs), measure(options.large, runs)
    ratio = float(large["report_s"]) / float(small["report_s"])
    if options.json:
        print(
            json.dumps(
                {
                    "metric": "P7",
                    "ratio": round(ratio, 3),
                    "goal": "<= 2",
                    "small": small,
                    "large": large,
                }
            )
        )
        return
    print(f"monthly usage report on PostgreSQL, median of {runs} runs (in-process)")
    for label, key in (
        ("report by product (P7)", "report_s"),
        ("report by day and product", "report_by_day_s"),
        ("report by account", "by_account_s"),
        ("plain GROUP BY over the events", "plain_group_by_s"),
    ):
        print(
            f"  {label:<32} {small[key] * 1000:10.2f} ms at {small['events']:>9,} events"
            f"   {large[key] * 1000:10.2f} ms at {large['events']:>9,}"
            f"   x{float(large[key]) / float(small[key]):.2f}"
        )
    print(f"  populating took {small['populate_s']:.1f} s and {large['populate_s']:.1f} s")
    print(f"  ratio 1M / 100k: {ratio:.2f} (goal <= 2)")


if __name__ == "__main__":
    main(sys.argv[1:])
