"""The JSON API's blueprint, ``/api/v1``. Route modules import ``bp`` from here; the package's
``__init__`` imports them all and sets the blueprint's error handlers and token loading."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

API_PREFIX = "/api/"

# Ids in API paths use ``<int:...>``, which in this app is ``ids.StoredId``: a path naming an id
# no database column can hold matches no route, so it is a 404 whatever the method.
