"""Asset-based profiles: what I can offer, what I would like help with, when I am free, my area,
how to contact me, and who can see what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from timebank.members.errors import InvalidProfile, ProfileNotAllowed
from timebank.members.profile import ProfileInput, SkillInput, update_profile, validate_area
from timebank.models import AuditEvent, Category, ContactPreference, ListingKind, Member, MemberSkill, MemberStatus


def _category(session, timebank, name="Gardening") -> Category:  # type: ignore[no-untyped-def]
    return session.scalar(select(Category).where(Category.timebank_id == timebank.id, Category.name == name))


def _form(**overrides):  # type: ignore[no-untyped-def]
    """A profile form as a browser sends it: unticked boxes are simply absent."""
    data = {"contact_preference": "email", "show_area": "y", "show_about": "y", "show_availability": "y"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _reload(session, member) -> Member:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(Member, member.id)


def _set(session, member, **values) -> None:  # type: ignore[no-untyped-def]
    for name, value in values.items():
        setattr(member, name, value)
    session.commit()


# --- My profile ------------------------------------------------------------------------------


def test_profile_page_needs_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_profile_form_has_labelled_fields_an_availability_grid_and_visibility_choices(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    page = client.get("/profile").get_data(as_text=True)
    assert "<h1>My profile</h1>" in page
    assert '<label for="area">Your area</label>' in page
    assert '<input type="checkbox" name="availability" value="sat-morning" id="availability-sat-morning">' in page
    assert (
        '<label for="availability-sat-morning" class="checkbox-cell"><span class="visually-hidden">Saturday mornings'
        in page
    )
    assert '<th scope="row"><span class="day-long">Saturday</span><span class="day-short">Sat</span></th>' in page
    assert 'name="show_phone"' in page
    # Three blank rows to add offers, each with a labelled category and description.
    assert '<label for="offer_2_label">' in page
    assert 'name="offer_3_label"' not in page
    assert 'name="csrf_token"' in page


def test_member_saves_offers_wants_availability_area_contact_and_visibility(client, auth, factory, session):
    world = factory.world()
    gardening = _category(session, world.timebank)
    lifts = _category(session, world.timebank, "Lifts")
    auth.login(world.alice)
    response = client.post(
        "/profile",
        data=_form(
            offers_text="I grow vegetables and love a chat.",
            wants_text="A lift to the shops now and then.",
            offer_0_category=str(gardening.id),
            offer_0_label="Weeding and planting",
            offer_1_category="",
            offer_1_label="",
            request_0_category=str(lifts.id),
            request_0_label="Lift to the supermarket",
            availability=["sat-morning", "mon-evening"],
            area="ls6",
            about="Retired teacher.",
            access_needs="I have a friendly dog.",
            contact_preference="phone",
            phone="07700 900123",
            show_phone="y",
            show_area=None,
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile")
    alice = _reload(session, world.alice)
    assert alice.offers_text == "I grow vegetables and love a chat."
    assert alice.wants_text == "A lift to the shops now and then."
    assert alice.availability == "mon-evening,sat-morning"
    assert alice.area == "LS6"  # a postcode district, shown in capitals
    assert alice.contact_preference == ContactPreference.PHONE
    assert alice.phone == "07700 900123"
    assert (alice.show_phone, alice.show_area, alice.show_email) == (True, False, False)
    skills = [(skill.kind, skill.category_id, skill.label) for skill in alice.skills]
    assert skills == [
        (ListingKind.OFFER, gardening.id, "Weeding and planting"),
        (ListingKind.REQUEST, lifts.id, "Lift to the supermarket"),
    ]
    page = client.get("/profile").get_data(as_text=True)
    assert "Your profile has been saved." in page
    assert 'value="Weeding and planting"' in page
    assert 'value="sat-morning" id="availability-sat-morning" checked' in page


def test_member_removes_one_skill_and_changes_another(client, auth, factory, session):
    world = factory.world()
    gardening = _category(session, world.timebank)
    cooking = _category(session, world.timebank, "Cooking")
    world.alice.skills.extend(
        [
            MemberSkill(kind=ListingKind.OFFER, category_id=gardening.id, label="Weeding"),
            MemberSkill(kind=ListingKind.OFFER, category_id=cooking.id, label="Baking"),
        ]
    )
    session.commit()
    weeding, baking = world.alice.skills
    auth.login(world.alice)
    page = client.get("/profile").get_data(as_text=True)
    assert 'name="offer_0_remove"' in page
    response = client.post(
        "/profile",
        data=_form(
            offer_0_id=str(weeding.id),
            offer_0_category=str(gardening.id),
            offer_0_label="Weeding",
            offer_0_remove="y",
            offer_1_id=str(baking.id),
            offer_1_category=str(cooking.id),
            offer_1_label="Baking bread",
            offer_2_category=str(gardening.id),
            offer_2_label="Mowing",
        ),
    )
    assert response.status_code == 302
    labels = [skill.label for skill in _reload(session, world.alice).skills]
    assert labels == ["Baking bread", "Mowing"]
    assert session.get(MemberSkill, baking.id).label == "Baking bread"
    assert session.get(MemberSkill, weeding.id) is None


@pytest.mark.parametrize(
    "area, problem",
    [
        ("LS6 2AB", "full postcode"),
        ("ls62ab", "full postcode"),
        ("SW1A 1AA", "full postcode"),
        ("12 Acacia Avenue", "street address"),
        ("12a, High Street, Headingley", "street address"),
        ("Flat 3 Riverside Court", "street address"),
    ],
)
def test_full_address_or_postcode_as_area_is_refused_and_nothing_changes(client, auth, factory, session, area, problem):
    world = factory.world()
    _set(session, world.alice, area="Headingley", about="Before")
    auth.login(world.alice)
    response = client.post("/profile", data=_form(area=area, about="After"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert f"That looks like a {problem}" in page
    assert "Give only your postcode district, like “LS6”" in page
    assert '<a href="#area">' in page
    alice = _reload(session, world.alice)
    assert (alice.area, alice.about) == ("Headingley", "Before")


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("LS6", "LS6"),
        ("ls6", "LS6"),
        ("sw1a", "SW1A"),
        ("Headingley", "Headingley"),
        ("  Hyde   Park ", "Hyde Park"),
        ("", ""),
    ],
)
def test_neighbourhood_or_postcode_district_is_accepted(typed, stored):
    assert validate_area(typed) == stored


def test_skill_row_without_a_category_is_refused_with_a_message_by_the_field(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    response = client.post("/profile", data=_form(offer_0_category="", offer_0_label="Dog walking"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<a href="#offer_0_category">Choose a category for thing you can offer 1.</a>' in page
    assert _reload(session, world.alice).skills == []


def test_category_of_another_timebank_is_refused(client, auth, factory, session):
    world = factory.world()
    foreign = _category(session, world.other_timebank)
    auth.login(world.alice)
    response = client.post("/profile", data=_form(offer_0_category=str(foreign.id), offer_0_label="Weeding"))
    assert response.status_code == 422
    assert "Choose one of the categories in the list." in response.get_data(as_text=True)
    assert _reload(session, world.alice).skills == []


def test_another_members_skill_cannot_be_taken_over_by_its_id(client, auth, factory, session):
    world = factory.world()
    gardening = _category(session, world.timebank)
    world.bob.skills.append(MemberSkill(kind=ListingKind.OFFER, category_id=gardening.id, label="Bob's weeding"))
    session.commit()
    bobs_skill = world.bob.skills[0]
    auth.login(world.alice)
    response = client.post(
        "/profile", data=_form(offer_0_id=str(bobs_skill.id), offer_0_category=str(gardening.id), offer_0_label="Mine")
    )
    assert response.status_code == 422
    session.expire_all()
    assert session.get(MemberSkill, bobs_skill.id).label == "Bob's weeding"
    assert session.get(MemberSkill, bobs_skill.id).member_id == world.bob.id


def test_phone_contact_needs_a_phone_number(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    response = client.post("/profile", data=_form(contact_preference="text", phone=""))
    assert response.status_code == 422
    assert "Add a phone number, or choose another way to be contacted." in response.get_data(as_text=True)
    assert _reload(session, world.alice).contact_preference == ContactPreference.EMAIL


def test_nonsense_phone_number_is_refused(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    response = client.post("/profile", data=_form(phone="call me maybe"))
    assert response.status_code == 422
    assert "Enter a phone number using numbers only" in response.get_data(as_text=True)
    assert _reload(session, world.alice).phone is None


def test_unknown_availability_slot_is_refused(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    response = client.post("/profile", data=_form(availability=["mon-morning", "caturday-night"]))
    assert response.status_code == 422
    assert _reload(session, world.alice).availability == ""


# --- Who can see what --------------------------------------------------------------------------


def _private_alice(session, world) -> None:  # type: ignore[no-untyped-def]
    _set(
        session,
        world.alice,
        phone="07700 900123",
        area="LS6",
        about="Retired teacher",
        access_needs="I use a wheelchair",
        availability="sat-morning",
        offers_text="Gardening",
        show_email=False,
        show_phone=False,
        show_area=False,
        show_about=False,
        show_access_needs=False,
        show_availability=False,
    )


def test_hidden_parts_of_a_profile_are_not_shown_to_other_members(client, auth, factory, session):
    world = factory.world()
    _private_alice(session, world)
    auth.login(world.bob)
    response = client.get(f"/members/{world.alice.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Alice" in page
    assert "Gardening" in page  # what people offer is always shown
    for secret in (
        world.alice.email,
        "07700 900123",
        "LS6",
        "Retired teacher",
        "I use a wheelchair",
        "Saturday mornings",
    ):
        assert secret not in page


def test_hidden_parts_of_a_profile_are_shown_to_coordinators_marked_as_hidden(client, auth, factory, session):
    world = factory.world()
    _private_alice(session, world)
    auth.login(world.coordinator)
    page = client.get(f"/members/{world.alice.id}").get_data(as_text=True)
    for secret in (
        world.alice.email,
        "07700 900123",
        "LS6",
        "Retired teacher",
        "I use a wheelchair",
        "Saturday mornings",
    ):
        assert secret in page
    assert "Only they and coordinators see this" in page


def test_member_sees_their_own_hidden_details_on_their_profile(client, auth, factory, session):
    world = factory.world()
    _private_alice(session, world)
    auth.login(world.alice)
    page = client.get(f"/members/{world.alice.id}").get_data(as_text=True)
    assert "07700 900123" in page
    assert "Only you and coordinators see this" in page


def test_parts_a_member_chose_to_show_are_visible_to_other_members(client, auth, factory, session):
    world = factory.world()
    _private_alice(session, world)
    _set(session, world.alice, show_phone=True, show_area=True, show_availability=True)
    auth.login(world.bob)
    page = client.get(f"/members/{world.alice.id}").get_data(as_text=True)
    assert "07700 900123" in page
    assert "LS6" in page
    assert "Saturday mornings" in page
    assert world.alice.email not in page
    assert "I use a wheelchair" not in page


def test_another_timebanks_member_is_not_found(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    assert client.get(f"/members/{world.outsider.id}").status_code == 404
    auth.logout()
    auth.login(world.coordinator)
    assert client.get(f"/members/{world.outsider.id}").status_code == 404


@pytest.mark.parametrize(
    "status", [MemberStatus.APPLIED, MemberStatus.SUSPENDED, MemberStatus.DECLINED, MemberStatus.LEFT]
)
def test_member_who_is_not_approved_is_not_found_by_participants_but_coordinators_see_them(
    client, auth, factory, session, status
):
    world = factory.world()
    person = factory.member(world.timebank, "Pat Pending", status=status)
    auth.login(world.alice)
    assert client.get(f"/members/{person.id}").status_code == 404
    auth.logout()
    auth.login(world.coordinator)
    response = client.get(f"/members/{person.id}")
    assert response.status_code == 200
    assert f"Status: <strong>{status.value}</strong>" in response.get_data(as_text=True)


def test_unknown_member_is_not_found(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    assert client.get("/members/99999").status_code == 404


# --- Coordinators act for members --------------------------------------------------------------


def test_coordinator_changes_a_members_profile_for_them_and_the_audit_says_so(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    page = client.get(f"/members/{world.alice.id}/profile").get_data(as_text=True)
    assert "You are changing this profile for Alice" in page
    response = client.post(
        f"/members/{world.alice.id}/profile",
        data=_form(contact_preference="coordinator", offers_text="Knitting", show_phone="y"),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/members/{world.alice.id}")
    alice = _reload(session, world.alice)
    assert alice.contact_preference == ContactPreference.COORDINATOR
    assert alice.offers_text == "Knitting"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "member.profile_updated")).one()
    assert (event.actor_id, event.on_behalf_of_id, event.subject_id) == (world.coordinator.id, alice.id, alice.id)
    assert event.before == {"contact_preference": "email", "show_phone": False}
    assert event.after is not None
    assert "offers_text" in event.after["changed"]
    assert "Knitting" not in str(event.after)  # free text is named, not copied, in the append-only trail


def test_own_profile_change_is_audited_without_on_behalf(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    client.post("/profile", data=_form(about="Hello"))
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "member.profile_updated")).one()
    assert (event.actor_id, event.on_behalf_of_id) == (world.alice.id, None)


def test_participant_cannot_change_another_members_profile(client, auth, factory, session):
    world = factory.world()
    _set(session, world.alice, about="Alice's own words")
    auth.login(world.bob)
    assert client.get(f"/members/{world.alice.id}/profile").status_code == 403
    response = client.post(f"/members/{world.alice.id}/profile", data=_form(about="Bob was here"))
    assert response.status_code == 403
    assert _reload(session, world.alice).about == "Alice's own words"
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "member.profile_updated")).all() == []


def test_coordinator_of_another_timebank_cannot_change_a_profile(client, auth, factory, session):
    world = factory.world()
    from timebank.models import Role

    other_coordinator = factory.member(world.other_timebank, "Otto Coordinator", role=Role.COORDINATOR)
    auth.login(other_coordinator)
    response = client.post(f"/members/{world.alice.id}/profile", data=_form(about="Not yours"))
    assert response.status_code == 404
    assert _reload(session, world.alice).about == ""


def test_profile_service_refuses_another_member_and_allows_the_coordinator(factory, session):
    world = factory.world()
    with pytest.raises(ProfileNotAllowed):
        update_profile(session, world.bob, world.alice.id, ProfileInput(about="nope"))
    assert _reload(session, world.alice).about == ""
    gardening = _category(session, world.timebank)
    update_profile(
        session,
        world.coordinator,
        world.alice.id,
        ProfileInput(about="yes", offer_skills=(SkillInput(category_id=gardening.id, label="Weeding"),)),
    )
    alice = _reload(session, world.alice)
    assert alice.about == "yes"
    assert [skill.label for skill in alice.skills] == ["Weeding"]


def test_profile_service_refuses_a_full_postcode_whoever_calls_it(factory, session):
    world = factory.world()
    with pytest.raises(InvalidProfile) as caught:
        update_profile(session, world.coordinator, world.alice.id, ProfileInput(area="LS6 2AB"))
    assert caught.value.field == "area"
    assert _reload(session, world.alice).area == ""


def test_profile_form_is_csrf_protected_outside_tests(app, factory):
    world = factory.world()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = str(world.alice.id)
        browser_session["_fresh"] = True
    response = client.post("/profile", data=_form(about="No token"))
    assert response.status_code == 400
    assert _reload(app.extensions["sqlalchemy"].session(), world.alice).about == ""
