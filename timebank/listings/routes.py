"""Offers and requests: browse and search, add, change, pause, reopen, close."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..clock import today_in
from ..date_input import dates_confirmed
from ..extensions import db
from ..ids import URL_ID
from ..members.directory import known_areas, timebank_categories
from ..members.visibility import visible_area
from ..models import Listing, Member, Timebank
from ..web import requested_page
from .errors import InvalidListing
from .forms import ListingForm, ListingSearchForm, default_kind, listing_form_data
from .service import (
    RANKED_UP_TO,
    can_manage,
    close_listing,
    create_listing,
    get_listing,
    is_current,
    listing_for_editing,
    listing_today,
    my_listings,
    pause_listing,
    reopen_listing,
    search_listings,
    split_tags,
    update_listing,
)

bp = Blueprint("listings", __name__, url_prefix="/listings")


def _member_of_timebank() -> Member:
    """The signed-in member; an installation admin outside any timebank has no listings."""
    if current_user.timebank_id is None:
        abort(404)
    member: Member = current_user._get_current_object()
    return member


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    viewer = _member_of_timebank()
    session = db.session()
    form = ListingSearchForm(formdata=request.args or MultiDict())
    form.set_choices(timebank_categories(session, viewer), known_areas(session, viewer))
    status = 200
    if form.validate():
        filters = form.filters()
    else:  # a search too long to use: say so, and show the newest listings
        status = 422
        filters = ListingSearchForm(formdata=MultiDict()).filters()
    page = search_listings(session, viewer, filters, requested_page())
    return (
        render_template("listings/index.html", form=form, page=page, filters=filters, ranked_up_to=RANKED_UP_TO),
        status,
    )


def _form_for(session: Session, viewer: Member, formdata: MultiDict[str, str] | None, **kwargs: object) -> ListingForm:
    form = ListingForm(formdata=formdata, **kwargs)
    timebank = session.get(Timebank, viewer.timebank_id)
    form.set_choices(timebank_categories(session, viewer), timebank.granularity_minutes if timebank else 15)
    form.today = today_in(timebank.time_zone) if timebank else None
    return form


def _save(form: ListingForm, action: Callable[[], Listing]) -> Listing | None:
    """Run the service; a rule it refuses becomes a message beside the field."""
    try:
        return action()
    except InvalidListing as error:
        target = form.field_for(error.field)
        if target is not None:
            target.errors = [*target.errors, error.message]
        else:
            form.form_errors.append(error.message)
        return None


def _status(form: ListingForm) -> int:
    """A form sent back with problems is a 422; one sent back only to say its end date in words
    (``dates_confirmed``) is a 200."""
    return 422 if form.errors else 200


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    viewer = _member_of_timebank()
    session = db.session()
    if request.method == "POST":
        form = _form_for(session, viewer, request.form)
        if form.validate() and dates_confirmed(form):
            listing = _save(form, lambda: create_listing(session, viewer, form.to_input()))
            if listing is not None:
                flash(f"Your {listing.kind.value} “{listing.title}” is now listed.", "success")
                return redirect(url_for("listings.show", listing_id=listing.id))
        return render_template("listings/form.html", form=form, listing=None), _status(form)
    form = _form_for(session, viewer, None, data={"kind": default_kind(request.args.get("kind"))})
    return render_template("listings/form.html", form=form, listing=None)


@bp.get("/mine")
@login_required
def mine() -> str:
    viewer = _member_of_timebank()
    return render_template("listings/mine.html", listings=my_listings(db.session(), viewer))


@bp.get(f"/<{URL_ID}:listing_id>")
@login_required
def show(listing_id: int) -> str:
    viewer = _member_of_timebank()
    session = db.session()
    listing = get_listing(session, viewer, listing_id)
    return render_template(
        "listings/detail.html",
        listing=listing,
        manage=can_manage(viewer, listing),
        is_own=listing.member_id == viewer.id,
        current=is_current(listing, listing_today(session, listing)),
        owner_area=visible_area(viewer, listing.member),
        tags=split_tags(listing.tags),
    )


@bp.route(f"/<{URL_ID}:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id: int) -> ResponseReturnValue:
    viewer = _member_of_timebank()
    session = db.session()
    listing = listing_for_editing(session, viewer, listing_id)
    if request.method == "POST":
        form = _form_for(session, viewer, request.form)
        if form.validate() and dates_confirmed(form):
            saved = _save(form, lambda: update_listing(session, viewer, listing_id, form.to_input()))
            if saved is not None:
                flash("Your changes have been saved.", "success")
                return redirect(url_for("listings.show", listing_id=listing_id))
        return render_template("listings/form.html", form=form, listing=listing), _status(form)
    form = _form_for(session, viewer, None, data=listing_form_data(listing))
    return render_template("listings/form.html", form=form, listing=listing)


_STATUS_CHANGES = {
    "pause": (pause_listing, "“{title}” is paused. It will not show in searches until you reopen it."),
    "reopen": (reopen_listing, "“{title}” is open again."),
    "close": (close_listing, "“{title}” is closed. You can reopen it from My listings."),
}


@bp.post(f"/<{URL_ID}:listing_id>/<any(pause, reopen, close):change>")
@login_required
def change_status(listing_id: int, change: str) -> ResponseReturnValue:
    viewer = _member_of_timebank()
    action, message = _STATUS_CHANGES[change]
    listing = action(db.session(), viewer, listing_id)
    flash(message.format(title=listing.title), "success")
    return redirect(url_for("listings.show", listing_id=listing.id))
