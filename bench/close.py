"""Month close and monthly report for the largest timebank vs one hand-written SQL aggregate.

    .venv/bin/python bench/close.py --size 10k [--db postgresql|sqlite|both]

Works on a copy of the generated database of the size (PostgreSQL: ``CREATE DATABASE ...
TEMPLATE``; SQLite: a file copy), because a close is once only. For the timebank with the most
transfers, every month of its history up to the last complete one is closed in order with
``timebank.ledger.close_month`` (one write transaction: statements from one grouped query, the
period's checksum over statements and transfers). Each close is timed against the single SQL
aggregate below, which computes the same statement figures for every account (and must give
the same numbers: the script compares them). Target: close <= 2 x the aggregate.

The close's time is also split into its statement query (``statement_rows``) and its checksum
(``period_checksum``: the database writes the lines of the month's statements and transfers,
Python hashes them), measured again after the close, so a miss can be pinned on one of them.
The rest of the close is its writes (the statement rows, with their foreign-key checks) and a
few small reads and locks. The app's close (``statements.service.close_and_record``) also
stores the month's report summary in the same transaction: that is timed on its own
(``write_month_summary``, a row beside the close's), outside the target's ratio, which compares
the ledger's close with an aggregate of the same statement figures.

The monthly report (``timebank.reports.service.monthly_report``: this month against the last,
a 12-month trend of eight measures, hours by category, reciprocity, requests met and the median
time to a match) is timed against one aggregate for the 12-month trend of hours, exchanges and
active participants: for context, since the report computes more figures than that.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET = 2.0  # close <= 2 x the single aggregate

# The statement figures of every account of one timebank for one month, in one statement. The
# same definitions as ledger/close.py: posted movements (single, post); opening = all before the
# month; earned/spent = exchange and activity credits/debits; donated/granted = donation and
# grant debits/credits; reversals and adjustments in/out; closing = opening + the month's net.
STATEMENT_SQL = """
WITH sides AS (
    SELECT t.debit_account_id AS account_id, -1 AS sign, t.purpose, t.value_date, t.amount_minutes AS amount
    FROM transfers t
    WHERE t.timebank_id = :tb AND t.phase IN ('single', 'post') AND t.value_date < :end
    UNION ALL
    SELECT t.credit_account_id, 1, t.purpose, t.value_date, t.amount_minutes
    FROM transfers t
    WHERE t.timebank_id = :tb AND t.phase IN ('single', 'post') AND t.value_date < :end
), totals AS (
    SELECT s.account_id,
        SUM(CASE WHEN s.value_date < :month THEN s.sign * s.amount ELSE 0 END) AS opening,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = 1 AND s.purpose IN ('exchange', 'activity')
                 THEN s.amount ELSE 0 END) AS earned,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = -1 AND s.purpose IN ('exchange', 'activity')
                 THEN s.amount ELSE 0 END) AS spent,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = -1 AND s.purpose IN ('donation', 'grant')
                 THEN s.amount ELSE 0 END) AS donated,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = 1 AND s.purpose IN ('donation', 'grant')
                 THEN s.amount ELSE 0 END) AS granted,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = 1 AND s.purpose = 'reversal' THEN s.amount ELSE 0 END)
            AS reversals_in,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = -1 AND s.purpose = 'reversal' THEN s.amount ELSE 0 END)
            AS reversals_out,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = 1 AND s.purpose = 'adjustment' THEN s.amount ELSE 0 END)
            AS adjustments_in,
        SUM(CASE WHEN s.value_date >= :month AND s.sign = -1 AND s.purpose = 'adjustment' THEN s.amount ELSE 0 END)
            AS adjustments_out,
        SUM(s.sign * s.amount) AS closing
    FROM sides s
    GROUP BY s.account_id
)
SELECT a.id, COALESCE(t.opening, 0), COALESCE(t.earned, 0), COALESCE(t.spent, 0), COALESCE(t.donated, 0),
    COALESCE(t.granted, 0), COALESCE(t.reversals_in, 0), COALESCE(t.reversals_out, 0), COALESCE(t.adjustments_in, 0),
    COALESCE(t.adjustments_out, 0), COALESCE(t.closing, 0)
FROM accounts a LEFT JOIN totals t ON t.account_id = a.id
WHERE a.timebank_id = :tb
ORDER BY a.id
"""

# The report's trend in one statement: per month, net help minutes (exchanges and activities,
# less reversals), posted exchange movements, and distinct member accounts that gave or received.
REPORT_SQL = """
WITH sides AS (
    SELECT t.debit_account_id AS account_id, 0 AS credit, t.purpose, t.value_date, t.amount_minutes AS amount
    FROM transfers t
    WHERE t.timebank_id = :tb AND t.phase IN ('single', 'post') AND t.value_date >= :start AND t.value_date < :end
    UNION ALL
    SELECT t.credit_account_id, 1, t.purpose, t.value_date, t.amount_minutes
    FROM transfers t
    WHERE t.timebank_id = :tb AND t.phase IN ('single', 'post') AND t.value_date >= :start AND t.value_date < :end
)
SELECT MONTH_OF(s.value_date) AS month,
    COALESCE(SUM(CASE WHEN s.credit = 1 AND s.purpose IN ('exchange', 'activity') THEN s.amount
                      WHEN s.credit = 1 AND s.purpose = 'reversal' THEN -s.amount END), 0),
    COUNT(CASE WHEN s.credit = 1 AND s.purpose = 'exchange' THEN 1 END),
    COUNT(DISTINCT CASE WHEN s.purpose IN ('exchange', 'activity') AND a.kind = 'member' THEN a.id END)
