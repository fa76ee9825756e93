"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis).

Every documented operation is called with generated requests against the app on SQLite and
PostgreSQL, by two people of a seeded timebank, in these passes:

- a coordinator: valid data, and invalid data (what the document refuses must be refused);
- a coordinator and a participant: valid data *on the seeded world*. Generated ids almost never
  exist, so without this pass nearly every request would stop at a 404 or 422 before any rule
  is tried. Here the path's ids are the seeded objects', and so are the ids in bodies and query
  strings (``provider_id``, ``category_id``, ``member_id``...); hours and dates are often ones a
  timebank takes ("1:30", yesterday). The generated text, tags, reasons and numbers around them
  then reach the services and the database: records, listings, members, donations, steps.

No answer may be a 5xx; every status, media type and JSON body must be what the document says;
invalid data and a missing required header must be refused with a 4xx; a request without the
token, or with a wrong one, must get 401; and the ledger must still check out at the end. The
run is bounded and deterministic (a fixed number of examples per operation and pass,
derandomized, no shrinking), so CI gives the same answer every time. ``DELETE /tokens/current``
is left out: it would revoke the token the fuzzer uses (its own tests cover it).
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import select

from tests.conftest import PASSWORD, Factory
from timebank import create_app, ledger
from timebank.api.auth import issue_token
from timebank.clock import today_in
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.extensions import db
from timebank.listings.service import ListingInput, create_listing
from timebank.models import Category, ListingKind

# The slow tier (a large Hypothesis run): CI runs it, `-m "not slow"` leaves it out while iterating.
pytestmark = pytest.mark.slow

MAX_EXAMPLES = 10  # per operation and pass of generated data
SEEDED_EXAMPLES = 20  # per operation and person, on the seeded world
LEFT_OUT = ("/api/v1/tokens/current",)
# Hours and days a timebank takes, drawn beside the generated ones in the seeded pass.
GOOD_HOURS = (1, 2, 0.25, 1.5, "1:30", "45 mins", "2 hours")
# Operations whose valid requests must get through to the services in the seeded pass.
REACHED = {
    "POST /api/v1/exchanges",
    "POST /api/v1/listings",
    "PATCH /api/v1/listings/{listing_id}",
    "POST /api/v1/members",
    "POST /api/v1/donations",
    "POST /api/v1/tokens",
    "GET /api/v1/exchanges",
    "GET /api/v1/listings",
    "GET /api/v1/members",
}


@dataclass(frozen=True)
class Seeded:
    tokens: dict[str, str]  # person -> bearer token
    path: dict[str, str | int]  # real objects for path parameters (generated ids almost never exist)
    ids: dict[str, tuple[Any, ...]]  # body and query fields -> real values to choose from
    dates: tuple[str, ...]  # days in the open month, up to today
    email: str  # a member's, for POST /tokens (with PASSWORD)


def _seed() -> Seeded:
    """A timebank with a coordinator, two members, Alice's offer and Bob's request, an exchange
    the coordinator recorded (approved) and one Alice recorded with Bob (waiting)."""
    session = db.session()
    world = Factory(session).world()
    category = session.scalars(select(Category).where(Category.timebank_id == world.timebank.id)).first()
    assert category is not None and world.alice.account is not None and world.bob.account is not None
    listing = create_listing(
        session,
        world.alice,
        ListingInput(kind=ListingKind.OFFER, category_id=category.id, title="Gardening", description="Weeding"),
    )
    request = create_listing(
        session, world.bob, ListingInput(kind=ListingKind.REQUEST, category_id=category.id, title="Lifts to town")
    )
    today = today_in(world.timebank.time_zone)
    for actor, key in ((world.coordinator, "fuzz-seed-approved"), (world.alice, "fuzz-seed-waiting")):
        exchange = record_exchange(
            session,
            actor,
            RecordRequest(
                provider_account_id=world.alice.account.id,
                recipient_account_id=world.bob.account.id,
                minutes=60,
                performed_on=today,
                description="Gardening",
                request_key=key,
                for_member_id=world.alice.id if actor is world.coordinator else None,
            ),
        )
    tokens = {
        "coordinator": issue_token(session, world.coordinator)[0],
        "participant": issue_token(session, world.alice)[0],
    }
    members = (world.alice.id, world.bob.id, world.coordinator.id)
    days = sorted({today - timedelta(days=n) for n in range(3) if (today - timedelta(days=n)).month == today.month})
    return Seeded(
        tokens=tokens,
        path={
            "member_id": world.bob.id,
            "listing_id": listing.id,
            "exchange_id": exchange.id,
            "account_id": world.alice.account.id,
            "month": f"{today:%Y-%m}",
        },
        ids={
            "provider_id": members,
            "recipient_id": members,
            "member_id": members,
            "owner_id": (world.alice.id, world.bob.id, None),
            "category_id": (category.id, None),
            "listing_id": (listing.id, request.id, None),
        },
        dates=tuple(day.isoformat() for day in days),
        email=world.bob.email or "",
    )


