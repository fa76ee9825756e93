"""Marshmallow schemas of the JSON API: what goes in, what comes out.

Hours. The ledger counts integer minutes; the API speaks hours (``1.25`` = 1 h 15 min) and always
sends the exact integer minutes beside them (``*_minutes``). ``hours_value`` never sends a float
that is not exact: a whole number of hours is a JSON integer; otherwise the value is a JSON
number whose text is exactly minutes / 60 (with a granularity that divides 60 such a value has
at most two decimal places when it can be written in decimals at all). Only 5-, 10- and
20-minute timebanks have amounts that cannot (20 minutes is a third of an hour): those are sent
as the exact clock string ``"0:20"``. Hours coming in are a number or a string ("1.5", "1:30",
"90 mins") and are parsed by the same code as the web forms (``forms_common``), against the
timebank's granularity.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ..ids import MAX_ID

API_STATUSES = (
    "proposed",
    "accepted",
    "pending",
    "approved",
    "declined",
    "rejected",
    "cancelled",
    "expired",
    "reversed",
)


def hours_value(minutes: int) -> int | float | str:
    """Minutes as exact hours: 120 -> 2, 75 -> 1.25, 6 -> 0.1, 20 -> "0:20" (a third of an hour
    has no exact decimal), -90 -> -1.5."""
    if minutes % 60 == 0:
        return minutes // 60
    if minutes % 3 == 0:  # minutes / 60 then has a denominator dividing 20: at most 2 decimals
        exact = Decimal(minutes) / Decimal(60)
        number = float(exact)
        if Decimal(repr(number)) == exact:  # the JSON text of the float is the exact value
            return number
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


HOURS_METADATA: dict[str, Any] = {
    "type": ["number", "string"],
    "description": (
        "Hours, exact: a number (1.25 = 1 h 15 min), or the clock string H:MM when the value has "
        'no exact decimal (20 minutes = "0:20").'
    ),
    "examples": [1.25, 2, "0:20"],
}


class Hours(fields.Field):
    """Output: integer minutes shown as exact hours (see ``hours_value``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("dump_only", True)
        metadata = {**HOURS_METADATA, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> int | float | str | None:
        if value is None:
            return None
        return hours_value(int(value))


class HoursInput(fields.Field):
    """Input: hours as a number (1.25) or text ("1:15", "75 mins"), kept as text for
    ``forms_common.parse_hours_to_minutes`` (the timebank's granularity is checked there)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": ["number", "string"],
            "description": 'Hours: a number such as 1.25, or text such as "1:15" or "75 mins".',
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError('Give the hours as a number, like 1.5, or as text, like "1:30".')
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValidationError("Give the hours as a number, like 1.5.")
            return format(Decimal(repr(value)), "f")
        return str(value)


class Timestamp(fields.DateTime):
    """A stored naive-UTC timestamp, sent as ISO 8601 with its zone (``...Z``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


class WholeNumber(fields.Integer):
    """An integer input, as the OpenAPI document's ``"type": "integer"`` means it (JSON Schema):
    ``114`` and ``114.0`` alike, never ``114.5``, ``true`` or ``"114"``. In a query string (where
    everything is text) ``from_text=True`` reads ASCII digits, "114" or "114.0"; "١١٤", "1_000" and
    " 7 " are not numbers here, though Python's ``int`` would read them."""

    def __init__(self, *, from_text: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_text = from_text

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and self.from_text and _WHOLE_NUMBER_TEXT.fullmatch(value):
            return int(value.split(".")[0])
        if isinstance(value, float) and value.is_integer():  # not inf, not nan
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self.make_error("invalid", input=value)


_WHOLE_NUMBER_TEXT = re.compile(r"-?[0-9]{1,30}(?:\.0+)?")


# An id sent in a body or a query: a positive whole number a database column can hold.
ID_RANGE = validate.Range(min=1, max=MAX_ID)
# Text that must say something: at least one character that is not a space. (Never a NUL byte,
# like all text: input_guard.py refuses it first, and this pattern is the document's word for it.)
SAYS_SOMETHING = validate.Regexp(r"^[^\x00]*[^\s\x00][^\x00]*$", error="Write something here.")


# -- errors ------------------------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable, e.g. exceeds_floor"})
    message = fields.String(required=True, metadata={"description": "Plain words for people"})
    field_messages = fields.Dict(
        data_key="fields",
        attribute="fields",
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": "Field name -> what is wrong with it"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# -- tokens ------------------------------------------------------------------------------------


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    name = fields.String(load_default="", validate=validate.Length(max=80), metadata={"description": "What uses it"})
    totp_code = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={
            "description": "For a member with two-factor sign-in: the 6 numbers their authenticator app shows now, "
            "or one of their recovery codes (used up)"
        },
    )


class TokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Shown once: send it as Bearer <token>"})
    expires_at = Timestamp(required=True)


# -- me, timebanks, accounts -------------------------------------------------------------------


class TimebankSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    granularity_minutes = fields.Integer(required=True)
    time_zone = fields.String(required=True)


class BalanceSchema(Schema):
    """An account's figures; floor/cap null when there is no limit."""

    balance_hours = Hours(required=True)
    balance_minutes = fields.Integer(required=True)
    pending_hours = Hours(required=True, metadata={"description": "Reserved, not yet approved: in minus out"})
    pending_minutes = fields.Integer(required=True)
    pending_in_hours = Hours(required=True)
    pending_out_hours = Hours(required=True)
    floor_hours = Hours(required=True, allow_none=True)
    floor_minutes = fields.Integer(required=True, allow_none=True)
    cap_hours = Hours(required=True, allow_none=True)
    cap_minutes = fields.Integer(required=True, allow_none=True)


class AccountSchema(BalanceSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["member", "organisation", "pool"]})
    name = fields.String(required=True)
    member_id = fields.Integer(required=True, allow_none=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    role = fields.String(required=True, metadata={"enum": ["participant", "coordinator", "admin"]})
    timebank = fields.Nested(TimebankSchema, required=True, allow_none=True)
    account = fields.Nested(BalanceSchema, required=True, allow_none=True)
    account_id = fields.Integer(required=True, allow_none=True)


# -- members -----------------------------------------------------------------------------------


class SkillSchema(Schema):
    label = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)


class MemberSummarySchema(Schema):
    """A member in a list. Participants get the directory's public fields; role, status, email,
    phone and account_id are null for them (coordinators see everything)."""

    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    area = fields.String(required=True, allow_none=True)
    offers_text = fields.String(required=True)
    offer_skills = fields.List(fields.Nested(SkillSchema), required=True)
    role = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    account_id = fields.Integer(required=True, allow_none=True)


class MemberSchema(Schema):
    """A member's profile as the viewer may see it: what is hidden from them is null."""

    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    full_view = fields.Boolean(required=True, metadata={"description": "The member themself or a coordinator"})
    role = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, allow_none=True)
    offers_text = fields.String(required=True)
    wants_text = fields.String(required=True)
    offer_skills = fields.List(fields.Nested(SkillSchema), required=True)
    request_skills = fields.List(fields.Nested(SkillSchema), required=True)
    contact_preference = fields.String(required=True)
    about = fields.String(required=True, allow_none=True)
    area = fields.String(required=True, allow_none=True)
    availability = fields.List(fields.String(), required=True, allow_none=True)
    access_needs = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    account_id = fields.Integer(required=True, allow_none=True)


class MemberCreateSchema(Schema):
    """A coordinator registers a member who takes part through them (no email, no password),
    approved at once: the checks note says how they were vetted."""

    display_name = fields.String(required=True, validate=[validate.Length(max=120), SAYS_SOMETHING])
    checks_note = fields.String(required=True, validate=[validate.Length(max=500), SAYS_SOMETHING])
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    area = fields.String(load_default="", validate=validate.Length(max=500))
    contact_preference = fields.String(
        load_default="coordinator", validate=validate.OneOf(["phone", "text", "coordinator"])
    )
    offers_text = fields.String(load_default="", validate=validate.Length(max=5000))
    wants_text = fields.String(load_default="", validate=validate.Length(max=5000))


# -- listings ----------------------------------------------------------------------------------


class OwnerSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    area = fields.String(required=True, allow_none=True)


class ListingSummarySchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["offer", "request"]})
    title = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    category = fields.String(required=True, allow_none=True)
    estimated_hours = Hours(required=True, allow_none=True)
    estimated_minutes = fields.Integer(required=True, allow_none=True)
    ends_on = fields.Date(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    owner = fields.Nested(OwnerSchema, required=True)


class ListingSchema(ListingSummarySchema):
    status = fields.String(required=True, metadata={"enum": ["open", "paused", "closed"]})
    category_id = fields.Integer(required=True, allow_none=True)
    updated_at = Timestamp(required=True)


class ListingCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["offer", "request"]))
    category_id = WholeNumber(required=True, validate=ID_RANGE)
    title = fields.String(required=True, validate=[validate.Length(max=1000), SAYS_SOMETHING])
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    tags = fields.List(
        fields.String(validate=validate.Length(max=300)), load_default=list, validate=validate.Length(max=50)
    )
    estimated_hours = HoursInput(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    owner_id = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=ID_RANGE,
        metadata={"description": "Coordinators: add it for this member"},
    )


