"""The home page: what a time bank is, the timebanks taking members, and the ways in."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..auth.service import joinable_timebanks
from ..extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str:
    return render_template("main/home.html", timebanks=joinable_timebanks(db.session()))
