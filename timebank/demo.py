"""The demo installation behind ``flask timebank demo``: what every newcomer sees first.

Two time banks, built through the real services so every ledger rule holds:

* Riverside Wellbeing Centre Time Bank: a mental-health day service whose members earn by
  running the Tuesday lunch, the allotment, the Friday art group and centre events, by
  befriending each other and teaching phone skills; they spend on trips, lifts, help with forms
  and haircuts. Six months of history ending today, with the loose ends a real time bank has:
  hours waiting for approval, a couple of rejected claims, donations to the community pool, a
  grant from it, and two corrections.
* Elm Park Neighbourhood Time Bank: eight neighbours, to show that time banks are kept apart.

The history is planned first, as plain data, with a running tally of every account so that no
step can break a floor or a cap; then the plan is replayed through the services day by day.
A fixed seed makes it deterministic: the same ``today`` gives the same data (all but the random
salt in the one password hash every demo account shares).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.orm import Session

from . import ledger
from .audit.service import record as audit
from .auth.passwords import hash_password
from .clock import today_in
from .exchanges.service import (
    RecordRequest,
    approve_exchange,
    confirm_exchange,
    record_exchange,
    reject_exchange,
)
from .jobs.months import months_to_close
from .members import availability
from .members.service import create_member
from .models import (
    ApprovalPolicy,
    Category,
    ContactPreference,
    Exchange,
    Listing,
    ListingKind,
    Member,
    MemberSkill,
    MemberStatus,
    Notification,
    OutboundEmail,
    Role,
    Timebank,
    TransferPurpose,
    utcnow,
)
from .statements.service import close_and_record
from .timebanks.service import DEFAULT_CATEGORIES, create_timebank, organisation_account, pool_account

SEED = 20240917
DEMO_TIME_ZONE = "Europe/London"
HISTORY_DAYS = 183  # six months of exchanges, ending today
HOUR = 60

# Plan keys for the two accounts that are not a member's.
ORG = "@organisation"
POOL = "@pool"

# How often someone is picked when a team needs hands: a few do a lot, many do a little.
VERY_ACTIVE = 6.0
REGULAR = 2.5
QUIET = 1.0
NEW = 0.0


class DemoAlreadyLoaded(Exception):
    """The database already holds timebanks (or demo logins); the demo only loads into an empty one."""


@dataclass(frozen=True)
class DemoLogin:
    """One line of the table ``flask timebank demo`` prints."""

    email: str
    role: str
    timebank: str


# --------------------------------------------------------------------------------------------
# Who is in the demo
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    activity: float
    joined_days_ago: int
    offers: tuple[str, ...] = ()  # rotas and services they earn by
    needs: tuple[str, ...] = ()  # what they spend on
    status: MemberStatus = MemberStatus.APPROVED
    suspended_days_ago: int | None = None

    @property
    def key(self) -> str:
        return self.name.lower().replace("'", "").replace(" ", ".")


@dataclass(frozen=True)
class BankSpec:
    name: str
    organisation_name: str
    email_domain: str
    approval_policy: ApprovalPolicy
    categories: tuple[str, ...]
    founded_days_ago: int
    coordinators: tuple[Person, ...]
    participants: tuple[Person, ...]
    # For funders' reports: an estimated worth of an hour, in pence (None: no value line).
    hour_value_pence: int | None = None
    # Members who chose the weekly email of new offers and requests (keys of Person).
    digest_readers: tuple[str, ...] = ()

    def email(self, person: Person) -> str:
        return f"{person.key}@{self.email_domain}"


ADMIN_NAME = "Sam Taylor"
ADMIN_SINCE_DAYS_AGO = 1200
ADMIN_EMAIL = "admin@timebank.example"

RIVERSIDE = BankSpec(
    name="Riverside Wellbeing Centre Time Bank",
    organisation_name="Riverside Wellbeing Centre",
    email_domain="riverside.example",
    # At a day service a coordinator looks over every hour before it counts.
    approval_policy=ApprovalPolicy.ALWAYS,
    hour_value_pence=1500,
    digest_readers=("aisha.rahman",),
    categories=(*DEFAULT_CATEGORIES, "Haircuts", "Help with forms", "Trips and outings"),
    founded_days_ago=1100,
    coordinators=(
        Person("Grace Okafor", NEW, 1100),
        Person("Marcus Bennett", NEW, 640),
    ),
    participants=(
        Person("Aisha Rahman", VERY_ACTIVE, 720, ("lunch", "events", "cooking"), ("trips", "haircuts")),
        Person("Winston Campbell", VERY_ACTIVE, 900, ("allotment", "gardening", "lifts"), ("trips",)),
        Person("Megan Lloyd", VERY_ACTIVE, 610, ("art", "crafts", "events"), ("tech", "trips")),
        Person("Tomasz Nowak", VERY_ACTIVE, 480, ("tech", "allotment"), ("haircuts", "trips")),
        Person("Bernadette O'Sullivan", VERY_ACTIVE, 830, ("lunch", "befriending"), ("trips", "lifts")),
        Person("Kwame Mensah", REGULAR, 540, ("lunch", "events"), ("forms", "trips")),
        Person("Fatima Begum", REGULAR, 430, ("lunch", "cooking"), ("tech", "lifts")),
        Person("Gareth Evans", REGULAR, 700, ("allotment", "lifts"), ("tech",)),
        Person("Shirley Baptiste", REGULAR, 650, ("haircuts",), ("lifts", "tech", "trips")),
        Person("Ravi Patel", REGULAR, 390, ("tech", "forms"), ("trips",)),
        Person("Siobhan Murphy", REGULAR, 560, ("art", "befriending"), ("trips",)),
        Person("Joyce Whitaker", REGULAR, 760, ("befriending", "cooking"), ("lifts", "trips")),
        Person("Hamid Karimi", REGULAR, 330, ("allotment", "events"), ("forms", "tech")),
        Person("Lucy Chen", REGULAR, 300, ("art", "tech"), ("trips",)),
        Person("Patrick Doyle", REGULAR, 620, ("lifts", "events"), ("haircuts", "trips")),
        Person("Nadia Hussain", REGULAR, 410, ("forms", "befriending"), ("trips",)),
        Person("Colin Marsh", REGULAR, 580, ("allotment", "gardening"), ("tech", "forms")),
        Person("Amara Eze", QUIET, 350, ("lunch",), ("trips", "haircuts")),
        Person("Ewan MacLeod", QUIET, 460, ("allotment",), ("befriending", "lifts")),
        Person("Zainab Ali", QUIET, 270, ("art",), ("forms",)),
        Person("Derek Price", QUIET, 520, ("events",), ("befriending", "lifts")),
        Person("Maria Santos", QUIET, 100, ("cooking",), ("tech", "trips")),
        Person("Olu Adebayo", QUIET, 310, ("events",), ("haircuts",)),
        Person("Rose Fletcher", QUIET, 690, ("crafts",), ("befriending", "lifts", "haircuts")),
        Person("Kieran Walsh", QUIET, 240, ("allotment",), ("forms",)),
        Person("Sunita Kaur", QUIET, 380, ("art",), ("lifts",)),
        Person("Jamal Ahmed", QUIET, 75, ("tech",), ("trips",)),
        Person("Eileen Byrne", QUIET, 800, ("crafts",), ("befriending", "haircuts")),
        Person("Marek Kowalski", QUIET, 290, ("gardening",), ("forms",)),
        Person("Hannah Griffiths", QUIET, 220, ("lunch",), ("befriending",)),
        Person("Leon Richards", QUIET, 50, ("events",), ("tech", "trips")),
        Person("Precious Moyo", QUIET, 260, ("lunch",), ("haircuts", "trips")),
        Person("Alan Fraser", QUIET, 440, (), ("befriending", "lifts")),
        Person("Mohammed Iqbal", QUIET, 200, ("lifts",), ("forms",)),
        Person("Chloe Davies", NEW, 9, ("crafts",), ("tech",)),
        Person("Yusuf Osman", NEW, 6, ("cooking",)),
        Person("Ioana Popescu", NEW, 4, ("gardening",)),
        Person("Brian Kelly", NEW, 2, (), ("forms",)),
        Person(
            "Craig Dunn", REGULAR, 300, ("allotment", "lunch"), ("lifts", "trips"),
            status=MemberStatus.SUSPENDED, suspended_days_ago=70,
        ),
        Person("Kofi Boateng", NEW, 5, ("lifts",), status=MemberStatus.APPLIED),
        Person("Emily Sutton", NEW, 3, ("art",), status=MemberStatus.APPLIED),
    ),
)

ELM_PARK = BankSpec(
    name="Elm Park Neighbourhood Time Bank",
    organisation_name="Elm Park Residents' Association",
    email_domain="elmpark.example",
    # Neighbours agree the time between themselves; the coordinator only looks at long jobs.
    approval_policy=ApprovalPolicy.NEVER,
    digest_readers=("jenny.howard",),
    categories=(
        "Befriending", "Computer help", "Cooking", "DIY and odd jobs", "Gardening", "Lifts", "Pet care",
    ),
    founded_days_ago=240,
    coordinators=(Person("Priya Sharma", NEW, 240),),
    participants=(
        Person("Jenny Howard", REGULAR, 230, ("pets", "events"), ("gardening",)),
        Person("Abdul Malik", REGULAR, 225, ("diy",), ("pets",)),
        Person("Pete Robinson", REGULAR, 228, ("diy", "events"), ("tech",)),
        Person("Margaret Cole", QUIET, 220, ("cooking",), ("lifts",)),
        Person("Sanjay Gupta", QUIET, 210, ("tech",)),
        Person("Ellie Thompson", QUIET, 200, ("gardening",), ("tech", "gardening")),
        Person("Frank Osei", QUIET, 205, ("lifts",), ("tech",)),
        Person("Beata Nowicka", QUIET, 190, ("tech",), ("diy",)),
    ),
)


# --------------------------------------------------------------------------------------------
# What people do
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """Help one member gives another, and how it reads in listings."""

    category: str
    minutes: tuple[int, ...]
    descriptions: tuple[str, ...]
    offer: tuple[str, str]  # listing title, description
    request: tuple[str, str]
    tags: str = ""


SERVICES: dict[str, Service] = {
    "befriending": Service(
        "Befriending",
        (60, 60, 90),
        (
            "Walk by the river and a cuppa",
            "Coffee and a catch-up at the market café",
            "Phone catch-up and a chat about the week",
            "Went to the library together",
            "Sat in the park and fed the ducks",
        ),
        ("A friendly chat and a walk", "I'm a good listener. Happy to meet for a cuppa, a walk or a phone chat."),
        ("Someone to chat with now and then", "It gets quiet at home. I'd love someone to have a cup of tea with."),
        "company, walks, tea",
    ),
    "tech": Service(
        "Computer help",
        (60, 60, 90),
        (
            "Showed how to video-call family on WhatsApp",
            "Set up the NHS App and ordered a repeat prescription",
            "Set up email on a new phone",
            "Showed how to top up the gas meter online",
            "Sorted out a laptop that kept freezing",
            "Practised online banking together",
        ),
        ("Help with phones, tablets and computers", "Patient help at your own pace: video calls, email, apps."),
        ("Learning to use my smartphone", "I have a new phone and I'd like to learn the basics, slowly."),
        "phone, tablet, email, video calls",
    ),
    "lifts": Service(
        "Lifts",
        (60, 90, 120),
        (
            "Lift to a hospital appointment and back",
            "Lift to the big supermarket for a weekly shop",
            "Lift to the GP surgery",
            "Lift to the food bank and back",
            "Lift to visit family at the care home",
        ),
        ("Lifts in my car on weekdays", "I can take you to appointments or the shops. Ask a few days ahead."),
        ("Lifts to hospital appointments", "I have regular appointments across town and the buses are hard."),
        "car, appointments, shopping",
    ),
    "forms": Service(
        "Help with forms",
        (60, 90),
        (
            "Helped fill in a PIP review form",
            "Wrote a letter to the housing office together",
            "Went through the council tax reduction form",
            "Helped with a blue badge application",
            "Sorted out a gas bill query on the phone",
        ),
        (
            "Help with forms and letters",
            "Benefit forms, letters to the council, phone calls you'd rather not make alone.",
        ),
        ("Help with a benefits form", "I find the forms overwhelming. Could someone sit with me and go through it?"),
        "benefits, letters, phone calls",
    ),
    "haircuts": Service(
        "Haircuts",
        (30, 30, 45),
        ("Haircut at the centre", "Trim and tidy-up", "Haircut before a family wedding"),
        ("Haircuts and trims", "I was a hairdresser for twenty years. Short cuts and trims, at the centre."),
        ("A haircut now and then", "I'd love a tidy-up every couple of months."),
        "hair",
    ),
    "cooking": Service(
        "Cooking",
        (90, 120),
        (
            "Batch-cooked soups for the freezer together",
            "Taught how to make a simple curry on a budget",
            "Cooked a meal together and shared it",
        ),
        ("Cooking together on a budget", "Let's cook something simple and tasty, and freeze a few portions."),
        ("Learning to cook simple meals", "I'd like to cook more for myself instead of buying ready meals."),
        "budget cooking, batch cooking",
    ),
    "gardening": Service(
        "Gardening",
        (90, 120, 180),
        ("Tidied an overgrown front garden", "Planted up window boxes", "Cut back the hedge and mowed the lawn"),
        ("Help in your garden", "Weeding, mowing, planting pots. I bring my own gloves!"),
        ("Help with my overgrown garden", "My garden has got away from me and I'd like to sit out in it again."),
        "weeding, mowing, pots",
    ),
    "crafts": Service(
        "Arts and crafts",
        (60, 90),
        ("Taught the basics of knitting", "Helped make birthday cards", "Showed how to crochet a granny square"),
        ("Knitting and crochet for beginners", "I can teach the basics, and I have spare needles and wool."),
        ("Learning to knit", "I've always wanted to learn. Happy to start with something simple."),
        "knitting, crochet, cards",
    ),
    "diy": Service(
        "DIY and odd jobs",
        (60, 120),
        ("Fixed a dripping tap", "Put up shelves"),
        ("Small DIY jobs", "Shelves, curtain rails, dripping taps. I have my own tools."),
        ("Help with odd jobs around the house", "A few small jobs I can't manage on my own any more."),
        "shelves, taps, repairs",
    ),
    "pets": Service(
        "Pet care",
        (60,),
        ("Walked the dog",),
        ("Dog walking", "I walk every morning and am happy to take your dog along."),
        ("Dog walking when my back is bad", "Biscuit needs two walks a day and some weeks I can't manage."),
        "dogs, walks",
    ),
}

# Member-to-member help outside the rotas, and how common each kind is.
ODD_JOBS = {"tech": 3, "lifts": 3, "forms": 2, "haircuts": 2, "cooking": 1, "gardening": 1, "crafts": 1}

LUNCH_TASKS = (
    "Cooked and served the Tuesday lunch",
    "Prepared the veg and served at the Tuesday lunch",
    "Set the tables and washed up after the Tuesday lunch",
    "Planned the menu and did the shopping for the Tuesday lunch",
)
ALLOTMENT_TASKS = (
    "Allotment session: weeding and watering",
    "Allotment: dug over the bean beds",
    "Allotment: built new compost bays",
    "Allotment: sowed salad leaves and herbs",
    "Allotment: mended the shed roof and the fence",
)
CENTRE_EVENTS = ("coffee morning", "open day", "quiz night", "community fair", "film afternoon", "games afternoon")
TRIPS = (
    "Minibus trip to the seaside at Whitstable",
    "Trip to Kew Gardens",
    "Afternoon at the cinema",
    "Canal boat trip",
    "Visit to the Natural History Museum",
    "Bowling afternoon",
    "Picnic and boat ride in Regent's Park",
)

@dataclass(frozen=True)
class Rota:
    """A regular slot at the centre, as it reads on a member's profile."""

    skill: str
    category: str
    slot: str  # when it runs (members.availability)
    about: str


