"""Every exchange's status against its transfers (part of ``check_ledger``).

An exchange's hours live in the ledger as its reservation (a pending transfer, from the
recipient's account to the provider's, of the exchange's minutes, in its timebank), resolved at
most once by a POST or VOID row, and a POST reversed at most once. Each status allows only some
of those shapes (``EXPECTED``); anything else is reported by exchange id. This module reads the
models only: the ledger never imports the exchanges' services, so this is the independent view
of what their state machine must have written.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import Exchange, ExchangeStatus, Transfer, TransferPhase, TransferPurpose

# The shapes of an exchange's reservation in the ledger.
UNRESERVED = "unreserved"  # no reservation was ever made
RESERVED = "reserved"  # a pending transfer, not yet resolved
POSTED = "posted"  # resolved by a POST row (the credits moved), not reversed
VOIDED = "voided"  # resolved by a VOID row (the hours released)
REVERSED = "reversed"  # posted, and the POST row reversed

S = ExchangeStatus
EXPECTED: dict[ExchangeStatus, frozenset[str]] = {
    S.PROPOSED: frozenset({UNRESERVED}),
    S.ACCEPTED: frozenset({UNRESERVED}),
    S.DECLINED: frozenset({UNRESERVED}),
    S.RECORDED: frozenset({RESERVED}),
    S.CONFIRMED: frozenset({RESERVED}),
    S.DISPUTED: frozenset({RESERVED}),
    S.APPROVED: frozenset({POSTED}),
    S.REJECTED: frozenset({VOIDED, UNRESERVED}),
    S.CANCELLED: frozenset({VOIDED, UNRESERVED}),
    S.EXPIRED: frozenset({VOIDED}),
    S.REVERSED: frozenset({REVERSED}),
}

_SHOULD = {
    frozenset({UNRESERVED}): "no hours should be reserved for it",
    frozenset({RESERVED}): "its hours should be reserved and waiting",
    frozenset({POSTED}): "its reservation should be posted once",
    frozenset({VOIDED, UNRESERVED}): "its reservation, if it had one, should be voided",
    frozenset({VOIDED}): "its reservation should be voided",
    frozenset({REVERSED}): "its reservation should be posted and the posting reversed once",
}

_IS = {
    UNRESERVED: "it has no reservation",
    RESERVED: "its reservation (transfer {id}) is still waiting",
    POSTED: "its reservation (transfer {id}) was posted",
    VOIDED: "its reservation (transfer {id}) was voided",
    REVERSED: "its reservation (transfer {id}) was posted and the posting reversed",
}


def exchange_problems(session: Session) -> list[str]:
    """One message per exchange whose status its transfers do not bear out, or whose reservation
    is not one of its hours between its two sides; and per reservation claimed twice."""
    reservation = aliased(Transfer)
    resolution = aliased(Transfer)
    reversal = aliased(Transfer)
    shape = case(
        (Exchange.pending_transfer_id.is_(None), UNRESERVED),
        (resolution.id.is_(None), RESERVED),
        (resolution.phase == TransferPhase.VOID, VOIDED),
        (reversal.id.is_(None), POSTED),
        else_=REVERSED,
    )
    allowed = or_(*(and_(Exchange.status == status, shape.in_(shapes)) for status, shapes in EXPECTED.items()))
    sound_reservation = or_(
        Exchange.pending_transfer_id.is_(None),
        and_(
            Exchange.minutes.is_not(None),
            reservation.phase == TransferPhase.PENDING,
            reservation.purpose == TransferPurpose.EXCHANGE,
            reservation.amount_minutes == Exchange.minutes,
            reservation.debit_account_id == Exchange.recipient_account_id,
            reservation.credit_account_id == Exchange.provider_account_id,
            reservation.timebank_id == Exchange.timebank_id,
        ),
    )
    rows = session.execute(
        select(Exchange.id, Exchange.status, Exchange.pending_transfer_id, shape, allowed, sound_reservation)
        .outerjoin(reservation, reservation.id == Exchange.pending_transfer_id)
        .outerjoin(resolution, resolution.pending_id == Exchange.pending_transfer_id)
        .outerjoin(reversal, reversal.reverses_id == resolution.id)
        .where(or_(~allowed, ~sound_reservation))
        .order_by(Exchange.id)
    )
    problems = []
    for exchange_id, status, reservation_id, found, is_allowed, is_sound in rows:
        if not is_sound:
            problems.append(
                f"exchange {exchange_id}: its reservation (transfer {reservation_id}) is not a pending exchange "
                "transfer of its minutes from the recipient's account to the provider's in its timebank"
            )
        if not is_allowed:
            should = _SHOULD.get(EXPECTED.get(status, frozenset()), "its status is unknown to the ledger check")
            problems.append(
                f"exchange {exchange_id} is {status.value}, so {should}, but {_IS[found].format(id=reservation_id)}"
            )
    shared = session.execute(
        select(Exchange.pending_transfer_id, func.count(Exchange.id))
        .where(Exchange.pending_transfer_id.is_not(None))
        .group_by(Exchange.pending_transfer_id)
        .having(func.count(Exchange.id) > 1)
        .order_by(Exchange.pending_transfer_id)
    )
    problems += [f"transfer {transfer_id} is the reservation of {count} exchanges" for transfer_id, count in shared]
    return problems
