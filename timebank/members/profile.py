"""Asset-based profiles: what a member can offer, what they would like help with, when they are
free, their area, how to contact them, and what others may see. Reading and changing them.

A member changes their own profile; a coordinator of their timebank may change it for them
(people who do not use computers ask the coordinator), and the audit trail says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..ids import is_storable_id
from ..ledger import write_transaction
from ..models import Category, ContactPreference, ListingKind, Member, MemberSkill, MemberStatus
from . import availability as slots
from .errors import InvalidProfile, MemberNotFound, ProfileNotAllowed
from .visibility import acting_for, can_see_member, same_timebank, sees_everything, visible_area

MAX_TEXT = 2000
MAX_SKILL_LABEL = 120
MAX_SKILLS_PER_KIND = 20
MAX_AREA = 80

CONTACT_LABELS: dict[ContactPreference, str] = {
    ContactPreference.EMAIL: "Email",
    ContactPreference.PHONE: "Phone call",
    ContactPreference.TEXT: "Text message",
    ContactPreference.COORDINATOR: "Through the coordinator",
}

VISIBILITY_FIELDS = (
    "show_email",
    "show_phone",
    "show_area",
    "show_about",
    "show_access_needs",
    "show_availability",
)
TEXT_FIELDS = ("offers_text", "wants_text", "about", "access_needs")

AREA_ADVICE = "Give only your postcode district, like “LS6”, or your neighbourhood, like “Headingley”."

# A full UK postcode ("LS6 2AB", "SW1A 1AA", "ls62ab") anywhere in the text.
_FULL_POSTCODE = re.compile(r"(?<![a-z0-9])[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}(?![a-z0-9])", re.IGNORECASE)
# A postcode district on its own ("LS6", "sw1a"), which we show in capitals.
_DISTRICT = re.compile(r"[a-z]{1,2}\d[a-z\d]?", re.IGNORECASE)
# A house number followed by a street ("12 Acacia Avenue", "12a, High Street").
_HOUSE_NUMBER = re.compile(r"(?<![a-z0-9])\d+[a-z]?(?![a-z0-9])[\s,]+[a-z]", re.IGNORECASE)
# "Flat 3", "Apartment 12", "House 4".
_FLAT_NUMBER = re.compile(r"\b(?:flat|apartment|apt|unit|house|no\.?)\s*\d", re.IGNORECASE)
_PHONE_CHARACTERS = re.compile(r"[0-9+()\s.-]+")


@dataclass(frozen=True)
class SkillInput:
    """One row of "what I can offer" or "what I would like help with". ``id`` names an existing
    row to keep (and update); rows without an id are added."""

    category_id: int | None
    label: str
    id: int | None = None


@dataclass(frozen=True)
class ProfileInput:
    offers_text: str = ""
    wants_text: str = ""
    about: str = ""
    access_needs: str = ""
    area: str = ""
    contact_preference: ContactPreference = ContactPreference.EMAIL
    phone: str | None = None
    availability: frozenset[str] = frozenset()
    show_email: bool = False
    show_phone: bool = False
    show_area: bool = True
    show_about: bool = True
    show_access_needs: bool = False
    show_availability: bool = True
    offer_skills: tuple[SkillInput, ...] = ()
    request_skills: tuple[SkillInput, ...] = ()


def validate_area(text: str | None) -> str:
    """A neighbourhood or postcode district, never a full address. Returns it tidied."""
    area = " ".join((text or "").split())
    if not area:
        return ""
    if len(area) > MAX_AREA:
        raise InvalidProfile(f"Your area must be {MAX_AREA} characters or fewer. {AREA_ADVICE}", field="area")
    if _FULL_POSTCODE.search(area):
        raise InvalidProfile(
            f"That looks like a full postcode. Other members must not see where you live. {AREA_ADVICE}",
            field="area",
        )
    if _HOUSE_NUMBER.search(area) or _FLAT_NUMBER.search(area):
        raise InvalidProfile(
            f"That looks like a street address. Other members must not see where you live. {AREA_ADVICE}",
            field="area",
        )
    if _DISTRICT.fullmatch(area):
        return area.upper()
    return area


def validate_phone(text: str | None) -> str | None:
    phone = " ".join((text or "").split())
    if not phone:
        return None
    digits = sum(character.isdigit() for character in phone)
    if not _PHONE_CHARACTERS.fullmatch(phone) or not 7 <= digits <= 15 or len(phone) > 40:
        raise InvalidProfile("Enter a phone number using numbers only, like 07700 900123.", field="phone")
    return phone


def _checked_text(value: str, name: str, field_name: str) -> str:
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise InvalidProfile(f"{name} must be {MAX_TEXT} characters or fewer.", field=field_name)
    return text


def _check_contact(member: Member, preference: ContactPreference, phone: str | None) -> None:
    if preference in (ContactPreference.PHONE, ContactPreference.TEXT) and not phone:
        raise InvalidProfile(
            "Add a phone number, or choose another way to be contacted.", field="contact_preference"
        )
    if preference == ContactPreference.EMAIL and not member.email:
        raise InvalidProfile(
            "We have no email address for you. Choose another way to be contacted.", field="contact_preference"
        )


def _checked_skills(
    session: Session, member: Member, kind: ListingKind, rows: Iterable[SkillInput]
) -> list[SkillInput]:
    field_name = "offer_skills" if kind == ListingKind.OFFER else "request_skills"
    rows = list(rows)
    if len(rows) > MAX_SKILLS_PER_KIND:
        raise InvalidProfile(f"You can list up to {MAX_SKILLS_PER_KIND} things here.", field=field_name)
    category_ids = set(session.scalars(select(Category.id).where(Category.timebank_id == member.timebank_id)))
    own_skill_ids = {skill.id for skill in member.skills if skill.kind == kind}
    checked = []
    for row in rows:
        label = " ".join(row.label.split())
        if not label:
            raise InvalidProfile("Describe each one in a few words.", field=field_name)
        if len(label) > MAX_SKILL_LABEL:
            raise InvalidProfile(
                f"Keep each description to {MAX_SKILL_LABEL} characters or fewer.", field=field_name
            )
        if row.category_id is not None and row.category_id not in category_ids:
            raise InvalidProfile("Choose one of the categories in the list.", field=field_name)
        if row.id is not None and row.id not in own_skill_ids:
            raise InvalidProfile("That entry is not on this profile. Reload the page and try again.", field=field_name)
        checked.append(SkillInput(category_id=row.category_id, label=label, id=row.id))
    return checked


def _apply_skills(member: Member, kind: ListingKind, rows: list[SkillInput]) -> bool:
    """Make the member's skills of ``kind`` match ``rows``; True if anything changed."""
    changed = False
    keep = {row.id: row for row in rows if row.id is not None}
    for skill in [skill for skill in member.skills if skill.kind == kind]:
        row = keep.get(skill.id)
        if row is None:
            member.skills.remove(skill)
            changed = True
        elif (skill.category_id, skill.label) != (row.category_id, row.label):
            skill.category_id, skill.label = row.category_id, row.label
            changed = True
    for row in rows:
        if row.id is None:
            member.skills.append(MemberSkill(kind=kind, category_id=row.category_id, label=row.label))
            changed = True
    return changed