ROTAS: dict[str, Rota] = {
    "lunch": Rota("Cooking for a crowd", "Cooking", "tue-morning", "You'll find me in the kitchen on Tuesdays."),
    "allotment": Rota("Growing vegetables", "Gardening", "wed-morning",
                      "Happiest outdoors, usually at the allotment on Wednesdays."),
    "art": Rota("Painting and drawing", "Arts and crafts", "fri-afternoon", "I come to the Friday art group."),
    "events": Rota("Setting up and running events", "Running events", "thu-afternoon",
                   "I like lending a hand when the centre puts on an event."),
}

# A line for a member's "about me", from the first thing they offer.
ABOUT_BY_OFFER = {
    "befriending": "I enjoy a chat and a walk, whatever the weather.",
    "tech": "I'm good with phones and computers and happy to share what I know.",
    "lifts": "I have a car and don't mind driving.",
    "forms": "I used to work in an office, so forms don't scare me.",
    "haircuts": "I was a hairdresser for twenty years.",
    "cooking": "I love cooking for other people.",
    "gardening": "I like getting my hands dirty in the garden.",
    "crafts": "I knit and crochet, and I'm happy to teach.",
    "diy": "I'm handy with a drill and have my own tools.",
    "pets": "I walk every morning and love dogs.",
}
NEW_MEMBER_ABOUT = "I'm new to the time bank and still finding my feet."
AREAS = {
    "riverside.example": ("Riverside", "Canal Side", "Northfield", "St Mary's", "Hillside", "Old Town"),
    "elmpark.example": ("Elm Park",),
}
EXTRA_SLOTS = ("mon-morning", "mon-afternoon", "tue-afternoon", "wed-afternoon", "thu-morning", "sat-morning")
SUSPENSION_REASON = (
    "Your membership is paused while we talk through a concern with you. "
    "Please speak to Grace or Marcus at the centre."
)
# Members who would rather hear from the coordinator than by email.
THROUGH_THE_COORDINATOR = frozenset({"rose.fletcher", "eileen.byrne", "alan.fraser", "derek.price"})

