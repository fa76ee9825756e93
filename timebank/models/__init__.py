"""All models, importable from one place. Plain SQLAlchemy: no Flask here."""

from .account import Account
from .api import ApiIdempotencyRecord, ApiToken
from .audit import AuditEvent
from .base import Base, utcnow
from .coordination import Activity, ActivityAttendee, CoordinatorNote, TimesheetImport
from .decision import DecisionRequest
from .enums import (
    AccountKind,
    ActivityDirection,
    ApprovalPolicy,
    ContactPreference,
    DecisionKind,
    DecisionStatus,
    ExchangeStatus,
    ListingKind,
    ListingStatus,
    MemberStatus,
    Role,
    TransferPhase,
    TransferPurpose,
)
from .exchange import Exchange
from .listing import Listing
from .member import Member, MemberSkill, RecoveryCode
from .month_summary import MonthSummary
from .notification import JobRun, Notification, OutboundEmail
from .period import Period
from .statement import Statement
from .timebank import Category, Timebank
from .transfer import IMMUTABLE_TABLES, Transfer, _install_append_only_triggers
from .web_session import SessionEnd, WebSession

for _table in IMMUTABLE_TABLES:
    _install_append_only_triggers(_table)

__all__ = [
    "IMMUTABLE_TABLES",
    "Account",
    "AccountKind",
    "Activity",
    "ActivityAttendee",
    "ActivityDirection",
    "ApiIdempotencyRecord",
    "ApiToken",
    "ApprovalPolicy",
    "AuditEvent",
    "Base",
    "Category",
    "ContactPreference",
    "CoordinatorNote",
    "DecisionKind",
    "DecisionRequest",
    "DecisionStatus",
    "Exchange",
    "ExchangeStatus",
    "JobRun",
    "Listing",
    "ListingKind",
    "ListingStatus",
    "Member",
    "MemberSkill",
    "MemberStatus",
    "MonthSummary",
    "Notification",
    "OutboundEmail",
    "Period",
    "RecoveryCode",
    "Role",
    "SessionEnd",
    "Statement",
    "Timebank",
    "TimesheetImport",
    "Transfer",
    "TransferPhase",
    "TransferPurpose",
    "WebSession",
    "utcnow",
]
