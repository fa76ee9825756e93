"""The demo installation behind ``flask timebank demo``: what every newcomer sees first.

Two time banks, built through the real services so every ledger rule holds:

* Riverside Wellbeing Centre Time Bank: a mental-health day service whose members earn by
  running the Tuesday lunch, the allotment, the Friday art group and centre events (group
  activities), by befriending each other and teaching phone skills; they spend on trips (group
  activities), lifts, help with forms and haircuts, often answering a request someone listed.
  Six months of history ending today, every hour in a category, with the loose ends a real time
  bank has: hours waiting for approval, a couple of rejected claims, a disputed record settled
  and one still waiting, a week of sign-in sheets imported from a spreadsheet, donations to the
  community pool, grants from it, and two corrections. Finished months are closed, with
  statements; notifications and emails carry the time of the step that caused them.
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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal, cast

from sqlalchemy import Table, bindparam, func, inspect, select, text, update
from sqlalchemy.orm import Session

from . import ledger
from .audit.service import record as audit
from .auth.passwords import hash_password
from .clock import previous_month, today_in
from .coordinator.activities import ActivityRequest, record_activity
from .coordinator.timesheets import commit_import, preview_import, row_key
from .exchanges.service import (
    RecordRequest,
    approve_exchange,
    confirm_exchange,
    dispute_exchange,
    record_exchange,
    reject_exchange,
    settle_dispute,
)
from .hours import hours_for_editing
from .jobs.months import months_to_close
from .members import availability
from .members.service import create_member
from .models import (
    ActivityDirection,
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
        "Running events",
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

StepAction = Literal["confirm", "approve", "reject", "dispute", "settle"]


@dataclass(frozen=True)
class Step:
    """A later step on a recorded exchange: the other side confirms, a coordinator decides."""

    ref: int  # the recording it belongs to
    action: StepAction
    actor: str
    on: date
    reason: str = ""  # a rejection's or a dispute's reason, a settlement's note


@dataclass(frozen=True)
class Recording:
    """Help that happened, recorded by a member or typed in by a coordinator (approved at once)."""

    ref: int
    provider: str  # a member key or ORG
    recipient: str
    minutes: int
    performed_on: date
    description: str
    category: str
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


@dataclass(frozen=True)
class PlannedActivity:
    """A group activity a coordinator records: everyone who came earns (or spends) the same."""

    label: str
    title: str
    on: date
    minutes: int
    direction: ActivityDirection
    attendees: tuple[str, ...]
    category: str
    actor: str


@dataclass(frozen=True)
class ImportRow:
    provider: str
    recipient: str
    minutes: int
    performed_on: date
    description: str
    category: str


@dataclass(frozen=True)
class PlannedImport:
    """A week of paper sign-in sheets typed into a spreadsheet and imported by a coordinator."""

    label: str
    on: date
    rows: tuple[ImportRow, ...]
    actor: str


Event = Recording | Step | PlannedTransfer | PlannedActivity | PlannedImport


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

    def __init__(
        self, spec: BankSpec, today: date, rng: random.Random, requests: dict[tuple[str, str], date] | None = None
    ) -> None:
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
        # Requests for help not answered yet: (member key, category) -> the day it was listed.
        self.open_requests = dict(requests or {})

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
        category: str,
        recorder: str | None,
        record_after: int | None = None,
        confirm_after: int | None = None,
        stop_before: StepAction | None = None,
        reject_reason: str = "",
        dispute: tuple[str, str] | None = None,
    ) -> None:
        """Plan one exchange. ``recorder`` None: a coordinator types it in from a timesheet,
        which approves it at once. ``dispute``: (the other side's reason, the coordinator's
        note when the hours stand)."""
        if record_after is None:
            record_after = self.rng.choice((0, 0, 1, 2, 3) if recorder is None else (0, 0, 1, 2))
        ref = next(self._refs)
        recorded_on = min(self.today, on + timedelta(days=record_after))
        steps: tuple[Step, ...] = ()
        if recorder is None:
            recorder = self.coordinator()
        else:
            other = recipient if recorder == provider else provider
            steps = self._later_steps(ref, other, recorded_on, confirm_after, stop_before, reject_reason, dispute)
        self.schedule(
            Recording(ref, provider, recipient, minutes, on, description, category, recorder, recorded_on, steps)
        )

    def _later_steps(
        self,
        ref: int,
        other: str,
        recorded_on: date,
        confirm_after: int | None,
        stop_before: StepAction | None,
        reject_reason: str,
        dispute: tuple[str, str] | None = None,
    ) -> tuple[Step, ...]:
        """The other side confirms (for the organisation, a coordinator decides straight away),
        or disputes it and a coordinator settles it; then a coordinator decides if the policy
        asks. Steps after today have not happened yet."""
        wanted: list[tuple[StepAction, str, int, str]] = []
        if dispute is not None:
            wanted.append(("dispute", other, self.rng.choice((0, 1)), dispute[0]))
            wanted.append(("settle", self.coordinator(), self.rng.choice((1, 2)), dispute[1]))
        elif other != ORG:
            delay = self.rng.choice((0, 1, 1, 2, 3)) if confirm_after is None else confirm_after
            wanted.append(("confirm", other, delay, ""))
        if dispute is not None:
            pass  # settling it approves it
        elif reject_reason:
            wanted.append(("reject", self.coordinator(), self.rng.choice((1, 2, 3)), reject_reason))
        elif other == ORG or self.spec.approval_policy != ApprovalPolicy.NEVER:
            wanted.append(("approve", self.coordinator(), self.rng.choice((1, 2, 3, 4)), ""))
        steps: list[Step] = []
        day = recorded_on
        for action, actor, delay, reason in wanted:
            day += timedelta(days=delay)
            if action == stop_before or day > self.today:
                break
            steps.append(Step(ref, action, actor, day, reason))
        return tuple(steps)

    def schedule(self, event: Event) -> None:
        heapq.heappush(self._agenda, (event.on, next(self._order), event))

    # -- running the agenda -----------------------------------------------------------------

    def run_until(self, day: date) -> None:
        while self._agenda and self._agenda[0][0] <= day:
            _, _, event = heapq.heappop(self._agenda)
            ran = self._runs(event)
            if ran is not None:
                self.script.append(ran)

    def _runs(self, event: Event) -> Event | None:
        """Apply ``event`` to the balances if the ledger would accept it now: the event as it
        ran (a group activity or an import without the people it could not take), or None."""
        if isinstance(event, Recording):
            return event if self._record(event) else None
        if isinstance(event, Step):
            self._step(event)
            return event
        if isinstance(event, PlannedActivity):
            return self._activity(event)
        if isinstance(event, PlannedImport):
            return self._import(event)
        return event if self._transfer(event) else None

    def _activity(self, activity: PlannedActivity) -> PlannedActivity | None:
        earn = activity.direction == ActivityDirection.EARN
        able = []
        for key in activity.attendees:
            debit, credit = (ORG, key) if earn else (key, ORG)
            if self.balances.can_move(debit, credit, activity.minutes):
                self.balances.move(debit, credit, activity.minutes)
                able.append(key)
        return replace(activity, attendees=tuple(able)) if able else None

    def _import(self, sheet: PlannedImport) -> PlannedImport | None:
        rows = []
        for row in sheet.rows:
            if self.balances.can_move(row.recipient, row.provider, row.minutes):
                self.balances.move(row.recipient, row.provider, row.minutes)
                rows.append(row)
        return replace(sheet, rows=tuple(rows)) if rows else None

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
        elif step.action == "dispute":
            pass  # the hours stay reserved until a coordinator settles it
        elif step.action in ("approve", "settle") or self.spec.approval_policy == ApprovalPolicy.NEVER:
            self.balances.post(debit, credit, minutes)

    def _transfer(self, transfer: PlannedTransfer) -> bool:
        if transfer.reverses is not None and transfer.reverses not in self._moved:
            return False
        if not self.balances.can_move(transfer.debit, transfer.credit, transfer.minutes):
            return False
        self.balances.move(transfer.debit, transfer.credit, transfer.minutes)
        self._moved.add(transfer.label)
        return True


# A request listed early last month and answered a few days later, so the monthly report (which
# opens on the last complete month) shows a request met whatever day the demo is loaded:
# (who asked, what for, who helped).
REQUEST_MET_LAST_MONTH = ("kwame.mensah", "forms", "ravi.patel")


# The week whose sign-in sheets (Tuesday lunch, Wednesday allotment) the coordinator typed into
# a spreadsheet and imported, rather than entering each line: days ago of its Monday.
IMPORTED_WEEK_DAYS_AGO = 27


class RiversidePlanner(Planner):
    """The day service's week: lunch on Tuesday, the allotment on Wednesday, art on Friday, an
    event early each month and a trip in the middle of it (both group activities), befriending
    and odd jobs around them."""

    def __init__(
        self, spec: BankSpec, today: date, rng: random.Random, requests: dict[tuple[str, str], date] | None = None
    ) -> None:
        super().__init__(spec, today, rng, requests)
        monday = today - timedelta(days=IMPORTED_WEEK_DAYS_AGO)
        self.imported_week = (monday - timedelta(days=monday.weekday()), monday + timedelta(days=6 - monday.weekday()))
        self.sheet_rows: list[ImportRow] = []

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
            if day == self.imported_week[1] + timedelta(days=2):
                self.import_the_sheets(day)
            if day == previous_month(self.today) + timedelta(days=6):
                self.request_answered(day)
            self.run_until(day)
        return self.script

    # -- the centre's rotas: members earn from the organisation -----------------------------

    def tuesday_lunch(self, day: date) -> None:
        for person in self.pick(self.team("lunch", day), self.rng.choice((2, 2, 3))):
            self.rota_shift(person, day, self.rng.choice((150, 180)), self.rng.choice(LUNCH_TASKS), "Cooking")

    def allotment(self, day: date) -> None:
        for person in self.pick(self.team("allotment", day), self.rng.choice((1, 1, 1, 2))):
            self.rota_shift(person, day, self.rng.choice((120, 150)), self.rng.choice(ALLOTMENT_TASKS), "Gardening")

    def rota_shift(self, person: Person, day: date, minutes: int, task: str, category: str) -> None:
        """A shift on a rota: the member logs it, or it goes on the sign-in sheet the coordinator
        types in. In the imported week every shift is on the sheets."""
        recorder = None if self.in_imported_week(day) else self.timesheet_or(person.key)
        if recorder is None:
            self.from_the_sheet(person.key, day, minutes, task, category)
        else:
            self.exchange(provider=person.key, recipient=ORG, minutes=minutes, on=day, description=task,
                          category=category, recorder=recorder)

    def in_imported_week(self, day: date) -> bool:
        return self.imported_week[0] <= day <= self.imported_week[1]

    def from_the_sheet(self, provider: str, day: date, minutes: int, task: str, category: str) -> None:
        """A line of a sign-in sheet: the coordinator types it in (approved at once), or, in the
        imported week, it goes onto the spreadsheet."""
        if self.in_imported_week(day):
            self.sheet_rows.append(ImportRow(provider, ORG, minutes, day, task, category))
        else:
            self.exchange(provider=provider, recipient=ORG, minutes=minutes, on=day, description=task,
                          category=category, recorder=None)

    def request_answered(self, day: date) -> None:
        asker, need, helper = REQUEST_MET_LAST_MONTH
        service = SERVICES[need]
        self.open_requests.pop((asker, service.category), None)
        self.exchange(provider=helper, recipient=asker, minutes=service.minutes[0], on=day,
                      description=service.descriptions[0], category=service.category, recorder=helper,
                      record_after=0, confirm_after=0)

    def import_the_sheets(self, day: date) -> None:
        if self.sheet_rows:
            self.schedule(PlannedImport("sign-in-sheets", day, tuple(self.sheet_rows), self.coordinator_keys[0]))

    def art_group(self, day: date) -> None:
        """Megan runs it, sometimes with a helper; when she is away someone else steps in."""
        lead = self.by_key["megan.lloyd"]
        others = [p for p in self.team("art", day) if p is not lead]
        if self.rng.random() < 0.85:
            self.from_the_sheet(lead.key, day, 120, "Ran the Friday art group", "Arts and crafts")
            helpers, minutes, task = self.pick(others, self.rng.choice((0, 0, 1))), 90, "Set up and helped at"
        else:
            helpers, minutes, task = self.pick(others, 1), 120, "Stood in for Megan and ran"
        for helper in helpers:
            self.from_the_sheet(helper.key, day, minutes, f"{task} the Friday art group", "Arts and crafts")

    def centre_event(self, day: date) -> None:
        """Everyone who helped run it earns the same: one group activity."""
        event = CENTRE_EVENTS[(day.year * 12 + day.month) % len(CENTRE_EVENTS)]
        helpers = self.pick(self.team("events", day), self.rng.choice((3, 4, 5)))
        if helpers:
            self.schedule(PlannedActivity(
                f"event-{day.isoformat()}", f"Ran the centre's {event}", day, self.rng.choice((180, 240)),
                ActivityDirection.EARN, tuple(p.key for p in helpers), "Running events", self.coordinator(),
            ))

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
        going = self.pick(travellers, self.rng.choice((5, 6, 7, 8)))
        if going:
            self.schedule(PlannedActivity(
                f"trip-{day.isoformat()}", trip, day, minutes, ActivityDirection.SPEND,
                tuple(p.key for p in going), "Trips and outings", self.coordinator(),
            ))

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
                              category=service.category, recorder=self.paper_slip_or(befriender))

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
            # Someone who listed a request for this help is asked first (their request is met).
            asking = [key for key in able if self.open_requests.get((key, service.category), day) < day]
            recipient = self.rng.choice(asking or able)
            self.open_requests.pop((recipient, service.category), None)
            recorder = self.paper_slip_or(self.rng.choice((helper.key, helper.key, helper.key, recipient)))
            self.exchange(provider=helper.key, recipient=recipient, minutes=minutes, on=day,
                          description=self.rng.choice(service.descriptions), category=service.category,
                          recorder=recorder)

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
                description="Chatted with people in the café all afternoon", category="Befriending",
                recorder="derek.price",
                reject_reason="Thank you, Derek! Time chatting in the café doesn't earn credits, but you'd be "
                "very welcome on the Tuesday lunch rota.",
            )
        if n == 118:
            self.lift_logged_with_the_wrong_time(day)
        if n == 150:
            self.lesson_questioned_and_settled(day)

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
                      category="Lifts", recorder=driver, record_after=1, reject_reason=reason)
        self.exchange(provider=driver, recipient=passenger, minutes=90, on=day, description=description,
                      category="Lifts", recorder=driver, record_after=5)

    def lesson_questioned_and_settled(self, day: date) -> None:
        """A learner thinks a phone lesson was logged too long; a coordinator talks to both, and
        the hours stand."""
        learners = [p.key for p in self.people if "tech" in p.needs and self.active_on(p, day)]
        learner = self.richest(learners)
        if learner is None:
            return
        self.exchange(
            provider="ravi.patel", recipient=learner, minutes=120, on=day, category="Computer help",
            description="Set up the NHS App and ordered a repeat prescription", recorder="ravi.patel",
            record_after=0,
            dispute=("I think we only spent an hour on it, not two.",
                     "Spoke to you both: the two hours included getting the app to accept the photo ID. "
                     "The hours stand."),
        )

    # -- hours still waiting, however the dates fall ------------------------------------------

    def still_waiting(self, day: date) -> None:
        days_ago = (self.today - day).days
        if days_ago == 4:
            customers = [p.key for p in self.people if "haircuts" in p.needs and self.active_on(p, day)]
            customer = self.richest(customers)
            if customer is not None:
                self.exchange(provider="shirley.baptiste", recipient=customer, minutes=30, on=day,
                              description="Haircut at the centre", category="Haircuts",
                              recorder="shirley.baptiste", record_after=0, stop_before="approve")
        if days_ago == 3:
            customers = [p.key for p in self.people if "lifts" in p.needs and self.active_on(p, day)]
            customer = self.richest(customers)
            if customer is not None:
                self.exchange(provider="patrick.doyle", recipient=customer, minutes=120, on=day,
                              description="Lift to the big supermarket for a weekly shop", category="Lifts",
                              recorder="patrick.doyle", record_after=0, stop_before="settle",
                              dispute=("The lift was an hour and a half, not two hours.", ""))
        if days_ago == 2:
            gardener = self.pick(self.team("allotment", day), 1)
            if gardener:
                self.exchange(provider=gardener[0].key, recipient=ORG, minutes=60, on=day,
                              description="Extra watering session at the allotment", category="Gardening",
                              recorder=gardener[0].key, record_after=0, stop_before="approve")
        if days_ago == 1:
            learners = [p.key for p in self.people if "tech" in p.needs and self.active_on(p, day)]
            learner = self.richest(learners)
            if learner is not None:
                self.exchange(provider="tomasz.nowak", recipient=learner, minutes=60, on=day,
                              description="Showed how to video-call family on WhatsApp", category="Computer help",
                              recorder="tomasz.nowak", record_after=0, stop_before="confirm")


# Elm Park's six months, written out: days ago, provider, recipient, minutes, what, its category,
# who logged it ("provider", "recipient", or None for the coordinator), days until the other side
# confirmed (None: still waiting).
ELM_PARK_EXCHANGES: tuple[tuple[int, str, str, int, str, str, str | None, int | None], ...] = (
    (170, "pete.robinson", "margaret.cole", 60, "Fixed a dripping kitchen tap", "DIY and odd jobs", "provider", 1),
    (158, "jenny.howard", "abdul.malik", 60, "Walked Biscuit while Abdul's back was bad", "Pet care", "provider", 0),
    (151, "jenny.howard", "abdul.malik", 60, "Walked Biscuit again", "Pet care", "provider", 1),
    (140, "sanjay.gupta", "ellie.thompson", 90, "Went through Ellie's CV and a job application",
     "Computer help", "recipient", 2),
    (126, "frank.osei", "margaret.cole", 90, "Lift to the eye clinic and back", "Lifts", "provider", 1),
    (105, "jenny.howard", ORG, 120, "Helped run the Elm Park litter pick", "Running events", None, None),
    (105, "pete.robinson", ORG, 120, "Helped run the Elm Park litter pick", "Running events", None, None),
    (97, "ellie.thompson", "jenny.howard", 30, "Watered Jenny's plants while she was away", "Gardening", "provider", 3),
    (80, "abdul.malik", "beata.nowicka", 120, "Put up two shelves and a curtain rail",
     "DIY and odd jobs", "provider", 2),
    (66, "beata.nowicka", "frank.osei", 60, "Set up video calls with Frank's grandchildren",
     "Computer help", "provider", 1),
    (52, "margaret.cole", "ellie.thompson", 90, "Taught Ellie to make plum jam", "Cooking", "provider", 0),
    (38, "sanjay.gupta", "pete.robinson", 60, "Got Pete's new printer working", "Computer help", "provider", 0),
    (24, "frank.osei", "abdul.malik", 60, "Lift to the vet with Biscuit", "Lifts", "provider", 2),
    (12, "jenny.howard", ORG, 90, "Delivered leaflets for the residents' meeting", "Running events", None, None),
    (3, "ellie.thompson", "margaret.cole", 60, "Helped Margaret with her online shopping order",
     "Computer help", "provider", None),
)


class ElmParkPlanner(Planner):
    """Neighbours helping neighbours, as written out above; no coordinator needed to approve."""

    def plan(self) -> list[Event]:
        for days_ago, provider, recipient, minutes, what, category, logged_by, confirmed_after in ELM_PARK_EXCHANGES:
            self.exchange(
                provider=provider, recipient=recipient, minutes=minutes, on=self.today - timedelta(days=days_ago),
                description=what, category=category,
                recorder={"provider": provider, "recipient": recipient, None: None}[logged_by],
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
    category_ids: dict[str, int] = field(default_factory=dict)
    # Each member's request for help in a category: (listing id, the day it was listed).
    requests: dict[tuple[str, str], tuple[int, date]] = field(default_factory=dict)


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
            asked = {request: listed for request, (_, listed) in bank.requests.items()}
            replay(session, bank, planner(bank.spec, today, rng, asked).plan())
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
    """Each member's open offers and requests, from what they do and what they need. Help given
    after a request was listed answers it (``replay_recording``): that request is met."""
    categories = category_ids(session, bank.timebank.id)
    bank.category_ids = categories
    asked: list[tuple[str, str, Listing, date]] = []
    for person in bank.spec.participants:
        if person.status != MemberStatus.APPROVED:
            continue
        member = bank.members[person.key]
        offers = [SERVICES[s] for s in person.offers if s in SERVICES][:2]
        requests = [SERVICES[s] for s in person.needs if s in SERVICES][:1]
        for kind, service in [(ListingKind.OFFER, s) for s in offers] + [(ListingKind.REQUEST, s) for s in requests]:
            title, description = service.offer if kind == ListingKind.OFFER else service.request
            posted = today - timedelta(days=rng.randint(0, min(person.joined_days_ago, HISTORY_DAYS)))
            if (person.key, kind, service) == (REQUEST_MET_LAST_MONTH[0], ListingKind.REQUEST,
                                                SERVICES[REQUEST_MET_LAST_MONTH[1]]):
                posted = previous_month(today) + timedelta(days=2)
            listing = Listing(
                timebank_id=bank.timebank.id, member_id=member.id, kind=kind,
                category_id=categories.get(service.category), title=title, description=description,
                tags=service.tags, estimated_minutes=service.minutes[0], created_by_id=member.id,
                created_at=at(posted, 14), updated_at=at(posted, 14),
            )
            session.add(listing)
            if kind == ListingKind.REQUEST:
                asked.append((person.key, service.category, listing, posted))
    session.commit()
    bank.requests = {(key, category): (listing.id, posted) for key, category, listing, posted in asked}


def replay(session: Session, bank: BuiltBank, script: Sequence[Event]) -> None:
    """Run the script through the services, in order, as the people in it would have."""
    exchange_ids: dict[int, int] = {}
    stamps: dict[int, dict[str, object]] = {}
    told = Told(session)
    for event in script:
        if isinstance(event, Recording):
            exchange_ids[event.ref] = replay_recording(session, bank, event)
            stamps[event.ref] = {"id": exchange_ids[event.ref], "created_at": event_time(event)}
        elif isinstance(event, Step):
            replay_step(session, bank, event, exchange_ids[event.ref])
        elif isinstance(event, PlannedActivity):
            replay_activity(session, bank, event)
        elif isinstance(event, PlannedImport):
            replay_import(session, bank, event)
        else:
            replay_transfer(session, bank, event)
        if isinstance(event, Recording | Step):
            stamps[event.ref]["updated_at"] = event_time(event)
        told.happened_at(event_time(event))
    # The services stamp rows with the real clock; the demo's history should read as it happened.
    if stamps:
        session.execute(update(Exchange), list(stamps.values()))
    told.stamp()
    session.commit()


def event_time(event: Event) -> datetime:
    """When a step of the history happened: office hours, spread over the day."""
    if isinstance(event, Recording | Step):
        return at(event.on, 9 + event.ref % 9)
    if isinstance(event, PlannedActivity):
        return at(event.on, 16)
    return at(event.on, 12)


class Told:
    """What the services told people as each step happened (notifications and their emails),
    stamped afterwards with the time of that step instead of the moment the demo was loaded.
    (The audit trail is append-only: it keeps the time it was written.)"""

    TABLES: tuple[type[Notification] | type[OutboundEmail], ...] = (Notification, OutboundEmail)

    def __init__(self, session: Session) -> None:
        self.session = session
        self.last = self._newest()
        self.spans: list[tuple[tuple[int, ...], tuple[int, ...], datetime]] = []

    def _newest(self) -> tuple[int, ...]:
        row = self.session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in self.TABLES))).one()
        return tuple(value or 0 for value in row)

    def happened_at(self, moment: datetime) -> None:
        """Rows written since the last call belong to a step that happened at ``moment``."""
        newest = self._newest()
        if newest != self.last:
            self.spans.append((self.last, newest, moment))
            self.last = newest

    def stamp(self) -> None:
        for index, table in enumerate(self.TABLES):
            rows = [
                {"low": low[index], "high": high[index], "moment": moment}
                for low, high, moment in self.spans
                if high[index] > low[index]
            ]
            if rows:  # one statement run once per span (the table's, not the ORM's bulk update)
                sql_table = cast(Table, table.__table__)
                columns = sql_table.c
                self.session.execute(
                    update(sql_table)
                    .where(columns.id > bindparam("low"), columns.id <= bindparam("high"))
                    .values(created_at=bindparam("moment")),
                    rows,
                )


def replay_recording(session: Session, bank: BuiltBank, recording: Recording) -> int:
    # Help that answers the recipient's request for it, listed before, meets that request.
    asked = bank.requests.get((recording.recipient, recording.category))
    request = RecordRequest(
        provider_account_id=bank.account_ids[recording.provider],
        recipient_account_id=bank.account_ids[recording.recipient],
        minutes=recording.minutes,
        performed_on=recording.performed_on,
        description=recording.description,
        request_key=f"demo-{recording.ref}",
        listing_id=asked[0] if asked and asked[1] < recording.performed_on else None,
        category_id=bank.category_ids[recording.category],
    )
    exchange = record_exchange(session, bank.members[recording.recorder], request, today=recording.on)
    return id_without_reload(exchange)


def replay_step(session: Session, bank: BuiltBank, step: Step, exchange_id: int) -> None:
    actor = bank.members[step.actor]
    if step.action == "confirm":
        confirm_exchange(session, actor, exchange_id, today=step.on)
    elif step.action == "approve":
        approve_exchange(session, actor, exchange_id, today=step.on)
    elif step.action == "dispute":
        dispute_exchange(session, actor, exchange_id, step.reason)
    elif step.action == "settle":
        settle_dispute(session, actor, exchange_id, hours_stand=True, reason=step.reason, today=step.on)
    else:
        reject_exchange(session, actor, exchange_id, step.reason, today=step.on)


def replay_activity(session: Session, bank: BuiltBank, activity: PlannedActivity) -> None:
    request = ActivityRequest(
        title=activity.title,
        held_on=activity.on,
        minutes=activity.minutes,
        direction=activity.direction,
        attendee_ids=tuple(bank.members[key].id for key in activity.attendees),
        request_key=f"demo-{activity.label}",
        category_id=bank.category_ids[activity.category],
    )
    record_activity(session, bank.members[activity.actor], request, today=activity.on)


def replay_import(session: Session, bank: BuiltBank, sheet: PlannedImport) -> None:
    """The spreadsheet as the coordinator typed it (dates day first, names as written), through
    the import's preview and commit; then each line is filed under its category, which a sign-in
    sheet has no column for."""
    def name(key: str) -> str:
        return bank.timebank.organisation_name if key == ORG else bank.members[key].display_name

    lines = ["date,provider,recipient,hours,description"]
    lines += [
        f"{row.performed_on:%d/%m/%Y},{name(row.provider)},{name(row.recipient)},"
        f"{hours_for_editing(row.minutes)},{row.description}"
        for row in sheet.rows
    ]
    raw = ("\r\n".join(lines) + "\r\n").encode()
    coordinator = bank.members[sheet.actor]
    filename = f"sign-in-sheets-{sheet.rows[0].performed_on:%Y-%m-%d}.csv"
    preview = preview_import(session, coordinator, filename, raw, today=sheet.on)
    commit_import(session, coordinator, filename, raw, expected_digest=preview.digest, today=sheet.on)
    for row in sheet.rows:
        key = row_key(bank.account_ids[row.provider], bank.account_ids[row.recipient], row.performed_on,
                      row.minutes, row.description)
        session.execute(
            update(Exchange)
            .where(Exchange.timebank_id == bank.timebank.id, Exchange.request_key == key)
            .values(category_id=bank.category_ids[row.category])
        )
    session.commit()


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
    happened: those emails went out a minute after they were queued (the scheduler must not send
    hundreds of old emails on its first run), and people read what they were told a few hours
    later, except what still needs their action and their three latest notifications. (Times are
    worked out here, not in SQL: SQLite cannot add an interval to a timestamp.)"""
    queued = session.execute(select(OutboundEmail.id, OutboundEmail.created_at).where(OutboundEmail.sent_at.is_(None)))
    sent = [{"id": row.id, "sent_at": row.created_at + SENT_AFTER, "claimed_at": row.created_at + SENT_AFTER}
            for row in queued]
    if sent:
        session.execute(update(OutboundEmail), sent)
    newest_first = func.row_number().over(partition_by=Notification.member_id, order_by=Notification.id.desc())
    ranked = select(Notification.id, newest_first.label("rank")).subquery()
    latest = select(ranked.c.id).where(ranked.c.rank <= 3)
    unread = session.execute(
        select(Notification.id, Notification.created_at).where(
            Notification.read_at.is_(None), Notification.needs_action.is_(False), Notification.id.not_in(latest)
        )
    )
    read = [{"id": row.id, "read_at": row.created_at + READ_AFTER} for row in unread]
    if read:
        session.execute(update(Notification), read)
    session.commit()


SENT_AFTER = timedelta(minutes=1)
READ_AFTER = timedelta(hours=3)


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
