"""The JSON API's blueprint, ``/api/v1``. Route modules import ``bp`` from here; the package's
``__init__`` imports them all and sets the blueprint's error handlers and token loading."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

API_PREFIX = "/api/"

# Ids in API paths use the plain ``<int:...>`` converter, not ``ids.URL_ID``: a bounded converter
# makes Werkzeug answer 405 for, say, DELETE /listings/<huge id> (the path's other methods still
# "match"), where the API must say 404. Every service checks ``ids.is_storable_id`` itself, so an
# id too large to store is "not found" either way.
