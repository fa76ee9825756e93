"""Offers and requests past their end date are paused, and their owners told.

One set-based UPDATE per timebank (each has its own "today") pauses every open listing whose
``ends_on`` is before today and returns the rows it changed; only those owners are told. Of two
schedulers at once, the second UPDATE finds the rows no longer open (PostgreSQL re-checks the
condition after waiting for the first one's row locks; SQLite's write lock serialises them), so
nobody is told twice; the notification's dedupe key backs that up.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..ledger import write_transaction
from ..models import Listing, ListingKind, ListingStatus, Member, Timebank
from ..templating import human_date
from .runs import JobResult, naive_utc


def pause_ended_listings(session: Session, *, now: datetime) -> JobResult:
    from ..notifications.service import notify

    timebanks = session.execute(select(Timebank.id, Timebank.time_zone).order_by(Timebank.id)).all()
    paused = 0
    for timebank_id, time_zone in timebanks:
        today = now.astimezone(ZoneInfo(time_zone)).date()
        with write_transaction(session):
            rows = session.execute(
                update(Listing)
                .where(
                    Listing.timebank_id == timebank_id,
                    Listing.status == ListingStatus.OPEN,
                    Listing.ends_on < today,
                )
                .values(status=ListingStatus.PAUSED, updated_at=naive_utc(now))
                .returning(Listing.id, Listing.member_id, Listing.kind, Listing.title, Listing.ends_on)
                .execution_options(synchronize_session=False)
            ).all()
            if not rows:
                continue
            owner_ids = {row.member_id for row in rows}
            owners = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(owner_ids)))}
            for row in rows:
                audit(
                    session,
                    action="listing.paused",
                    subject_type="listing",
                    subject_id=row.id,
                    actor=None,
                    timebank_id=timebank_id,
                    before={"status": ListingStatus.OPEN.value},
                    after={"status": ListingStatus.PAUSED.value, "ended_on": row.ends_on.isoformat()},
                )
                word = "offer" if row.kind == ListingKind.OFFER else "request"
                notify(
                    session,
                    owners[row.member_id],
                    "listing.paused",
                    f"Your {word} “{row.title}” ended on {human_date(row.ends_on)}, so it is paused and "
                    "nobody can answer it. To offer it again, change its end date and reopen it.",
                    link=f"/listings/{row.id}",
                    dedupe_key=f"listing:{row.id}:ended:{row.ends_on.isoformat()}",
                )
            paused += len(rows)
    session.commit()
    return JobResult(f"Paused {paused} listing{'s' if paused != 1 else ''} past their end date.")
