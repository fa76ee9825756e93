"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis).

Every documented operation is called with generated requests by a coordinator of a seeded
timebank, against the app on SQLite, in three passes: valid data, invalid data, and valid data
on the seeded objects (generated ids almost never exist, so without this pass only 404s would
be tried). No answer may be a 5xx; every status, media type and JSON body must be what the
document says; invalid data and a missing required header must be refused with a 4xx; a
request without the token, or with a wrong one, must get 401; and the ledger must still check
out at the end. The run is bounded and deterministic (a fixed number of examples per operation
and pass, derandomized, no shrinking), so CI gives the same answer every time.
``DELETE /tokens/current`` is left out: it would revoke the token the fuzzer uses (its own
tests cover it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from sqlalchemy import create_engine, select

from tests.conftest import Factory
from timebank import create_app, ledger
from timebank.api.auth import issue_token
from timebank.clock import today_in
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.extensions import db
from timebank.listings.service import ListingInput, create_listing
from timebank.models import Base, Category, ListingKind

# The slow tier (a large Hypothesis run): CI runs it, `-m "not slow"` leaves it out while iterating.
pytestmark = pytest.mark.slow

MAX_EXAMPLES = 10  # per operation and pass (valid data, invalid data, valid data on seeded objects)
LEFT_OUT = ("/api/v1/tokens/current",)


@dataclass(frozen=True)
class Seeded:
    token: str  # the coordinator's
    path: dict[str, str | int]  # real objects for path parameters (generated ids almost never exist)


def _seed() -> Seeded:
    """A timebank with a coordinator, two members, Alice's offer, an exchange the coordinator
    recorded (approved) and one Alice recorded with Bob (waiting for approval)."""
    session = db.session()
    world = Factory(session).world()
    category = session.scalars(select(Category).where(Category.timebank_id == world.timebank.id)).first()
    assert category is not None
    listing = create_listing(
        session,
        world.alice,
        ListingInput(kind=ListingKind.OFFER, category_id=category.id, title="Gardening", description="Weeding"),
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
    token, _ = issue_token(session, world.coordinator)
    return Seeded(
        token=token,
        path={
            "member_id": world.bob.id,
            "listing_id": listing.id,
            "exchange_id": exchange.id,
            "account_id": world.alice.account.id,
            "month": f"{today:%Y-%m}",
        },
    )


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Seeded]]:
    """The app on a fresh SQLite file, seeded; requests run outside any app context, as on a
    real server (each gets its own context and database session)."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.sqlite'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "fuzz",
            "SQLALCHEMY_DATABASE_URI": url,
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


def _fuzz(operation: Any, mode: GenerationMode, path: dict[str, Any] | None = None) -> list[str]:
    """Run one operation in one generation mode (with these path parameters, if given); the
    failures found, in words."""
    failures: list[str] = []
    label = f"{operation.label} ({mode.value}{', seeded objects' if path else ''})"

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
    )
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate()
        except (Exception, BaseExceptionGroup) as error:  # collected: every operation is tried
            failures.append(f"{label}: {error}")
            raise

    with contextlib.suppress(Exception, BaseExceptionGroup):
        run()
    return failures


def test_the_api_answers_what_its_document_says(fuzzed_app: tuple[Flask, Seeded]) -> None:
    app, seeded = fuzzed_app
    config = schemathesis.Config.from_dict(
        {
            # The coordinator's token on every request (the `ignored_auth` check also tries each
            # operation without it and with a wrong one, and expects 401).
            "auth": {"openapi": {"bearerAuth": {"bearer": seeded.token}}},
            # Unknown query parameters are ignored on purpose, as the web pages do.
            "generation": {"allow-extra-parameters": False},
            # A schema-valid request may still break a rule the schema cannot say (a category of
            # another timebank, a month not started yet): that is a 422, not a failure.
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 401, 403, 404, 409, 422]}},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in LEFT_OUT:
            continue
        tried += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, mode)
        names = [parameter.name for parameter in operation.path_parameters]
        if names and all(name in seeded.path for name in names):
            failures += _fuzz(operation, GenerationMode.POSITIVE, {name: seeded.path[name] for name in names})
    assert tried >= 20, "the document lost its operations"
    assert not failures, "\n\n".join(failures)
    with app.app_context():
        assert ledger.check_ledger(db.session()).ok, "the fuzzed requests left the ledger inconsistent"
        db.session.remove()
