"""In-app notifications: who is told about each event, what stops needing their action, email
preferences, dedupe, and the pages (another member's notification is not found)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.conftest import AuthActions, Factory, World
from timebank.clock import today_in
from timebank.coordinator.service import approve_application, decline_application
from timebank.exchanges import service as exchanges
from timebank.exchanges.service import ProposalRequest, RecordRequest
from timebank.models import ApprovalPolicy, Member, MemberStatus, Notification, OutboundEmail, Role
from timebank.notifications import service as notifications
from timebank.notifications.errors import NotificationNotFound


def told(session: Session, member: Member) -> list[tuple[str, bool]]:
    """(kind, needs action) of the member's notifications, oldest first."""
    session.rollback()
    rows = session.execute(
        select(Notification.kind, Notification.needs_action)
        .where(Notification.member_id == member.id)
        .order_by(Notification.id)
    )
    return [(kind, needs) for kind, needs in rows]


def messages(session: Session, member: Member, kind: str) -> list[str]:
    session.rollback()
    return list(
        session.scalars(
            select(Notification.message).where(Notification.member_id == member.id, Notification.kind == kind)
        )
    )


def emailed(session: Session, member: Member) -> list[str]:
    """Kinds of the emails queued for the member."""
    session.rollback()
    return list(
        session.scalars(
            select(OutboundEmail.kind).where(OutboundEmail.member_id == member.id).order_by(OutboundEmail.id)
        )
    )


def record(session: Session, world: World, actor: Member, provider: Member, recipient: Member, minutes: int = 90, **kw):  # type: ignore[no-untyped-def]
    assert provider.account is not None and recipient.account is not None
    return exchanges.record_exchange(
        session,
        actor,
        RecordRequest(
            provider_account_id=provider.account.id,
            recipient_account_id=recipient.account.id,
            minutes=minutes,
            performed_on=today_in(world.timebank.time_zone) - timedelta(days=1),
            description="Dug the vegetable bed",
            request_key=str(uuid.uuid4()),
            **kw,
        ),
    )


def test_an_exchange_from_proposal_to_credit_tells_each_side_what_needs_them(factory: Factory, session: Session):
    world = factory.world(approval_policy=ApprovalPolicy.ALWAYS)
    alice, bob, cora = world.alice, world.bob, world.coordinator
    # Bob asks Alice for help: Alice must answer.
    proposal = exchanges.propose_exchange(
        session,
        bob,
        ProposalRequest(request_key="p1", message="Could you?", member_id=alice.id, actor_provides=False),
    )
    assert told(session, alice) == [("exchange.proposed", True)]
    assert messages(session, alice, "exchange.proposed") == [
        "Bob asked if you could help them. Please accept or decline."
    ]
    assert told(session, bob) == []  # the one who took the step is not told about it

    exchanges.accept_exchange(session, alice, proposal.id)
    # Accepting is the action the proposal asked for: it no longer needs Alice.
    assert told(session, alice) == [("exchange.proposed", False)]
    assert told(session, bob) == [("exchange.accepted", False)]

    exchanges.record_time(
        session,
        alice,
        proposal.id,
        exchanges.TimeRecord(minutes=120, performed_on=today_in("Europe/London"), description="Mended the fence"),
    )
    assert told(session, bob)[-1] == ("exchange.recorded", True)
    assert messages(session, bob, "exchange.recorded")[0].startswith(
        "Alice recorded 2 hours helping you (“Mended the fence”) on "
    )

    exchanges.confirm_exchange(session, bob, proposal.id)
    assert told(session, bob)[-1] == ("exchange.recorded", False)
    assert told(session, alice)[-1] == ("exchange.confirmed", False)  # waiting for a coordinator
    assert told(session, cora) == [("exchange.confirmed", True)]  # the coordinator must approve

    exchanges.approve_exchange(session, cora, proposal.id)
    assert told(session, cora) == [("exchange.confirmed", False)]
    assert told(session, alice)[-1] == ("exchange.approved", False)
    assert told(session, bob)[-1] == ("exchange.approved", False)
    assert messages(session, alice, "exchange.approved") == [
        "You gave Bob 2 hours (“Mended the fence”): approved. The time credits have moved."
    ]
    assert messages(session, bob, "exchange.approved") == [
        "Alice gave you 2 hours (“Mended the fence”): approved. The time credits have moved."
    ]
    # Members are emailed by default; coordinators' approval work stays in the app.
    assert emailed(session, alice) == ["exchange.proposed", "exchange.confirmed", "exchange.approved"]
    assert emailed(session, bob) == ["exchange.accepted", "exchange.recorded", "exchange.approved"]
    assert emailed(session, cora) == []
    # Nothing is left needing anyone.
    for member in (alice, bob, cora):
        assert notifications.needs_action_for(session, member) == []


