"""The outbox: every email the app has queued or sent, for an admin to read in development,
where no SMTP server is set and the scheduler's ``send_emails`` only writes mail to the log.

Only in development (``OUTBOX_PAGE``, off in production): the emails hold password-reset links
and members' private messages, which nobody but their recipient should read on a real
installation. Admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Member, OutboundEmail
from ..pagination import Page, page_of
from .errors import NotAnAdmin

PER_PAGE = 20


@dataclass(frozen=True)
class OutboxEmail:
    to: str
    subject: str
    body: str
    queued_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str


def outbox(session: Session, viewer: Member, page: int | None) -> Page[OutboxEmail]:
    """One page of the outbox, newest first."""
    if not viewer.is_admin:
        raise NotAnAdmin("Only an installation admin can read the outbox.")
    query = select(OutboundEmail).order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
    found = page_of(session, query, page, PER_PAGE)
    emails = [
        OutboxEmail(
            to=row.to_address,
            subject=row.subject,
            body=row.text_body,
            queued_at=row.created_at,
            sent_at=row.sent_at,
            attempts=row.attempts,
            last_error=row.last_error,
        )
        for row in found.items
    ]
    return Page(emails, found.page, found.per_page, found.total)