# Befriending matches at Riverside: befriender, befriended.
BEFRIENDING_PAIRS = (
    ("bernadette.osullivan", "rose.fletcher"),
    ("siobhan.murphy", "ewan.macleod"),
    ("joyce.whitaker", "derek.price"),
    ("nadia.hussain", "hannah.griffiths"),
    ("siobhan.murphy", "eileen.byrne"),
)


# --------------------------------------------------------------------------------------------
# The plan: plain data, replayed through the services afterwards
# --------------------------------------------------------------------------------------------

StepAction = Literal["confirm", "approve", "reject"]


@dataclass(frozen=True)
class Step:
    """A later step on a recorded exchange: the other side confirms, a coordinator decides."""

    ref: int  # the recording it belongs to
    action: StepAction
    actor: str
    on: date
    reason: str = ""


@dataclass(frozen=True)
class Recording:
    """Help that happened, recorded by a member or typed in by a coordinator (approved at once)."""

    ref: int
    provider: str  # a member key or ORG
    recipient: str
    minutes: int
    performed_on: date
    description: str
    recorder: str  # the member key of whoever records it
    on: date
    steps: tuple[Step, ...]  # what follows, where it has happened by today


@dataclass(frozen=True)
class PlannedTransfer:
    """A donation, a grant or a correction: straight ledger movements, no exchange."""

    label: str
    purpose: TransferPurpose
    debit: str
    credit: str
    minutes: int
    on: date
    memo: str
    actor: str
    on_behalf_of: str | None = None
    reverses: str | None = None  # the label of the transfer this one corrects


Event = Recording | Step | PlannedTransfer


@dataclass
class _Tally:
    posted: int = 0
    pending_out: int = 0
    pending_in: int = 0


class Balances:
    """The ledger's limits, worked out ahead (pending debits counted pessimistically, as the
    ledger does) so the plan never asks the services for something they would refuse."""

    def __init__(self, floor: int, cap: int) -> None:
        self.floor = floor
        self.cap = cap
        self.tallies: dict[str, _Tally] = {}

    def tally(self, key: str) -> _Tally:
        return self.tallies.setdefault(key, _Tally())

    def spendable(self, key: str) -> int:
        """How much more the account can be debited."""
        tally = self.tally(key)
        if key == ORG:
            return 10**9  # the organisation may run a deficit
        floor = 0 if key == POOL else self.floor
        return tally.posted - tally.pending_out - floor

    def room(self, key: str) -> int:
        """How much more the account can be credited."""
        tally = self.tally(key)
        if key in (ORG, POOL):
            return 10**9
        return self.cap - (tally.posted + tally.pending_in)

    def can_move(self, debit: str, credit: str, minutes: int) -> bool:
        return self.spendable(debit) >= minutes and self.room(credit) >= minutes

    def reserve(self, debit: str, credit: str, minutes: int) -> None:
        self.tally(debit).pending_out += minutes
        self.tally(credit).pending_in += minutes

    def release(self, debit: str, credit: str, minutes: int) -> None:
        self.reserve(debit, credit, -minutes)

    def post(self, debit: str, credit: str, minutes: int) -> None:
        """A reservation's credits move for good."""
        self.release(debit, credit, minutes)
        self.move(debit, credit, minutes)

    def move(self, debit: str, credit: str, minutes: int) -> None:
        self.tally(debit).posted -= minutes
        self.tally(credit).posted += minutes