def test_refusals_reach_both_sides_with_the_reason(factory: Factory, session: Session):
    world = factory.world(approval_policy=ApprovalPolicy.ALWAYS)
    alice, bob, cora = world.alice, world.bob, world.coordinator

    proposal = exchanges.propose_exchange(
        session, bob, ProposalRequest(request_key="p1", message="", member_id=alice.id, actor_provides=False)
    )
    exchanges.decline_exchange(session, alice, proposal.id, "I am away that week")
    assert messages(session, bob, "exchange.declined") == [
        "Alice declined your proposal. The reason given: “I am away that week”"
    ]

    # Disputed: the recorder hears it, coordinators must settle it; then refused: both hear why.
    disputed = record(session, world, alice, alice, bob)
    exchanges.dispute_exchange(session, bob, disputed.id, "It was only an hour")
    assert "It was only an hour" in messages(session, alice, "exchange.disputed")[0]
    assert (("exchange.disputed", True)) in told(session, cora)
    exchanges.reject_exchange(session, cora, disputed.id, "Agreed with both: recording it again")
    for member in (alice, bob):
        [message] = messages(session, member, "exchange.rejected")
        assert "was not approved" in message and "Agreed with both: recording it again" in message
    assert ("exchange.disputed", True) not in told(session, cora)

    # Reversed after approval, by a coordinator: both members are told.
    approved = record(session, world, alice, alice, bob, minutes=60)
    exchanges.confirm_exchange(session, bob, approved.id)
    exchanges.approve_exchange(session, cora, approved.id)
    exchanges.reverse_exchange(session, cora, approved.id, "Entered twice by mistake")
    for member in (alice, bob):
        [message] = messages(session, member, "exchange.reversed")
        assert "reversed by a coordinator" in message and "Entered twice by mistake" in message

    # Cancelled by the one who recorded it: only the other side is told.
    cancelled = record(session, world, alice, alice, bob, minutes=30)
    exchanges.cancel_exchange(session, alice, cancelled.id, "Wrong person")
    assert messages(session, alice, "exchange.cancelled") == []
    [message] = messages(session, bob, "exchange.cancelled")
    assert "called off by Alice" in message and "Wrong person" in message
    assert ("exchange.recorded", True) not in told(session, bob)  # nothing left to confirm


def test_a_coordinator_acting_for_a_member_still_tells_the_member(factory: Factory, session: Session):
    world = factory.world(approval_policy=ApprovalPolicy.ALWAYS)
    alice, bob, cora = world.alice, world.bob, world.coordinator
    # A paper timesheet: Cora records Alice's help to Bob; approved at once.
    record(session, world, cora, alice, bob, for_member_id=alice.id)
    assert told(session, alice) == [("exchange.approved", False)]
    assert told(session, bob) == [("exchange.approved", False)]  # never asked to confirm

    exchanges.propose_exchange(
        session,
        cora,
        ProposalRequest(request_key="p2", message="", member_id=bob.id, actor_provides=True, for_member_id=alice.id),
    )
    assert told(session, alice)[-1] == ("exchange.proposed", False)
    assert messages(session, alice, "exchange.proposed") == [
        "Cora Coordinator (a coordinator) proposed an exchange with Bob for you."
    ]
    assert told(session, bob)[-1] == ("exchange.proposed", True)
    assert "Cora Coordinator arranged this for Alice" in messages(session, bob, "exchange.proposed")[0]


def test_applicants_are_emailed_the_coordinators_answer(factory: Factory, session: Session):
    world = factory.world()
    yes = factory.member(world.timebank, "Yusuf", status=MemberStatus.APPLIED)
    no = factory.member(world.timebank, "Nina", status=MemberStatus.APPLIED)
    approve_application(session, world.coordinator, yes.id, checks_done=True, checks_note="Met in person")
    decline_application(session, world.coordinator, no.id, reason="We only serve Riverside")
    assert told(session, yes) == [("membership.approved", False)]
    assert emailed(session, yes) == ["membership.approved"]
    [message] = messages(session, no, "membership.declined")
    assert "was not approved" in message and "We only serve Riverside" in message
    assert emailed(session, no) == ["membership.declined"]


def test_notify_is_idempotent_by_dedupe_key_and_respects_email_preferences(factory: Factory, session: Session):
    world = factory.world()
    alice = world.alice
    first = notifications.notify(session, alice, "exchange.reminder", "Please confirm", dedupe_key="r:1")
    again = notifications.notify(session, alice, "exchange.reminder", "Please confirm", dedupe_key="r:1")
    other = notifications.notify(session, world.bob, "exchange.reminder", "Please confirm", dedupe_key="r:1")
    session.commit()
    assert first is not None and again is None and other is not None  # unique per member
    assert emailed(session, alice) == ["exchange.reminder"]

    notifications.update_email_preferences(
        session,
        alice,
        notifications.EmailPreferences(
            email_when_action_needed=False, email_exchange_updates=False, weekly_digest=True
        ),
    )
    record(session, world, world.bob, world.bob, alice)  # Alice must confirm: in the app only now
    assert told(session, alice)[-1] == ("exchange.recorded", True)
    assert emailed(session, alice) == ["exchange.reminder"]
    notifications.update_email_preferences(
        session,
        alice,
        notifications.EmailPreferences(
            email_when_action_needed=True, email_exchange_updates=False, weekly_digest=False
        ),
    )
    record(session, world, world.bob, world.bob, alice, minutes=30)
    assert emailed(session, alice) == ["exchange.reminder", "exchange.recorded"]