def _load_for_change(session: Session, actor: Member, member_id: int) -> Member:
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if member is None or not same_timebank(actor, member):
        raise MemberNotFound("There is no such member.")
    if actor.status != MemberStatus.APPROVED:
        raise ProfileNotAllowed("Your membership is not active, so you cannot change profiles.")
    if not sees_everything(actor, member):
        raise ProfileNotAllowed("You can only change your own profile.")
    return member


def update_profile(session: Session, actor: Member, member_id: int, data: ProfileInput) -> Member:
    """Change a member's profile: by the member, or by a coordinator of their timebank acting
    for them. One transaction; audited (free text and contact details by field name only, so
    the append-only trail holds no personal details)."""
    with write_transaction(session):
        member = _load_for_change(session, actor, member_id)
        area = validate_area(data.area)
        phone = validate_phone(data.phone)
        _check_contact(member, data.contact_preference, phone)
        unknown = set(data.availability) - set(slots.ALL_SLOTS)
        if unknown:
            raise InvalidProfile("Choose the days and times from the table.", field="availability")
        texts = {
            "offers_text": _checked_text(data.offers_text, "What you can offer", "offers_text"),
            "wants_text": _checked_text(data.wants_text, "What you would like help with", "wants_text"),
            "about": _checked_text(data.about, "About you", "about"),
            "access_needs": _checked_text(data.access_needs, "Anything others should know", "access_needs"),
        }
        offers = _checked_skills(session, member, ListingKind.OFFER, data.offer_skills)
        requests = _checked_skills(session, member, ListingKind.REQUEST, data.request_skills)

        new_values: dict[str, object] = {
            **texts,
            "area": area,
            "phone": phone,
            "contact_preference": data.contact_preference,
            "availability": slots.serialise(data.availability),
            **{name: bool(getattr(data, name)) for name in VISIBILITY_FIELDS},
        }
        before: dict[str, object] = {}
        after: dict[str, object] = {}
        changed: list[str] = []
        for name, value in new_values.items():
            old = getattr(member, name)
            if old == value:
                continue
            changed.append(name)
            if name in VISIBILITY_FIELDS or name in ("contact_preference", "availability"):
                before[name] = str(old) if isinstance(old, ContactPreference) else old
                after[name] = str(value) if isinstance(value, ContactPreference) else value
            setattr(member, name, value)
        if _apply_skills(member, ListingKind.OFFER, offers):
            changed.append("offer_skills")
        if _apply_skills(member, ListingKind.REQUEST, requests):
            changed.append("request_skills")
        if changed:
            after["changed"] = changed
            audit(
                session,
                action="member.profile_updated",
                subject_type="member",
                subject_id=member.id,
                actor=actor,
                timebank_id=member.timebank_id,
                on_behalf_of=acting_for(actor, member),
                before=before or None,
                after=after,
            )
        session.flush()
    return member


