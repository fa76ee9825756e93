"""Recorded time nobody confirms: a reminder half-way, then expiry.

An exchange whose time was recorded (hours reserved) waits for the other side to confirm it.
After half the timebank's ``pending_expiry_days`` both sides are reminded, once (the
notification's dedupe key ``exchange:<id>:reminder`` is unique per member, so a second run or a
second scheduler reminds nobody twice). After the full number of days the exchange expires
(``exchanges.service.expire_exchange``: the reservation is voided, both sides are told; the
exchange row lock decides between two schedulers).

Confirmed and disputed exchanges hold hours too but are not expired or reminded here: they wait
for a coordinator, and sit at the top of the approvals queue (oldest first). Expiring a dispute
would decide it against the recorder without anyone looking at it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .. import ledger
from ..exchanges.errors import ExchangeError
from ..exchanges.permissions import is_recorder, other_account
from ..exchanges.service import expire_exchange, expiry_due_at, people_to_tell
from ..hours import hours_in_words
from ..models import AccountKind, Exchange, ExchangeStatus, Member, Notification, Timebank
from ..templating import human_date
from .runs import JobResult, naive_utc

REMINDER_KIND = "exchange.reminder"


def expire_pending_exchanges(session: Session, *, now: datetime) -> JobResult:
    """Expire recorded exchanges left unconfirmed for N days; remind both sides at N/2."""
    moment = naive_utc(now)
    timebanks = session.execute(select(Timebank.id, Timebank.pending_expiry_days).order_by(Timebank.id)).all()
    expired = reminded = 0
    problems: list[str] = []
    for timebank_id, days in timebanks:
        cutoff = moment - timedelta(days=days)
        due = session.scalars(
            select(Exchange.id)
            .where(
                Exchange.timebank_id == timebank_id,
                Exchange.status == ExchangeStatus.RECORDED,
                Exchange.recorded_at <= cutoff,
            )
            .order_by(Exchange.id)
        ).all()
        for exchange_id in due:
            try:
                if expire_exchange(session, exchange_id, now=now) is not None:
                    expired += 1
            except (ExchangeError, ledger.LedgerError) as error:
                problems.append(f"exchange {exchange_id}: {error.message}")
        halfway = moment - timedelta(days=days) / 2
        already_reminded = exists().where(Notification.exchange_id == Exchange.id, Notification.kind == REMINDER_KIND)
        to_remind = session.scalars(
            select(Exchange.id)
            .where(
                Exchange.timebank_id == timebank_id,
                Exchange.status == ExchangeStatus.RECORDED,
                Exchange.recorded_at <= halfway,
                Exchange.recorded_at > cutoff,
                ~already_reminded,
            )
            .order_by(Exchange.id)
        ).all()
        for exchange_id in to_remind:
            reminded += remind_unconfirmed(session, exchange_id, now=now)
    session.commit()
    summary = (
        f"Expired {expired} unconfirmed exchange{'s' if expired != 1 else ''}; "
        f"sent {reminded} reminder{'s' if reminded != 1 else ''}."
    )
    return JobResult(summary, tuple(problems))


def remind_unconfirmed(session: Session, exchange_id: int, *, now: datetime) -> int:
    """Remind both sides of a recorded exchange that it will expire; how many were reminded
    now (0 when it was already done, or the exchange moved on)."""
    from ..notifications.service import notify

    with ledger.write_transaction(session):
        exchange = session.scalar(
            select(Exchange)
            .where(Exchange.id == exchange_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if exchange is None or exchange.status != ExchangeStatus.RECORDED:
            return 0
        timebank = session.get(Timebank, exchange.timebank_id)
        assert timebank is not None
        due = expiry_due_at(exchange, timebank)
        if due is None or due <= naive_utc(now):
            return 0
        by = human_date(due.replace(tzinfo=UTC).astimezone(ZoneInfo(timebank.time_zone)).date())
        sent = 0
        for member in people_to_tell(session, exchange):
            message, needs_action = _reminder(exchange, member, by)
            notification = notify(
                session,
                member,
                REMINDER_KIND,
                message,
                link=f"/exchanges/{exchange.id}",
                exchange_id=exchange.id,
                needs_action=needs_action,
                dedupe_key=f"exchange:{exchange.id}:reminder",
            )
            sent += notification is not None
    return sent


def _reminder(exchange: Exchange, member: Member, by: str) -> tuple[str, bool]:
    """The reminder's words for one person, and whether it is theirs to act on."""
    minutes = hours_in_words(exchange.minutes) if exchange.minutes else "time"
    when = human_date(exchange.performed_on) if exchange.performed_on else "recently"
    other_side = other_account(exchange, member)
    other = other_side.name
    if is_recorder(exchange, member):
        waiting_on = (
            "A coordinator has not approved"
            if other_side.kind == AccountKind.ORGANISATION
            else f"{other} has not confirmed"
        )
        return (
            f"{waiting_on} the {minutes} you recorded (on {when}) yet. "
            f"If nobody does by {by}, the record expires and the hours are released.",
            False,
        )
    if (
        member.is_coordinator
        and exchange.provider_account.member_id != member.id
        and (exchange.recipient_account.member_id != member.id)
    ):
        return (
            f"{exchange.provider_account.name} gave {exchange.recipient_account.name} {minutes} on {when}: the "
            f"record is waiting for a coordinator to approve it. If nobody does by {by}, it expires.",
            True,
        )
    return (
        f"{other} recorded {minutes} with you (on {when}). Please confirm it, or say if it is wrong, "
        f"by {by}. After that the record expires and the hours are released.",
        True,
    )
