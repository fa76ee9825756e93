"""Accounts: balances and the transfers that touched them. Your own account; a coordinator any
account of their timebank (members', the organisation's, the community pool). Anything else is
"not found", never another timebank's."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields, validates_schema
from sqlalchemy.orm import Session

from ...accounts.service import transfers_page, visible_account
from ...extensions import db
from ...models import Account, Timebank, Transfer
from ..auth import current_api_member, token_required
from ..blueprint import bp
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
    page = transfers_page(
        session,
        account,
        from_date=args["from_date"],
        to_date=args["to_date"],
        page=args["page"],
        per_page=args["per_page"],
    )
    return paginated(page, args["page"], TransferSchema, lambda transfer: _transfer_json(account, transfer))
