"""Members: coordinators see all of their timebank's members (the coordinator's member list);
participants see the member directory's public fields; one member's profile as the viewer may
see it; coordinators register a member (approved at once, through the coordinator service)."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...coordinator.members_service import MemberFilters, Registration, list_members, register_member
from ...extensions import db
from ...members.directory import DirectoryEntry, DirectoryFilters, search_directory
from ...members.profile import ProfileView, SkillView, get_profile
from ...models import ContactPreference, ListingKind, Member, MemberSkill, MemberStatus
from ..auth import current_api_member, token_required
from ..blueprint import bp
from ..body import json_body
from ..idempotency import idempotent
from ..pagination import PageQuerySchema, page_schema, paginated, query_args
from ..schemas import ID_RANGE, MemberCreateSchema, MemberSchema, MemberSummarySchema, SkillSchema, WholeNumber
from ..spec import documented
from .common import role_of, viewer_timebank


class MemberQuerySchema(PageQuerySchema):
    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "Search words"})
    status = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in MemberStatus]),
        metadata={"description": "Coordinators only"},
    )
    category_id = WholeNumber(
        from_text=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "Participants: offers in this category"},
    )
    area = fields.String(load_default="", validate=validate.Length(max=80))


def _offer_skills(session: Session, members: list[Member]) -> dict[int, list[SkillView]]:
    """What each member offers, for a page of members, in one query."""
    skills: dict[int, list[SkillView]] = {member.id: [] for member in members}
    if skills:
        rows = session.scalars(
            select(MemberSkill)
            .where(MemberSkill.member_id.in_(skills), MemberSkill.kind == ListingKind.OFFER)
            .options(joinedload(MemberSkill.category))
            .order_by(MemberSkill.id)
        )
        for skill in rows:
            skills[skill.member_id].append(
                SkillView(label=skill.label, category=skill.category.name if skill.category else None)
            )
    return skills


def _summary_from_member(member: Member, skills: list[SkillView]) -> dict[str, Any]:
    return {
        "id": member.id,
        "display_name": member.display_name,
        "area": member.area or None,
        "offers_text": member.offers_text,
        "offer_skills": skills,
        "role": str(member.role),
        "status": str(member.status),
        "email": member.email,
        "phone": member.phone,
        "account_id": member.account.id if member.account is not None else None,
    }


def _summary_from_directory(entry: DirectoryEntry) -> dict[str, Any]:
    return {
        "id": entry.member_id,
        "display_name": entry.display_name,
        "area": entry.area,
        "offers_text": entry.offers_text,
        "offer_skills": SkillSchema(many=True).dump(entry.offer_skills),
        "role": None,
        "status": None,
        "email": None,
        "phone": None,
        "account_id": None,
    }


def _profile(view: ProfileView) -> dict[str, Any]:
    member = db.session.get(Member, view.member_id)
    assert member is not None
    return MemberSchema().dump(
        {
            **{name: getattr(view, name) for name in MemberSchema().fields if hasattr(view, name)},
            "id": view.member_id,
            "role": role_of(member) if view.full_view else None,
            "status": str(view.status) if view.status is not None else None,
            "account_id": member.account.id if view.full_view and member.account is not None else None,
        }
    )


@bp.get("/members", endpoint="list_members")
@documented(
    summary="List members",
    description="Coordinators: every member of their timebank (filter by status, search by name, email or phone). "
    "Participants: the member directory (approved members, the fields they show).",
    tags=["Members"],
    query=MemberQuerySchema,
    responses={200: page_schema(MemberSummarySchema), 404: None, 422: None},
)
@token_required
def list_members_view() -> ResponseReturnValue:
    viewer = current_api_member()
    session = db.session()
    viewer_timebank(session, viewer)
    args = query_args(MemberQuerySchema)
    if viewer.is_coordinator:
        status = MemberStatus(args["status"]) if args["status"] else None
        filters = MemberFilters(status=status, query=args["q"])
        page = list_members(session, viewer, filters, args["page"], args["per_page"])
        skills = _offer_skills(session, page.items)
        return paginated(
            page, args["page"], MemberSummarySchema, lambda member: _summary_from_member(member, skills[member.id])
        )
    wanted = DirectoryFilters(query=args["q"], category_id=args["category_id"], area=args["area"])
    directory = search_directory(session, viewer, wanted, args["page"], args["per_page"])
    return paginated(directory, args["page"], MemberSummarySchema, _summary_from_directory)


@bp.get("/members/<int:member_id>", endpoint="get_member")
@documented(
    summary="One member's profile, as you may see it",
    tags=["Members"],
    responses={200: MemberSchema, 404: None},
)
@token_required
def get_member_view(member_id: int) -> ResponseReturnValue:
    return _profile(get_profile(db.session(), current_api_member(), member_id))


@bp.post("/members", endpoint="create_member")
@documented(
    summary="Register a member (coordinators)",
    description="A member who takes part through the coordinator (no email or password), approved at once: "
    "the checks note says how they were vetted.",
    tags=["Members"],
    body=MemberCreateSchema,
    responses={201: MemberSchema, 400: None, 403: None, 409: None, 422: None},
    idempotent=True,
)
@token_required
@idempotent(required=True)
def create_member_view() -> ResponseReturnValue:
    viewer = current_api_member()
    data = json_body(MemberCreateSchema)
    session = db.session()
    member = register_member(
        session,
        viewer,
        Registration(
            display_name=data["display_name"],
            checks_note=data["checks_note"],
            phone=data["phone"],
            area=data["area"],
            contact_preference=ContactPreference(data["contact_preference"]),
            offers_text=data["offers_text"],
            wants_text=data["wants_text"],
        ),
    )
    return _profile(get_profile(session, viewer, member.id)), 201