class ListingUpdateSchema(Schema):
    """Change some fields, or (on its own) the status: open, paused or closed."""

    kind = fields.String(validate=validate.OneOf(["offer", "request"]))
    category_id = WholeNumber(validate=ID_RANGE)
    title = fields.String(validate=[validate.Length(max=1000), SAYS_SOMETHING])
    description = fields.String(validate=validate.Length(max=20000))
    tags = fields.List(fields.String(validate=validate.Length(max=300)), validate=validate.Length(max=50))
    estimated_hours = HoursInput(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(["open", "paused", "closed"]))


class MatchMemberSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)


class MatchSchema(Schema):
    member = fields.Nested(MatchMemberSchema, required=True)
    listing_id = fields.Integer(required=True, allow_none=True, metadata={"description": "Their listing, if any"})
    request_id = fields.Integer(required=True, metadata={"description": "The request an exchange would be about"})
    score = fields.Float(required=True, metadata={"description": "0 to 1, higher is a better match"})
    reasons = fields.List(fields.String(), required=True)


class MatchesSchema(Schema):
    listing_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["offer", "request"]})
    items = fields.List(fields.Nested(MatchSchema), required=True)


# -- exchanges ---------------------------------------------------------------------------------


class PartySchema(Schema):
    account_id = fields.Integer(required=True)
    member_id = fields.Integer(required=True, allow_none=True, metadata={"description": "null: the organisation"})
    name = fields.String(required=True)


class ExchangeSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(
        required=True,
        metadata={
            "enum": list(API_STATUSES),
            "description": "pending: hours reserved, waiting to be confirmed or approved (see stage)",
        },
    )
    stage = fields.String(required=True, metadata={"description": "The detailed state, e.g. recorded, confirmed"})
    provider = fields.Nested(PartySchema, required=True)
    recipient = fields.Nested(PartySchema, required=True)
    hours = Hours(required=True, allow_none=True)
    minutes = fields.Integer(required=True, allow_none=True)
    performed_on = fields.Date(required=True, allow_none=True)
    description = fields.String(required=True)
    listing_id = fields.Integer(required=True, allow_none=True)
    category_id = fields.Integer(required=True, allow_none=True)
    recorded_by_id = fields.Integer(required=True, allow_none=True)
    entered_by_id = fields.Integer(required=True, allow_none=True)
    decision_reason = fields.String(required=True)
    actions = fields.List(fields.String(), required=True, metadata={"description": "What you may do next"})
    awaiting_confirmation_by = fields.Nested(
        PartySchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "Recorded time the other side (this member) has not confirmed yet; null otherwise. "
            "Approving it needs a reason."
        },
    )
    needs_another_coordinator = fields.Boolean(
        required=True,
        metadata={
            "description": "True when you are a coordinator taking part in this exchange, which waits for a "
            "decision: another coordinator or an administrator decides it."
        },
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class ExchangeCreateSchema(Schema):
    provider_id = WholeNumber(required=True, validate=ID_RANGE, metadata={"description": "The member who helped"})
    recipient_id = WholeNumber(required=True, validate=ID_RANGE, metadata={"description": "The member who was helped"})
    hours = HoursInput(required=True)
    performed_on = fields.Date(required=True)
    description = fields.String(required=True, validate=[validate.Length(max=20000), SAYS_SOMETHING])
    listing_id = WholeNumber(load_default=None, allow_none=True, validate=ID_RANGE)
    category_id = WholeNumber(load_default=None, allow_none=True, validate=ID_RANGE)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=500), SAYS_SOMETHING])


class ApproveSchema(Schema):
    reason = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=500), SAYS_SOMETHING],
        metadata={
            "description": "Needed to approve time the other side has not confirmed yet (awaiting_confirmation_by "
            "is set): approving it anyway is a deliberate step, and the reason is kept in the exchange's history."
        },
    )


# -- transfers ---------------------------------------------------------------------------------


class OtherAccountSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)


class TransferSchema(Schema):
    id = fields.Integer(required=True)
    value_date = fields.Date(required=True)
    created_at = Timestamp(required=True)
    phase = fields.String(required=True, metadata={"enum": ["single", "pending", "post", "void"]})
    purpose = fields.String(required=True)
    direction = fields.String(required=True, metadata={"enum": ["in", "out"]})
    amount_hours = Hours(required=True)
    amount_minutes = fields.Integer(required=True)
    other_account = fields.Nested(OtherAccountSchema, required=True)
    memo = fields.String(required=True)
    pending_id = fields.Integer(required=True, allow_none=True)
    reverses_id = fields.Integer(required=True, allow_none=True)
