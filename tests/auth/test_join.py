"""Applying to join a timebank, and seeing where the application stands."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import PASSWORD
from timebank.models import Account, AuditEvent, ContactPreference, Member, MemberStatus
from timebank.notifications.delivery import deliver_outbox


def _application(**changes: str) -> dict[str, str]:
    data = {
        "display_name": "Nadia",
        "email": "nadia@example.org",
        "phone": "",
        "contact_preference": "email",
        "offers_text": "Baking, and a chat over tea",
        "wants_text": "Someone to walk with on Sundays",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
    }
    data.update(changes)
    return data


def _members(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count(Member.id))) or 0


def test_applying_creates_a_waiting_member_with_an_account_and_shows_what_happens_next(client, factory, session):
    timebank = factory.timebank("Riverside")
    response = client.post("/join", data=_application())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/application/sent")
    sent = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in sent
    assert "We&#39;ll email you about your application to join Riverside" in sent

    member = session.scalar(select(Member).where(Member.email == "nadia@example.org"))
    assert member is not None
    assert member.status == MemberStatus.APPLIED
    assert member.timebank_id == timebank.id
    assert member.offers_text == "Baking, and a chat over tea"
    assert member.wants_text == "Someone to walk with on Sundays"
    assert member.contact_preference == ContactPreference.EMAIL
    assert session.scalar(select(Account).where(Account.member_id == member.id)) is not None
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.applied")) is not None

    # Applying does not sign anyone in; signing in shows where the application stands.
    assert client.get("/me").status_code == 302
    assert client.post("/login", data={"email": "nadia@example.org", "password": PASSWORD}).status_code == 302
    page = client.get("/application").get_data(as_text=True)
    assert "Your application is waiting for a coordinator" in page
    assert "What happens next" in page
    assert "Riverside" in page


def test_join_link_for_one_timebank_applies_to_that_timebank(client, factory, session):
    factory.timebank("Riverside")
    elm = factory.timebank("Elm Park")
    page = client.get("/join/elm-park").get_data(as_text=True)
    assert "Apply to join Elm Park" in page
    assert 'name="timebank"' not in page
    assert client.post("/join/elm-park", data=_application()).status_code == 302
    member = session.scalar(select(Member).where(Member.email == "nadia@example.org"))
    assert member is not None and member.timebank_id == elm.id


def test_with_several_timebanks_the_applicant_chooses_one_from_a_list(client, factory, session):
    factory.timebank("Riverside")
    elm = factory.timebank("Elm Park")
    page = client.get("/join").get_data(as_text=True)
    assert "Which timebank would you like to join?" in page
    assert ">Riverside<" in page and ">Elm Park<" in page

    not_chosen = client.post("/join", data=_application(timebank="0"))
    assert not_chosen.status_code == 422
    assert "Choose the timebank you would like to join." in not_chosen.get_data(as_text=True)
    assert _members(session) == 0

    assert client.post("/join", data=_application(timebank=str(elm.id))).status_code == 302
    member = session.scalar(select(Member).where(Member.email == "nadia@example.org"))
    assert member is not None and member.timebank_id == elm.id


def test_unknown_timebank_link_is_not_found(client, factory):
    factory.timebank("Riverside")
    assert client.get("/join/nowhere").status_code == 404
    assert client.post("/join/nowhere", data=_application()).status_code == 404


def test_an_email_that_has_an_account_gets_the_same_answer_and_its_owner_is_emailed(
    client, factory, session, smtp_inbox
):
    """Joining must not tell who has an account (in this timebank or another): the applicant is
    told "we'll email you" either way, and the address's owner is the one emailed."""
    world = factory.world()
    before = _members(session)
    new = client.post("/join/riverside", data=_application(email="nadia@example.org"))
    new_page = client.get(new.headers["Location"]).get_data(as_text=True)
    taken = client.post("/join/riverside", data=_application(email=world.outsider.email.upper()))
    taken_page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert new.status_code == taken.status_code == 302
    assert new.headers["Location"] == taken.headers["Location"]
    assert new_page == taken_page
    assert "already" not in taken_page
    assert _members(session) == before + 1  # only Nadia: nothing was made for the taken address
    assert smtp_inbox.messages == []  # nothing is sent inside the request

    assert deliver_outbox(session).sent == 2
    to = {mail.envelope_to[0]: mail for mail in smtp_inbox.messages}
    assert set(to) == {"nadia@example.org", world.outsider.email}
    assert to["nadia@example.org"].message["Subject"] == "We have your application"
    owner = to[world.outsider.email]
    assert owner.message["Subject"] == "Someone tried to join with your email address"
    assert "Someone applied to join Riverside with this email address" in owner.text
    assert "/login" in owner.text and "/forgot-password" in owner.text
    # The owner's account is as it was.
    session.expire_all()
    outsider = session.get(Member, world.outsider.id)
    assert outsider.timebank_id == world.other_timebank.id and outsider.password_hash == world.outsider.password_hash


