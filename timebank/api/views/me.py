"""``GET /me``: who the token belongs to, their timebank, role and account figures."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from ...extensions import db
from ...models import Timebank
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..schemas import MeSchema
from ..spec import documented
from .common import balance_figures, role_of


@bp.get("/me")
@documented(summary="The member this token belongs to", tags=["Members"], responses={200: MeSchema})
@token_required
def me() -> ResponseReturnValue:
    member = current_api_member()
    session = db.session()
    timebank = session.get(Timebank, member.timebank_id) if member.timebank_id is not None else None
    account = member.account
    data: dict[str, Any] = {
        "id": member.id,
        "display_name": member.display_name,
        "email": member.email,
        "role": role_of(member),
        "timebank": timebank,
        "account": balance_figures(account, timebank) if account is not None and timebank is not None else None,
        "account_id": account.id if account is not None else None,
    }
    return MeSchema().dump(data)
