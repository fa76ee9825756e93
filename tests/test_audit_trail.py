"""The audit trail pages: /coordinator/audit (one timebank) and /admin/audit (every timebank),
their search and filters, the streamed CSV export, and that coordinator actions leave a record
of who did what to what, before and after. (That UPDATE and DELETE on audit_events are refused
by the database is tested on the migrated schema, on both databases, in test_migrations.py.)"""

from __future__ import annotations

import csv
import io
import types
import uuid
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import AuthActions, Factory, World
from timebank.admin.errors import NotAnAdmin
from timebank.audit.service import (
    CSV_HEADER,
    AuditFilters,
    iter_events_csv,
    record,
    safe_cell,
    search_events,
)
from timebank.clock import today_in
from timebank.coordinator.errors import NotACoordinator
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import AuditEvent, Exchange, ExchangeStatus, Member, MemberStatus, Role

NOON = datetime(2026, 3, 10, 12, 0)


def _event(
    session: Session,
    world: World,
    action: str,
    *,
    actor: Member | None = None,
    timebank_id: int | None = None,
    subject_type: str = "member",
    subject_id: int | None = None,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
    at: datetime | None = None,
    on_behalf_of: Member | None = None,
) -> AuditEvent:
    event = record(
        session,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id if subject_id is not None else world.alice.id,
        actor=actor or world.coordinator,
        timebank_id=timebank_id if timebank_id is not None else world.timebank.id,
        on_behalf_of=on_behalf_of,
        before=before,
        after=after,
    )
    if at is not None:
        event.created_at = at
    session.commit()
    return event


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _csv_rows(client: FlaskClient, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _coordinator_b(factory: Factory, world: World) -> Member:
    return factory.member(world.other_timebank, "Oscar Other", role=Role.COORDINATOR)


# -- who sees what ----------------------------------------------------------------------------


def test_a_coordinator_sees_their_own_timebanks_events_and_not_another_timebanks(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    oscar = _coordinator_b(factory, world)
    _event(session, world, "member.suspended", after={"reason": "Riverside business"})
    _event(
        session,
        world,
        "member.suspended",
        actor=oscar,
        timebank_id=world.other_timebank.id,
        subject_id=world.outsider.id,
        after={"reason": "Elm Park business"},
    )
    auth.login(world.coordinator)
    page = _page(client, "/coordinator/audit")
    assert "Riverside business" in page and "Elm Park business" not in page
    rows = _csv_rows(client, "/coordinator/audit.csv")
    assert len(rows) == 2 and "Riverside business" in rows[1][CSV_HEADER.index("after")]

    auth.logout()
    auth.login(oscar)
    page = _page(client, "/coordinator/audit")
    assert "Elm Park business" in page and "Riverside business" not in page
    # Naming Cora as the actor does not reach into Riverside: she is not one of Elm Park's actors.
    page = _page(client, f"/coordinator/audit?actor={world.coordinator.id}", 422)
    assert "Riverside business" not in page


def test_participants_are_refused_the_audit_trail_and_its_export(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    _event(session, world, "member.suspended", after={"reason": "private"})
    auth.login(world.alice)
    for url in ("/coordinator/audit", "/coordinator/audit.csv", "/admin/audit", "/admin/audit.csv"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "private" not in response.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient, factory: Factory) -> None:
    factory.world()
    for url in ("/coordinator/audit", "/coordinator/audit.csv", "/admin/audit", "/admin/audit.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_coordinators_are_refused_the_whole_installations_trail(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    auth.login(world.coordinator)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_an_admin_sees_every_timebanks_events_with_the_timebank_named(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    admin = factory.member(None, "Ada Admin", is_admin=True)
    _event(session, world, "member.suspended", after={"reason": "Riverside business"})
    _event(
        session,
        world,
        "timebank.settings_changed",
        actor=admin,
        timebank_id=world.other_timebank.id,
        subject_type="timebank",
        subject_id=world.other_timebank.id,
        before={"granularity_minutes": 15},
        after={"granularity_minutes": 30},
    )
    auth.login(admin)
    page = _page(client, "/admin/audit")
    assert "Riverside business" in page
    assert "changed a timebank’s settings" in page or "changed a timebank&#39;s settings" in page
    assert "In Elm Park" in page and "In Riverside" in page
    assert f'href="/admin/timebanks/{world.other_timebank.id}"' in page
    rows = _csv_rows(client, "/admin/audit.csv")
    assert {row[CSV_HEADER.index("timebank")] for row in rows[1:]} == {"Riverside", "Elm Park"}


# -- what a row shows -------------------------------------------------------------------------


def test_each_event_says_when_who_for_whom_what_on_what_and_what_changed(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    _event(
        session,
        world,
        "member.profile_updated",
        on_behalf_of=world.alice,
        before={"show_phone": False, "area": "Riverside"},
        after={"show_phone": True, "area": "Riverside"},
        at=NOON,
    )
    auth.login(world.coordinator)
    page = _page(client, "/coordinator/audit")
    assert "Tuesday 10 March 2026 at 12:00pm" in page  # London is on GMT in March
    assert "<strong>Cora Coordinator</strong> for <strong>Alice</strong>" in page
    assert "changed a profile" in page
    assert "(member.profile_updated)" not in page  # the code only behind "Technical detail"
    assert "<dd><code>member.profile_updated</code></dd>" in page
    assert f'href="/coordinator/members/{world.alice.id}">Member {world.alice.id}</a>' in page
    # The diff: what changed, in words; what stayed the same is left out.
    assert '<th scope="row">Show phone</th><td data-label="Before">no</td><td data-label="After">yes</td>' in page
    assert '<th scope="row">Area</th>' not in page


def test_newest_events_come_first_and_the_list_is_paged(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    for number in range(30):
        _event(session, world, "member.note_added", after={"note": f"note number {number:02d}"})
    auth.login(world.coordinator)
    first = _page(client, "/coordinator/audit")
    assert "Showing 1–25 of 30 events" in first
    assert first.index("note number 29") < first.index("note number 28")
    assert "note number 04" not in first
    second = _page(client, "/coordinator/audit?page=2")
    assert "Showing 26–30 of 30 events" in second and "note number 04" in second and "note number 05" not in second


# -- search and filters --------------------------------------------------------------------


def _filtering_world(session: Session, factory: Factory) -> tuple[World, Member]:
    world = factory.world()
    dora = factory.member(world.timebank, "Dora Dupré", role=Role.COORDINATOR)
    _event(session, world, "member.suspended", after={"reason": "Missed the garden rota"}, at=NOON)
    _event(
        session,
        world,
        "exchange.rejected",
        actor=dora,
        subject_type="exchange",
        subject_id=7,
        after={"reason": "Café visit was not in the timebank"},
        at=NOON + timedelta(days=5),
    )
    _event(session, world, "listing.created", subject_type="listing", subject_id=3, at=NOON + timedelta(days=10))
    return world, dora


def _shown(page: str) -> set[str]:
    return {
        code
        for code in ("member.suspended", "exchange.rejected", "listing.created")
        if f"<dd><code>{code}</code></dd>" in page  # each event's code, behind "Technical detail"
    }


def test_search_finds_words_in_what_changed_in_the_action_and_in_names(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world, _dora = _filtering_world(session, factory)
    auth.login(world.coordinator)
    assert _shown(_page(client, "/coordinator/audit?q=garden")) == {"member.suspended"}
    assert _shown(_page(client, "/coordinator/audit?q=CAFÉ")) == {"exchange.rejected"}  # accented, any case
    assert _shown(_page(client, "/coordinator/audit?q=dupré")) == {"exchange.rejected"}  # the actor's name
    assert _shown(_page(client, "/coordinator/audit?q=listing")) == {"listing.created"}
    assert _shown(_page(client, "/coordinator/audit?q=rota+missed")) == {"member.suspended"}  # every word
    page = _page(client, "/coordinator/audit?q=nothing-like-this")
    assert _shown(page) == set() and "Nothing matches that search" in page


def test_filters_narrow_by_action_actor_subject_and_dates(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world, dora = _filtering_world(session, factory)
    auth.login(world.coordinator)
    assert _shown(_page(client, "/coordinator/audit?action=member.suspended")) == {"member.suspended"}
    assert _shown(_page(client, f"/coordinator/audit?actor={dora.id}")) == {"exchange.rejected"}
    assert _shown(_page(client, "/coordinator/audit?subject=listing")) == {"listing.created"}
    assert _shown(_page(client, "/coordinator/audit?date_from=2026-03-15")) == {"exchange.rejected", "listing.created"}
    assert _shown(_page(client, "/coordinator/audit?date_to=15/03/2026")) == {"member.suspended", "exchange.rejected"}
    assert _shown(_page(client, "/coordinator/audit?date_from=2026-03-15&date_to=2026-03-15")) == {"exchange.rejected"}
    # The filter lists offer what happened here, in words.
    page = _page(client, "/coordinator/audit")
    assert '<option value="exchange.rejected">rejected an exchange</option>' in page
    assert f'<option value="{dora.id}">Dora Dupré</option>' in page


def test_a_day_is_the_timebanks_day_not_utc(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time).
    _event(session, world, "member.suspended", at=datetime(2026, 6, 30, 23, 30))
    auth.login(world.coordinator)
    assert _shown(_page(client, "/coordinator/audit?date_from=2026-07-01&date_to=2026-07-01")) == {"member.suspended"}
    assert _shown(_page(client, "/coordinator/audit?date_to=2026-06-30")) == set()


def test_filters_that_make_no_sense_are_explained_with_a_422(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world, _dora = _filtering_world(session, factory)
    auth.login(world.coordinator)
    page = _page(client, "/coordinator/audit?date_from=31/02/2026", 422)
    assert "There is a problem" in page and "The date must be a real date" in page and _shown(page) == set()
    page = _page(client, "/coordinator/audit?date_from=2026-03-20&date_to=2026-03-01", 422)
    assert "The end date must be on or after the start date." in page
    assert _page(client, "/coordinator/audit?action=made.up", 422)
    assert _page(client, "/coordinator/audit?actor=99999999999", 422)
    assert _page(client, "/coordinator/audit?actor=someone", 422)
    assert _page(client, "/coordinator/audit?q=" + "x" * 201, 422)
    # The export refuses the same way rather than exporting everything.
    assert client.get("/coordinator/audit.csv?date_from=nonsense").status_code == 422


# -- the CSV export -----------------------------------------------------------------------


def test_the_export_has_a_header_and_the_filtered_rows_newest_first(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world, dora = _filtering_world(session, factory)
    auth.login(world.coordinator)
    rows = _csv_rows(client, "/coordinator/audit.csv")
    assert tuple(rows[0]) == CSV_HEADER
    assert [row[CSV_HEADER.index("action")] for row in rows[1:]] == [
        "listing.created",
        "exchange.rejected",
        "member.suspended",
    ]
    rejected = dict(zip(CSV_HEADER, rows[2], strict=True))
    assert rejected["actor"] == "Dora Dupré" and rejected["actor_id"] == str(dora.id)
    assert rejected["what"] == "rejected an exchange"
    assert rejected["subject_type"] == "exchange" and rejected["subject_id"] == "7"
    assert rejected["after"] == '{"reason": "Café visit was not in the timebank"}'
    assert rejected["when_utc"] == "2026-03-15T12:00:00Z" and rejected["when_local"] == "2026-03-15T12:00:00+00:00"
    filtered = _csv_rows(client, f"/coordinator/audit.csv?actor={dora.id}")
    assert len(filtered) == 2 and filtered[1][CSV_HEADER.index("action")] == "exchange.rejected"
    # The page links to the export with the same filters.
    assert f'href="/coordinator/audit.csv?actor={dora.id}"' in _page(client, f"/coordinator/audit?actor={dora.id}")


def test_the_export_quotes_commas_and_newlines_and_defuses_formulas(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    sneaky = factory.member(world.timebank, '=HYPERLINK("http://evil")', role=Role.COORDINATOR)
    _event(session, world, "member.suspended", actor=sneaky, after={"reason": 'Late, twice\nand "rude"'})
    _event(session, world, "@SUM(1+1)", subject_type="+cmd|' /C calc'!A0")
    auth.login(world.coordinator)
    rows = _csv_rows(client, "/coordinator/audit.csv")
    by_action = {row[CSV_HEADER.index("action")]: dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]}
    suspended = by_action["member.suspended"]
    assert suspended["actor"] == '\'=HYPERLINK("http://evil")'
    assert suspended["after"] == '{"reason": "Late, twice\\nand \\"rude\\""}'
    formula = by_action["'@SUM(1+1)"]
    assert formula["subject_type"] == "'+cmd|' /C calc'!A0"
    assert formula["what"] == "'@SUM(1+1)"


def test_safe_cell_prefixes_only_what_a_spreadsheet_would_run() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "plain", "a=b", 42, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "plain",
        "a=b",
        "42",
        "",
    ]


def test_the_export_is_a_generator_that_reads_rows_as_it_goes(session: Session, factory: Factory) -> None:
    world = factory.world()
    for number in range(3):
        _event(session, world, "member.note_added", after={"n": number})
    lines = iter_events_csv(session, world.coordinator, AuditFilters())
    assert isinstance(lines, types.GeneratorType)
    assert next(lines).startswith("\ufeffevent_id,when_utc")  # the header, before any row is read
    assert len(list(lines)) == 3


def test_the_service_refuses_participants_and_limits_coordinators_to_their_timebank(
    session: Session, factory: Factory
) -> None:
    world = factory.world()
    oscar = _coordinator_b(factory, world)
    _event(session, world, "member.suspended")
    _event(session, world, "member.suspended", actor=oscar, timebank_id=world.other_timebank.id)
    assert search_events(session, world.coordinator, AuditFilters()).total == 1
    assert search_events(session, oscar, AuditFilters()).total == 1
    with pytest.raises(NotACoordinator):
        search_events(session, world.alice, AuditFilters())
    with pytest.raises(NotAnAdmin):
        search_events(session, world.coordinator, AuditFilters(), installation=True)


# -- coordinator actions leave a record -------------------------------------------------------


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _recorded_exchange(session: Session, world: World, minutes: int = 90) -> Exchange:
    assert world.alice.account is not None and world.bob.account is not None
    exchange = record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=minutes,
            performed_on=today_in(world.timebank.time_zone),
            description="Dug the vegetable bed",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    return exchange


def test_approving_an_application_is_recorded_with_the_coordinator_and_before_and_after(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    applicant = factory.member(world.timebank, "Adam Applicant", status=MemberStatus.APPLIED)
    auth.login(world.coordinator)
    response = client.post(
        f"/coordinator/applications/{applicant.id}/approve",
        data={"approve-checks_done": "y", "approve-checks_note": "Two references, by phone"},
    )
    assert response.status_code == 302
    [event] = _events(session, "member.approved")
    assert (event.actor_id, event.subject_type, event.subject_id) == (world.coordinator.id, "member", applicant.id)
    assert event.timebank_id == world.timebank.id
    assert event.before == {"status": "applied"} and event.after is not None and event.after["status"] == "approved"
    page = _page(client, "/coordinator/audit?action=member.approved")
    assert "approved an application" in page
    assert '<td data-label="Before">applied</td><td data-label="After">approved</td>' in page


def test_approving_and_rejecting_exchanges_are_recorded(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    to_approve, to_reject = _recorded_exchange(session, world), _recorded_exchange(session, world, 60)
    auth.login(world.coordinator)
    approve = {"reason": "Confirmed on the paper timesheet"}  # not confirmed by the other side yet
    assert client.post(f"/coordinator/exchanges/{to_approve.id}/approve", data=approve).status_code == 302
    reason = "We can't count time spent on that"
    response = client.post(f"/coordinator/exchanges/{to_reject.id}/reject", data={"reject-reason": reason})
    assert response.status_code == 302
    [approved] = _events(session, "exchange.approved")
    [rejected] = _events(session, "exchange.rejected")
    assert (approved.actor_id, approved.subject_id) == (world.coordinator.id, to_approve.id)
    assert (rejected.actor_id, rejected.subject_id) == (world.coordinator.id, to_reject.id)
    assert rejected.after is not None and rejected.after["reason"] == reason
    assert session.get(Exchange, to_reject.id).status == ExchangeStatus.REJECTED  # type: ignore[union-attr]
    page = _page(client, "/coordinator/audit?subject=exchange")
    assert "approved an exchange" in page and "rejected an exchange" in page
    assert f'href="/exchanges/{to_reject.id}"' in page


def test_editing_a_profile_for_a_member_is_recorded_on_their_behalf(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    auth.login(world.coordinator)
    form = {"contact_preference": "email", "show_area": "y", "show_about": "y", "show_availability": "y"}
    response = client.post(f"/members/{world.alice.id}/profile", data={**form, "show_phone": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    [event] = _events(session, "member.profile_updated")
    assert (event.actor_id, event.on_behalf_of_id, event.subject_id) == (
        world.coordinator.id,
        world.alice.id,
        world.alice.id,
    )
    assert event.before == {"show_phone": False} and event.after is not None and event.after["show_phone"] is True
    page = _page(client, "/coordinator/audit?q=alice")
    assert "<strong>Cora Coordinator</strong> for <strong>Alice</strong>" in page
    assert '<th scope="row">Show phone</th><td data-label="Before">no</td><td data-label="After">yes</td>' in page
    row = _csv_rows(client, "/coordinator/audit.csv?action=member.profile_updated")[1]
    assert row[CSV_HEADER.index("on_behalf_of")] == "Alice"


def test_reading_the_trail_changes_nothing(
    session: Session, factory: Factory, auth: AuthActions, client: FlaskClient
) -> None:
    world = factory.world()
    _event(session, world, "member.suspended")
    count = session.scalar(select(func.count(AuditEvent.id)))
    auth.login(world.coordinator)
    _page(client, "/coordinator/audit")
    _csv_rows(client, "/coordinator/audit.csv")
    session.rollback()
    assert session.scalar(select(func.count(AuditEvent.id))) == count


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_an_event_cannot_be_edited_or_deleted_through_the_app_either(
    session: Session, factory: Factory, change: str
) -> None:
    """The schema the app's tests build (create_all) refuses it too, not only the migrated one."""
    world = factory.world()
    event = _event(session, world, "member.suspended", after={"reason": "Kept"})
    if change == "edit":
        event.after = {"reason": "Rewritten"}
    else:
        session.delete(event)
    with pytest.raises(DBAPIError):
        session.commit()
    session.rollback()
    assert session.scalars(select(AuditEvent)).one().after == {"reason": "Kept"}
