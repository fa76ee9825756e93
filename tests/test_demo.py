"""The demo installation: what a newcomer sees first must load, balance, and tell its story.

A demo load takes a few seconds, so the tests share one load per database: a module fixture runs
the commands a newcomer would (``flask timebank demo``, ``check-ledger``, ``demo`` again), then
reads the database back into plain rows (``DemoSnapshot``) that each test looks at.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import Factory, _reset_postgres, postgres_url, require_postgres
from timebank import create_app
from timebank.auth.passwords import verify_password
from timebank.demo import DemoAlreadyLoaded, DemoLogin, build_demo
from timebank.extensions import db
from timebank.ledger import check_ledger, configure_engine
from timebank.models import (
    Account,
    AccountKind,
    Activity,
    AuditEvent,
    Base,
    Category,
    Exchange,
    ExchangeStatus,
    Listing,
    Member,
    MemberStatus,
    Notification,
    OutboundEmail,
    Period,
    Role,
    Statement,
    Timebank,
    TimesheetImport,
    Transfer,
    TransferPhase,
    TransferPurpose,
)
from timebank.reports.service import Figures, monthly_report

DEMO_DAY = date(2025, 3, 14)  # a Friday, long enough ago that the real clock cannot interfere
PASSWORD = "demo-password"
RIVERSIDE = "Riverside Wellbeing Centre Time Bank"
ELM_PARK = "Elm Park Neighbourhood Time Bank"


@dataclass(frozen=True)
class MemberRow:
    timebank: str | None
    name: str
    email: str | None
    role: Role
    status: MemberStatus
    is_admin: bool
    account_id: int | None
    password_hash: str | None


@dataclass(frozen=True)
class AccountRow:
    id: int
    timebank: str
    kind: AccountKind
    name: str
    balance: int
    lowest_possible: int


@dataclass(frozen=True)
class ExchangeRow:
    timebank: str
    provider: int
    recipient: int
    status: ExchangeStatus
    minutes: int | None
    performed_on: date | None
    description: str
    pending_transfer_id: int | None
    category: str | None
    listing_kind: str | None  # the listing it answers, if any
    request_key: str | None


@dataclass(frozen=True)
class TransferRow:
    id: int
    timebank: str
    debit: int
    credit: int
    minutes: int
    phase: TransferPhase
    purpose: TransferPurpose
    value_date: date
    memo: str
    pending_id: int | None
    reverses_id: int | None


@dataclass(frozen=True)
class ListingRow:
    timebank: str
    member: str
    kind: str
    status: str
    category: str | None
    title: str


@dataclass(frozen=True)
class ActivityRow:
    timebank: str
    title: str
    direction: str
    category: str | None
    attendees: int


@dataclass(frozen=True)
class CommandRun:
    exit_code: int
    output: str


Login = tuple[str, str, str]  # email, role, timebank


@dataclass(frozen=True)
class DemoSnapshot:
    today: date
    logins: list[Login]
    members: list[MemberRow]
    accounts: dict[int, AccountRow]
    exchanges: list[ExchangeRow]
    transfers: list[TransferRow]
    listings: list[ListingRow]
    activities: list[ActivityRow]
    imports: list[tuple[str, int]]  # timebank name, rows imported
    disputes: dict[str, int]  # exchange event ("disputed", "settled") -> how many
    notification_times: list[datetime]
    email_times: list[tuple[datetime, datetime | None]]  # queued, sent
    reports: dict[str, Figures]  # timebank name -> last month's report figures
    closed_months: dict[str, list[str]]  # timebank name -> "YYYY-MM", in order
    statements: dict[str, int]  # timebank name -> statements written by the closes
    hour_values: dict[str, int | None]
    digest_readers: list[str]
    unsent_emails: int
    unread_notifications: dict[str, int]  # member name -> unread
    ledger_ok: bool
    commands: dict[str, CommandRun]

    def participants(self, timebank: str, status: MemberStatus | None = MemberStatus.APPROVED) -> list[MemberRow]:
        return [
            m for m in self.members
            if m.timebank == timebank and m.role == Role.PARTICIPANT and (status is None or m.status == status)
        ]

    def special_account(self, timebank: str, kind: AccountKind) -> int:
        return next(a.id for a in self.accounts.values() if a.timebank == timebank and a.kind == kind)

    def posted(self, timebank: str, purpose: TransferPurpose) -> list[TransferRow]:
        return [
            t for t in self.transfers
            if t.timebank == timebank and t.purpose == purpose and t.phase in (TransferPhase.SINGLE, TransferPhase.POST)
        ]

    def summary(self) -> tuple[object, ...]:
        """Everything a person would see, by name rather than id, without the password salt."""
        name = {account.id: account.name for account in self.accounts.values()}
        return (
            self.logins,
            [(m.timebank, m.name, m.email, m.role, m.status) for m in self.members],
            sorted((a.timebank, a.name, a.balance) for a in self.accounts.values()),
            [(name[e.provider], name[e.recipient], e.status, e.minutes, e.performed_on, e.description)
             for e in self.exchanges],
            [(name[t.debit], name[t.credit], t.minutes, t.phase, t.purpose, t.value_date, t.memo)
             for t in self.transfers],
            self.listings,
            self.closed_months,
            self.statements,
            self.hour_values,
            self.digest_readers,
        )


def read_snapshot(
    session: Session, today: date, logins: list[Login], commands: dict[str, CommandRun] | None = None
) -> DemoSnapshot:
    banks = {tb.id: tb.name for tb in session.scalars(select(Timebank))}
    categories = {c.id: c.name for c in session.scalars(select(Category))}
    members = {m.id: m for m in session.scalars(select(Member).order_by(Member.id))}
    accounts = {a.member_id: a.id for a in session.scalars(select(Account)) if a.member_id is not None}
    listing_kinds = {li.id: li.kind for li in session.scalars(select(Listing))}
    coordinators = {m.timebank_id: m for m in members.values() if m.role == Role.COORDINATOR}
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return DemoSnapshot(
        today=today,
        logins=logins,
        members=[
            MemberRow(banks.get(m.timebank_id or 0), m.display_name, m.email, m.role, m.status, m.is_admin,
                      accounts.get(m.id), m.password_hash)
            for m in members.values()
        ],
        accounts={
            a.id: AccountRow(a.id, banks[a.timebank_id], a.kind, a.name, a.balance_minutes,
                             a.balance_minutes - a.debits_pending)
            for a in session.scalars(select(Account).order_by(Account.id))
        },
        exchanges=[
            ExchangeRow(banks[e.timebank_id], e.provider_account_id, e.recipient_account_id, e.status, e.minutes,
                        e.performed_on, e.description, e.pending_transfer_id, categories.get(e.category_id or 0),
                        str(listing_kinds[e.listing_id]) if e.listing_id else None, e.request_key)
            for e in session.scalars(select(Exchange).order_by(Exchange.id))
        ],
        transfers=[
            TransferRow(t.id, banks[t.timebank_id], t.debit_account_id, t.credit_account_id, t.amount_minutes,
                        t.phase, t.purpose, t.value_date, t.memo, t.pending_id, t.reverses_id)
            for t in session.scalars(select(Transfer).order_by(Transfer.id))
        ],
        listings=[
            ListingRow(banks[li.timebank_id], members[li.member_id].display_name, str(li.kind), str(li.status),
                       categories.get(li.category_id or 0), li.title)
            for li in session.scalars(select(Listing).order_by(Listing.id))
        ],
        activities=[
            ActivityRow(banks[a.timebank_id], a.title, str(a.direction), categories.get(a.category_id or 0),
                        len(a.attendees))
            for a in session.scalars(select(Activity).order_by(Activity.id))
        ],
        imports=[(banks[i.timebank_id], i.rows_imported) for i in session.scalars(select(TimesheetImport))],
        disputes={
            action: count
            for action, count in session.execute(
                select(AuditEvent.action, func.count()).where(
                    AuditEvent.action.in_(["exchange.disputed", "exchange.settled"])
                ).group_by(AuditEvent.action)
            )
        },
        notification_times=list(session.scalars(select(Notification.created_at))),
        email_times=[(queued, sent) for queued, sent in session.execute(
            select(OutboundEmail.created_at, OutboundEmail.sent_at)
        )],
        reports={
            banks[tb_id]: monthly_report(session, coordinator, last_month, today=today).figures
            for tb_id, coordinator in coordinators.items()
        },
        closed_months={
            name: [f"{p.month:%Y-%m}" for p in session.scalars(
                select(Period).where(Period.timebank_id == tb_id).order_by(Period.month)
            )]
            for tb_id, name in banks.items()
        },
        statements={
            name: session.scalar(
                select(func.count(Statement.id)).join(Period).where(Period.timebank_id == tb_id)
            ) or 0
            for tb_id, name in banks.items()
        },
        hour_values={tb.name: tb.hour_value_pence for tb in session.scalars(select(Timebank))},
        digest_readers=sorted(m.display_name for m in members.values() if m.weekly_digest),
        unsent_emails=session.scalar(select(func.count(OutboundEmail.id)).where(OutboundEmail.sent_at.is_(None))) or 0,
        unread_notifications={
            members[member_id].display_name: count
            for member_id, count in session.execute(
                select(Notification.member_id, func.count()).where(Notification.read_at.is_(None))
                .group_by(Notification.member_id)
            )
        },
        ledger_ok=check_ledger(session).ok,
        commands=commands or {},
    )


def build_snapshot(url: str, today: date = DEMO_DAY) -> DemoSnapshot:
    """Build the demo with ``build_demo`` into the empty database at ``url`` and read it back."""
    engine = create_engine(url)
    configure_engine(engine)
    try:
        with Session(engine) as session:
            logins = build_demo(session, password=PASSWORD, today=today)
            return read_snapshot(session, today, [(li.email, li.role, li.timebank) for li in logins])
    finally:
        engine.dispose()


def load_with_the_commands(url: str) -> DemoSnapshot:
    """What a newcomer does: load the demo, check the ledger, and (by mistake) load it again."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
                      "RATELIMIT_ENABLED": False})
    runner = app.test_cli_runner()
    commands = {
        "demo": ["timebank", "demo", "--password", PASSWORD, "--today", DEMO_DAY.isoformat()],
        "check-ledger": ["timebank", "check-ledger"],
        "demo again": ["timebank", "demo", "--password", PASSWORD],
        "demo --if-empty": ["timebank", "demo", "--if-empty"],
    }
    with app.app_context():
        try:
            runs = {}
            for name, args in commands.items():
                result = runner.invoke(args=args)
                runs[name] = CommandRun(result.exit_code, result.output)
            return read_snapshot(db.session(), DEMO_DAY, printed_logins(runs["demo"].output), runs)
        finally:
            db.session.remove()
            db.engine.dispose()


