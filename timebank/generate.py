"""Realistic, deterministic data at scale: ``flask timebank generate``.

For benchmarks and the scale tests (issue 7), not for demos (that is ``demo.py``, which goes
through the services one exchange at a time). Here rows go in bulk: one multi-row INSERT per
table and batch, never one ORM object at a time, and the accounts' cached totals are written
once per timebank from the same simulation that chose the transfers. The simulation keeps
every ledger rule true as it goes (floors and caps counted pessimistically with pending
reservations, pending transfers resolved at most once, reversals only of posted credits), so
``flask timebank check-ledger`` passes on the result; the tests hold it to that.

What it looks like, so pages and reports have something real to show:
- timebank sizes are skewed (a few large ones, many small);
- member activity is skewed: many quiet members, a few very active ones (Pareto weights);
- months are seasonal (quiet in August and December);
- offers and requests by category, some linked to the exchanges they led to;
- most exchanges approved; some still waiting (recent ones), some refused, some reversed;
- person-to-agency work, group activities, donations to the pool and grants from it.

The same seed and the same ``today`` give the same rows. It assumes nobody else writes to the
database while it runs (it is for test and benchmark databases).
"""

from __future__ import annotations

import enum
import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from .auth.passwords import hash_password
from .clock import next_month
from .ledger.periods import month_start
from .models import (
    Account,
    AccountKind,
    Activity,
    ActivityAttendee,
    ActivityDirection,
    Category,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    MemberStatus,
    Role,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
)
from .timebanks.service import create_timebank

HOUR = 60
BATCH = 1000  # rows per multi-row INSERT
# Quiet in summer holidays and at Christmas, busiest in spring and autumn.
SEASON = {1: 0.9, 2: 1.0, 3: 1.05, 4: 1.1, 5: 1.1, 6: 1.0, 7: 0.85, 8: 0.65, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.7}
DURATIONS = (30, 60, 60, 60, 90, 90, 120, 120, 180, 240)
FIRST_NAMES = (
    "Aisha", "Alan", "Amara", "Bernard", "Beata", "Carys", "Chen", "Dev", "Dorothy", "Eileen", "Femi",
    "Graham", "Hannah", "Idris", "Jenny", "Joan", "Kwame", "Leila", "Marek", "Maureen", "Nia", "Olu",
    "Pat", "Priya", "Rose", "Samir", "Siobhan", "Tom", "Wei", "Zoë",
)
SURNAMES = (
    "Ahmed", "Brennan", "Byrne", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Iqbal",
    "Jones", "Kowalski", "Li", "Murphy", "Nowak", "Okafor", "Patel", "Price", "Rahman", "Roberts",
    "Shah", "Taylor", "Walsh", "Williams", "Wright",
)
PLACES = ("Riverside", "Elm Park", "Hillside", "Northgate", "Canal Side", "Old Town", "Westfield", "Brookvale")
AREAS = ("Riverside", "Town centre", "LS6", "North End", "The Green", "Station Road")
TIME_ZONES = ("Europe/London",) * 9 + ("Europe/Dublin",)


class GeneratedDataExists(Exception):
    """This seed's timebanks are already in the database."""


@dataclass(frozen=True)
class GenerateSpec:
    timebanks: int
    members: int  # across all timebanks
    months: int
    seed: int = 1
    today: date | None = None
    exchanges_per_member_month: float = 0.6
    password: str | None = None  # one password for every generated member; None: no sign-in


@dataclass
class GenerateSummary:
    timebanks: int = 0
    members: int = 0
    listings: int = 0
    exchanges: int = 0
    activities: int = 0
    transfers: int = 0
    pending: int = 0
    reversed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.timebanks} timebanks, {self.members} members, {self.listings} listings, "
            f"{self.exchanges} exchanges ({self.pending} waiting, {self.reversed} reversed), "
            f"{self.activities} group activities, {self.transfers} transfers"
        )


