"""Exchanges: record one that happened, confirm, approve, reject, reverse, and list them. Every
step is the exchanges service's own function (its state machine and permissions decide)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from ...exchanges import service as exchanges
from ...exchanges.permissions import actions_for, awaiting_confirmation, needs_another_coordinator
from ...extensions import db
from ...listings.service import get_listing
from ...models import Account, Exchange, ExchangeStatus, Member
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..body import json_body
from ..idempotency import current_idempotency_key, idempotent
from ..pagination import PageQuerySchema, page_schema, paginated, query_args
from ..schemas import (
    API_STATUSES,
    ID_RANGE,
    ApproveSchema,
    ExchangeCreateSchema,
    ExchangeSchema,
    ReasonSchema,
    WholeNumber,
)
from ..spec import documented
from .common import minutes_from_hours, viewer_timebank

# The API's statuses: every state with hours reserved and waiting is "pending" (``stage`` says
# which). One documented set, so clients need not follow every internal step.
API_STATUS: dict[ExchangeStatus, str] = {
    ExchangeStatus.PROPOSED: "proposed",
    ExchangeStatus.ACCEPTED: "accepted",
    ExchangeStatus.RECORDED: "pending",
    ExchangeStatus.CONFIRMED: "pending",
    ExchangeStatus.DISPUTED: "pending",
    ExchangeStatus.APPROVED: "approved",
    ExchangeStatus.DECLINED: "declined",
    ExchangeStatus.REJECTED: "rejected",
    ExchangeStatus.CANCELLED: "cancelled",
    ExchangeStatus.EXPIRED: "expired",
    ExchangeStatus.REVERSED: "reversed",
}


class ExchangeQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(API_STATUSES))
    member_id = WholeNumber(
        from_text=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "Exchanges with this member on either side"},
    )


def _party(account: Account) -> dict[str, Any]:
    return {"account_id": account.id, "member_id": account.member_id, "name": account.name}


def exchange_json(exchange: Exchange, viewer: Member) -> dict[str, Any]:
    data: dict[str, Any] = ExchangeSchema().dump(_exchange_data(exchange, viewer))
    return data


def _exchange_data(exchange: Exchange, viewer: Member) -> dict[str, Any]:
    """An exchange as the viewer sees it, before the schema renders it (minutes, dates)."""
    return {
        "id": exchange.id,
        "status": API_STATUS[exchange.status],
        "stage": str(exchange.status),
        "provider": _party(exchange.provider_account),
        "recipient": _party(exchange.recipient_account),
        "hours": exchange.minutes,
        "minutes": exchange.minutes,
        "performed_on": exchange.performed_on,
        "description": exchange.description,
        "listing_id": exchange.listing_id,
        "category_id": exchange.category_id,
        "recorded_by_id": exchange.recorded_by_id,
        "entered_by_id": exchange.entered_by_id,
        "decision_reason": exchange.decision_reason,
        "actions": actions_for(exchange, viewer),
        "awaiting_confirmation_by": _party(waiting) if (waiting := awaiting_confirmation(exchange)) else None,
        "needs_another_coordinator": needs_another_coordinator(exchange, viewer),
        "created_at": exchange.created_at,
        "updated_at": exchange.updated_at,
    }


def _request_key(member: Member, key: str) -> str:
    """The exchange service's request key for this member's Idempotency-Key (bounded length)."""
    return f"api-{member.id}-" + hashlib.sha256(key.encode()).hexdigest()


@bp.post("/exchanges")
@documented(
    summary="Record an exchange that happened",
    description="A participant records help they gave or received (hours reserved, status pending until the "
    "other side confirms and, where the timebank's policy asks, a coordinator approves). A coordinator records "
    "one between any two members of their timebank, on their behalf: approved at once, except one they take part "
    "in themselves, which waits for the other side and another coordinator. Needs an Idempotency-Key.",
    tags=["Exchanges"],
    body=ExchangeCreateSchema,
    responses={201: ExchangeSchema, 400: None, 403: None, 404: None, 409: None, 422: None},
    idempotent=True,
)
@token_required
@idempotent(required=True)
def create_exchange() -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    timebank = viewer_timebank(session, viewer)
    data = json_body(ExchangeCreateSchema)
    key = current_idempotency_key()
    assert key is not None
    if data["listing_id"] is not None:  # the listing must be one the member may see (404 otherwise)
        get_listing(session, viewer, data["listing_id"])
    request = exchanges.RecordRequest(
        provider_account_id=exchanges.party_account_id(session, viewer, data["provider_id"]),
        recipient_account_id=exchanges.party_account_id(session, viewer, data["recipient_id"]),
        minutes=minutes_from_hours(data["hours"], timebank, "hours"),
        performed_on=data["performed_on"],
        description=data["description"],
        request_key=_request_key(viewer, key),
        listing_id=data["listing_id"],
        category_id=data["category_id"],
    )
    exchange = exchanges.record_exchange(session, viewer, request)
    return exchange_json(exchange, viewer), 201


@bp.get("/exchanges")
@documented(
    summary="List exchanges",
    description="Yours; a coordinator sees every exchange of their timebank. Newest first.",
    tags=["Exchanges"],
    query=ExchangeQuerySchema,
    responses={200: page_schema(ExchangeSchema), 404: None, 422: None},
)
@token_required
def list_exchanges() -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    viewer_timebank(session, viewer)
    args = query_args(ExchangeQuerySchema)
    statuses = [s for s, word in API_STATUS.items() if word == args["status"]] if args["status"] else None
    page = exchanges.exchange_page(
        session,
        viewer,
        statuses=statuses,
        member_id=args["member_id"],
        page=args["page"],
        per_page=args["per_page"],
    )
    return paginated(page, args["page"], ExchangeSchema, lambda exchange: _exchange_data(exchange, viewer))


@bp.get("/exchanges/<int:exchange_id>")
@documented(summary="One exchange", tags=["Exchanges"], responses={200: ExchangeSchema, 404: None})
@token_required
def get_exchange(exchange_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    return exchange_json(exchanges.get_exchange(db.session(), viewer, exchange_id), viewer)


_STEP_RESPONSES: dict[int, Any] = {200: ExchangeSchema, 403: None, 404: None, 409: None}


@bp.post("/exchanges/<int:exchange_id>/confirm")
@documented(
    summary="Confirm the time the other side recorded",
    description="Then, if the timebank's policy needs no coordinator, it is approved at once.",
    tags=["Exchanges"],
    responses=_STEP_RESPONSES,
    idempotent=True,
    key_required=False,
)
@token_required
@idempotent()
def confirm_exchange(exchange_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    return exchange_json(exchanges.confirm_exchange(db.session(), viewer, exchange_id), viewer)


@bp.post("/exchanges/<int:exchange_id>/approve")
@documented(
    summary="Approve an exchange (coordinators): the credits move",
    description="Nobody approves their own exchange: a coordinator who takes part in it gets 403 "
    "needs_another_coordinator (another coordinator or an administrator decides it), unless the timebank "
    "allows self-approval. Time the other side has not confirmed yet (awaiting_confirmation_by) is approved only "
    "with a reason in the body; without one: 409 not_confirmed. The body is optional otherwise.",
    tags=["Exchanges"],
    body=ApproveSchema,
    body_required=False,
    responses={**_STEP_RESPONSES, 400: None, 422: None},
    idempotent=True,
    key_required=False,
)
@token_required
@idempotent()
def approve_exchange(exchange_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    reason = json_body(ApproveSchema)["reason"] if request.get_data() else None
    return exchange_json(exchanges.approve_exchange(db.session(), viewer, exchange_id, reason=reason), viewer)


@bp.post("/exchanges/<int:exchange_id>/reject")
@documented(
    summary="Reject an exchange (coordinators): the reserved hours are released",
    tags=["Exchanges"],
    body=ReasonSchema,
    responses={**_STEP_RESPONSES, 400: None, 422: None},
    idempotent=True,
    key_required=False,
)
@token_required
@idempotent()
def reject_exchange(exchange_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    data = json_body(ReasonSchema)
    return exchange_json(exchanges.reject_exchange(db.session(), viewer, exchange_id, data["reason"]), viewer)


@bp.post("/exchanges/<int:exchange_id>/reverse")
@documented(
    summary="Reverse an approved exchange (coordinators)",
    description="A new transfer takes the credits back; both members see the reason. Once only.",
    tags=["Exchanges"],
    body=ReasonSchema,
    responses={**_STEP_RESPONSES, 400: None, 422: None},
    idempotent=True,
    key_required=False,
)
@token_required
@idempotent()
def reverse_exchange(exchange_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    data = json_body(ReasonSchema)
    return exchange_json(exchanges.reverse_exchange(db.session(), viewer, exchange_id, data["reason"]), viewer)
