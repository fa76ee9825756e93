"""Accounts: balances and the transfers that touched them. Your own account; a coordinator any
account of their timebank (members', the organisation's, the community pool). Anything else is
"not found", never another timebank's."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields, validates_schema
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...extensions import db
from ...ids import is_storable_id
from ...members.visibility import sees_everything
from ...models import Account, Member, Timebank, Transfer
from ...pagination import Page, clamp_page
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..errors import ApiError
from ..pagination import PageQuerySchema, page_schema, paginated, query_args
from ..schemas import AccountSchema, TransferSchema
from ..spec import documented
from .common import balance_figures


class TransferQuerySchema(PageQuerySchema):
    from_date = fields.Date(data_key="from", load_default=None, metadata={"description": "Value date on or after"})
    to_date = fields.Date(data_key="to", load_default=None, metadata={"description": "Value date on or before"})

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start: date | None = data.get("from_date")
        end: date | None = data.get("to_date")
        if start is not None and end is not None and start > end:
            raise ValidationError("'from' must be on or before 'to'.", field_name="from")


def visible_account(session: Session, viewer: Member, account_id: int) -> Account:
    """The account if the viewer may see it: their own (``sees_everything``: themself, or a
    coordinator of the member's timebank), or, for a coordinator, their timebank's organisation
    account and pool."""
    account = session.get(Account, account_id) if is_storable_id(account_id) else None
    if account is not None and viewer.timebank_id is not None and account.timebank_id == viewer.timebank_id:
        if account.member is not None and sees_everything(viewer, account.member):
            return account
        if account.member is None and viewer.is_coordinator:
            return account
    raise ApiError(404, "not_found", "There is no such account.")


def _account_json(session: Session, account: Account) -> dict[str, Any]:
    timebank = session.get(Timebank, account.timebank_id)
    assert timebank is not None
    data: dict[str, Any] = AccountSchema().dump(
        {
            "id": account.id,
            "kind": str(account.kind),
            "name": account.name,
            "member_id": account.member_id,
            **balance_figures(account, timebank),
        }
    )
    return data


@bp.get("/accounts/<int:account_id>")
@documented(summary="An account's balance and limits", tags=["Accounts"], responses={200: AccountSchema, 404: None})
@token_required
def get_account(account_id: int) -> ResponseReturnValue:
    session = db.session()
    return _account_json(session, visible_account(session, current_api_member(), account_id))


def _transfer_json(account: Account, transfer: Transfer) -> dict[str, Any]:
    incoming = transfer.credit_account_id == account.id
    other = transfer.debit_account if incoming else transfer.credit_account
    return {
        "id": transfer.id,
        "value_date": transfer.value_date,
        "created_at": transfer.created_at,
        "phase": str(transfer.phase),
        "purpose": str(transfer.purpose),
        "direction": "in" if incoming else "out",
        "amount_hours": transfer.amount_minutes,
        "amount_minutes": transfer.amount_minutes,
        "other_account": {"id": other.id, "name": other.name, "kind": str(other.kind)},
        "memo": transfer.memo,
        "pending_id": transfer.pending_id,
        "reverses_id": transfer.reverses_id,
    }


@bp.get("/accounts/<int:account_id>/transfers")
@documented(
    summary="The ledger rows of an account, newest first",
    description="Every row: pending reservations, their post or void, single transfers and reversals. "
    "Filter by value date with from and to (YYYY-MM-DD, inclusive).",
    tags=["Accounts"],
    query=TransferQuerySchema,
    responses={200: page_schema(TransferSchema), 404: None, 422: None},
)
@token_required
def account_transfers(account_id: int) -> ResponseReturnValue:
    session = db.session()
    account = visible_account(session, current_api_member(), account_id)
    args = query_args(TransferQuerySchema)
    conditions = [
        Transfer.timebank_id == account.timebank_id,
        or_(Transfer.debit_account_id == account.id, Transfer.credit_account_id == account.id),
    ]
    if args["from_date"] is not None:
        conditions.append(Transfer.value_date >= args["from_date"])
    if args["to_date"] is not None:
        conditions.append(Transfer.value_date <= args["to_date"])
    total = session.scalar(select(func.count(Transfer.id)).where(*conditions)) or 0
    number = clamp_page(args["page"], total, args["per_page"])
    rows = list(
        session.scalars(
            select(Transfer)
            .where(*conditions)
            .options(joinedload(Transfer.debit_account), joinedload(Transfer.credit_account))
            .order_by(Transfer.id.desc())
            .offset((number - 1) * args["per_page"])
            .limit(args["per_page"])
        ).unique()
    )
    page = Page(items=rows, page=number, per_page=args["per_page"], total=total)
    return paginated(page, args["page"], TransferSchema, lambda transfer: _transfer_json(account, transfer))