FROM sides s JOIN accounts a ON a.id = s.account_id
GROUP BY MONTH_OF(s.value_date)
ORDER BY 1
"""


def _report_sql(dialect: str) -> str:
    month_of = "date_trunc('month', {})" if dialect == "postgresql" else "strftime('%Y-%m', {})"
    return REPORT_SQL.replace("MONTH_OF(s.value_date)", month_of.format("s.value_date"))


def copy_database(url: str) -> str:
    """A throwaway copy to close months in."""
    if url.startswith("sqlite:///"):
        source = Path(url.removeprefix("sqlite:///"))
        with sqlite3.connect(source) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = source.with_name("close-copy.sqlite")
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    copy = f"{common.PG_PREFIX}_close_copy"
    common.pg_recreate(copy, template=common.database_name(url))
    return common.pg_url(copy)


def drop_copy(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        common.pg_drop(common.database_name(url))


def _months(first: date, last: date) -> list[date]:
    from timebank.clock import next_month

    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def run(url: str, size_name: str, repeat: int) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from timebank.clock import next_month
    from timebank.extensions import db
    from timebank.ledger.close import close_month, period_checksum, statement_rows
    from timebank.ledger.locking import write_transaction
    from timebank.models import Account, Base, Member, Role, Transfer
    from timebank.reports.service import monthly_report, write_month_summary

    common.ensure_generated(url, common.size(size_name))
    dialect = common.dialect_of(url)
    print(f"\n{dialect} {size_name}: copying the database ...", flush=True)
    copy = copy_database(url)
    app = common.make_app(copy)
    with app.app_context():
        # Tables added to the schema since the data was generated (e.g. month_summaries): the
        # copy gets them empty, as a migration would add them.
        Base.metadata.create_all(db.engine)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        with app.app_context():
            session = db.session()
            if dialect == "postgresql":
                session.execute(text("ANALYZE"))
                session.commit()
            tb, transfers = session.execute(
                select(Transfer.timebank_id, func.count())
                .group_by(Transfer.timebank_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            accounts = session.scalar(select(func.count()).select_from(Account).where(Account.timebank_id == tb))
            first = session.scalar(select(func.min(Transfer.value_date)).where(Transfer.timebank_id == tb))
            assert first is not None
            last_complete = date(common.TODAY.year, common.TODAY.month, 1)
            months = _months(first, date.fromordinal(last_complete.toordinal() - 1))
            connection_sql = text(STATEMENT_SQL)
            close_total = aggregate_total = statements_total = checksum_total = summary_total = 0.0
            per_month = []
            for month in months:
                params = {"tb": tb, "month": month, "end": next_month(month)}
                # The aggregate first (it warms the same pages the close reads), best of `repeat`.
                aggregate_times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    expected = [tuple(int(v) for v in r) for r in session.execute(connection_sql, params)]
                    aggregate_times.append(time.perf_counter() - started)
                session.commit()
                started = time.perf_counter()
                period = close_month(session, tb, month, today=common.TODAY)
                close_seconds = time.perf_counter() - started
                aggregate_seconds = min(aggregate_times)
                # The close's parts, measured again on the closed month (read only).
                started = time.perf_counter()
                written = statement_rows(session, tb, month)
                statements_seconds = time.perf_counter() - started
                started = time.perf_counter()
                period_checksum(session, period)
                checksum_seconds = time.perf_counter() - started
                session.commit()
                # The app's close (statements.service.close_and_record) also stores the month's
                # report figures in the same transaction; timed on its own, then kept, so the
                # report below reads closed months as it does after real closes.
                started = time.perf_counter()
                with write_transaction(session):
                    write_month_summary(session, tb, month)
                summary_total += time.perf_counter() - started
                got = [tuple(r.values()) for r in written]
                if got != expected:
                    raise SystemExit(f"The aggregate and the close disagree for {month:%Y-%m}")
                close_total += close_seconds
                aggregate_total += aggregate_seconds
                statements_total += statements_seconds
                checksum_total += checksum_seconds
                per_month.append(close_seconds / aggregate_seconds)
            rows.append(
                {
                    "what": f"close {len(months)} months in order (sum)",
                    "app_ms": round(close_total * 1000, 1),
                    "aggregate_ms": round(aggregate_total * 1000, 1),
                    "ratio": round(close_total / aggregate_total, 2),
                    "target": common.verdict(close_total / aggregate_total <= TARGET),
                }
            )
            rows.append(
                {
                    "what": "  of which: statement query (statement_rows)",
                    "app_ms": round(statements_total * 1000, 1),
                    "aggregate_ms": round(aggregate_total * 1000, 1),
                    "ratio": round(statements_total / aggregate_total, 2),
                    "target": "-",
                }
            )
            rows.append(
                {
                    "what": "  of which: checksum (period_checksum)",
                    "app_ms": round(checksum_total * 1000, 1),
                    "aggregate_ms": round(aggregate_total * 1000, 1),
                    "ratio": round(checksum_total / aggregate_total, 2),
                    "target": "-",
                }
            )
            rows.append(
                {
                    "what": "  besides: the month's report summary (write_month_summary)",
                    "app_ms": round(summary_total * 1000, 1),
                    "aggregate_ms": round(aggregate_total * 1000, 1),
                    "ratio": round(summary_total / aggregate_total, 2),
                    "target": "-",
                }
            )
            notes.append(
                f"Per-month close/aggregate ratio: worst {max(per_month):.2f}, median {common.median(per_month):.2f}; "
                "the aggregate's figures equal the statements the close wrote, month by month."
            )
            # The monthly report of the last closed month, as its coordinator.
            coordinator = session.scalars(
                select(Member).where(Member.timebank_id == tb, Member.role == Role.COORDINATOR).order_by(Member.id)
            ).first()
            assert coordinator is not None
            report_month = months[-1]
            trend_start = months[max(0, len(months) - 12)]
            report_sql = text(_report_sql(dialect))
            report_times, aggregate_times = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                monthly_report(session, coordinator, report_month, today=common.TODAY)
                report_times.append(time.perf_counter() - started)
                session.commit()
                started = time.perf_counter()
                session.execute(report_sql, {"tb": tb, "start": trend_start, "end": next_month(report_month)}).all()
                aggregate_times.append(time.perf_counter() - started)
                session.commit()
            report_seconds, aggregate_seconds = min(report_times), min(aggregate_times)
            rows.append(
                {
                    "what": f"monthly report {report_month:%Y-%m} (all figures; context)",
                    "app_ms": round(report_seconds * 1000, 1),
                    "aggregate_ms": round(aggregate_seconds * 1000, 1),
                    "ratio": round(report_seconds / aggregate_seconds, 2),
                    "target": "-",
                }
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_copy(copy)
    return {
        "benchmark": "close",
        "dialect": dialect,
        "size": size_name,
        "timebank_id": tb,
        "accounts": accounts,
        "timebank_transfers": transfers,
        "months": len(months),
        "rows": rows,
        "notes": notes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help=f"one of {', '.join(common.SIZES)}")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the aggregate and the report")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    common.SAVE = not args.no_save
    dialects = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for dialect in dialects:
        result = run(common.data_url(dialect, args.size), args.size, args.repeat)
        print(
            f"\nClose on {dialect}, {args.size}: timebank {result['timebank_id']} ({result['accounts']} accounts, "
            f"{result['timebank_transfers']} transfers); target close <= {TARGET} x aggregate"
        )
        print(
            common.table(
                ["what", "app ms", "aggregate ms", "ratio", "target"],
                [[r["what"], r["app_ms"], r["aggregate_ms"], r["ratio"], r["target"]] for r in result["rows"]],
            )
        )
        for note in result["notes"]:
            print("-", note)
        if not args.no_save:
            common.save_result(f"close-{dialect}-{args.size}", result)
    if not args.no_save:
        common.render_report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
