"""Sending the email outbox: ``notifications.delivery.deliver_outbox`` does the work (each row is
claimed with a conditional UPDATE, so two schedulers never send one email twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .runs import JobResult, naive_utc


def send_emails(session: Session, *, now: datetime) -> JobResult:
    from ..notifications.delivery import deliver_outbox

    result = deliver_outbox(session, now=naive_utc(now))
    problems = (f"{result.gave_up} email(s) could not be sent after every attempt",) if result.gave_up else ()
    return JobResult(f"Emails: {result.summary}.", problems)