def generate(session: Session, spec: GenerateSpec) -> GenerateSummary:
    """Create ``spec.timebanks`` timebanks with ``spec.members`` members between them and
    ``spec.months`` months of history ending ``spec.today``. Commits once per timebank."""
    if spec.timebanks < 1 or spec.members < spec.timebanks * 3 or spec.months < 1:
        raise ValueError("Ask for at least one timebank, three members per timebank and one month.")
    prefix = f"gen{spec.seed}-"
    if session.scalar(select(Timebank.id).where(Timebank.slug.startswith(prefix)).limit(1)) is not None:
        raise GeneratedDataExists(f"Timebanks generated with seed {spec.seed} already exist; use another --seed.")
    today = spec.today or date.today()
    password_hash = hash_password(spec.password) if spec.password else None  # hashed once, shared
    sizes = _timebank_sizes(random.Random(spec.seed), spec.timebanks, spec.members)
    summary = GenerateSummary()
    for index, size in enumerate(sizes):
        rng = random.Random(f"{spec.seed}/{index}")
        _TimebankBuilder(session, spec, index, size, today, password_hash, rng, summary).build()
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # Bulk COPY leaves the planner's statistics stale until autovacuum comes round; plans
        # made on them are badly wrong (seen in bench/: seconds instead of milliseconds).
        session.connection().exec_driver_sql("ANALYZE")
        session.commit()
    return summary


def _timebank_sizes(rng: random.Random, timebanks: int, members: int) -> list[int]:
    """Lognormal sizes: most timebanks are small, a few are large. At least 3 members each."""
    weights = [rng.lognormvariate(0, 1.0) for _ in range(timebanks)]
    spare = members - 3 * timebanks
    total = sum(weights)
    sizes = [3 + int(spare * weight / total) for weight in weights]
    sizes[max(range(timebanks), key=lambda i: weights[i])] += members - sum(sizes)
    return sizes


