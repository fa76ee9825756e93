"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str:
    return render_template("main/home.html")