class Planner:
    """Builds one timebank's history, day by day.

    Each day first plans what people did (records are often typed in a day or two later, and
    confirmations and approvals follow), then runs everything due that day, in order, against
    running balances: a step the ledger would refuse then is dropped, as a person would be told
    no. What ran, in that order, is the script the services replay, so their transfer ids follow
    the dates and the checks they make see exactly what the planner saw.
    """

    def __init__(self, spec: BankSpec, today: date, rng: random.Random) -> None:
        self.spec = spec
        self.today = today
        self.rng = rng
        self.start = today - timedelta(days=HISTORY_DAYS)
        self.people = [p for p in spec.participants if p.status != MemberStatus.APPLIED]
        self.by_key = {p.key: p for p in spec.participants}
        self.coordinator_keys = [p.key for p in spec.coordinators]
        self.balances = Balances(floor=-10 * HOUR, cap=100 * HOUR)
        self.script: list[Event] = []
        self._agenda: list[tuple[date, int, Event]] = []
        self._order = itertools.count()
        self._refs = itertools.count(1)
        self._recorded: dict[int, Recording] = {}
        self._moved: set[str] = set()  # labels of transfers that ran

    def plan(self) -> list[Event]:
        raise NotImplementedError

    # -- who can take part ------------------------------------------------------------------

    def active_on(self, person: Person, day: date) -> bool:
        joined = self.today - timedelta(days=person.joined_days_ago)
        if person.activity == NEW or day < joined:
            return False
        # A member being suspended has had nothing new for a fortnight before it.
        return person.suspended_days_ago is None or day < self.today - timedelta(days=person.suspended_days_ago + 14)

    def team(self, role: str, day: date) -> list[Person]:
        return [p for p in self.people if role in p.offers and self.active_on(p, day)]

    def pick(self, people: Sequence[Person], count: int) -> list[Person]:
        """Up to ``count`` different people, the more active more likely."""
        pool = list(people)
        chosen: list[Person] = []
        while pool and len(chosen) < count:
            person = self.rng.choices(pool, weights=[p.activity for p in pool])[0]
            pool.remove(person)
            chosen.append(person)
        return chosen

    def coordinator(self) -> str:
        weights = [2.0] + [1.0] * (len(self.coordinator_keys) - 1)
        return self.rng.choices(self.coordinator_keys, weights=weights)[0]

    def richest(self, keys: Sequence[str]) -> str | None:
        return max(keys, key=self.balances.spendable, default=None)

    def neediest(self, keys: Sequence[str]) -> list[str]:
        return sorted(keys, key=self.balances.spendable)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(HISTORY_DAYS + 1)]

    # -- planning ---------------------------------------------------------------------------

    def exchange(
        self,
        *,
        provider: str,
        recipient: str,
        minutes: int,
        on: date,
        description: str,
        recorder: str | None,
        record_after: int | None = None,
        confirm_after: int | None = None,
        stop_before: StepAction | None = None,
        reject_reason: str = "",
    ) -> None:
        """Plan one exchange. ``recorder`` None: a coordinator types it in from a timesheet,
        which approves it at once."""
        if record_after is None:
            record_after = self.rng.choice((0, 0, 1, 2, 3) if recorder is None else (0, 0, 1, 2))
        ref = next(self._refs)
        recorded_on = min(self.today, on + timedelta(days=record_after))
        steps: tuple[Step, ...] = ()
        if recorder is None:
            recorder = self.coordinator()
        else:
            other = recipient if recorder == provider else provider
            steps = self._later_steps(ref, other, recorded_on, confirm_after, stop_before, reject_reason)
        self.schedule(Recording(ref, provider, recipient, minutes, on, description, recorder, recorded_on, steps))

    def _later_steps(
        self,
        ref: int,
        other: str,
        recorded_on: date,
        confirm_after: int | None,
        stop_before: StepAction | None,
        reject_reason: str,
    ) -> tuple[Step, ...]:
        """The other side confirms (for the organisation, a coordinator decides straight away),
        then a coordinator decides if the policy asks. Steps after today have not happened yet."""
        wanted: list[tuple[StepAction, str, int]] = []
        if other != ORG:
            delay = self.rng.choice((0, 1, 1, 2, 3)) if confirm_after is None else confirm_after
            wanted.append(("confirm", other, delay))
        if reject_reason:
            wanted.append(("reject", self.coordinator(), self.rng.choice((1, 2, 3))))
        elif other == ORG or self.spec.approval_policy != ApprovalPolicy.NEVER:
            wanted.append(("approve", self.coordinator(), self.rng.choice((1, 2, 3, 4))))
        steps: list[Step] = []
        day = recorded_on
        for action, actor, delay in wanted:
            day += timedelta(days=delay)
            if action == stop_before or day > self.today:
                break
            steps.append(Step(ref, action, actor, day, reject_reason if action == "reject" else ""))
        return tuple(steps)

    def schedule(self, event: Event) -> None:
        heapq.heappush(self._agenda, (event.on, next(self._order), event))

    # -- running the agenda -----------------------------------------------------------------

    def run_until(self, day: date) -> None:
        while self._agenda and self._agenda[0][0] <= day:
            _, _, event = heapq.heappop(self._agenda)
            if self._runs(event):
                self.script.append(event)

    def _runs(self, event: Event) -> bool:
        """Apply ``event`` to the balances if the ledger would accept it now."""
        if isinstance(event, Recording):
            return self._record(event)
        if isinstance(event, Step):
            self._step(event)
            return True
        return self._transfer(event)

    def _record(self, recording: Recording) -> bool:
        if not self.balances.can_move(recording.recipient, recording.provider, recording.minutes):
            return False
        self.balances.reserve(recording.recipient, recording.provider, recording.minutes)
        if recording.recorder in self.coordinator_keys:
            self.balances.post(recording.recipient, recording.provider, recording.minutes)
        self._recorded[recording.ref] = recording
        for step in recording.steps:
            self.schedule(step)
        return True

    def _step(self, step: Step) -> None:
        recording = self._recorded[step.ref]
        debit, credit, minutes = recording.recipient, recording.provider, recording.minutes
        if step.action == "reject":
            self.balances.release(debit, credit, minutes)
        elif step.action == "approve" or self.spec.approval_policy == ApprovalPolicy.NEVER:
            self.balances.post(debit, credit, minutes)

    def _transfer(self, transfer: PlannedTransfer) -> bool:
        if transfer.reverses is not None and transfer.reverses not in self._moved:
            return False
        if not self.balances.can_move(transfer.debit, transfer.credit, transfer.minutes):
            return False
        self.balances.move(transfer.debit, transfer.credit, transfer.minutes)
        self._moved.add(transfer.label)
        return True


