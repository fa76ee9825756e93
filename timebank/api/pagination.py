"""Lists page the same way everywhere: ``?page=&per_page=`` (at most 100) in, and
``{"items": [...], "page", "per_page", "total"}`` out. A value that is not a whole number, a
page below 1 or per_page outside 1..100 is refused (422, naming the field). A page past the end
is empty (the services move such a page to the last one for people; a program walking pages
must see the end)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import request
from marshmallow import EXCLUDE, Schema, fields, validate

from ..pagination import DEFAULT_PER_PAGE, MAX_PAGE, Page
from .schemas import WholeNumber

MAX_PER_PAGE = 100
S = TypeVar("S", bound=Schema)


class PageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    page = WholeNumber(from_text=True, load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = WholeNumber(
        from_text=True, load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )


def query_args(schema: type[Schema]) -> dict[str, Any]:
    """The query string loaded with ``schema`` (a ValidationError becomes a 422)."""
    loaded: dict[str, Any] = schema(unknown=EXCLUDE).load(request.args.to_dict())
    return loaded


_PAGE_SCHEMAS: dict[type[Schema], type[Schema]] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    """The envelope of a list of ``item``: a Schema class named ``<Item>PageSchema``."""
    if item not in _PAGE_SCHEMAS:
        name = item.__name__.removesuffix("Schema") + "PageSchema"
        _PAGE_SCHEMAS[item] = Schema.from_dict(
            {
                "items": fields.List(fields.Nested(item), required=True),
                "page": fields.Integer(required=True),
                "per_page": fields.Integer(required=True),
                "total": fields.Integer(required=True),
            },
            name=name,
        )
    return _PAGE_SCHEMAS[item]


def paginated(
    page: Page[Any], requested: int, item: type[Schema], convert: Callable[[Any], Any] = lambda value: value
) -> dict[str, Any]:
    """The JSON of one page. ``requested`` is the page asked for: if the service moved it (past
    the end) the answer is that page, empty."""
    items: Sequence[Any] = page.items if page.page == requested else []
    envelope: dict[str, Any] = page_schema(item)().dump(
        {
            "items": [convert(value) for value in items],
            "page": requested,
            "per_page": page.per_page,
            "total": page.total,
        }
    )
    return envelope
