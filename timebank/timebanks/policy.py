"""A timebank's approval policy, in one place."""

from __future__ import annotations

from ..models import ApprovalPolicy, Timebank


def needs_coordinator_approval(timebank: Timebank, minutes: int) -> bool:
    if timebank.approval_policy == ApprovalPolicy.ALWAYS:
        return True
    if timebank.approval_policy == ApprovalPolicy.ABOVE_THRESHOLD:
        return minutes > timebank.approval_threshold_minutes
    return False