class RiversidePlanner(Planner):
    """The day service's week: lunch on Tuesday, the allotment on Wednesday, art on Friday, an
    event early each month and a trip in the middle of it, befriending and odd jobs around them."""

    def plan(self) -> list[Event]:
        for day in self.days():
            weekday = day.weekday()
            if weekday == 1:
                self.tuesday_lunch(day)
            if weekday == 2:
                self.allotment(day)
            if weekday == 3 and day.day <= 7:
                self.centre_event(day)
            if weekday == 4:
                self.art_group(day)
            if weekday == 5 and 15 <= day.day <= 21:
                self.trip(day)
            self.befriending(day)
            if weekday < 5:
                self.odd_jobs(day)
            self.pool_and_corrections(day)
            self.still_waiting(day)
            self.run_until(day)
        return self.script

    # -- the centre's rotas: members earn from the organisation -----------------------------

    def tuesday_lunch(self, day: date) -> None:
        for person in self.pick(self.team("lunch", day), self.rng.choice((2, 2, 3))):
            self.exchange(
                provider=person.key, recipient=ORG, minutes=self.rng.choice((150, 180)), on=day,
                description=self.rng.choice(LUNCH_TASKS), recorder=self.timesheet_or(person.key),
            )

    def allotment(self, day: date) -> None:
        for person in self.pick(self.team("allotment", day), self.rng.choice((1, 1, 1, 2))):
            self.exchange(
                provider=person.key, recipient=ORG, minutes=self.rng.choice((120, 150)), on=day,
                description=self.rng.choice(ALLOTMENT_TASKS), recorder=self.timesheet_or(person.key),
            )

    def art_group(self, day: date) -> None:
        """Megan runs it, sometimes with a helper; when she is away someone else steps in."""
        lead = self.by_key["megan.lloyd"]
        others = [p for p in self.team("art", day) if p is not lead]
        if self.rng.random() < 0.85:
            self.exchange(provider=lead.key, recipient=ORG, minutes=120, on=day,
                          description="Ran the Friday art group", recorder=None)
            helpers, minutes, task = self.pick(others, self.rng.choice((0, 0, 1))), 90, "Set up and helped at"
        else:
            helpers, minutes, task = self.pick(others, 1), 120, "Stood in for Megan and ran"
        for helper in helpers:
            self.exchange(provider=helper.key, recipient=ORG, minutes=minutes, on=day,
                          description=f"{task} the Friday art group", recorder=None)

    def centre_event(self, day: date) -> None:
        event = CENTRE_EVENTS[(day.year * 12 + day.month) % len(CENTRE_EVENTS)]
        for person in self.pick(self.team("events", day), self.rng.choice((2, 3, 4))):
            self.exchange(provider=person.key, recipient=ORG, minutes=self.rng.choice((180, 240)), on=day,
                          description=f"Helped run the centre's {event}", recorder=None)

    def timesheet_or(self, member: str) -> str | None:
        """Mostly the coordinator types up the sign-in sheet; now and then members log it themselves."""
        return member if self.rng.random() < 0.2 else None

    def paper_slip_or(self, member: str) -> str | None:
        """Many members don't use computers: they hand the coordinator a slip, who types it in."""
        return member if self.rng.random() < 0.6 else None

    # -- trips: members spend with the organisation ------------------------------------------

    def trip(self, day: date) -> None:
        trip = TRIPS[(day.year * 12 + day.month) % len(TRIPS)]
        minutes = 240 if "seaside" in trip or "Kew" in trip else 180
        travellers = [p for p in self.people if "trips" in p.needs and self.active_on(p, day)]
        for person in self.pick(travellers, self.rng.choice((3, 4, 5, 6))):
            self.exchange(provider=ORG, recipient=person.key, minutes=minutes, on=day,
                          description=trip, recorder=None)

    # -- members helping members ------------------------------------------------------------

    def befriending(self, day: date) -> None:
        fortnight = (day - self.start).days // 7 % 2
        for index, (befriender, befriended) in enumerate(BEFRIENDING_PAIRS):
            if day.weekday() != index % 5 or fortnight != index % 2:
                continue
            if not (self.active_on(self.by_key[befriender], day) and self.active_on(self.by_key[befriended], day)):
                continue
            if self.rng.random() < 0.85:
                service = SERVICES["befriending"]
                self.exchange(provider=befriender, recipient=befriended, minutes=self.rng.choice(service.minutes),
                              on=day, description=self.rng.choice(service.descriptions),
                              recorder=self.paper_slip_or(befriender))

    def odd_jobs(self, day: date) -> None:
        for _ in range(self.rng.choice((0, 0, 1))):
            kind = self.rng.choices(list(ODD_JOBS), weights=list(ODD_JOBS.values()))[0]
            service = SERVICES[kind]
            helpers = self.pick(self.team(kind, day), 1)
            if not helpers:
                continue
            helper = helpers[0]
            minutes = self.rng.choice(service.minutes)
            wanting = [p.key for p in self.people if kind in p.needs and p is not helper and self.active_on(p, day)]
            able = [key for key in wanting if self.balances.spendable(key) >= minutes]
            if not able:
                continue
            recipient = self.rng.choice(able)
            recorder = self.paper_slip_or(self.rng.choice((helper.key, helper.key, helper.key, recipient)))
            self.exchange(provider=helper.key, recipient=recipient, minutes=minutes, on=day,
                          description=self.rng.choice(service.descriptions), recorder=recorder)

    # -- the community pool, and the mistakes every time bank makes ---------------------------

    def pool_and_corrections(self, day: date) -> None:
        n = (day - self.start).days
        if n in (35, 70, 100, 130, 160):
            self.donation(day, n)
        if n == 95:
            neediest = self.neediest(self.participant_keys(day))
            if neediest:
                self.grant(day, "grant-95", neediest[0], 360,
                           "Grant from the community pool to keep befriending visits going")
        if n == 140:
            self.grant_to_the_wrong_member(day)
        if n == 48:
            self.exchange(
                provider="derek.price", recipient=ORG, minutes=240, on=day,
                description="Chatted with people in the café all afternoon", recorder="derek.price",
                reject_reason="Thank you, Derek! Time chatting in the café doesn't earn credits, but you'd be "
                "very welcome on the Tuesday lunch rota.",
            )
        if n == 118:
            self.lift_logged_with_the_wrong_time(day)

    def participant_keys(self, day: date) -> list[str]:
        return [p.key for p in self.people if self.active_on(p, day)]

    def donation(self, day: date, n: int) -> None:
        donor = self.richest(self.participant_keys(day))
        minutes = self.rng.choice((180, 240, 300))
        # Only someone comfortably in credit gives hours away.
        if donor is None or self.balances.spendable(donor) < minutes + 15 * HOUR:
            return
        memo = self.rng.choice((
            "Gave hours to the community pool for members who can't earn many",
            "Donation to the community pool",
        ))
        self.schedule(PlannedTransfer(f"donation-{n}", TransferPurpose.DONATION, donor, POOL, minutes, day, memo,
                                      actor=donor))
        if n == 70:
            # The same gift typed in again from the paper form, then put right two days later.
            coordinator = self.coordinator_keys[0]
            self.schedule(PlannedTransfer(
                f"donation-{n}-again", TransferPurpose.DONATION, donor, POOL, minutes, day + timedelta(days=1),
                memo, actor=coordinator, on_behalf_of=donor,
            ))
            self.schedule(PlannedTransfer(
                f"donation-{n}-again-reversed", TransferPurpose.REVERSAL, POOL, donor, minutes,
                day + timedelta(days=3), "Reversed: this donation was already given online, so it counted twice",
                actor=coordinator, reverses=f"donation-{n}-again",
            ))

    def grant(self, day: date, label: str, to: str, minutes: int, memo: str) -> None:
        self.schedule(PlannedTransfer(label, TransferPurpose.GRANT, POOL, to, minutes, day, memo,
                                      actor=self.coordinator_keys[0]))

    def grant_to_the_wrong_member(self, day: date) -> None:
        """A grant paid to the member next on the list, reversed the same afternoon and paid again."""
        neediest = self.neediest(self.participant_keys(day))
        if len(neediest) < 2:
            return
        self.grant(day, "grant-140-wrong", neediest[1], 240, "Grant from the community pool")
        self.schedule(PlannedTransfer(
            "grant-140-wrong-reversed", TransferPurpose.REVERSAL, neediest[1], POOL, 240, day,
            "Reversed: granted to the wrong member by mistake", actor=self.coordinator_keys[1],
            reverses="grant-140-wrong",
        ))
        self.grant(day, "grant-140", neediest[0], 240, "Grant from the community pool")

    def lift_logged_with_the_wrong_time(self, day: date) -> None:
        driver = "gareth.evans"
        passengers = [p.key for p in self.people if "lifts" in p.needs and self.active_on(p, day)]
        passenger = self.richest(passengers)
        if passenger is None:
            return
        description = "Lift to a hospital appointment and back"
        reason = ("The appointment was about an hour and a half door to door, so please log 1 hour 30 minutes "
                  "and it will be approved straight away.")
        self.exchange(provider=driver, recipient=passenger, minutes=180, on=day, description=description,
                      recorder=driver, record_after=1, reject_reason=reason)
        self.exchange(provider=driver, recipient=passenger, minutes=90, on=day, description=description,
                      recorder=driver, record_after=5)

    # -- hours still waiting, however the dates fall ------------------------------------------

    def still_waiting(self, day: date) -> None:
        days_ago = (self.today - day).days
        if days_ago == 4:
            customers = [p.key for p in self.people if "haircuts" in p.needs and self.active_on(p, day)]
            customer = self.richest(customers)
            if customer is not None:
                self.exchange(provider="shirley.baptiste", recipient=customer, minutes=30, on=day,
                              description="Haircut at the centre", recorder="shirley.baptiste",
                              record_after=0, stop_before="approve")
        if days_ago == 2:
            gardener = self.pick(self.team("allotment", day), 1)
            if gardener:
                self.exchange(provider=gardener[0].key, recipient=ORG, minutes=60, on=day,
                              description="Extra watering session at the allotment", recorder=gardener[0].key,
                              record_after=0, stop_before="approve")
        if days_ago == 1:
            learners = [p.key for p in self.people if "tech" in p.needs and self.active_on(p, day)]
            learner = self.richest(learners)
            if learner is not None:
                self.exchange(provider="tomasz.nowak", recipient=learner, minutes=60, on=day,
                              description="Showed how to video-call family on WhatsApp", recorder="tomasz.nowak",
                              record_after=0, stop_before="confirm")