@dataclass
class _Totals:
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def lowest(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def highest(self) -> int:
        return self.credits_posted - self.debits_posted + self.credits_pending


@dataclass
class _Person:
    member_id: int
    account_id: int
    weight: float
    joined: date
    left: date | None
    offers: list[int] = field(default_factory=list)  # listing ids
    requests: list[int] = field(default_factory=list)


class _TimebankBuilder:
    def __init__(
        self,
        session: Session,
        spec: GenerateSpec,
        index: int,
        size: int,
        today: date,
        password_hash: str | None,
        rng: random.Random,
        summary: GenerateSummary,
    ) -> None:
        self.session, self.spec, self.index, self.size = session, spec, index, size
        self.today, self.password_hash, self.rng, self.summary = today, password_hash, rng, summary
        self.start = month_start(today)
        for _ in range(spec.months - 1):
            self.start = month_start(self.start - timedelta(days=1))
        self.totals: dict[int, _Totals] = {}
        self.transfers: list[dict[str, Any]] = []

    # -- the timebank, its people and their listings ------------------------------------------

    def build(self) -> None:
        rng = self.rng
        place = PLACES[self.index % len(PLACES)]
        timebank = create_timebank(
            self.session,
            name=f"{place} Timebank {self.index + 1}",
            organisation_name=f"{place} Community Trust {self.index + 1}",
            slug=f"gen{self.spec.seed}-{self.index + 1:04d}",
            time_zone=rng.choice(TIME_ZONES),
        )
        self.timebank = timebank
        accounts = self.session.execute(
            select(Account.kind, Account.id).where(Account.timebank_id == timebank.id)
        ).all()
        special = {kind: account_id for kind, account_id in accounts}
        self.organisation, self.pool = special[AccountKind.ORGANISATION], special[AccountKind.POOL]
        self.totals = {self.organisation: _Totals(), self.pool: _Totals()}
        self.categories = list(
            self.session.scalars(select(Category.id).where(Category.timebank_id == timebank.id).order_by(Category.id))
        )
        self.people = self._members()
        self.coordinator_id = self.people[0].member_id
        self._listings()
        self._months()
        self._flush_transfers()
        self._write_totals()
        self.summary.timebanks += 1

    def _members(self) -> list[_Person]:
        rng, tb = self.rng, self.timebank
        history_days = (self.today - self.start).days
        rows, plans = [], []
        for number in range(self.size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            # Founders were there from the start; the rest joined along the way.
            joined = self.start - timedelta(days=rng.randint(1, 400)) if rng.random() < 0.7 else (
                self.start + timedelta(days=rng.randint(0, max(history_days - 1, 0)))
            )
            left = None
            if rng.random() < 0.03 and joined < self.today - timedelta(days=60):
                left = joined + timedelta(days=rng.randint(30, (self.today - joined).days - 1))
            # Many quiet members, a few very active ones.
            weight = 0.05 if rng.random() < 0.3 else min(rng.paretovariate(1.3), 40.0)
            joined_at = datetime.combine(joined, time(10, 0))
            rows.append(
                {
                    "timebank_id": tb.id,
                    "email": f"m{number + 1}@{tb.slug}.example",
                    "display_name": f"{first} {last}",
                    "role": Role.COORDINATOR if number == 0 else Role.PARTICIPANT,
                    "status": MemberStatus.LEFT if left else MemberStatus.APPROVED,
                    "password_hash": self.password_hash,
                    "created_at": joined_at - timedelta(days=7),
                    "approved_at": joined_at,
                    "left_at": datetime.combine(left, time(16, 0)) if left else None,
                    "area": rng.choice(AREAS),
                    "offers_text": "",
                    "wants_text": "",
                    "availability": "mon-morning,thu-afternoon" if number % 3 else "sat-morning",
                }
            )
            plans.append((weight, joined, left))
        member_ids = _bulk_insert(self.session, Member, rows)
        account_rows = [
            {"timebank_id": tb.id, "kind": AccountKind.MEMBER, "member_id": member_id, "name": row["display_name"]}
            for member_id, row in zip(member_ids, rows, strict=True)
        ]
        account_ids = _bulk_insert(self.session, Account, account_rows)
        people = []
        for member_id, account_id, (weight, joined, left) in zip(member_ids, account_ids, plans, strict=True):
            people.append(_Person(member_id, account_id, weight, joined, left))
            self.totals[account_id] = _Totals()
        self.summary.members += len(people)
        return people

    def _listings(self) -> None:
        rng, rows, owners = self.rng, [], []
        for person in self.people:
            counts = ((ListingKind.OFFER, rng.choice((0, 1, 1, 2))), (ListingKind.REQUEST, rng.choice((0, 0, 1))))
            for kind, count in counts:
                for _ in range(count):
                    created = max(person.joined, self.start) + timedelta(days=rng.randint(0, 20))
                    created = min(created, self.today)
                    ends_on = created + timedelta(days=rng.randint(20, 120)) if rng.random() < 0.15 else None
                    open_now = person.left is None and rng.random() < 0.8
                    category = rng.choice(self.categories)
                    rows.append(
                        {
                            "timebank_id": self.timebank.id,
                            "member_id": person.member_id,
                            "kind": kind,
                            "category_id": category,
                            "title": _listing_title(kind, category, rng),
                            "description": "Generated for testing at scale.",
                            "tags": "",
                            "estimated_minutes": rng.choice(DURATIONS),
                            "status": ListingStatus.OPEN if open_now else ListingStatus.CLOSED,
                            "ends_on": ends_on,
                            "created_by_id": person.member_id,
                            "created_at": datetime.combine(created, time(11, 0)),
                            "updated_at": datetime.combine(created, time(11, 0)),
                        }
                    )
                    owners.append((person, kind))
        ids = _bulk_insert(self.session, Listing, rows)
        for listing_id, (person, kind) in zip(ids, owners, strict=True):
            (person.offers if kind == ListingKind.OFFER else person.requests).append(listing_id)
        self.listing_category = {listing_id: row["category_id"] for listing_id, row in zip(ids, rows, strict=True)}
        self.summary.listings += len(ids)

    # -- the months ------------------------------------------------------------------------------

    def _months(self) -> None:
        month = self.start
        while month <= self.today:
            end = min(next_month(month) - timedelta(days=1), self.today)
            active = [p for p in self.people if p.joined <= end and (p.left is None or p.left > month)]
            if len(active) >= 2:
                self._exchanges(month, end, active)
                self._activity(month, end, active)
                self._pool(month, end, active)
            month = next_month(month)

    def _exchanges(self, month: date, end: date, active: list[_Person]) -> None:
        rng = self.rng
        wanted = self.spec.exchanges_per_member_month * len(active) * SEASON[month.month]
        count = int(wanted) + (1 if rng.random() < wanted - int(wanted) else 0)
        cumulative = list(_accumulate(p.weight for p in active))
        exchanges, plans = [], []
        for _ in range(count):
            provider, recipient = rng.choices(active, cum_weights=cumulative, k=2)
            performed = month + timedelta(days=rng.randint(0, (end - month).days))
            performed = max(performed, provider.joined, recipient.joined)
            minutes = rng.choice(DURATIONS)
            agency = rng.random()
            if agency < 0.08:  # person-to-agency: the member helps the organisation
                provider_account, recipient_account = provider.account_id, self.organisation
            elif agency < 0.1:  # the organisation provides (a trip), the member spends
                provider_account, recipient_account = self.organisation, recipient.account_id
            elif provider is recipient:
                continue
            else:
                provider_account, recipient_account = provider.account_id, recipient.account_id
            if not self._fits(recipient_account, provider_account, minutes):
                provider_account, recipient_account = recipient_account, provider_account
                if not self._fits(recipient_account, provider_account, minutes):
                    continue
            listing = self._listing_for(provider, recipient, provider_account, recipient_account)
            outcome = self._outcome(performed)
            exchanges.append(
                self._exchange_row(provider_account, recipient_account, listing, minutes, performed, outcome, provider)
            )
            plans.append((provider_account, recipient_account, minutes, performed, outcome))
            if outcome != ExchangeStatus.DECLINED:
                self._reserve(recipient_account, provider_account, minutes)
                if outcome in (ExchangeStatus.APPROVED, ExchangeStatus.REVERSED):
                    self._post(recipient_account, provider_account, minutes)
                if outcome == ExchangeStatus.REVERSED:
                    # Straight after the post, so the hours moving back always fit the limits.
                    self._post(provider_account, recipient_account, minutes, single=True)
                elif outcome == ExchangeStatus.REJECTED:
                    self._release(recipient_account, provider_account, minutes)
        # Ids first, so each exchange row can name its reservation and every row goes in with
        # one bulk write (transfers before the exchanges that point at them).
        ids = _reserve_ids(self.session, Exchange, len(exchanges))
        pending_rows, pending_of = [], []
        # The provider earns (credit), the recipient spends (debit).
        for exchange_id, row, (credit_to, debit_from, minutes, performed, outcome) in zip(
            ids, exchanges, plans, strict=True
        ):
            row["id"] = exchange_id
            if outcome == ExchangeStatus.DECLINED:
                continue
            pending_rows.append(
                self._transfer(
                    recipient=credit_to, debtor=debit_from, minutes=minutes, day=performed,
                    phase=TransferPhase.PENDING, key=f"exchange-{exchange_id}-reserve",
                )
            )
            pending_of.append((row, outcome, debit_from, credit_to, minutes, performed))
        for pending in pending_rows:
            pending.pop("then_reverse")
        pending_ids = _bulk_insert(self.session, Transfer, pending_rows)
        self.summary.transfers += len(pending_ids)
        for pending_id, (row, outcome, debtor, creditor, minutes, performed) in zip(
            pending_ids, pending_of, strict=True
        ):
            row["pending_transfer_id"] = pending_id
            exchange_id = row["id"]
            decided = min(performed + timedelta(days=self.rng.randint(1, 6)), self.today)
            if outcome in (ExchangeStatus.APPROVED, ExchangeStatus.REVERSED):
                self.transfers.append(
                    self._transfer(
                        recipient=creditor, debtor=debtor, minutes=minutes, day=decided, phase=TransferPhase.POST,
                        key=f"exchange-{exchange_id}-post", pending_id=pending_id,
                        then_reverse=outcome == ExchangeStatus.REVERSED,
                    )
                )
            elif outcome == ExchangeStatus.REJECTED:
                self.transfers.append(
                    self._transfer(
                        recipient=creditor, debtor=debtor, minutes=minutes, day=decided, phase=TransferPhase.VOID,
                        key=f"exchange-{exchange_id}-void", pending_id=pending_id,
                    )
                )
            else:
                self.summary.pending += 1
        _bulk_insert(self.session, Exchange, exchanges)
        self.summary.exchanges += len(exchanges)

    def _outcome(self, performed: date) -> ExchangeStatus:
        roll = self.rng.random()
        if (self.today - performed).days < 10 and roll < 0.45:
            return ExchangeStatus.RECORDED  # still waiting for the other side or a coordinator
        if roll < 0.02:
            return ExchangeStatus.DECLINED
        if roll < 0.05:
            return ExchangeStatus.REJECTED
        if roll < 0.07 and (self.today - performed).days > 3:
            return ExchangeStatus.REVERSED
        return ExchangeStatus.APPROVED

    def _listing_for(
        self, provider: _Person, recipient: _Person, provider_account: int, recipient_account: int
    ) -> int | None:
        if self.rng.random() < 0.5:
            return None
        if recipient_account == recipient.account_id and recipient.requests and self.rng.random() < 0.5:
            return self.rng.choice(recipient.requests)
        if provider_account == provider.account_id and provider.offers:
            return self.rng.choice(provider.offers)
        return None

    def _exchange_row(
        self,
        provider_account: int,
        recipient_account: int,
        listing: int | None,
        minutes: int,
        performed: date,
        outcome: ExchangeStatus,
        provider: _Person,
    ) -> dict[str, Any]:
        recorded_at = datetime.combine(performed, time(17, 0))
        category = self.listing_category[listing] if listing else self.rng.choice(self.categories)
        decided = outcome in (ExchangeStatus.APPROVED, ExchangeStatus.REJECTED, ExchangeStatus.REVERSED)
        return {
            "timebank_id": self.timebank.id,
            "provider_account_id": provider_account,
            "recipient_account_id": recipient_account,
            "listing_id": listing,
            "category_id": category,
            "status": outcome,
            "description": "Help given (generated)",
            "minutes": minutes,
            "performed_on": performed,
            "proposed_by_id": provider.member_id,
            "recorded_by_id": provider.member_id if outcome != ExchangeStatus.DECLINED else None,
            "entered_by_id": provider.member_id,
            "confirmed_by_id": None,
            "decided_by_id": self.coordinator_id if decided else None,
            "decision_reason": {
                ExchangeStatus.REJECTED: "Not a time bank activity.",
                ExchangeStatus.REVERSED: "Entered twice by mistake.",
                ExchangeStatus.DECLINED: "Not free that week, sorry.",
            }.get(outcome, ""),
            "message": "",
            "request_key": None,
            "request_fingerprint": None,
            "pending_transfer_id": None,
            "recorded_at": recorded_at if outcome != ExchangeStatus.DECLINED else None,
            "created_at": recorded_at - timedelta(days=2),
            "updated_at": recorded_at,
        }

    def _activity(self, month: date, end: date, active: list[_Person]) -> None:
        """A group session or two in larger timebanks: attendees earn from the organisation."""
        rng = self.rng
        if len(active) < 12:
            return
        for _ in range(rng.choice((1, 1, 2))):
            held_on = month + timedelta(days=rng.randint(0, (end - month).days))
            minutes = rng.choice((60, 120, 180))
            people = [p for p in rng.sample(active, k=min(len(active), rng.randint(3, 10))) if p.joined <= held_on]
            attendees = [p for p in people if self._fits(self.organisation, p.account_id, minutes)]
            if not attendees:
                continue
            [activity_id] = _bulk_insert(
                self.session,
                Activity,
                [
                    {
                        "timebank_id": self.timebank.id,
                        "title": "Community garden session",
                        "held_on": held_on,
                        "minutes": minutes,
                        "direction": ActivityDirection.EARN,
                        "category_id": self.categories[0],
                        "recorded_by_id": self.coordinator_id,
                        "request_key": f"generated-{self.timebank.id}-{held_on.isoformat()}-{rng.random()}",
                        "request_fingerprint": "generated",
                        "created_at": datetime.combine(held_on, time(15, 0)),
                    }
                ],
            )
            rows = []
            for person in attendees:
                self._post(self.organisation, person.account_id, minutes, single=True)
                rows.append(
                    self._transfer(
                        recipient=person.account_id, debtor=self.organisation, minutes=minutes, day=held_on,
                        phase=TransferPhase.SINGLE, key=f"activity-{activity_id}-{person.member_id}",
                        purpose=TransferPurpose.ACTIVITY,
                    )
                )
            for row in rows:
                row.pop("then_reverse")
            transfer_ids = _bulk_insert(self.session, Transfer, rows)
            self.summary.transfers += len(transfer_ids)
            _bulk_insert(
                self.session,
                ActivityAttendee,
                [
                    {"activity_id": activity_id, "member_id": person.member_id, "transfer_id": transfer_id}
                    for person, transfer_id in zip(attendees, transfer_ids, strict=True)
                ],
            )
            self.summary.activities += 1

    def _pool(self, month: date, end: date, active: list[_Person]) -> None:
        """Members with hours to spare donate some; the pool grants to members who are short."""
        rng = self.rng
        day = month + timedelta(days=rng.randint(0, (end - month).days))
        donors = [p for p in active if self.totals[p.account_id].lowest > 10 * HOUR and p.joined <= day]
        for person in rng.sample(donors, k=min(len(donors), 2)):
            if self._fits(person.account_id, self.pool, 2 * HOUR):
                self._post(person.account_id, self.pool, 2 * HOUR, single=True)
                self.transfers.append(
                    self._transfer(
                        recipient=self.pool, debtor=person.account_id, minutes=2 * HOUR, day=day,
                        phase=TransferPhase.SINGLE, key=f"donation-gen-{person.member_id}-{day.isoformat()}",
                        purpose=TransferPurpose.DONATION,
                    )
                )
        short = [p for p in active if self.totals[p.account_id].lowest < -5 * HOUR and p.joined <= day]
        for person in rng.sample(short, k=min(len(short), 1)):
            if self._fits(self.pool, person.account_id, HOUR):
                self._post(self.pool, person.account_id, HOUR, single=True)
                self.transfers.append(
                    self._transfer(
                        recipient=person.account_id, debtor=self.pool, minutes=HOUR, day=day,
                        phase=TransferPhase.SINGLE, key=f"grant-gen-{person.member_id}-{day.isoformat()}",
                        purpose=TransferPurpose.GRANT,
                    )
                )

    # -- the ledger simulation -------------------------------------------------------------------

    def _limits(self, account_id: int) -> tuple[int | None, int | None]:
        if account_id == self.organisation:
            return None, None
        if account_id == self.pool:
            return 0, None
        return self.timebank.default_floor_minutes, self.timebank.default_cap_minutes

    def _fits(self, debtor: int, creditor: int, minutes: int) -> bool:
        """Would a reservation of ``minutes`` keep both accounts within their limits (counting
        every pending reservation against them, as the ledger does)?"""
        floor, _ = self._limits(debtor)
        _, cap = self._limits(creditor)
        if floor is not None and self.totals[debtor].lowest - minutes < floor:
            return False
        return cap is None or self.totals[creditor].highest + minutes <= cap

    def _reserve(self, debtor: int, creditor: int, minutes: int) -> None:
        self.totals[debtor].debits_pending += minutes
        self.totals[creditor].credits_pending += minutes

    def _release(self, debtor: int, creditor: int, minutes: int) -> None:
        self.totals[debtor].debits_pending -= minutes
        self.totals[creditor].credits_pending -= minutes

    def _post(self, debtor: int, creditor: int, minutes: int, *, single: bool = False) -> None:
        if not single:
            self._release(debtor, creditor, minutes)
        self.totals[debtor].debits_posted += minutes
        self.totals[creditor].credits_posted += minutes

    def _transfer(
        self,
        *,
        recipient: int,
        debtor: int,
        minutes: int,
        day: date,
        phase: TransferPhase,
        key: str,
        purpose: TransferPurpose = TransferPurpose.EXCHANGE,
        pending_id: int | None = None,
        then_reverse: bool = False,
    ) -> dict[str, Any]:
        row = {
            "timebank_id": self.timebank.id,
            "debit_account_id": debtor,
            "credit_account_id": recipient,
            "amount_minutes": minutes,
            "phase": phase,
            "purpose": purpose,
            "pending_id": pending_id,
            "reverses_id": None,
            "value_date": day,
            "memo": "",
            "idempotency_key": key,
            "request_fingerprint": hashlib.sha256(key.encode()).hexdigest(),
            "created_by_id": self.coordinator_id,
            "created_at": datetime.combine(day, time(18, 0)),
            "then_reverse": then_reverse,
        }
        return row

    def _flush_transfers(self) -> None:
        """Posts, voids, donations and grants; then reversals of the posts marked for one."""
        rows = self.transfers
        reverse = [row.pop("then_reverse") for row in rows]
        ids = _bulk_insert(self.session, Transfer, rows)
        self.summary.transfers += len(ids)
        reversals = []
        for transfer_id, row, wanted in zip(ids, rows, reverse, strict=True):
            if not wanted:
                continue
            day = min(row["value_date"] + timedelta(days=self.rng.randint(1, 20)), self.today)
            reversal = self._transfer(
                recipient=row["debit_account_id"], debtor=row["credit_account_id"], minutes=row["amount_minutes"],
                day=day, phase=TransferPhase.SINGLE, key=f"reversal-of-{transfer_id}",
                purpose=TransferPurpose.REVERSAL,
            )
            reversal.pop("then_reverse")
            reversal["reverses_id"] = transfer_id
            reversals.append(reversal)
        self.summary.transfers += len(_bulk_insert(self.session, Transfer, reversals))
        self.summary.reversed += len(reversals)
        self.transfers = []

    def _write_totals(self) -> None:
        """The cached totals, from the same simulation that chose the transfers (check-ledger
        recomputes them from the rows and must agree)."""
        self.session.execute(
            update(Account),
            [
                {
                    "id": account_id,
                    "debits_posted": t.debits_posted,
                    "credits_posted": t.credits_posted,
                    "debits_pending": t.debits_pending,
                    "credits_pending": t.credits_pending,
                }
                for account_id, t in self.totals.items()
            ],
        )

def _bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert many rows at once and return their ids, in the rows' order.

    Rows without an "id" get ids reserved from the table's sequence first. PostgreSQL takes the
    rows with COPY (the fastest way in); SQLite with one executemany. Missing columns get their
    model defaults, so callers name only what they mean."""
    if not rows:
        return []
    table = model.__table__
    if "id" not in rows[0]:
        for row, new_id in zip(rows, _reserve_ids(session, model, len(rows)), strict=True):
            row["id"] = new_id
    columns = [column for column in table.columns]
    complete = [{column.name: _value(row, column) for column in columns} for row in rows]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        names = ", ".join(column.name for column in columns)
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in complete:
                copy.write_row([row[column.name] for column in columns])
    else:
        connection.execute(insert(table), complete)
    return [row["id"] for row in rows]


def _value(row: dict[str, Any], column: Any) -> Any:
    if column.name in row:
        value = row[column.name]
    elif column.default is not None:
        arg = column.default.arg
        value = arg(None) if callable(arg) else arg
    else:
        value = None
    # COPY sends text: enums as their stored values.
    return value.value if isinstance(value, enum.Enum) else value


def _reserve_ids(session: Session, model: type[Any], count: int) -> list[int]:
    """``count`` new ids for the model's table (nobody else writes while the generator runs)."""
    if count == 0:
        return []
    table = model.__table__.name
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        last = connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, 'id'), nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1)"),
            {"t": table, "n": count},
        ).scalar_one()
        first = int(last) - count + 1
    else:
        first = int(connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()) + 1
    return list(range(first, first + count))


def _accumulate(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _listing_title(kind: ListingKind, category_id: int, rng: random.Random) -> str:
    things = ("gardening", "a lift to the shops", "help with a computer", "a chat over tea", "cooking a meal")
    thing = things[(category_id + rng.randint(0, 4)) % len(things)]
    return f"I can offer {thing}" if kind == ListingKind.OFFER else f"I would like {thing}"


def transfers_wanted(members: int, months: int, per_member_month: float) -> int:
    """Roughly how many transfers a run makes (two per approved exchange), for choosing sizes."""
    return math.ceil(members * months * per_member_month * 2)