def test_the_owner_of_a_taken_address_is_emailed_at_most_once_a_day(client, factory, session, smtp_inbox):
    world = factory.world()
    for _ in range(3):
        assert client.post("/join/riverside", data=_application(email=world.alice.email)).status_code == 302
    deliver_outbox(session)
    assert [mail.envelope_to for mail in smtp_inbox.messages] == [[world.alice.email]]


def test_applying_with_neither_email_nor_phone_is_refused(client, factory, session):
    factory.timebank("Riverside")
    nothing = _application(email="", phone="", contact_preference="coordinator", password="", confirm_password="")
    response = client.post("/join", data=nothing)
    assert response.status_code == 422
    assert "Enter an email address or a phone number" in response.get_data(as_text=True)
    assert _members(session) == 0


def test_someone_with_only_a_phone_can_apply_without_a_password(client, factory, session):
    factory.timebank("Riverside")
    response = client.post(
        "/join",
        data=_application(email="", phone="07700 900123", contact_preference="text", password="", confirm_password=""),
    )
    assert response.status_code == 302
    member = session.scalar(select(Member).where(Member.phone == "07700 900123"))
    assert member is not None
    assert member.email is None and member.password_hash is None
    assert member.contact_preference == ContactPreference.TEXT
    assert "by text message to 07700 900123" in client.get("/application").get_data(as_text=True)


def test_contact_choice_must_match_what_was_given(client, factory, session):
    factory.timebank("Riverside")
    response = client.post("/join", data=_application(contact_preference="phone"))
    assert response.status_code == 422
    assert "You chose phone: enter your phone number" in response.get_data(as_text=True)
    assert _members(session) == 0


def test_an_email_applicant_must_choose_a_good_password(client, factory, session):
    factory.timebank("Riverside")
    missing = client.post("/join", data=_application(password="", confirm_password=""))
    assert missing.status_code == 422
    assert "Choose a password" in missing.get_data(as_text=True)
    short = client.post("/join", data=_application(password="short", confirm_password="short"))
    assert short.status_code == 422
    assert "at least 10 characters" in short.get_data(as_text=True)
    spaces = " " * 12
    blank = client.post("/join", data=_application(password=spaces, confirm_password=spaces))
    assert blank.status_code == 422
    assert "cannot be only spaces" in blank.get_data(as_text=True)
    mismatch = client.post("/join", data=_application(confirm_password=PASSWORD + "!"))
    assert mismatch.status_code == 422
    assert "The two passwords are not the same" in mismatch.get_data(as_text=True)
    assert _members(session) == 0


def test_bad_email_and_phone_get_field_messages(client, factory, session):
    factory.timebank("Riverside")
    bad_email = client.post("/join", data=_application(email="not-an-email"))
    assert bad_email.status_code == 422
    assert "Enter an email address like name@example.com." in bad_email.get_data(as_text=True)
    bad_phone = client.post("/join", data=_application(phone="call me maybe"))
    assert bad_phone.status_code == 422
    assert "Enter a phone number using numbers only" in bad_phone.get_data(as_text=True)
    assert _members(session) == 0


def test_empty_application_lists_each_problem_linked_to_its_field(client, factory):
    factory.timebank("Riverside")
    response = client.post("/join", data={})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#display_name"' in page and "Enter your name." in page


def test_the_join_form_is_plain_and_labelled(client, factory):
    factory.timebank("Riverside")
    page = client.get("/join").get_data(as_text=True)
    for label in (
        "Your name",
        "Email address (if you have one)",
        "Phone number (if you have one)",
        "How would you like a coordinator to get in touch?",
        "What could you offer to others?",
        "What would you like help with?",
        "Choose a password",
    ):
        assert label in page
    assert "<legend" in page  # the contact choices are a fieldset with a legend


def test_no_timebanks_yet_says_so(client):
    response = client.get("/join")
    assert response.status_code == 200
    assert "no timebanks taking applications" in response.get_data(as_text=True)


def test_signed_in_members_are_not_asked_to_apply(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    response = client.get("/join")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")


def test_anonymous_visitors_see_a_join_link(client):
    assert 'href="/join"' in client.get("/").get_data(as_text=True)


def test_join_and_decision_forms_need_the_csrf_token(app, factory, session):
    world = factory.world()
    nadia = factory.member(world.timebank, "Nadia", status=MemberStatus.APPLIED)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    refused = client.post("/join/riverside", data=_application())
    assert refused.status_code == 400
    assert "form had expired" in refused.get_data(as_text=True)
    assert session.scalar(select(Member).where(Member.email == "nadia@example.org")) is None
    for path in ("/forgot-password", f"/coordinator/applications/{nadia.id}/approve", "/account/password"):
        assert client.post(path, data={}).status_code == 400