# Elm Park's six months, written out: days ago, provider, recipient, minutes, what, who logged
# it ("provider", "recipient", or None for the coordinator), days until the other side confirmed
# (None: still waiting).
ELM_PARK_EXCHANGES: tuple[tuple[int, str, str, int, str, str | None, int | None], ...] = (
    (170, "pete.robinson", "margaret.cole", 60, "Fixed a dripping kitchen tap", "provider", 1),
    (158, "jenny.howard", "abdul.malik", 60, "Walked Biscuit while Abdul's back was bad", "provider", 0),
    (151, "jenny.howard", "abdul.malik", 60, "Walked Biscuit again", "provider", 1),
    (140, "sanjay.gupta", "ellie.thompson", 90, "Went through Ellie's CV and a job application", "recipient", 2),
    (126, "frank.osei", "margaret.cole", 90, "Lift to the eye clinic and back", "provider", 1),
    (105, "jenny.howard", ORG, 120, "Helped run the Elm Park litter pick", None, None),
    (105, "pete.robinson", ORG, 120, "Helped run the Elm Park litter pick", None, None),
    (97, "ellie.thompson", "jenny.howard", 30, "Watered Jenny's plants while she was away", "provider", 3),
    (80, "abdul.malik", "beata.nowicka", 120, "Put up two shelves and a curtain rail", "provider", 2),
    (66, "beata.nowicka", "frank.osei", 60, "Set up video calls with Frank's grandchildren", "provider", 1),
    (52, "margaret.cole", "ellie.thompson", 90, "Taught Ellie to make plum jam", "provider", 0),
    (38, "sanjay.gupta", "pete.robinson", 60, "Got Pete's new printer working", "provider", 0),
    (24, "frank.osei", "abdul.malik", 60, "Lift to the vet with Biscuit", "provider", 2),
    (12, "jenny.howard", ORG, 90, "Delivered leaflets for the residents' meeting", None, None),
    (3, "ellie.thompson", "margaret.cole", 60, "Helped Margaret with her online shopping order", "provider", None),
)


class ElmParkPlanner(Planner):
    """Neighbours helping neighbours, as written out above; no coordinator needed to approve."""

    def plan(self) -> list[Event]:
        for days_ago, provider, recipient, minutes, what, logged_by, confirmed_after in ELM_PARK_EXCHANGES:
            self.exchange(
                provider=provider, recipient=recipient, minutes=minutes, on=self.today - timedelta(days=days_ago),
                description=what, recorder={"provider": provider, "recipient": recipient, None: None}[logged_by],
                record_after=0, confirm_after=confirmed_after,
                stop_before="confirm" if logged_by and confirmed_after is None else None,
            )
        self.run_until(self.today)
        return self.script


# --------------------------------------------------------------------------------------------
# Building it
# --------------------------------------------------------------------------------------------


@dataclass
class BuiltBank:
    spec: BankSpec
    timebank: Timebank
    members: dict[str, Member] = field(default_factory=dict)
    account_ids: dict[str, int] = field(default_factory=dict)
    transfer_ids: dict[str, int] = field(default_factory=dict)


