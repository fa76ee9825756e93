"""The weekly digest: new offers and requests of the member's timebank, by email.

The job runs every hour and decides per timebank: from Monday 08:00 local time the week's digest
is due, and it stays due until the week ends, so a server that was down on Monday catches up at
its next run that week (a week missed entirely is not sent late). Each digest lists the offers and
requests added in the seven days before that Monday 08:00 (still open, not the member's own), so
a late run sends what Monday would have sent.

Who gets it: approved members who opted in (``Member.weekly_digest``) and have an email. A member
with nothing new is skipped. Each email is an ``OutboundEmail`` with the unique dedupe key
``digest:<ISO year>-W<week>:<member id>``, inserted with ON CONFLICT DO NOTHING, so a second run or
a second scheduler queues nothing more; the mail job sends it. It carries an unsubscribe link
(a signed token, ``digest.service``) in its body and in ``List-Unsubscribe`` headers (RFC 8058
one-click).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..digest.service import make_unsubscribe_token
from ..ledger import write_transaction
from ..models import (
    Category,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    MemberStatus,
    OutboundEmail,
    Timebank,
)
from ..notifications.service import queue_email
from ..templating import human_date
from .runs import JobResult

DIGEST_KIND = "digest.weekly"
SEND_WEEKDAY = 0  # Monday
SEND_TIME = time(8, 0)
MAX_PER_KIND = 30  # listings shown per kind; the email links to the rest


@dataclass(frozen=True)
class DigestWeek:
    """One timebank's digest week: its key and the window of new listings (naive UTC)."""

    iso_year: int
    week: int
    since: datetime
    until: datetime
    monday: date

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.week:02d}"


def digest_week(time_zone: str, now: datetime) -> DigestWeek | None:
    """The week whose digest is due at ``now`` in the time zone, or None before Monday 08:00."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=(local.weekday() - SEND_WEEKDAY) % 7)
    send_at = datetime.combine(monday, SEND_TIME, tzinfo=zone)
    if local < send_at:
        return None
    iso_year, week, _ = monday.isocalendar()
    until = send_at.astimezone(UTC).replace(tzinfo=None)
    since = (datetime.combine(monday - timedelta(days=7), SEND_TIME, tzinfo=zone)).astimezone(UTC).replace(tzinfo=None)
    return DigestWeek(iso_year=iso_year, week=week, since=since, until=until, monday=monday)


def dedupe_key(week: DigestWeek, member_id: int) -> str:
    return f"digest:{week.label}:{member_id}"


@dataclass(frozen=True)
class DigestItem:
    listing_id: int
    member_id: int
    kind: ListingKind
    title: str
    owner: str
    category: str
    url: str


def public_url(endpoint: str, **values: object) -> str:
    """An absolute address in the app, for emails: PUBLIC_BASE_URL + the route's path."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + path


def queue_weekly_digests(session: Session, *, now: datetime) -> JobResult:
    timebanks = session.scalars(select(Timebank).order_by(Timebank.id)).all()
    queued = nothing_new = already = not_due = 0
    labels: set[str] = set()
    for timebank in timebanks:
        week = digest_week(timebank.time_zone, now)
        if week is None:
            not_due += 1
            continue
        labels.add(week.label)
        counts = _queue_for_timebank(session, timebank, week, now)
        queued += counts[0]
        nothing_new += counts[1]
        already += counts[2]
    session.commit()
    parts = [f"Queued {queued} weekly digest{'s' if queued != 1 else ''}"]
    if labels:
        parts[0] += f" for {', '.join(sorted(labels))}"
    parts.append(f"{nothing_new} member{'s' if nothing_new != 1 else ''} had nothing new, so got none")
    parts.append(f"{already} already queued")
    if not_due:
        parts.append(f"not due yet in {not_due} timebank{'s' if not_due != 1 else ''}")
    return JobResult("; ".join(parts) + ".")


def _queue_for_timebank(session: Session, timebank: Timebank, week: DigestWeek, now: datetime) -> tuple[int, int, int]:
    """(queued, nothing new, already queued) for one timebank's digest week."""
    today = now.astimezone(ZoneInfo(timebank.time_zone)).date()
    readers = session.scalars(
        select(Member)
        .where(
            Member.timebank_id == timebank.id,
            Member.status == MemberStatus.APPROVED,
            Member.weekly_digest.is_(True),
            Member.email.is_not(None),
            Member.email != "",
            Member.left_at.is_(None),
        )
        .order_by(Member.id)
    ).all()
    if not readers:
        return 0, 0, 0
    keys = {dedupe_key(week, member.id): member for member in readers}
    done = set(session.scalars(select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(keys))))
    items = _new_listings(session, timebank, week, today)
    queued = nothing_new = raced = 0
    secret_key = current_app.config["SECRET_KEY"]
    with write_transaction(session):
        for key, member in keys.items():
            if key in done:
                continue
            theirs = [item for item in items if item.member_id != member.id]
            if not theirs:
                nothing_new += 1
                continue
            unsubscribe = public_url("digest.unsubscribe", token=make_unsubscribe_token(secret_key, member.id))
            context = {
                "member": member,
                "timebank": timebank,
                "offers": [i for i in theirs if i.kind == ListingKind.OFFER][:MAX_PER_KIND],
                "requests": [i for i in theirs if i.kind == ListingKind.REQUEST][:MAX_PER_KIND],
                "total": len(theirs),
                "week_starting": human_date(week.monday - timedelta(days=7)),
                "listings_url": public_url("listings.index"),
                "unsubscribe_url": unsubscribe,
            }
            email = queue_email(
                session,
                member=member,
                kind=DIGEST_KIND,
                subject=_subject(timebank, len(theirs)),
                text_body=render_template("email/digest.txt", **context),
                html_body=render_template("email/digest.html", **context),
                headers={
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                dedupe_key=key,
            )
            if email is None:  # another scheduler queued it a moment ago
                raced += 1
            else:
                queued += 1
    return queued, nothing_new, len(done) + raced


def _subject(timebank: Timebank, count: int) -> str:
    things = "new offer or request" if count == 1 else "new offers and requests"
    return f"{count} {things} at {timebank.name} this week"


def _new_listings(session: Session, timebank: Timebank, week: DigestWeek, today: date) -> list[DigestItem]:
    """Offers and requests added in the digest window that are still open, by approved members."""
    rows = session.execute(
        select(Listing.id, Listing.member_id, Listing.kind, Listing.title, Member.display_name, Category.name)
        .join(Member, Member.id == Listing.member_id)
        .outerjoin(Category, Category.id == Listing.category_id)
        .where(
            Listing.timebank_id == timebank.id,
            Listing.status == ListingStatus.OPEN,
            or_(Listing.ends_on.is_(None), Listing.ends_on >= today),
            Listing.created_at >= week.since,
            Listing.created_at < week.until,
            Member.status == MemberStatus.APPROVED,
        )
        .order_by(Listing.created_at, Listing.id)
    ).all()
    return [
        DigestItem(
            listing_id=listing_id,
            member_id=member_id,
            kind=kind,
            title=title,
            owner=owner,
            category=category or "",
            url=public_url("listings.show", listing_id=listing_id),
        )
        for listing_id, member_id, kind, title, owner, category in rows
    ]
