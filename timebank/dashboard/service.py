"""What a member's dashboard shows, gathered in one read. No writes, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..exchanges import views
from ..exchanges.states import FINAL
from ..listings.service import my_listings
from ..matching.service import Suggestion, suggestions_for
from ..members.service import HistoryLine, account_history, history_words
from ..models import Account, Exchange, ExchangeStatus, Listing, ListingKind, ListingStatus, Member, Timebank

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

    @property
    def offers_something(self) -> bool:
        """An open offer, or something offered on the profile: "add what you can offer" would be wrong."""
        return (
            any(listing.kind == ListingKind.OFFER and listing.status == ListingStatus.OPEN for listing in self.listings)
            or any(skill.kind == ListingKind.OFFER for skill in self.member.skills)
            or bool(self.member.offers_text.strip())
        )


def build_dashboard(session: Session, member: Member, timebank: Timebank) -> Dashboard:
    assert member.account is not None
    described = [views.describe(e, member, timebank.time_zone) for e in _unfinished_exchanges(session, member)]
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


# Finished exchanges are "done" on every page (views._group), and the dashboard shows only what
# needs the member or waits for others, so it never loads a member's whole history. Named as the
# statuses still under way (not "not done"), so the (account, status) indexes find just those.
_DONE = (*FINAL, ExchangeStatus.APPROVED)
_UNDER_WAY = tuple(status for status in ExchangeStatus if status not in _DONE)


def _unfinished_exchanges(session: Session, member: Member) -> list[Exchange]:
    """The member's exchanges still under way, most recently changed first, with everything
    ``views.describe`` reads loaded in the same few queries (no query per exchange)."""
    assert member.account is not None
    account_id = member.account.id
    return list(
        session.scalars(
            select(Exchange)
            .where(
                Exchange.timebank_id == member.timebank_id,
                or_(
                    and_(Exchange.provider_account_id == account_id, Exchange.status.in_(_UNDER_WAY)),
                    and_(Exchange.recipient_account_id == account_id, Exchange.status.in_(_UNDER_WAY)),
                ),
            )
            .options(
                joinedload(Exchange.provider_account),
                joinedload(Exchange.recipient_account),
                selectinload(Exchange.entered_by),
            )
            .order_by(Exchange.updated_at.desc(), Exchange.id.desc())
        ).unique()
    )
