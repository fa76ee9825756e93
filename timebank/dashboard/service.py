"""What a member's dashboard shows, gathered in one read. No writes, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..exchanges import service as exchanges
from ..exchanges import views
from ..listings.service import my_listings
from ..matching.service import Suggestion, suggestions_for
from ..members.service import HistoryLine, account_history, history_words
from ..models import Account, Listing, ListingStatus, Member, Timebank

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