def test_a_member_reads_and_marks_only_their_own_notifications(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, session: Session
):
    world = factory.world()
    alice, bob = world.alice, world.bob
    needs = notifications.notify(
        session, alice, "exchange.recorded", "Bob recorded an hour", link="/exchanges/1", needs_action=True
    )
    happened = [
        notifications.notify(session, alice, "exchange.approved", f"News number {i}", link="/dashboard")
        for i in range(23)
    ]
    bobs = notifications.notify(session, bob, "exchange.approved", "Bob's own news")
    session.commit()
    assert needs is not None and bobs is not None and happened[0] is not None

    queries: list[str] = []
    listener = lambda *args: queries.append(args[2]) if "FROM notifications" in args[2] else None  # noqa: E731
    event.listen(session.get_bind(), "before_cursor_execute", listener)
    assert notifications.unread_count(session, alice) == 24
    event.remove(session.get_bind(), "before_cursor_execute", listener)
    assert len(queries) == 1  # one count, however many there are

    with pytest.raises(NotificationNotFound):
        notifications.mark_read(session, alice, bobs.id)

    auth.login(alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert 'Notifications (24)<span class="visually-hidden"> unread</span>' in page  # the nav's count, in words
    needs_section, happened_section = page.split('id="needs-heading"')[1].split('id="happened-heading"')
    assert "Bob recorded an hour" in needs_section and 'href="/exchanges/1"' in needs_section
    assert "News number 22" in happened_section  # newest first, 20 to a page
    assert "News number 2<" not in happened_section and "Showing 1–20 of 23 notifications" in happened_section
    assert "News number 0" in client.get("/notifications?page=2").get_data(as_text=True)

    assert client.post(f"/notifications/{bobs.id}/read").status_code == 404  # Bob's: not found
    assert client.post("/notifications/999999/read").status_code == 404
    response = client.post(f"/notifications/{needs.id}/read")
    assert response.status_code == 303
    session.rollback()
    assert session.get(Notification, needs.id).read_at is not None  # type: ignore[union-attr]
    assert session.get(Notification, needs.id).needs_action  # type: ignore[union-attr]  # read, still to do

    client.post("/notifications/read-all")
    assert notifications.unread_count(session, alice) == 0
    assert notifications.unread_count(session, bob) == 1  # Bob's are his own
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Bob recorded an hour" in page  # still needs Alice, on her dashboard
    assert ">Notifications</a>" in page  # no count when nothing is unread


def test_email_preferences_page_saves_the_three_choices(
    client: FlaskClient, auth: AuthActions, factory: Factory, session: Session
):
    world = factory.world()
    auth.login(world.alice)
    page = client.get("/notifications/settings").get_data(as_text=True)
    boxes = {name: tag for tag, name in re.findall(r'(<input[^>]*name="(\w+)"[^>]*type="checkbox"[^>]*>)', page)}
    assert set(boxes) == {"email_when_action_needed", "email_exchange_updates", "weekly_digest"}
    assert "checked" in boxes["email_when_action_needed"] and "checked" not in boxes["weekly_digest"]  # the defaults
    assert '<label for="weekly_digest">' in page
    response = client.post("/notifications/settings", data={"weekly_digest": "y"})
    assert response.status_code == 303
    session.rollback()
    alice = session.get(Member, world.alice.id)
    assert alice is not None
    assert (alice.email_when_action_needed, alice.email_exchange_updates, alice.weekly_digest) == (False, False, True)
    client.post("/notifications/settings", data={})  # every box unticked
    session.rollback()
    alice = session.get(Member, world.alice.id)
    assert alice is not None and not alice.weekly_digest


def test_time_with_the_organisation_asks_the_coordinators_and_tells_the_member(factory: Factory, session: Session):
    world = factory.world(approval_policy=ApprovalPolicy.ALWAYS)
    second = factory.member(world.timebank, "Cyril Coordinator", role=Role.COORDINATOR)
    exchange = exchanges.record_with_organisation(
        session,
        world.alice,
        member_earns=True,
        record=exchanges.TimeRecord(minutes=60, performed_on=today_in("Europe/London"), description="Ran the café"),
        request_key="org-1",
    )
    for coordinator in (world.coordinator, second):
        assert told(session, coordinator) == [("exchange.recorded", True)]
        [message] = messages(session, coordinator, "exchange.recorded")
        assert message.startswith("Alice recorded 1 hour with Riverside Day Service (“Ran the café”)")
        assert emailed(session, coordinator) == []  # the approvals queue is theirs in the app
    assert told(session, world.alice) == []

    exchanges.approve_exchange(session, world.coordinator, exchange.id)
    assert told(session, world.alice) == [("exchange.approved", False)]
    assert told(session, second) == [("exchange.recorded", False)]  # done by another coordinator
