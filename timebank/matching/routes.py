"""The matches page: who could help with a request, or which requests an offer could meet."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..listings.service import is_current, listing_today
from .service import matches_for_listing

bp = Blueprint("matching", __name__)


@bp.get("/listings/<int:listing_id>/matches")
@login_required
def listing_matches(listing_id: int) -> str:
    session = db.session()
    matches = matches_for_listing(session, current_user, listing_id)
    listing = matches.listing
    return render_template(
        "matching/matches.html",
        matches=matches,
        # Only the listing's owner proposes from here, and only while it is open: others may
        # look, as they may in the directory, and propose from the listing itself.
        propose=listing.member_id == current_user.id and is_current(listing, listing_today(session, listing)),
    )