def build_demo(session: Session, *, password: str, today: date | None = None) -> list[DemoLogin]:
    """Load the demo into an empty database and return the logins to show, admin first.

    The services commit step by step, so a load that fails half-way leaves what it made; start
    again from an empty database."""
    today = today if today is not None else today_in(DEMO_TIME_ZONE)
    refuse_if_loaded(session)
    # Hashing is deliberately slow (argon2), so every demo account shares one hash.
    password_hash = hash_password(password)
    rng = random.Random(SEED)
    with commits_not_waiting_for_disk(session):
        admin = create_member(session, timebank=None, display_name=ADMIN_NAME, email=ADMIN_EMAIL,
                              status=MemberStatus.APPROVED, is_admin=True)
        admin.password_hash = password_hash
        backdate_member(admin, today - timedelta(days=ADMIN_SINCE_DAYS_AGO))
        banks = [create_bank(session, spec, today, password_hash) for spec in (RIVERSIDE, ELM_PARK)]
        session.commit()
        for bank, planner in zip(banks, (RiversidePlanner, ElmParkPlanner), strict=True):
            add_profiles(session, bank, rng)
            add_listings(session, bank, today, rng)
            replay(session, bank, planner(bank.spec, today, rng).plan())
            apply_suspensions(session, bank)
            apply_settings(session, bank)
            close_finished_months(session, bank, today)
        settle_notifications(session)
    return logins(banks)


@contextmanager
def commits_not_waiting_for_disk(session: Session) -> Iterator[None]:
    """The services commit every step, so the demo makes several hundred small commits; on PostgreSQL
    waiting for each to reach the disk doubles the load time. A demo load can simply be run
    again, so for its duration a crash may lose the last commits (never half of one)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET synchronous_commit = off"))
        session.commit()
    try:
        yield
    finally:
        if postgres:
            session.rollback()
            session.execute(text("RESET synchronous_commit"))
            session.commit()


def refuse_if_loaded(session: Session) -> None:
    if session.scalar(select(Timebank.id).limit(1)) is not None:
        raise DemoAlreadyLoaded(
            "This database already has timebanks, so the demo was not loaded. "
            "Use an empty database, or pass --if-empty to skip quietly."
        )
    emails = [ADMIN_EMAIL] + [spec.email(p) for spec in (RIVERSIDE, ELM_PARK) for p in everyone(spec)]
    taken = [
        email
        for email in session.scalars(select(Member.email).where(Member.email.in_(emails)).order_by(Member.email))
        if email
    ]
    if taken:
        raise DemoAlreadyLoaded(f"These demo logins already exist, so the demo was not loaded: {', '.join(taken)}.")


def everyone(spec: BankSpec) -> tuple[Person, ...]:
    return spec.coordinators + spec.participants


def create_bank(session: Session, spec: BankSpec, today: date, password_hash: str) -> BuiltBank:
    timebank = create_timebank(session, name=spec.name, organisation_name=spec.organisation_name,
                               approval_policy=spec.approval_policy, categories=spec.categories)
    timebank.created_at = at(today - timedelta(days=spec.founded_days_ago), 9)
    bank = BuiltBank(spec, timebank)
    bank.account_ids[ORG] = organisation_account(session, timebank.id).id
    bank.account_ids[POOL] = pool_account(session, timebank.id).id
    for person in everyone(spec):
        role = Role.COORDINATOR if person in spec.coordinators else Role.PARTICIPANT
        # Suspended members were approved first; the suspension comes after their history.
        status = MemberStatus.APPROVED if person.status == MemberStatus.SUSPENDED else person.status
        member = create_member(session, timebank=timebank, display_name=person.name, email=spec.email(person),
                               role=role, status=status)
        member.password_hash = password_hash
        backdate_member(member, today - timedelta(days=person.joined_days_ago))
        bank.members[person.key] = member
        assert member.account is not None
        bank.account_ids[person.key] = member.account.id
    session.flush()
    return bank


def backdate_member(member: Member, joined: date) -> None:
    """Joining is the day a member was approved, a week or so after they applied."""
    if member.status == MemberStatus.APPROVED:
        member.created_at = at(joined - timedelta(days=7 + joined.day % 7), 11)
        member.approved_at = at(joined, 15)
    else:
        member.created_at = at(joined, 11)
    if member.account is not None:
        member.account.created_at = member.created_at


def category_ids(session: Session, timebank_id: int) -> dict[str, int]:
    return {c.name: c.id for c in session.scalars(select(Category).where(Category.timebank_id == timebank_id))}


def add_profiles(session: Session, bank: BuiltBank, rng: random.Random) -> None:
    """What people bring, in their own words: the directory and the matching read these."""
    categories = category_ids(session, bank.timebank.id)
    for person in bank.spec.participants:
        member = bank.members[person.key]
        offered = offered_skills(person)
        wanted = [(SERVICES[need].request[0], SERVICES[need].category) for need in person.needs if need in SERVICES]
        if "trips" in person.needs:
            wanted.append(("Days out on the centre's trips", "Trips and outings"))
        member.area = rng.choice(AREAS[bank.spec.email_domain])
        member.about = about_line(person)
        member.offers_text = "; ".join(label for label, _ in offered)
        member.wants_text = "; ".join(label for label, _ in wanted)
        rota_slots = [ROTAS[offer].slot for offer in person.offers if offer in ROTAS]
        member.availability = availability.serialise(rota_slots + rng.sample(EXTRA_SLOTS, 2))
        if person.key in THROUGH_THE_COORDINATOR:
            member.contact_preference = ContactPreference.COORDINATOR
        session.add_all(
            MemberSkill(member_id=member.id, kind=kind, category_id=categories.get(category), label=label)
            for kind, skills in ((ListingKind.OFFER, offered), (ListingKind.REQUEST, wanted))
            for label, category in skills
        )
    session.commit()


def offered_skills(person: Person) -> list[tuple[str, str]]:
    """(label, category) for each rota and service a person offers."""
    skills = []
    for offer in person.offers:
        if offer in ROTAS:
            skills.append((ROTAS[offer].skill, ROTAS[offer].category))
        elif offer in SERVICES:
            skills.append((SERVICES[offer].offer[0], SERVICES[offer].category))
    return skills


def about_line(person: Person) -> str:
    if person.activity == NEW or not person.offers:
        return NEW_MEMBER_ABOUT
    first = person.offers[0]
    return ROTAS[first].about if first in ROTAS else ABOUT_BY_OFFER[first]


def add_listings(session: Session, bank: BuiltBank, today: date, rng: random.Random) -> None:
    """Each member's open offers and requests, from what they do and what they need."""
    categories = category_ids(session, bank.timebank.id)
    for person in bank.spec.participants:
        if person.status != MemberStatus.APPROVED:
            continue
        member = bank.members[person.key]
        offers = [SERVICES[s] for s in person.offers if s in SERVICES][:2]
        requests = [SERVICES[s] for s in person.needs if s in SERVICES][:1]
        for kind, service in [(ListingKind.OFFER, s) for s in offers] + [(ListingKind.REQUEST, s) for s in requests]:
            title, description = service.offer if kind == ListingKind.OFFER else service.request
            posted = today - timedelta(days=rng.randint(0, min(person.joined_days_ago, HISTORY_DAYS)))
            session.add(Listing(
                timebank_id=bank.timebank.id, member_id=member.id, kind=kind,
                category_id=categories.get(service.category), title=title, description=description,
                tags=service.tags, estimated_minutes=service.minutes[0], created_by_id=member.id,
                created_at=at(posted, 14), updated_at=at(posted, 14),
            ))
    session.commit()


