"""Reading accounts: who may see which account, and the ledger rows that touched one.

Your own account; a coordinator any account of their timebank (members', the organisation's,
the community pool). Anything else is "not found", never another timebank's.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from ..ids import is_storable_id
from ..ledger import AccountNotFound
from ..members.visibility import sees_everything
from ..models import Account, Member, Transfer
from ..pagination import Page, page_of


def visible_account(session: Session, viewer: Member, account_id: int) -> Account:
    account = session.get(Account, account_id) if is_storable_id(account_id) else None
    if account is not None and viewer.timebank_id is not None and account.timebank_id == viewer.timebank_id:
        if account.member is not None and sees_everything(viewer, account.member):
            return account
        if account.member is None and viewer.is_coordinator:
            return account
    raise AccountNotFound("There is no such account.")


def transfers_page(
    session: Session,
    account: Account,
    *,
    from_date: date | None,
    to_date: date | None,
    page: int | None,
    per_page: int,
) -> Page[Transfer]:
    """Every ledger row that touched the account (value date between the bounds, inclusive),
    newest first. The caller has checked the account with ``visible_account``."""
    conditions = [
        Transfer.timebank_id == account.timebank_id,
        or_(Transfer.debit_account_id == account.id, Transfer.credit_account_id == account.id),
    ]
    if from_date is not None:
        conditions.append(Transfer.value_date >= from_date)
    if to_date is not None:
        conditions.append(Transfer.value_date <= to_date)
    query = (
        select(Transfer)
        .where(*conditions)
        .options(joinedload(Transfer.debit_account), joinedload(Transfer.credit_account))
        .order_by(Transfer.id.desc())
    )
    return page_of(session, query, page, per_page)
