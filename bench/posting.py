"""Posting: approving exchanges through the service layer vs the same writes in hand-written SQL.

    .venv/bin/python bench/posting.py [--db sqlite|postgresql|both] [--exchanges 400] [--clients 1,8]

Setup (not timed): a fresh database with a small generated timebank, then ``exchanges`` x
(number of client settings) x 3 confirmed exchanges with their hours reserved, written in bulk
(a pending transfer each, the accounts' pending totals raised to match).

Timed, per client setting, in alternating rounds (so background load hits both sides alike):

- service: ``timebank.exchanges.service.approve_exchange(session, coordinator, id)``: one
  ``write_transaction`` per exchange: the exchange row locked, the state machine, the ledger's
  ``post_pending`` (accounts locked in id order, idempotency and period checks, the POST row,
  the cached totals), the audit event, and whatever else the service does on approval today
  (notifications to both members).
- floor: the same writes as hand-written SQL on a raw driver connection, one transaction per
  exchange: a conditional UPDATE of the exchange (locks it and returns what the rest needs),
  the two accounts' cached totals updated in id order (returning their names and members), the
  POST transfer row, the audit row, and what notifications/events.py writes on approval: the
  exchange's earlier needs-action notifications resolved, both members read (name, email,
  preferences, timebank name), a notification for each in one INSERT, and an email for each
  whose preferences ask for it, rendered from the same templates, in one INSERT.
- service-quiet: the service with its notifications step switched off, to show what that step
  costs (not a path the app ever takes; it writes less than the floor, so it has no ratio).

After the run, the rows each path wrote are counted table by table; the service's and the
floor's must be equal (else the run fails), and the statements each sent per approval are
printed and saved (BEGIN and COMMIT included; the pool's pre-ping on checkout is not seen).

Clients are separate processes (spawned, each with its own connection), released together;
throughput is exchanges approved per second of wall time. SQLite has one writer at a time
(BEGIN IMMEDIATE), so 8 clients there take turns: the numbers say so rather than hide it.
At the end ``check_ledger`` must pass and every exchange must be approved.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET = 0.5  # service throughput >= 0.5 x the floor's
AMOUNT = 15  # minutes per exchange: small, so no account nears its floor or cap


# -- setup -----------------------------------------------------------------------------------


def setup(url: str, count: int, members: int, copies: int = 1) -> dict[str, Any]:
    """A fresh database: one generated timebank and ``count`` confirmed exchanges, in runs of
    ``copies`` between the same two members (one for each path, so each path approves the same
    people's exchanges and must write the same rows)."""
    from sqlalchemy import insert, select

    from timebank.extensions import db
    from timebank.generate import GenerateSpec, generate
    from timebank.models import (
        Account,
        AccountKind,
        Exchange,
        ExchangeStatus,
        Member,
        Role,
        Timebank,
        Transfer,
        TransferPhase,
        TransferPurpose,
    )

    common.fresh_database(url)
    app = common.make_app(url)
    with app.app_context():
        session = db.session()
        today = datetime.now(UTC).date()
        generate(
            session,
            GenerateSpec(timebanks=1, members=members, months=2, seed=common.SEED, today=today - timedelta(days=3)),
        )
        timebank = session.scalars(select(Timebank).order_by(Timebank.id)).first()
        assert timebank is not None
        coordinator = session.scalars(
            select(Member).where(Member.timebank_id == timebank.id, Member.role == Role.COORDINATOR)
        ).first()
        assert coordinator is not None
        accounts = session.execute(
            select(
                Account.id, Account.member_id, Account.credits_posted - Account.debits_posted - Account.debits_pending
            )
            .where(Account.timebank_id == timebank.id, Account.kind == AccountKind.MEMBER)
            .order_by(Account.id)
        ).all()
        # Accounts comfortably inside their limits, so the reservations below keep every rule.
        usable = [(a, m) for a, m, lowest in accounts if 0 <= lowest <= 30 * 60]
        rng = random.Random(7)
        performed = today - timedelta(days=1)
        now = datetime.now(UTC).replace(tzinfo=None)
        pairs = []
        for _ in range(count // copies):
            (provider, provider_member), (recipient, recipient_member) = rng.sample(usable, 2)
            pairs += [(provider, provider_member, recipient, recipient_member)] * copies
        transfer_rows = [
            {
                "timebank_id": timebank.id,
                "debit_account_id": recipient,
                "credit_account_id": provider,
                "amount_minutes": AMOUNT,
                "phase": TransferPhase.PENDING,
                "purpose": TransferPurpose.EXCHANGE,
                "value_date": performed,
                "memo": "",
                "idempotency_key": f"bench-reserve-{n}",
                "request_fingerprint": "0" * 64,
                "created_by_id": provider_member,
            }
            for n, (provider, provider_member, recipient, _m) in enumerate(pairs)
        ]
        pending_ids = list(
            session.scalars(insert(Transfer).returning(Transfer.id, sort_by_parameter_order=True), transfer_rows)
        )
        exchange_rows = [
            {
                "timebank_id": timebank.id,
                "provider_account_id": provider,
                "recipient_account_id": recipient,
                "status": ExchangeStatus.CONFIRMED,
                "description": "Bench exchange",
                "minutes": AMOUNT,
                "performed_on": performed,
                "proposed_by_id": provider_member,
                "recorded_by_id": provider_member,
                "entered_by_id": provider_member,
                "confirmed_by_id": recipient_member,
                "decision_reason": "",
                "message": "",
                "pending_transfer_id": pending_id,
                "recorded_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for pending_id, (provider, provider_member, recipient, recipient_member) in zip(
                pending_ids, pairs, strict=True
            )
        ]
        exchange_ids = list(
            session.scalars(insert(Exchange).returning(Exchange.id, sort_by_parameter_order=True), exchange_rows)
        )
        debits: dict[int, int] = {}
        credits: dict[int, int] = {}
        for provider, _pm, recipient, _rm in pairs:
            credits[provider] = credits.get(provider, 0) + AMOUNT
            debits[recipient] = debits.get(recipient, 0) + AMOUNT
        for account_id in set(debits) | set(credits):
            account = session.get(Account, account_id)
            assert account is not None
            account.debits_pending += debits.get(account_id, 0)
            account.credits_pending += credits.get(account_id, 0)
        session.commit()
        info = {"timebank_id": timebank.id, "coordinator_id": coordinator.id, "exchange_ids": exchange_ids}
        transfers = common.count_rows(url, "transfers")
        info["transfers_before"] = transfers
        db.session.remove()
        db.engine.dispose()
    return info


def verify(url: str, exchange_ids: list[int]) -> list[str]:
    from sqlalchemy import func, select

    from timebank.extensions import db
    from timebank.ledger import check_ledger
    from timebank.models import Exchange, ExchangeStatus

    app = common.make_app(url)
    with app.app_context():
        session = db.session()
        problems = list(check_ledger(session).problems)
        approved = session.scalar(
            select(func.count(Exchange.id)).where(
                Exchange.id.in_(exchange_ids), Exchange.status == ExchangeStatus.APPROVED
            )
        )
        if approved != len(exchange_ids):
            problems.append(f"{len(exchange_ids) - (approved or 0)} exchanges were not approved")
        db.session.remove()
        db.engine.dispose()
    return problems


def rows_written(url: str, by_path: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    """Per path, the rows its approvals wrote in each table: the service and the floor must agree
    (the floor does the same writes), or the ratio would compare different work."""
    from sqlalchemy import func, select

    from timebank.extensions import db
    from timebank.models import AuditEvent, Exchange, Notification, OutboundEmail, Transfer, TransferPhase

    app = common.make_app(url)
    written: dict[str, dict[str, int]] = {}
    with app.app_context():
        session = db.session()
        for path, ids in by_path.items():
            pending = select(Exchange.pending_transfer_id).where(Exchange.id.in_(ids))
            notifications = select(Notification.id).where(
                Notification.exchange_id.in_(ids), Notification.kind == "exchange.approved"
            )
            counts = {
                "exchanges approved": select(func.count(Exchange.id)).where(
                    Exchange.id.in_(ids), Exchange.decided_by_id.is_not(None)
                ),
                "transfers": select(func.count(Transfer.id)).where(
                    Transfer.pending_id.in_(pending), Transfer.phase == TransferPhase.POST
                ),
                "audit_events": select(func.count(AuditEvent.id)).where(
                    AuditEvent.subject_type == "exchange", AuditEvent.subject_id.in_(ids)
                ),
                "notifications": select(func.count()).select_from(notifications.subquery()),
                "outbound_emails": select(func.count(OutboundEmail.id)).where(
                    OutboundEmail.notification_id.in_(notifications)
                ),
            }
            written[path] = {table: int(session.scalar(query) or 0) for table, query in counts.items()}
        db.session.remove()
        db.engine.dispose()
    return written


# -- the clients (separate processes) --------------------------------------------------------


def _fingerprint(*values: object) -> str:
    return hashlib.sha256("|".join(str(v) for v in values).encode()).hexdigest()


class Floor:
    """The hand-written SQL: the same writes as an approval, one transaction per exchange."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import sqlite3

            self.connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=60)
            for pragma in ("foreign_keys = ON", "busy_timeout = 60000", "journal_mode = WAL"):
                self.connection.execute(f"PRAGMA {pragma}")
            self.mark = "?"
        else:
            import psycopg

            self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
            self.mark = "%s"
        self.round_trips = 0  # statements sent, BEGIN and COMMIT included

    def sql(self, text: str) -> str:
        return text.replace("%s", self.mark)

    def approve(self, exchange_id: int, actor_id: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        today = now.date()
        cursor = _Counted(self.connection.cursor(), self)
        if self.sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        else:
            self.round_trips += 2  # psycopg's BEGIN before the first statement, and the COMMIT
        try:
            cursor.execute(
                self.sql(
                    "UPDATE exchanges SET status = 'approved', decided_by_id = %s, updated_at = %s "
                    "WHERE id = %s AND status IN ('recorded', 'confirmed') "
                    "RETURNING timebank_id, pending_transfer_id, provider_account_id, recipient_account_id, minutes, "
                    "description"
                ),
                (actor_id, now, exchange_id),
            )
            row = cursor.fetchone()
            if row is None:
                raise RuntimeError(f"exchange {exchange_id} is not waiting for approval")
            timebank_id, pending_id, credit_id, debit_id, minutes, description = row
            names: dict[int, tuple[str, int | None]] = {}  # account id -> (name, member id)
            for account_id in sorted((debit_id, credit_id)):  # the ledger's lock order
                side = "debits" if account_id == debit_id else "credits"
                cursor.execute(
                    self.sql(
                        f"UPDATE accounts SET {side}_pending = {side}_pending - %s, "
                        f"{side}_posted = {side}_posted + %s WHERE id = %s RETURNING name, member_id"
                    ),
                    (minutes, minutes, account_id),
                )
                names[account_id] = cursor.fetchone()
            key = f"exchange-{exchange_id}-post"
            cursor.execute(
                self.sql(
                    "INSERT INTO transfers (timebank_id, debit_account_id, credit_account_id, amount_minutes, phase, "
                    "purpose, pending_id, value_date, memo, idempotency_key, request_fingerprint, created_by_id, "
                    "created_at) VALUES (%s, %s, %s, %s, 'post', 'exchange', %s, %s, '', %s, %s, %s, %s)"
                ),
                (
                    timebank_id,
                    debit_id,
                    credit_id,
                    minutes,
                    pending_id,
                    today,
                    key,
                    _fingerprint("post", timebank_id, debit_id, credit_id, minutes, today, pending_id),
                    actor_id,
                    now,
                ),
            )
            cursor.execute(
                self.sql(
                    "INSERT INTO audit_events (timebank_id, actor_id, action, subject_type, subject_id, created_at) "
                    "VALUES (%s, %s, 'exchange.approved', 'exchange', %s, %s)"
                ),
                (timebank_id, actor_id, exchange_id, now),
            )
            self._tell_both(cursor, exchange_id, names, credit_id, debit_id, minutes, description, now)
            if self.sqlite:
                cursor.execute("COMMIT")
            else:
                self.connection.commit()
        except BaseException:
            if self.sqlite:
                cursor.execute("ROLLBACK")
            else:
                self.connection.rollback()
            raise

    def _tell_both(
        self,
        cursor: Any,
        exchange_id: int,
        names: dict[int, tuple[str, int | None]],
        credit_id: int,
        debit_id: int,
        minutes: int,
        description: str,
        now: datetime,
    ) -> None:
        """What notifications/events.py writes on approval: earlier needs-action notifications of
        the exchange resolved; an in-app notification for each member; an email to each whose
        preferences ask for exchange updates (rendered from the same templates)."""
        from timebank.hours import hours_in_words
        from timebank.notifications.emails import render_notification_email

        cursor.execute(
            self.sql(
                "UPDATE notifications SET needs_action = %s, read_at = coalesce(read_at, %s) "
                "WHERE exchange_id = %s AND needs_action = %s"
            ),
            (False, now, exchange_id, True),
        )
        member_ids = [member for _name, member in names.values() if member is not None]
        marks = ", ".join(["%s"] * len(member_ids))
        cursor.execute(
            self.sql(
                "SELECT members.id, members.timebank_id, members.display_name, members.email, members.left_at, "
                "members.email_exchange_updates, timebanks.name FROM members "
                f"JOIN timebanks ON timebanks.id = members.timebank_id WHERE members.id IN ({marks})"
            ),
            member_ids,
        )
        members = {row[0]: row for row in cursor.fetchall()}
        provider, recipient = names[credit_id], names[debit_id]
        about = f" (“{description}”)" if description else ""
        link = f"/exchanges/{exchange_id}"
        rows = []
        for member_id in dict.fromkeys(member_ids):
            giver = "You" if provider[1] == member_id else provider[0]
            taker = "you" if recipient[1] == member_id else recipient[0]
            message = f"{giver} gave {taker} {hours_in_words(minutes)}{about}: approved. The time credits have moved."
            rows.append((member_id, members[member_id][1], message))
        values = ", ".join(["(%s, %s, 'exchange.approved', %s, %s, %s, %s, %s, %s)"] * len(rows))
        cursor.execute(
            self.sql(
                "INSERT INTO notifications (member_id, timebank_id, kind, message, link, exchange_id, needs_action, "
                f"dedupe_key, created_at) VALUES {values} "
                "ON CONFLICT (member_id, dedupe_key) DO NOTHING RETURNING id, member_id"
            ),
            [
                value
                for member_id, timebank_id, message in rows
                for value in (
                    member_id,
                    timebank_id,
                    message,
                    link,
                    exchange_id,
                    False,
                    f"exchange:{exchange_id}:approved",
                    now,
                )
            ],
        )
        written = {member_id: notification_id for notification_id, member_id in cursor.fetchall()}
        emails = []
        for member_id, _timebank_id, message in rows:
            _id, _tb, display_name, email, left_at, updates, timebank_name = members[member_id]
            if member_id not in written or not email or left_at is not None or not updates:
                continue
            rendered = render_notification_email(
                SimpleNamespace(display_name=display_name, timebank=SimpleNamespace(name=timebank_name)),  # type: ignore[arg-type]
                SimpleNamespace(kind="exchange.approved", message=message, link=link, needs_action=False),  # type: ignore[arg-type]
            )
            notification_id = written[member_id]
            emails.append(
                (
                    member_id,
                    notification_id,
                    email,
                    rendered.subject,
                    rendered.text,
                    rendered.html,
                    f"notification-{notification_id}",
                    now,
                )
            )
        if emails:
            values = ", ".join(["(%s, %s, 'exchange.approved', %s, %s, %s, %s, '', %s, %s, 0, '')"] * len(emails))
            cursor.execute(
                self.sql(
                    "INSERT INTO outbound_emails (member_id, notification_id, kind, to_address, subject, text_body, "
                    f"html_body, headers, dedupe_key, created_at, attempts, last_error) VALUES {values} "
                    "ON CONFLICT (dedupe_key) DO NOTHING"
                ),
                [value for email in emails for value in email],
            )


class _Counted:
    """A DB-API cursor that counts what it sends."""

    def __init__(self, cursor: Any, floor: Floor) -> None:
        self.cursor = cursor
        self.floor = floor

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.floor.round_trips += 1
        return self.cursor.execute(sql, params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> Any:
        return self.cursor.fetchall()


def _count_round_trips(engine: Any) -> list[int]:
    """Statements the app's engine sends, BEGIN and COMMIT included (one counter, in a list)."""
    from sqlalchemy import event

    counter = [0]

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN is counted as the transaction's begin
            counter[0] += 1

    def transaction(*_args: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", statement)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, transaction)
    return counter


def _quiet(*_args: object, **_kwargs: object) -> None:
    return None


def client(url: str, coordinator_id: int, commands: Any, results: Any, index: int) -> None:
    """One client process: waits for (path, ids) commands, approves them, reports back."""
    from timebank.exchanges import service as exchange_service
    from timebank.exchanges.service import approve_exchange
    from timebank.extensions import db
    from timebank.models import Member

    telling = exchange_service._tell

    app = common.make_app(url)
    with app.app_context(), app.test_request_context():
        session = db.session()
        floor = Floor(url)
        service_round_trips = _count_round_trips(db.engine)
        results.put(("ready", index, 0, [], 0))
        while True:
            command = commands.get()
            if command is None:
                break
            path, ids = command
            errors: list[str] = []
            done = 0
            sent = floor.round_trips + service_round_trips[0]
            # "service-quiet": the same service with the notifications step switched off, to
            # show what that step costs (not a path the app ever takes).
            exchange_service._tell = _quiet if path == "service-quiet" else telling  # type: ignore[assignment]
            for exchange_id in ids:
                try:
                    if path != "floor":
                        actor = session.get(Member, coordinator_id)
                        assert actor is not None
                        approve_exchange(session, actor, exchange_id)
                    else:
                        floor.approve(exchange_id, coordinator_id)
                    done += 1
                except Exception as error:
                    session.rollback()
                    errors.append(f"{path} {exchange_id}: {type(error).__name__}: {error}")
            results.put(("done", index, done, errors, floor.round_trips + service_round_trips[0] - sent))
        floor.connection.close()
        db.session.remove()
        db.engine.dispose()


def run_dialect(url: str, count: int, client_counts: list[int], rounds: int, members: int) -> dict[str, Any]:
    dialect = common.dialect_of(url)
    paths = ("service", "floor", "service-quiet")
    total = count * len(client_counts) * len(paths)
    print(f"\n{dialect}: setting up {total} confirmed exchanges ...", flush=True)
    info = setup(url, total, members, copies=len(paths))
    # Exchange k of every path is between the same two members (see setup).
    ids = {path: iter(info["exchange_ids"][n :: len(paths)]) for n, path in enumerate(paths)}
    context = mp.get_context("spawn")
    most = max(client_counts)
    results = context.Queue()
    queues = [context.Queue() for _ in range(most)]
    processes = [
        context.Process(target=client, args=(common.sa_url(url), info["coordinator_id"], queues[i], results, i))
        for i in range(most)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        kind, *_rest = results.get(timeout=120)
        assert kind == "ready"
    rows = []
    errors: list[str] = []
    by_path: dict[str, list[int]] = {path: [] for path in paths}  # which exchanges each path approved
    round_trips = dict.fromkeys(paths, 0)
    try:
        for clients in client_counts:
            seconds = dict.fromkeys(paths, 0.0)
            done = dict.fromkeys(paths, 0)
            per_round = max(1, count // rounds)
            remaining = dict.fromkeys(paths, count)
            round_number = 0
            while any(remaining.values()):
                order = paths if round_number % 2 == 0 else paths[::-1]
                for path in order:
                    batch = [next(ids[path]) for _ in range(min(per_round, remaining[path]))]
                    remaining[path] -= len(batch)
                    if not batch:
                        continue
                    by_path[path] += batch
                    chunks = [batch[i::clients] for i in range(clients)]
                    started = time.perf_counter()
                    for i, chunk in enumerate(chunks):
                        queues[i].put((path, chunk))
                    for _ in chunks:
                        _kind, _index, finished, failed, sent = results.get(timeout=600)
                        done[path] += finished
                        errors += failed
                        round_trips[path] += sent
                    seconds[path] += time.perf_counter() - started
                round_number += 1
            service_rate = done["service"] / seconds["service"]
            floor_rate = done["floor"] / seconds["floor"]
            quiet_rate = done["service-quiet"] / seconds["service-quiet"]
            rows.append(
                {
                    "clients": clients,
                    "exchanges": count,
                    "service_per_s": round(service_rate, 1),
                    "floor_per_s": round(floor_rate, 1),
                    "service_ms_each": round(1000 * seconds["service"] / max(done["service"], 1) * clients, 2),
                    "floor_ms_each": round(1000 * seconds["floor"] / max(done["floor"], 1) * clients, 2),
                    "ratio": round(service_rate / floor_rate, 3),
                    "quiet_per_s": round(quiet_rate, 1),
                    "target_met": service_rate / floor_rate >= TARGET,
                }
            )
            print(f"  {clients} client(s): service {service_rate:.0f}/s, floor {floor_rate:.0f}/s", flush=True)
    finally:
        for queue in queues:
            queue.put(None)
        for process in processes:
            process.join(timeout=60)
    problems = verify(url, info["exchange_ids"])
    written = rows_written(url, by_path)
    for table, service_rows in written["service"].items():
        if service_rows != written["floor"][table]:
            problems.append(f"{table}: the service wrote {service_rows} rows, the floor {written['floor'][table]}")
    return {
        "dialect": dialect,
        "rows": rows,
        "rows_written": written,
        "round_trips_per_approval": {path: round(round_trips[path] / max(len(by_path[path]), 1), 2) for path in paths},
        "errors": errors[:20],
        "error_count": len(errors),
        "ledger_problems": problems[:20],
        "transfers_before": info["transfers_before"],
        "members": members,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--exchanges", type=int, default=400, help="approvals per path and client setting")
    parser.add_argument("--clients", default="1,8", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=4, help="alternating service/floor rounds")
    parser.add_argument("--members", type=int, default=300, help="members of the generated timebank")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write results")
    parser.add_argument("--no-render", action="store_true", help="save results/*.json but leave RESULTS.md as it is")
    args = parser.parse_args(argv)
    common.SAVE = not args.no_save
    client_counts = [int(c) for c in args.clients.split(",")]
    dialects = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    failed = False
    for dialect in dialects:
        url = common.sqlite_url("posting") if dialect == "sqlite" else common.pg_url(f"{common.PG_PREFIX}_posting")
        result = run_dialect(url, args.exchanges, client_counts, args.rounds, args.members)
        print(
            f"\nPosting on {dialect}: approve_exchange (service) vs hand-written SQL (floor); target ratio >= {TARGET}"
        )
        print(
            common.table(
                [
                    "clients",
                    "exchanges",
                    "service /s",
                    "floor /s",
                    "service ms each",
                    "floor ms each",
                    "ratio",
                    "target",
                    "no-notify /s",
                ],
                [
                    [
                        r["clients"],
                        r["exchanges"],
                        r["service_per_s"],
                        r["floor_per_s"],
                        r["service_ms_each"],
                        r["floor_ms_each"],
                        r["ratio"],
                        common.verdict(r["target_met"]),
                        r["quiet_per_s"],
                    ]
                    for r in result["rows"]
                ],
            )
        )
        print("\nRows each path wrote (the floor must do the same writes):")
        tables = list(result["rows_written"]["service"])
        print(
            common.table(
                ["path", *tables],
                [[path, *(counts[t] for t in tables)] for path, counts in result["rows_written"].items()],
            )
        )
        trips = ", ".join(f"{path} {n}" for path, n in result["round_trips_per_approval"].items())
        print(f"Statements per approval (BEGIN and COMMIT included): {trips}")
        if result["error_count"] or result["ledger_problems"]:
            failed = True
            print(f"ERRORS: {result['error_count']}; ledger problems: {result['ledger_problems']}")
            for line in result["errors"][:5]:
                print("  ", line)
        else:
            print("check_ledger passes; every exchange approved exactly once.")
        if not args.no_save:
            common.save_result(f"posting-{dialect}", {"benchmark": "posting", "target": TARGET, **result})
    if not args.no_save and not args.no_render:
        common.render_report()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
