"""Members, listings and matches through the API: the same services and visibility rules as the
web pages. Both databases."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiWorld, error_of, new_key
from timebank.models import Category, Listing, ListingKind, Member, MemberSkill, MemberStatus


def _category_id(session: Session, timebank_id: int) -> int:
    category = session.scalars(select(Category).where(Category.timebank_id == timebank_id)).first()
    assert category is not None
    return category.id


def test_me_tells_role_timebank_and_account_limits(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    me = api_world.coordinator.get("/api/v1/me").get_json()
    assert me["role"] == "coordinator" and me["timebank"]["slug"] == w.timebank.slug
    assert me["account"] == {
        "balance_hours": 0,
        "balance_minutes": 0,
        "pending_hours": 0,
        "pending_minutes": 0,
        "pending_in_hours": 0,
        "pending_out_hours": 0,
        "floor_hours": -10,
        "floor_minutes": -600,
        "cap_hours": 100,
        "cap_minutes": 6000,
    }
    assert w.alice.account is not None
    w.alice.account.floor_minutes = -150  # her own floor wins over the timebank's
    session.commit()
    assert api_world.alice.get("/api/v1/me").get_json()["account"]["floor_hours"] == -2.5


def test_participants_see_the_directory_coordinators_see_everyone(
    api_world: ApiWorld,
    factory,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    w = api_world.world
    factory.member(w.timebank, "Adam Applicant", status=MemberStatus.APPLIED)
    w.bob.area, w.bob.show_area = "LS6", False
    w.bob.skills.append(MemberSkill(kind=ListingKind.OFFER, label="Dog walking"))
    session.commit()

    seen = api_world.alice.get("/api/v1/members").get_json()
    assert {m["display_name"] for m in seen["items"]} == {"Alice", "Bob", "Cora Coordinator"}
    bob = next(m for m in seen["items"] if m["id"] == w.bob.id)
    assert bob["area"] is None and bob["email"] is None and bob["status"] is None  # hidden from Alice
    assert bob["offer_skills"] == [{"label": "Dog walking", "category": None}]

    everyone = api_world.coordinator.get("/api/v1/members").get_json()
    assert everyone["total"] == 4
    bob = next(m for m in everyone["items"] if m["id"] == w.bob.id)
    assert bob["area"] == "LS6" and bob["email"] == w.bob.email and bob["status"] == "approved"
    assert bob["offer_skills"] == [{"label": "Dog walking", "category": None}]
    applied = api_world.coordinator.get("/api/v1/members", query={"status": "applied"}).get_json()
    assert [m["display_name"] for m in applied["items"]] == ["Adam Applicant"]

    profile = api_world.alice.get(f"/api/v1/members/{w.bob.id}").get_json()
    assert profile["display_name"] == "Bob" and profile["area"] is None and profile["full_view"] is False
    assert profile["account_id"] is None and profile["role"] is None
    full = api_world.coordinator.get(f"/api/v1/members/{w.bob.id}").get_json()
    assert full["area"] == "LS6" and full["full_view"] is True and full["account_id"] == w.bob.account.id  # type: ignore[union-attr]
    assert api_world.outsider.get(f"/api/v1/members/{w.bob.id}").status_code == 404
    assert api_world.outsider.get("/api/v1/members").get_json()["total"] == 1  # only their own timebank


def test_a_coordinator_registers_an_approved_member_and_a_participant_may_not(
    api_world: ApiWorld, session: Session
) -> None:
    body = {"display_name": "Edna Wright", "checks_note": "Met at the centre; references from her GP surgery."}
    refused = api_world.alice.post("/api/v1/members", body)
    assert refused.status_code == 403
    missing = api_world.coordinator.post("/api/v1/members", {"display_name": "Edna"})
    assert missing.status_code == 422 and "checks_note" in error_of(missing)["fields"]
    blank = api_world.coordinator.post("/api/v1/members", {"display_name": " ", "checks_note": "Met"})
    assert blank.status_code == 422 and "display_name" in error_of(blank)["fields"]
    key = {"Idempotency-Key": new_key()}
    created = api_world.coordinator.post("/api/v1/members", body, headers=key)
    assert created.status_code == 201
    member = created.get_json()
    assert member["display_name"] == "Edna Wright" and member["status"] == "approved" and member["account_id"]
    again = api_world.coordinator.post("/api/v1/members", body, headers=key)
    assert again.status_code == 201 and again.get_json() == member  # a retry registers nobody twice
    assert session.scalar(select(func.count(Member.id)).where(Member.display_name == "Edna Wright")) == 1


def test_listings_are_created_found_changed_paused_and_closed(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    category_id = _category_id(session, w.timebank.id)
    created = api_world.alice.post(
        "/api/v1/listings",
        {
            "kind": "offer",
            "category_id": category_id,
            "title": "Shelves put up",
            "tags": ["DIY", "diy", "shelves"],
            "estimated_hours": 1.5,
        },
    )
    assert created.status_code == 201, created.get_json()
    listing = created.get_json()
    assert listing["status"] == "open" and listing["tags"] == ["diy", "shelves"]
    assert listing["estimated_hours"] == 1.5 and listing["estimated_minutes"] == 90
    path = f"/api/v1/listings/{listing['id']}"

    found = api_world.bob.get("/api/v1/listings", query={"q": "shelves"}).get_json()
    assert [item["id"] for item in found["items"]] == [listing["id"]]
    assert api_world.bob.get(path).status_code == 200
    assert api_world.outsider.get(path).status_code == 404

    changed = api_world.alice.patch(path, {"title": "Shelves and curtain rails", "estimated_hours": "2:00"})
    assert changed.status_code == 200
    assert changed.get_json()["title"] == "Shelves and curtain rails" and changed.get_json()["estimated_hours"] == 2
    assert changed.get_json()["tags"] == ["diy", "shelves"]  # untouched fields stay
    assert api_world.bob.patch(path, {"title": "Mine now"}).status_code == 403
    mixed = api_world.alice.patch(path, {"status": "paused", "title": "x"})
    assert mixed.status_code == 422 and "status" in error_of(mixed)["fields"]
    paused = api_world.alice.patch(path, {"status": "paused"})
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert api_world.alice.patch(path, {"status": "paused"}).status_code == 409
    by_coordinator = api_world.coordinator.patch(path, {"status": "open"})
    assert by_coordinator.get_json()["status"] == "open"

    assert api_world.bob.delete(path).status_code == 403
    assert api_world.alice.delete(path).status_code == 204
    assert api_world.bob.get(path).status_code == 404  # closed: gone for others
    assert api_world.alice.delete(path).status_code == 409
    listing_row = session.get(Listing, listing["id"])
    session.refresh(listing_row)
    assert listing_row is not None and listing_row.status == "closed"


def test_listing_input_is_checked_with_fields_named(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    category_id = _category_id(session, w.timebank.id)
    bad_steps = api_world.alice.post(
        "/api/v1/listings", {"kind": "offer", "category_id": category_id, "title": "Tea", "estimated_hours": 0.1}
    )
    assert bad_steps.status_code == 422 and "estimated_hours" in error_of(bad_steps)["fields"]
    wrong_kind = api_world.alice.post("/api/v1/listings", {"kind": "gift", "category_id": category_id, "title": "T"})
    assert wrong_kind.status_code == 422 and "kind" in error_of(wrong_kind)["fields"]
    foreign = api_world.outsider.post("/api/v1/listings", {"kind": "offer", "category_id": category_id, "title": "T"})
    assert foreign.status_code == 422 and "category_id" in error_of(foreign)["fields"]
    for_bob = api_world.alice.post(
        "/api/v1/listings", {"kind": "offer", "category_id": category_id, "title": "T", "owner_id": w.bob.id}
    )
    assert for_bob.status_code == 403
    assert session.scalar(select(func.count(Listing.id))) == 0


def test_matches_come_ranked_with_reasons(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    category_id = _category_id(session, w.timebank.id)
    request = api_world.alice.post(
        "/api/v1/listings",
        {"kind": "request", "category_id": category_id, "title": "Help with my garden", "description": "Weeding"},
    ).get_json()
    api_world.bob.post(
        "/api/v1/listings",
        {"kind": "offer", "category_id": category_id, "title": "Garden weeding", "description": "Happy to weed"},
    )
    matches = api_world.alice.get(f"/api/v1/listings/{request['id']}/matches").get_json()
    assert matches["listing_id"] == request["id"] and matches["kind"] == "request"
    assert matches["items"], matches
    best = matches["items"][0]
    assert best["member"]["id"] == w.bob.id and best["reasons"] and 0 < best["score"] <= 1
    scores = [item["score"] for item in matches["items"]]
    assert scores == sorted(scores, reverse=True)
    assert api_world.outsider.get(f"/api/v1/listings/{request['id']}/matches").status_code == 404
    too_many = api_world.alice.get(f"/api/v1/listings/{request['id']}/matches", query={"limit": 51})
    assert too_many.status_code == 422