def printed_logins(output: str) -> list[Login]:
    """The table the demo command prints: email, role, timebank (which may contain spaces)."""
    rows = [line.split(maxsplit=2) for line in output.splitlines() if "@" in line.split(" ", 1)[0]]
    return [(email, role, timebank) for email, role, timebank in rows]


def fresh_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSnapshot:
    return load_with_the_commands(fresh_sqlite(tmp_path_factory.mktemp("demo") / "demo.sqlite"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest) -> DemoSnapshot:
    if request.param == "sqlite":
        snapshot: DemoSnapshot = request.getfixturevalue("sqlite_demo")
        return snapshot
    require_postgres("the demo on PostgreSQL")
    _reset_postgres()
    return load_with_the_commands(postgres_url())


# -- who is in it ------------------------------------------------------------------------------


def test_riverside_has_about_forty_participants_and_two_coordinators(demo: DemoSnapshot) -> None:
    assert 35 <= len(demo.participants(RIVERSIDE)) <= 45
    coordinators = [m for m in demo.members if m.timebank == RIVERSIDE and m.role == Role.COORDINATOR]
    assert [m.email for m in coordinators] == ["grace.okafor@riverside.example", "marcus.bennett@riverside.example"]
    assert all(m.status == MemberStatus.APPROVED for m in coordinators)


def test_riverside_is_run_by_its_organisation_with_a_community_pool(demo: DemoSnapshot) -> None:
    kinds = {a.kind: a.name for a in demo.accounts.values() if a.timebank == RIVERSIDE and a.kind != AccountKind.MEMBER}
    assert kinds == {
        AccountKind.ORGANISATION: "Riverside Wellbeing Centre",
        AccountKind.POOL: f"{RIVERSIDE} community pool",
    }


def test_two_applications_wait_for_vetting_and_one_member_is_suspended(demo: DemoSnapshot) -> None:
    assert len(demo.participants(RIVERSIDE, MemberStatus.APPLIED)) == 2
    [suspended] = demo.participants(RIVERSIDE, MemberStatus.SUSPENDED)
    # Suspended after taking part, so there is history to look back on.
    assert any(suspended.account_id in (e.provider, e.recipient) for e in demo.exchanges)


def test_the_installation_admin_stands_outside_every_timebank(demo: DemoSnapshot) -> None:
    [admin] = [m for m in demo.members if m.is_admin]
    assert (admin.email, admin.timebank, admin.account_id) == ("admin@timebank.example", None, None)


def test_emails_say_which_timebank_people_belong_to(demo: DemoSnapshot) -> None:
    domains = {RIVERSIDE: "@riverside.example", ELM_PARK: "@elmpark.example"}
    for member in demo.members:
        if member.timebank is not None:
            assert member.email is not None and member.email.endswith(domains[member.timebank])
            assert re.fullmatch(r"[a-z]+\.[a-z]+@[a-z]+\.example", member.email)


# -- six months of exchanges -------------------------------------------------------------------


def test_posted_exchanges_span_six_months_ending_today(demo: DemoSnapshot) -> None:
    approved = [e.performed_on for e in demo.exchanges if e.timebank == RIVERSIDE
                and e.status == ExchangeStatus.APPROVED and e.performed_on]
    assert min(approved) <= demo.today - timedelta(days=170)
    assert max(approved) >= demo.today - timedelta(days=10)
    assert len({(day.year, day.month) for day in approved}) >= 6
    assert max(t.value_date for t in demo.transfers) <= demo.today
    # Approvals post on the day a coordinator approved, so the months fill as they happened.
    posted_months = {(t.value_date.year, t.value_date.month) for t in demo.posted(RIVERSIDE, TransferPurpose.EXCHANGE)}
    assert len(posted_months) >= 6


def test_history_reads_in_date_order(demo: DemoSnapshot) -> None:
    """An account's history lists posted transfers newest first by id, so ids must follow their
    dates. (A reservation carries the date of the help, which may be days before it was logged.)"""
    shown = (TransferPhase.SINGLE, TransferPhase.POST)
    for timebank in (RIVERSIDE, ELM_PARK):
        dates = [t.value_date for t in demo.transfers if t.timebank == timebank and t.phase in shown]
        assert dates == sorted(dates)


def test_members_earn_from_and_spend_with_the_organisation(demo: DemoSnapshot) -> None:
    organisation = demo.special_account(RIVERSIDE, AccountKind.ORGANISATION)
    exchanges = demo.posted(RIVERSIDE, TransferPurpose.EXCHANGE)
    activities = demo.posted(RIVERSIDE, TransferPurpose.ACTIVITY)
    earned = [t for t in exchanges + activities if t.debit == organisation]
    spent = [t for t in exchanges + activities if t.credit == organisation]
    between_members = [t for t in exchanges if organisation not in (t.debit, t.credit)]
    assert len(earned) >= 50 and len(spent) >= 10 and len(between_members) >= 50
    assert any("Tuesday lunch" in t.memo for t in earned)
    assert any("trip" in t.memo.lower() for t in spent)


def test_some_hours_wait_for_a_coordinator_and_some_were_rejected(demo: DemoSnapshot) -> None:
    resolved = {t.pending_id for t in demo.transfers if t.pending_id is not None}
    waiting = [e for e in demo.exchanges if e.status in (ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED)]
    assert len(waiting) >= 3
    assert {e.status for e in waiting if e.timebank == RIVERSIDE} == {ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED}
    assert all(e.pending_transfer_id not in resolved for e in waiting)
    rejected = [e for e in demo.exchanges if e.status == ExchangeStatus.REJECTED]
    assert len(rejected) >= 2
    voided = {t.pending_id for t in demo.transfers if t.phase == TransferPhase.VOID}
    assert {e.pending_transfer_id for e in rejected} <= voided


def test_the_pool_takes_donations_gives_grants_and_mistakes_are_reversed(demo: DemoSnapshot) -> None:
    pool = demo.special_account(RIVERSIDE, AccountKind.POOL)
    donations = demo.posted(RIVERSIDE, TransferPurpose.DONATION)
    grants = demo.posted(RIVERSIDE, TransferPurpose.GRANT)
    reversals = demo.posted(RIVERSIDE, TransferPurpose.REVERSAL)
    assert len(donations) >= 3 and all(t.credit == pool for t in donations)
    assert len(grants) >= 1 and all(t.debit == pool for t in grants)
    assert len(reversals) >= 1
    by_id = {t.id: t for t in demo.transfers}
    for reversal in reversals:
        original = by_id[reversal.reverses_id or 0]
        assert (reversal.debit, reversal.credit) == (original.credit, original.debit)
        assert reversal.minutes == original.minutes
    assert demo.accounts[pool].balance > 0


def test_a_few_members_are_very_active_many_quiet_and_some_brand_new(demo: DemoSnapshot) -> None:
    taking_part = Counter(
        account
        for e in demo.exchanges if e.timebank == RIVERSIDE and e.status == ExchangeStatus.APPROVED
        for account in (e.provider, e.recipient)
    )
    people = [m.account_id for m in demo.participants(RIVERSIDE)]
    counts = sorted((taking_part[account] for account in people), reverse=True)
    assert sum(counts[:5]) >= 0.3 * sum(counts)  # five of ~40 take part in about a third
    assert counts[0] >= 2.5 * counts[len(counts) // 2]
    assert len([count for count in counts if count <= 5]) >= 10
    assert counts.count(0) >= 3  # newcomers with nothing yet


def test_every_account_stays_within_its_limits_and_the_ledger_balances(demo: DemoSnapshot) -> None:
    assert demo.ledger_ok
    for account in demo.accounts.values():
        if account.kind == AccountKind.MEMBER:
            assert account.lowest_possible >= -10 * 60 and account.balance <= 100 * 60
    assert all(t.minutes % 15 == 0 for t in demo.transfers)


def test_members_have_open_offers_and_requests_in_categories(demo: DemoSnapshot) -> None:
    riverside = [li for li in demo.listings if li.timebank == RIVERSIDE]
    assert {li.kind for li in riverside} == {"offer", "request"}
    assert all(li.status == "open" and li.category for li in riverside)
    assert len({li.member for li in riverside}) >= 30
    assert {"Befriending", "Computer help", "Lifts", "Haircuts", "Help with forms"} <= {li.category for li in riverside}


# -- two timebanks, kept apart -----------------------------------------------------------------


def test_elm_park_is_a_small_second_timebank_with_its_own_exchanges(demo: DemoSnapshot) -> None:
    assert len(demo.participants(ELM_PARK)) == 8
    assert [m.email for m in demo.members if m.timebank == ELM_PARK and m.role == Role.COORDINATOR] == [
        "priya.sharma@elmpark.example"
    ]
    assert len([e for e in demo.exchanges if e.timebank == ELM_PARK and e.status == ExchangeStatus.APPROVED]) >= 8


def test_no_transfer_crosses_between_the_timebanks(demo: DemoSnapshot) -> None:
    for transfer in demo.transfers:
        accounts = demo.accounts[transfer.debit], demo.accounts[transfer.credit]
        assert {account.timebank for account in accounts} == {transfer.timebank}
    assert {t.timebank for t in demo.transfers} == {RIVERSIDE, ELM_PARK}


# -- logins ------------------------------------------------------------------------------------


def test_demo_command_prints_the_admin_then_coordinators_then_participants(demo: DemoSnapshot) -> None:
    run = demo.commands["demo"]
    assert run.exit_code == 0, run.output
    assert f"Every demo account's password is: {PASSWORD}" in run.output
    roles = [role for _, role, _ in demo.logins]
    rank = {"admin": 0, "coordinator": 1, "participant": 2, "applicant": 3, "suspended": 3}
    assert roles == sorted(roles, key=rank.__getitem__)
    assert Counter(roles)["applicant"] == 2 and Counter(roles)["suspended"] == 1
    assert demo.logins[0] == ("admin@timebank.example", "admin", "all timebanks")
    assert ("grace.okafor@riverside.example", "coordinator", RIVERSIDE) in demo.logins
    assert ("priya.sharma@elmpark.example", "coordinator", ELM_PARK) in demo.logins
    by_email = {m.email: m for m in demo.members}
    assert all(by_email[email].timebank in (timebank, None) for email, _, timebank in demo.logins)


def test_everyone_is_listed_and_opens_with_the_password(demo: DemoSnapshot) -> None:
    by_email = {m.email: m for m in demo.members}
    assert {email for email, _, _ in demo.logins} == set(by_email)
    for email, role, _ in demo.logins:
        # Only approved members use the service; the others are marked, not listed as participants.
        assert (by_email[email].status == MemberStatus.APPROVED) == (role in ("admin", "coordinator", "participant"))
    # One (deliberately slow) hash, shared by every account.
    assert len({m.password_hash for m in demo.members}) == 1
    assert verify_password(demo.members[0].password_hash, PASSWORD)


def test_check_ledger_after_the_demo_says_it_balances(demo: DemoSnapshot) -> None:
    run = demo.commands["check-ledger"]
    assert run.exit_code == 0 and "Ledger balances" in run.output


def test_a_second_load_fails_clearly_unless_asked_to_skip(demo: DemoSnapshot) -> None:
    again = demo.commands["demo again"]
    assert again.exit_code != 0
    assert "already has timebanks" in again.output
    quietly = demo.commands["demo --if-empty"]
    assert quietly.exit_code == 0 and "nothing to do" in quietly.output


# -- closed months, reports and email choices ---------------------------------------------------


def test_every_finished_month_is_closed_with_a_statement_per_account(demo: DemoSnapshot) -> None:
    """As the scheduler would have done on each 1st: members have statements to read and print."""
    for timebank in (RIVERSIDE, ELM_PARK):
        first = min(t.value_date for t in demo.transfers if t.timebank == timebank)
        expected, month = [], first.replace(day=1)
        while month < demo.today.replace(day=1):
            expected.append(f"{month:%Y-%m}")
            month = (month + timedelta(days=32)).replace(day=1)
        assert demo.closed_months[timebank] == expected
        accounts = sum(1 for a in demo.accounts.values() if a.timebank == timebank)
        assert demo.statements[timebank] == accounts * len(expected)
    assert demo.ledger_ok  # check-ledger also verifies every closed month's checksum


def test_riverside_shows_funders_an_estimated_value_and_some_members_read_the_digest(demo: DemoSnapshot) -> None:
    assert demo.hour_values == {RIVERSIDE: 1500, ELM_PARK: None}
    assert demo.digest_readers == ["Aisha Rahman", "Jenny Howard"]


def test_the_history_was_told_at_the_time_so_no_old_email_waits_to_be_sent(demo: DemoSnapshot) -> None:
    assert demo.unsent_emails == 0
    # People have a few recent notifications to read, not months of them.
    assert demo.unread_notifications
    assert max(demo.unread_notifications.values()) <= 12


# -- determinism -------------------------------------------------------------------------------


def test_the_same_day_builds_the_same_demo(sqlite_demo: DemoSnapshot, tmp_path: Path) -> None:
    again = build_snapshot(fresh_sqlite(tmp_path / "again.sqlite"), today=sqlite_demo.today)
    assert again.summary() == sqlite_demo.summary()


def test_the_demo_refuses_a_database_that_already_has_timebanks(factory: Factory, session: Session) -> None:
    factory.timebank("Somewhere Else")
    with pytest.raises(DemoAlreadyLoaded, match="already has timebanks"):
        build_demo(session, password=PASSWORD, today=DEMO_DAY)
    assert session.scalar(select(Member.id).where(Member.email == "admin@timebank.example")) is None


# -- the command without a password -----------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_command_without_a_password_prints_the_generated_one(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[str] = []

    def remember_password(session: Session, *, password: str, today: date | None) -> list[DemoLogin]:
        given.append(password)
        return [DemoLogin("admin@timebank.example", "admin", "all timebanks")]

    monkeypatch.setattr("timebank.demo.build_demo", remember_password)
    result = runner.invoke(args=["timebank", "demo"])
    assert result.exit_code == 0, result.output
    [password] = given
    assert len(password) >= 12
    assert f"Every demo account's password is: {password}" in result.output


# -- every feature shows real figures on first run -------------------------------------------------


def test_every_hour_is_in_a_category(demo: DemoSnapshot) -> None:
    assert demo.exchanges and all(e.category is not None for e in demo.exchanges)
    assert demo.activities and all(a.category is not None for a in demo.activities)
    assert len({e.category for e in demo.exchanges if e.timebank == RIVERSIDE}) >= 8


def test_help_answers_requests_members_listed_so_requests_are_met(demo: DemoSnapshot) -> None:
    answered = [e for e in demo.exchanges if e.listing_kind == "request" and e.status == ExchangeStatus.APPROVED]
    assert len(answered) >= 10
    assert {e.timebank for e in answered} == {RIVERSIDE, ELM_PARK}


def test_group_activities_earn_at_the_centre_events_and_spend_on_trips(demo: DemoSnapshot) -> None:
    riverside = [a for a in demo.activities if a.timebank == RIVERSIDE]
    assert {a.direction for a in riverside} == {"earn", "spend"}
    assert len(riverside) >= 8 and all(a.attendees >= 2 for a in riverside)
    assert any("trip" in a.title.lower() for a in riverside if a.direction == "spend")


def test_a_dispute_was_settled_and_another_waits_for_a_coordinator(demo: DemoSnapshot) -> None:
    assert demo.disputes == {"exchange.disputed": 2, "exchange.settled": 1}
    assert [e.status for e in demo.exchanges if e.status == ExchangeStatus.DISPUTED] == [ExchangeStatus.DISPUTED]


def test_a_week_of_sign_in_sheets_was_imported_from_a_spreadsheet(demo: DemoSnapshot) -> None:
    assert len(demo.imports) == 1
    timebank, rows = demo.imports[0]
    imported = [e for e in demo.exchanges if (e.request_key or "").startswith("import-")]
    assert timebank == RIVERSIDE and rows == len(imported) >= 2
    assert all(e.status == ExchangeStatus.APPROVED and e.category for e in imported)


def test_notifications_and_emails_carry_the_time_of_the_step_that_caused_them(demo: DemoSnapshot) -> None:
    days = {moment.date() for moment in demo.notification_times}
    assert len(days) >= 60  # spread over the six months, not the moment the demo was loaded
    assert min(days) <= demo.today - timedelta(days=150) and max(days) <= demo.today
    assert all(sent is not None and timedelta(0) < sent - queued <= timedelta(minutes=5)
               for queued, sent in demo.email_times)


def test_last_months_reports_show_real_figures(demo: DemoSnapshot) -> None:
    for name in (RIVERSIDE, ELM_PARK):
        figures = demo.reports[name]
        assert figures.minutes > 0 and figures.exchanges > 0 and figures.active_participants > 0
    riverside = demo.reports[RIVERSIDE]
    assert riverside.active_participants >= 10
    assert riverside.activities >= 1 and riverside.group_activity_minutes > 0
    assert riverside.person_to_person_minutes > 0 and riverside.person_to_agency_minutes > 0
    assert riverside.requests_made > 0 and riverside.requests_met > 0