@pytest.fixture
def fuzzed_app(database_url: str) -> Iterator[tuple[Flask, Seeded]]:
    """The app on a fresh database (SQLite, then PostgreSQL: ``database_url``), seeded; requests
    run outside any app context, as on a real server (each gets its own context and session)."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "fuzz",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        seeded = _seed()
        db.session.remove()
    yield app, seeded
    with app.app_context():
        db.engine.dispose()


_keys = itertools.count()


@st.composite
def _on_the_seeded_world(draw: st.DrawFn, cases: st.SearchStrategy[Any], seeded: Seeded) -> Any:
    """A generated valid case, its ids swapped for the seeded world's, its hours and days often
    ones a timebank takes, and a fresh Idempotency-Key."""
    case = draw(cases)
    for part in (case.body, case.query):
        if not isinstance(part, dict):
            continue
        for name in part.keys() & seeded.ids.keys():
            part[name] = draw(st.sampled_from(seeded.ids[name]))
        for name in part.keys() & {"hours", "estimated_hours"}:
            part[name] = draw(st.one_of(st.just(part[name]), st.sampled_from(GOOD_HOURS)))
        for name in part.keys() & {"performed_on", "from", "to"}:
            part[name] = draw(st.one_of(st.just(part[name]), st.sampled_from(seeded.dates)))
        if "email" in part and "password" in part:
            part.update(draw(st.sampled_from([{}, {"email": seeded.email, "password": PASSWORD}])))
    if "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{next(_keys)}"
    return case


def _fuzz(
    strategy: st.SearchStrategy[Any], label: str, examples: int, answers: Counter[str] | None = None
) -> list[str]:
    """Run one operation's strategy; the failures found, in words. ``answers`` counts the
    statuses ("POST /api/v1/exchanges 201")."""
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
    )
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call_and_validate()
            if answers is not None:
                answers[f"{case.method} {case.operation.path} {response.status_code}"] += 1
        except (Exception, BaseExceptionGroup) as error:  # collected: every operation is tried
            failures.append(f"{label}: {error}")
            raise

    with contextlib.suppress(Exception, BaseExceptionGroup):
        run()
    return failures


def _schema(app: Flask, token: str) -> Any:
    config = schemathesis.Config.from_dict(
        {
            # This person's token on every request (the `ignored_auth` check also tries each
            # operation without it and with a wrong one, and expects 401).
            "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
            # Unknown query parameters are ignored on purpose, as the web pages do.
            "generation": {"allow-extra-parameters": False},
            # A schema-valid request may still break a rule the schema cannot say (a category of
            # another timebank, a month not started yet): that is a 422, not a failure.
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 401, 403, 404, 409, 422]}},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in LEFT_OUT:
            yield operation


def test_the_api_answers_what_its_document_says(fuzzed_app: tuple[Flask, Seeded]) -> None:
    app, seeded = fuzzed_app
    failures: list[str] = []
    answers: Counter[str] = Counter()
    tried = 0
    for operation in _operations(_schema(app, seeded.tokens["coordinator"])):
        tried += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} (coordinator, {mode.value})"
            failures += _fuzz(operation.as_strategy(generation_mode=mode), label, MAX_EXAMPLES)
    for person, token in seeded.tokens.items():
        for operation in _operations(_schema(app, token)):
            names = [parameter.name for parameter in operation.path_parameters]
            if not all(name in seeded.path for name in names):
                continue
            cases = operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, path_parameters={name: seeded.path[name] for name in names}
            )
            label = f"{operation.label} ({person}, on the seeded world)"
            failures += _fuzz(_on_the_seeded_world(cases, seeded), label, SEEDED_EXAMPLES, answers)
    assert tried >= 20, "the document lost its operations"
    assert not failures, "\n\n".join(failures)
    # The seeded pass got through the checks to the services: each of these was done at least once.
    reached = {answer.rsplit(" ", 1)[0] for answer in answers if answer.endswith((" 200", " 201"))}
    assert reached >= REACHED, f"the seeded requests never got through: {sorted(REACHED - reached)}"
    with app.app_context():
        assert ledger.check_ledger(db.session()).ok, "the fuzzed requests left the ledger inconsistent"
        db.session.remove()
