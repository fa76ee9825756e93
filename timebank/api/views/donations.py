"""``POST /donations``: a member gives some of their time credit to their timebank's community
pool. The exchanges service's ``donate`` decides everything (who may, steps of time, the floor);
this view only reads the body and shows the transfer it made."""

from __future__ import annotations

import hashlib
from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from ...exchanges.donations import MAX_NOTE, DonationRequest, donate
from ...extensions import db
from ...models import Account, Member, Transfer
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..body import json_body
from ..idempotency import current_idempotency_key, idempotent
from ..schemas import BalanceSchema, Hours, HoursInput, Timestamp
from ..spec import documented
from .common import balance_figures, minutes_from_hours, viewer_timebank


class DonationCreateSchema(Schema):
    hours = HoursInput(required=True, metadata={"description": "How much to give, in the timebank's steps"})
    note = fields.String(load_default="", validate=validate.Length(max=MAX_NOTE))


class DonationSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The ledger transfer that moved the credits"})
    hours = Hours(required=True)
    minutes = fields.Integer(required=True)
    note = fields.String(required=True)
    value_date = fields.Date(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The giver's account"})
    pool_account_id = fields.Integer(required=True, metadata={"description": "The timebank's community pool"})
    created_at = Timestamp(required=True)
    account = fields.Nested(BalanceSchema, required=True, metadata={"description": "The giver's account after it"})


def _request_key(member: Member, key: str) -> str:
    """The donation service's request key for this member's Idempotency-Key (bounded length)."""
    return f"api-{member.id}-" + hashlib.sha256(key.encode()).hexdigest()


@bp.post("/donations")
@documented(
    summary="Give time credit to the community pool",
    description="The member gives some of their own time credit to their timebank's community pool, "
    "which a coordinator passes on to people who need help but cannot earn. It moves at once; the "
    "member's floor still applies (409 exceeds_floor). Needs an Idempotency-Key.",
    tags=["Donations"],
    body=DonationCreateSchema,
    responses={201: DonationSchema, 400: None, 403: None, 404: None, 409: None, 422: None},
    idempotent=True,
)
@token_required
@idempotent(required=True)
def create_donation() -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    timebank = viewer_timebank(session, viewer)
    data = json_body(DonationCreateSchema)
    key = current_idempotency_key()
    assert key is not None
    request = DonationRequest(
        minutes=minutes_from_hours(data["hours"], timebank, "hours"),
        note=data["note"],
        request_key=_request_key(viewer, key),
    )
    transfer = donate(session, viewer, request)
    return _donation_json(transfer), 201


def _donation_json(transfer: Transfer) -> dict[str, Any]:
    session = db.session()
    account = session.get(Account, transfer.debit_account_id)
    assert account is not None
    session.refresh(account)
    data: dict[str, Any] = DonationSchema().dump(
        {
            "id": transfer.id,
            "hours": transfer.amount_minutes,
            "minutes": transfer.amount_minutes,
            "note": transfer.memo,
            "value_date": transfer.value_date,
            "account_id": transfer.debit_account_id,
            "pool_account_id": transfer.credit_account_id,
            "created_at": transfer.created_at,
            "account": balance_figures(account, account.timebank),
        }
    )
    return data