def member_for_editing(session: Session, actor: Member, member_id: int) -> Member:
    """The member whose profile the actor may change (themself, or one they coordinate)."""
    return _load_for_change(session, actor, member_id)


@dataclass(frozen=True)
class SkillView:
    label: str
    category: str | None


@dataclass(frozen=True)
class ProfileView:
    """A profile as one viewer may see it: anything hidden from them is None."""

    member_id: int
    display_name: str
    full_view: bool  # the member themself or a coordinator: everything, with what is hidden marked
    is_own: bool
    status: MemberStatus | None  # only in the full view
    offers_text: str
    wants_text: str
    offer_skills: list[SkillView]
    request_skills: list[SkillView]
    contact_preference: str
    about: str | None
    area: str | None
    availability: list[str] | None  # plain words, e.g. "Monday mornings"
    access_needs: str | None
    email: str | None
    phone: str | None
    # Whether the viewer can reach them the way they like to be contacted (their email or phone
    # is shown to the viewer, or the coordinator passes messages on): else the page does not
    # name a way the viewer cannot use.
    preference_usable: bool = True
    # In the full view: which parts other members can see (for "Only you and coordinators see this").
    shown_to_members: dict[str, bool] = field(default_factory=dict)


def _skill_views(member: Member, kind: ListingKind) -> list[SkillView]:
    return [
        SkillView(label=skill.label, category=skill.category.name if skill.category else None)
        for skill in member.skills
        if skill.kind == kind
    ]


def get_profile(session: Session, viewer: Member, member_id: int) -> ProfileView:
    """A member's profile as the viewer may see it. Another timebank's member, or (for anyone
    but coordinators) a member who is not approved, is "not found"."""
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if member is None or not can_see_member(viewer, member):
        raise MemberNotFound("There is no such member.")
    full = sees_everything(viewer, member)
    chosen_slots = slots.parse(member.availability)
    email = member.email if (full or member.show_email) else None
    phone = member.phone if (full or member.show_phone) else None
    usable = {
        ContactPreference.EMAIL: email is not None,
        ContactPreference.PHONE: phone is not None,
        ContactPreference.TEXT: phone is not None,
        ContactPreference.COORDINATOR: True,
    }[member.contact_preference]
    return ProfileView(
        member_id=member.id,
        display_name=member.display_name,
        full_view=full,
        is_own=viewer.id == member.id,
        status=member.status if full else None,
        offers_text=member.offers_text,
        wants_text=member.wants_text,
        offer_skills=_skill_views(member, ListingKind.OFFER),
        request_skills=_skill_views(member, ListingKind.REQUEST),
        contact_preference=CONTACT_LABELS[member.contact_preference],
        about=member.about if (full or member.show_about) else None,
        area=visible_area(viewer, member),
        availability=(
            [slots.describe_slot(slot) for slot in slots.ALL_SLOTS if slot in chosen_slots]
            if (full or member.show_availability)
            else None
        ),
        access_needs=member.access_needs if (full or member.show_access_needs) else None,
        email=email,
        phone=phone,
        preference_usable=usable,
        shown_to_members={name.removeprefix("show_"): bool(getattr(member, name)) for name in VISIBILITY_FIELDS}
        if full
        else {},
    )
