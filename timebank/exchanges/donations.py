"""Donations: a member gives some of their time credit to the community pool.

The pool holds what members give so a coordinator can pass it on to people who need help but
cannot earn (DESIGN.md: "one community pool (donations)"). A donation posts at once; the
member's floor still applies, like any spending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..clock import today_in
from ..models import Member, MemberStatus, Timebank, Transfer, TransferPurpose
from ..timebanks.service import pool_account
from .errors import InvalidExchange, NotAllowed

MAX_NOTE = 300


@dataclass(frozen=True)
class DonationRequest:
    minutes: int
    note: str
    request_key: str


def donate(session: Session, actor: Member, request: DonationRequest, *, today: date | None = None) -> Transfer:
    """Give ``minutes`` of the member's credit to the pool. Sending the same form twice (same
    request key) gives once; the ledger's idempotency key is derived from the member and the key."""
    note = request.note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidExchange(f"Keep the note under {MAX_NOTE} characters.", field="note")
    if not request.request_key.strip() or len(request.request_key) > 150:
        raise ledger.InvalidIdempotencyKey("This form is missing its reference. Please reload the page and try again.")
    with ledger.write_transaction(session):
        if actor.timebank_id is None or actor.status != MemberStatus.APPROVED or actor.account is None:
            raise NotAllowed("Only approved members of a timebank can give time credit.")
        timebank = session.get(Timebank, actor.timebank_id)
        assert timebank is not None
        try:
            ledger.validate_amount(request.minutes, timebank.granularity_minutes)
        except ledger.InvalidAmount as error:
            raise InvalidExchange(error.message, field="amount") from error
        key = f"donation-{actor.id}-{request.request_key}"
        already = session.scalar(
            select(Transfer.id).where(Transfer.timebank_id == timebank.id, Transfer.idempotency_key == key)
        )
        pool = pool_account(session, timebank.id)
        transfer = ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=actor.account.id,
            credit_account_id=pool.id,
            amount_minutes=request.minutes,
            value_date=today if today is not None else today_in(timebank.time_zone),
            purpose=TransferPurpose.DONATION,
            idempotency_key=key,
            memo=note,
            created_by_id=actor.id,
        )
        if already is None:
            audit(
                session,
                action="donation.given",
                subject_type="transfer",
                subject_id=transfer.id,
                actor=actor,
                timebank_id=timebank.id,
                after={"minutes": request.minutes, "note": note},
            )
    return transfer
