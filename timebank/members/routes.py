"""Members' pages: my hours, my profile, a member's profile, and the member directory."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..ids import URL_ID
from ..listings.service import open_listings_of
from ..models import Member
from ..web import requested_page
from . import availability as slots
from .directory import DirectoryFilters, known_areas, search_directory, timebank_categories
from .errors import InvalidProfile
from .forms import DirectorySearchForm, make_profile_form, profile_form_data, rows_in
from .profile import get_profile, member_for_editing, update_profile
from .service import account_history, pending_transfers

bp = Blueprint("members", __name__)


@bp.get("/me")
@login_required
def me() -> str:
    account = current_user.account
    if account is None:  # an installation admin outside any timebank has no account
        abort(404)
    return render_template(
        "members/me.html",
        account=account,
        history=account_history(db.session(), account),
        pending=pending_transfers(db.session(), account),
    )


def _edit_profile(member: Member) -> ResponseReturnValue:
    """The profile form for ``member``, changed by the signed-in member (themself or a coordinator)."""
    session = db.session()
    categories = timebank_categories(session, member)
    status = 200
    if request.method == "POST":
        form = make_profile_form(
            categories,
            offer_rows=rows_in(request.form, "offer"),
            request_rows=rows_in(request.form, "request"),
            formdata=request.form,
        )
        if form.validate():
            try:
                update_profile(session, current_user, member.id, form.to_input())
            except InvalidProfile as error:
                target = form.field_for(error.field)
                if target is not None:
                    target.errors = [*target.errors, error.message]
                else:
                    form.form_errors.append(error.message)
            else:
                if member.id == current_user.id:
                    flash("Your profile has been saved.", "success")
                    return redirect(url_for("members.profile"))
                flash(f"{member.display_name}’s profile has been saved.", "success")
                return redirect(url_for("members.show", member_id=member.id))
        status = 422
    else:
        data, offer_rows, request_rows = profile_form_data(member)
        form = make_profile_form(categories, offer_rows=offer_rows, request_rows=request_rows, formdata=None, data=data)
    return (
        render_template(
            "members/profile_form.html",
            form=form,
            member=member,
            acting_for=member.id != current_user.id,
            days=slots.DAYS,
            parts=slots.PARTS,
            chosen_slots=set(form.availability.data or ()),
        ),
        status,
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    """My profile: what I can offer, what I would like help with, and who can see what."""
    if current_user.timebank_id is None:
        abort(404)
    return _edit_profile(member_for_editing(db.session(), current_user, current_user.id))


@bp.route(f"/members/<{URL_ID}:member_id>/profile", methods=["GET", "POST"])
@login_required
def edit_for(member_id: int) -> ResponseReturnValue:
    """A coordinator changes a member's profile for them (the service refuses anyone else)."""
    if member_id == current_user.id:
        return redirect(url_for("members.profile"))
    return _edit_profile(member_for_editing(db.session(), current_user, member_id))


@bp.get(f"/members/<{URL_ID}:member_id>")
@login_required
def show(member_id: int) -> str:
    session = db.session()
    view = get_profile(session, current_user, member_id)
    listings = open_listings_of(session, current_user, view.member_id)
    return render_template("members/show.html", profile=view, listings=listings)


@bp.get("/members")
@login_required
def directory() -> ResponseReturnValue:
    if current_user.timebank_id is None:
        abort(404)
    session = db.session()
    categories = timebank_categories(session, current_user)
    areas = known_areas(session, current_user)
    form = DirectorySearchForm(formdata=request.args or MultiDict())
    form.set_choices(categories, areas)
    if form.validate():
        status = 200
        filters = DirectoryFilters(query=form.q.data or "", category_id=form.category.data, area=form.area.data or "")
    else:  # a search too long to use: say so, and show everyone
        status = 422
        filters = DirectoryFilters()
    page = search_directory(session, current_user, filters, requested_page())
    return render_template("members/directory.html", form=form, page=page, filters=filters), status
