"""The torture harness's own checks can fail: fed a ledger whose effects lost their answers, or an
interrupted request refused its own effect, they say so (no database, no server)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from tests.torture.harness import Operation, Person, own_effect_problems

COORDINATOR = Person(member_id=1, email="c@example.org", timebank=0, coordinator=True)
ALICE = Person(member_id=2, email="a@example.org", timebank=0, coordinator=False)


def _record(member: Person, key: str, path: str, answered: int, **body: object) -> tuple[tuple[int, str], object]:
    row = SimpleNamespace(method_path=f"POST {path}", status_code=answered, response_body=json.dumps(body))
    return (member.member_id, key), row


RECORDS = dict(
    [
        _record(ALICE, "k1", "/api/v1/exchanges", 201, id=1, status="pending"),
        _record(COORDINATOR, "k2", "/api/v1/exchanges/1/approve", 200, id=1, status="approved"),
        _record(COORDINATOR, "k3", "/api/v1/exchanges", 201, id=2, status="approved"),
        _record(COORDINATOR, "k4", "/api/v1/exchanges/2/reverse", 200, id=2, status="reversed"),
        _record(ALICE, "k5", "/api/v1/donations", 201, id=9, minutes=15),
    ]
)
MADE = {"created": {1, 2}, "approved": {1, 2}, "rejected": set(), "reversed": {2}, "donated": {9}}


def test_a_ledger_whose_every_effect_has_its_answer_passes() -> None:
    assert own_effect_problems(MADE, RECORDS, []) == []


def test_an_effect_whose_answer_was_lost_is_a_violation() -> None:
    made = {**MADE, "rejected": {1}, "donated": {9, 10}}
    assert own_effect_problems(made, RECORDS, []) == [
        "exchange 1 was rejected, but no stored answer says so (its request's answer was lost)",
        "donation 10 was donated, but no stored answer says so (its request's answer was lost)",
    ]


def test_an_interrupted_request_refused_its_own_effect_is_a_violation() -> None:
    own = Operation("approve", COORDINATOR, "/api/v1/exchanges/1/approve", b"", "k2", 1, interruptions=1)
    other = Operation("approve", COORDINATOR, "/api/v1/exchanges/1/approve", b"", "k7", 1, interruptions=1)
    refusals = [(own, 409, "invalid_transition"), (other, 409, "invalid_transition")]
    assert own_effect_problems(MADE, RECORDS, refusals) == [
        "interrupted approve /api/v1/exchanges/1/approve (key k2) was answered 409 invalid_transition on retry, "
        "but its own 200 answer is stored: a 409 for its own effect"
    ]
