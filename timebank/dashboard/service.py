"""What a member's dashboard shows, gathered in one read. No writes, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..exchanges import service as exchanges
from ..exchanges import views
from ..ledger import format_minutes
from ..listings.service import my_listings
from ..matching.service import Suggestion, suggestions_for
from ..members.service import HistoryLine, account_history
from ..models import Account, Listing, ListingStatus, Member, Timebank, TransferPurpose

RECENT_HISTORY = 10
SUGGESTIONS = 5


@dataclass(frozen=True)
class HistoryItem:
    line: HistoryLine
    text: str  # "You earned 2 hours helping Sam"


@dataclass
class Dashboard:
    member: Member
    account: Account
    needs_action: list[views.ExchangeView]
    waiting: list[views.ExchangeView]
    listings: list[Listing]
    history: list[HistoryItem]
    suggestions: list[Suggestion] = field(default_factory=list)


def history_words(line: HistoryLine) -> str:
    """One posted movement in plain words, from the member's side."""
    amount = format_minutes(abs(line.change_minutes))
    earned = line.change_minutes > 0
    if line.purpose == TransferPurpose.EXCHANGE:
        return f"You earned {amount} helping {line.other_party}" if earned else (
            f"You spent {amount}: {line.other_party} helped you"
        )
    if line.purpose == TransferPurpose.DONATION and not earned:
        return f"You gave {amount} to the community pool"
    if line.purpose == TransferPurpose.REVERSAL:
        return f"{amount} given back to you (a correction)" if earned else f"{amount} taken back (a correction)"
    return f"You got {amount} from {line.other_party}" if earned else f"{amount} went to {line.other_party}"


def build_dashboard(session: Session, member: Member, timebank: Timebank) -> Dashboard:
    assert member.account is not None
    described = [views.describe(e, member, timebank.time_zone) for e in exchanges.exchanges_of(session, member)]
    return Dashboard(
        member=member,
        account=member.account,
        needs_action=[v for v in described if v.group == "action"],
        waiting=[v for v in described if v.group == "waiting"],
        listings=[
            listing
            for listing in my_listings(session, member)
            if listing.status in (ListingStatus.OPEN, ListingStatus.PAUSED)
        ],
        history=[
            HistoryItem(line, history_words(line))
            for line in account_history(session, member.account, RECENT_HISTORY)
        ],
        suggestions=suggestions_for(session, member, SUGGESTIONS),
    )
