"""Listings (offers and requests) and their matches: the listings service and matching, as JSON."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from ...extensions import db
from ...listings import service as listings
from ...listings.service import ListingFilters, ListingInput, ListingSummary
from ...matching.service import matches_for_listing
from ...members import availability as slots
from ...members.visibility import visible_area
from ...models import Listing, ListingKind, ListingStatus, Member
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..body import json_body
from ..errors import ApiError
from ..idempotency import idempotent
from ..pagination import PageQuerySchema, page_schema, paginated, query_args
from ..schemas import (
    ID_RANGE,
    ListingCreateSchema,
    ListingSchema,
    ListingSummarySchema,
    ListingUpdateSchema,
    MatchesSchema,
    WholeNumber,
)
from ..spec import documented
from .common import minutes_from_hours, viewer_timebank


class ListingQuerySchema(PageQuerySchema):
    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "Search words"})
    kind = fields.String(load_default=None, validate=validate.OneOf(["offer", "request"]))
    category_id = WholeNumber(from_text=True, load_default=None, validate=ID_RANGE)
    area = fields.String(load_default="", validate=validate.Length(max=80))
    day = fields.String(load_default="", validate=validate.OneOf(["", *(day for day, _ in slots.DAYS)]))
    part = fields.String(load_default="", validate=validate.OneOf(["", *(part for part, _ in slots.PARTS)]))


class MatchQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = WholeNumber(from_text=True, load_default=10, validate=validate.Range(min=1, max=50))


def _owner(viewer: Member, member: Member) -> dict[str, Any]:
    return {"id": member.id, "display_name": member.display_name, "area": visible_area(viewer, member)}


def _summary(summary: ListingSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "kind": str(summary.kind),
        "title": summary.title,
        "description": summary.description,
        "tags": summary.tags,
        "category": summary.category,
        "estimated_hours": summary.estimated_minutes,
        "estimated_minutes": summary.estimated_minutes,
        "ends_on": summary.ends_on,
        "created_at": summary.created_at,
        "owner": {"id": summary.owner_id, "display_name": summary.owner_name, "area": summary.owner_area},
    }


def _listing(viewer: Member, listing: Listing) -> dict[str, Any]:
    data: dict[str, Any] = ListingSchema().dump(
        {
            "id": listing.id,
            "kind": str(listing.kind),
            "status": str(listing.status),
            "title": listing.title,
            "description": listing.description,
            "tags": listings.split_tags(listing.tags),
            "category_id": listing.category_id,
            "category": listing.category.name if listing.category else None,
            "estimated_hours": listing.estimated_minutes,
            "estimated_minutes": listing.estimated_minutes,
            "ends_on": listing.ends_on,
            "created_at": listing.created_at,
            "updated_at": listing.updated_at,
            "owner": _owner(viewer, listing.member),
        }
    )
    return data


def _input(data: dict[str, Any], viewer: Member) -> ListingInput:
    timebank = viewer_timebank(db.session(), viewer)
    hours = data.get("estimated_hours")
    return ListingInput(
        kind=ListingKind(data["kind"]),
        category_id=data["category_id"],
        title=data["title"],
        description=data.get("description", ""),
        tags=", ".join(data.get("tags", [])),
        estimated_minutes=minutes_from_hours(hours, timebank, "estimated_hours") if hours is not None else None,
        ends_on=data.get("ends_on"),
    )


@bp.get("/listings")
@documented(
    summary="Search open offers and requests",
    tags=["Listings"],
    query=ListingQuerySchema,
    responses={200: page_schema(ListingSummarySchema), 404: None, 422: None},
)
@token_required
def list_listings() -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    viewer_timebank(session, viewer)
    args = query_args(ListingQuerySchema)
    filters = ListingFilters(
        query=args["q"],
        kind=ListingKind(args["kind"]) if args["kind"] else None,
        category_id=args["category_id"],
        area=args["area"],
        day=args["day"],
        part=args["part"],
    )
    page = listings.search_listings(session, viewer, filters, args["page"], per_page=args["per_page"])
    return paginated(page, args["page"], ListingSummarySchema, _summary)


@bp.post("/listings")
@documented(
    summary="Add an offer or a request",
    description="For yourself; a coordinator may add one for a member of their timebank (owner_id).",
    tags=["Listings"],
    body=ListingCreateSchema,
    responses={201: ListingSchema, 400: None, 403: None, 404: None, 409: None, 422: None},
    idempotent=True,
)
@token_required
@idempotent(required=True)
def create_listing() -> ResponseReturnValue:
    viewer = current_api_member()
    data = json_body(ListingCreateSchema)
    listing = listings.create_listing(db.session(), viewer, _input(data, viewer), owner_id=data["owner_id"])
    return _listing(viewer, listing), 201


@bp.get("/listings/<int:listing_id>")
@documented(summary="One listing", tags=["Listings"], responses={200: ListingSchema, 404: None})
@token_required
def get_listing(listing_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    return _listing(viewer, listings.get_listing(db.session(), viewer, listing_id))


_STATUS_CHANGES = {
    ListingStatus.OPEN: listings.reopen_listing,
    ListingStatus.PAUSED: listings.pause_listing,
    ListingStatus.CLOSED: listings.close_listing,
}


@bp.patch("/listings/<int:listing_id>")
@documented(
    summary="Change a listing, or its status",
    description='Send the fields to change; or send only {"status": "open" | "paused" | "closed"}. '
    "The owner or a coordinator of the timebank.",
    tags=["Listings"],
    body=ListingUpdateSchema,
    responses={200: ListingSchema, 400: None, 403: None, 404: None, 409: None, 422: None},
)
@token_required
def update_listing(listing_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    data = json_body(ListingUpdateSchema)
    if "status" in data:
        if len(data) > 1:
            raise ApiError(
                422,
                "invalid",
                "Change the status on its own, in a request of its own.",
                {"status": ["Send the status without other fields."]},
            )
        change = _STATUS_CHANGES[ListingStatus(data["status"])]
        return _listing(viewer, change(session, viewer, listing_id))
    current = listings.listing_for_editing(session, viewer, listing_id)
    merged: dict[str, Any] = {
        "kind": str(current.kind),
        "category_id": current.category_id,
        "title": current.title,
        "description": current.description,
        "tags": listings.split_tags(current.tags),
        "estimated_hours": str(current.estimated_minutes) + " mins" if current.estimated_minutes else None,
        "ends_on": current.ends_on,
        **data,
    }
    listing = listings.update_listing(session, viewer, listing_id, _input(merged, viewer))
    return _listing(viewer, listing)


@bp.delete("/listings/<int:listing_id>")
@documented(
    summary="Close a listing",
    description="Closing is how a listing ends (it stays in the records; it can be reopened with PATCH).",
    tags=["Listings"],
    responses={204: None, 403: None, 404: None, 409: None},
)
@token_required
def delete_listing(listing_id: int) -> ResponseReturnValue:
    listings.close_listing(db.session(), current_api_member(), listing_id)
    return "", 204


@bp.get("/listings/<int:listing_id>/matches")
@documented(
    summary="Ranked matches for a listing, with reasons",
    description="For a request: members who could help. For an offer: requests it could meet.",
    tags=["Listings"],
    query=MatchQuerySchema,
    responses={200: MatchesSchema, 404: None, 422: None},
)
@token_required
def listing_matches(listing_id: int) -> ResponseReturnValue:
    viewer = current_api_member()
    args = query_args(MatchQuerySchema)
    matches = matches_for_listing(db.session(), viewer, listing_id, args["limit"])
    data: dict[str, Any] = MatchesSchema().dump(
        {
            "listing_id": matches.listing.id,
            "kind": str(matches.listing.kind),
            "items": [
                {
                    "member": {"id": s.member.id, "display_name": s.member.display_name},
                    "listing_id": s.listing.id if s.listing is not None else None,
                    "request_id": s.request.id,
                    "score": round(s.score, 4),
                    "reasons": list(s.reasons),
                }
                for s in matches.suggestions
            ],
        }
    )
    return data