def replay(session: Session, bank: BuiltBank, script: Sequence[Event]) -> None:
    """Run the script through the services, in order, as the people in it would have."""
    exchange_ids: dict[int, int] = {}
    stamps: dict[int, dict[str, object]] = {}
    for event in script:
        if isinstance(event, Recording):
            exchange_ids[event.ref] = replay_recording(session, bank, event)
            stamps[event.ref] = {"id": exchange_ids[event.ref], "created_at": at(event.on, 9 + event.ref % 9)}
        elif isinstance(event, Step):
            replay_step(session, bank, event, exchange_ids[event.ref])
        else:
            replay_transfer(session, bank, event)
        if not isinstance(event, PlannedTransfer):
            stamps[event.ref]["updated_at"] = at(event.on, 9 + event.ref % 9)
    # The services stamp rows with the real clock; the demo's history should read as it happened.
    if stamps:
        session.execute(update(Exchange), list(stamps.values()))
    session.commit()


def replay_recording(session: Session, bank: BuiltBank, recording: Recording) -> int:
    request = RecordRequest(
        provider_account_id=bank.account_ids[recording.provider],
        recipient_account_id=bank.account_ids[recording.recipient],
        minutes=recording.minutes,
        performed_on=recording.performed_on,
        description=recording.description,
        request_key=f"demo-{recording.ref}",
    )
    exchange = record_exchange(session, bank.members[recording.recorder], request, today=recording.on)
    return id_without_reload(exchange)


def replay_step(session: Session, bank: BuiltBank, step: Step, exchange_id: int) -> None:
    actor = bank.members[step.actor]
    if step.action == "confirm":
        confirm_exchange(session, actor, exchange_id, today=step.on)
    elif step.action == "approve":
        approve_exchange(session, actor, exchange_id, today=step.on)
    else:
        reject_exchange(session, actor, exchange_id, step.reason, today=step.on)


def replay_transfer(session: Session, bank: BuiltBank, item: PlannedTransfer) -> None:
    actor = bank.members[item.actor]
    timebank_id = bank.timebank.id
    key = f"demo-{item.label}"
    with ledger.write_transaction(session):
        if item.reverses is not None:
            transfer = ledger.reverse_transfer(
                session, timebank_id=timebank_id, transfer_id=bank.transfer_ids[item.reverses],
                value_date=item.on, idempotency_key=key, memo=item.memo, created_by_id=actor.id,
            )
        else:
            transfer = ledger.create_transfer(
                session, timebank_id=timebank_id, debit_account_id=bank.account_ids[item.debit],
                credit_account_id=bank.account_ids[item.credit], amount_minutes=item.minutes,
                value_date=item.on, purpose=item.purpose, idempotency_key=key, memo=item.memo,
                created_by_id=actor.id,
            )
        bank.transfer_ids[item.label] = transfer.id
        audit(
            session, action=f"ledger.{item.purpose.value}", subject_type="transfer", subject_id=transfer.id,
            actor=actor, timebank_id=timebank_id,
            on_behalf_of=bank.members[item.on_behalf_of] if item.on_behalf_of else None,
            after={"minutes": item.minutes, "value_date": item.on.isoformat()},
        )


def apply_settings(session: Session, bank: BuiltBank) -> None:
    bank.timebank.hour_value_pence = bank.spec.hour_value_pence
    for key in bank.spec.digest_readers:
        bank.members[key].weekly_digest = True
    session.commit()


def settle_notifications(session: Session) -> None:
    """The demo replays six months in seconds, and every step told someone. As if it had really
    happened: those emails went out at the time (the scheduler must not send hundreds of old
    emails on its first run), and people have read what they were told, except what still needs
    their action and their three latest notifications."""
    now = utcnow()
    session.execute(update(OutboundEmail).where(OutboundEmail.sent_at.is_(None)).values(sent_at=now, claimed_at=now))
    newest_first = func.row_number().over(partition_by=Notification.member_id, order_by=Notification.id.desc())
    ranked = select(Notification.id, newest_first.label("rank")).subquery()
    latest = select(ranked.c.id).where(ranked.c.rank <= 3)
    session.execute(
        update(Notification)
        .where(Notification.read_at.is_(None), Notification.needs_action.is_(False), Notification.id.not_in(latest))
        .values(read_at=now)
    )
    session.commit()


def close_finished_months(session: Session, bank: BuiltBank, today: date) -> None:
    """What the scheduler would have done on each 1st: every month before this one is closed,
    so members have statements and the reports have closed months to show."""
    for month in months_to_close(session, bank.timebank.id, today):
        close_and_record(session, bank.timebank.id, month, today=today, actor=None)


def apply_suspensions(session: Session, bank: BuiltBank) -> None:
    for person in bank.spec.participants:
        if person.status == MemberStatus.SUSPENDED:
            member = bank.members[person.key]
            member.status = MemberStatus.SUSPENDED
            member.status_reason = SUSPENSION_REASON
    session.commit()


# What the logins table calls people who cannot use the service yet (or for now): they can sign
# in only to see where they stand.
NOT_YET_ROLES = {MemberStatus.APPLIED: "applicant", MemberStatus.SUSPENDED: "suspended"}


def logins(banks: Sequence[BuiltBank]) -> list[DemoLogin]:
    """Admin, coordinators, participants; then applicants and the suspended member."""
    result = [DemoLogin(ADMIN_EMAIL, "admin", "all timebanks")]
    for bank in banks:
        result += [DemoLogin(bank.spec.email(p), "coordinator", bank.spec.name) for p in bank.spec.coordinators]
    for bank in banks:
        result += [
            DemoLogin(bank.spec.email(p), "participant", bank.spec.name)
            for p in bank.spec.participants
            if p.status == MemberStatus.APPROVED
        ]
    for bank in banks:
        result += [
            DemoLogin(bank.spec.email(p), NOT_YET_ROLES[p.status], bank.spec.name)
            for p in bank.spec.participants
            if p.status in NOT_YET_ROLES
        ]
    return result


def id_without_reload(exchange: Exchange) -> int:
    """``exchange.id`` after a commit would reload the row in a new transaction; the identity
    key is already known."""
    identity = inspect(exchange).identity
    assert identity is not None
    return int(identity[0])


def at(day: date, hour: int) -> datetime:
    """A naive UTC timestamp on ``day``, as the models store them."""
    return datetime.combine(day, time(hour))
