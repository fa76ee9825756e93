"""Sending the email outbox. Run by the scheduler (and ``flask timebank`` once), never by a web
request.

Each row is claimed before it is sent, with a conditional UPDATE that only succeeds while the
row is still unsent and unclaimed (or its claim is old enough to retry), committed at once. The
database decides which sender gets a row, so two senders running at the same time never send
one email twice. The claim counts as an attempt. A failed send (``MailNotSent``) records the
error and keeps the row: it is tried again once ``RETRY_AFTER`` has passed since its last
claim, up to ``MAX_ATTEMPTS`` attempts in all; after that it stays in the outbox, unsent, with
its last error, for someone to look at. A sender that died after claiming a row is covered by
the same rule: its claim goes stale and the row is tried again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from ..ledger import write_transaction
from ..mail import MailNotSent, send_email
from ..models import OutboundEmail, utcnow

MAX_ATTEMPTS = 5
# Also the longest a claimed row may take to send before another sender may try it, so it is
# kept well above MAIL_TIMEOUT_SECONDS.
RETRY_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0  # not sent this time; will be tried again
    gave_up: int = 0  # failed for the last allowed time; left unsent with its error
    skipped: int = 0  # another sender claimed it first

    @property
    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.failed} to retry, {self.gave_up} given up, {self.skipped} taken by another sender"
        )


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Unsent, attempts left, and not claimed (or claimed long enough ago to try again)."""
    return (
        OutboundEmail.sent_at.is_(None),
        OutboundEmail.attempts < MAX_ATTEMPTS,
        or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at <= now - RETRY_AFTER),
    )


def deliver_outbox(session: Session, *, limit: int = 200, now: datetime | None = None) -> DeliveryResult:
    """Send up to ``limit`` waiting emails, oldest first. ``now`` is for tests and catch-up."""
    moment = now or utcnow()
    ids = list(
        session.scalars(select(OutboundEmail.id).where(*_claimable(moment)).order_by(OutboundEmail.id).limit(limit))
    )
    session.commit()  # end the read transaction: nothing is held open while mail is sent
    sent = failed = gave_up = skipped = 0
    for email_id in ids:
        token = _claim(session, email_id, moment)
        if token is None:
            skipped += 1
            continue
        email = session.get(OutboundEmail, email_id, populate_existing=True)
        assert email is not None
        try:
            send_email(
                email.to_address,
                email.subject,
                email.text_body,
                email.html_body or None,
                headers=parse_headers(email.headers),
            )
        except MailNotSent as error:
            _finish(session, email_id, token, error=str(error) or error.__class__.__name__)
            if email.attempts >= MAX_ATTEMPTS:
                gave_up += 1
            else:
                failed += 1
        else:
            _finish(session, email_id, token, sent_at=utcnow())
            sent += 1
    return DeliveryResult(sent=sent, failed=failed, gave_up=gave_up, skipped=skipped)


def parse_headers(lines: str) -> dict[str, str]:
    """The row's "Name: value" lines as a mapping (blank and malformed lines are ignored)."""
    headers: dict[str, str] = {}
    for line in lines.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    return headers


def _claim(session: Session, email_id: int, now: datetime) -> str | None:
    """Take the row for this sender, or None when another sender has it (or it was sent)."""
    token = secrets.token_hex(16)
    with write_transaction(session):
        result = session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, *_claimable(now))
            .values(claimed_at=now, claim_token=token, attempts=OutboundEmail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return token if getattr(result, "rowcount", 0) == 1 else None


def _finish(session: Session, email_id: int, token: str, *, sent_at: datetime | None = None, error: str = "") -> None:
    """Record the outcome, only if the claim is still ours."""
    values: dict[str, object] = {"last_error": error[:500]}
    if sent_at is not None:
        values["sent_at"] = sent_at
    with write_transaction(session):
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.claim_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
