"""Enumerations stored as short strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


class Role(enum.StrEnum):
    PARTICIPANT = "participant"
    COORDINATOR = "coordinator"


class MemberStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    DECLINED = "declined"
    SUSPENDED = "suspended"
    LEFT = "left"


class ContactPreference(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    TEXT = "text"  # text message to the phone number
    COORDINATOR = "coordinator"  # through the coordinator: the member does not use email or phone


class AccountKind(enum.StrEnum):
    MEMBER = "member"
    ORGANISATION = "organisation"
    POOL = "pool"


class TransferPhase(enum.StrEnum):
    """TigerBeetle-style phases: a pending transfer is resolved by a later *post* or *void* row."""

    SINGLE = "single"  # posted at once
    PENDING = "pending"  # reserves the amount
    POST = "post"  # posts a pending transfer (pending_id)
    VOID = "void"  # releases a pending transfer (pending_id)


class TransferPurpose(enum.StrEnum):
    EXCHANGE = "exchange"
    ACTIVITY = "activity"
    DONATION = "donation"
    GRANT = "grant"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"


class ActivityDirection(enum.StrEnum):
    EARN = "earn"  # attendees gave their time (ran the session): the organisation pays them
    SPEND = "spend"  # attendees received (joined a trip): they pay the organisation


class ApprovalPolicy(enum.StrEnum):
    ALWAYS = "always"  # a coordinator approves every exchange
    ABOVE_THRESHOLD = "above_threshold"  # only exchanges longer than the threshold
    NEVER = "never"  # approved once both sides have confirmed


class ListingKind(enum.StrEnum):
    OFFER = "offer"
    REQUEST = "request"


class ListingStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class ExchangeStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RECORDED = "recorded"  # time logged by one side, hours reserved, waiting for the other side
    CONFIRMED = "confirmed"  # both sides agree, waiting for a coordinator
    APPROVED = "approved"  # credits posted
    REJECTED = "rejected"  # coordinator said no, reservation released
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    EXPIRED = "expired"
    REVERSED = "reversed"


class DecisionKind(enum.StrEnum):
    """What a decision request asks for: something its requester may not decide for themselves."""

    GRANT = "grant"  # hours from the community pool for the requester
    LIMITS = "limits"  # the requester's own floor and cap
    REVERSAL = "reversal"  # reversing an approved exchange the requester took part in


class DecisionStatus(enum.StrEnum):
    WAITING = "waiting"  # for another coordinator of the timebank, or an installation admin
    APPROVED = "approved"  # done, by the one who decided
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # the requester took it back


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR column with a CHECK constraint, storing the enum's values (not names)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )
