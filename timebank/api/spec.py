"""The ``documented`` decorator: what the OpenAPI document says about one API view.

Every view of the ``api`` blueprint carries one. The decorator only records its arguments on
the view as ``view.__api_doc__`` (an :class:`ApiDoc`) and returns the view unchanged; the
document itself is built from the URL map plus these records in ``timebank/api/openapi.py``.
A test fails if an ``api.`` endpoint has no ``__api_doc__``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])

SchemaRef = type[Schema] | Schema


@dataclass(frozen=True)
class ApiDoc:
    """What ``documented`` recorded for one view."""

    summary: str
    tags: list[str]
    responses: dict[int, SchemaRef | None]
    body: type[Schema] | None = None
    body_required: bool = True
    query: type[Schema] | None = None
    auth: bool = True
    idempotent: bool = False
    key_required: bool = True
    description: str = ""
    content: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: dict[str, dict[str, Any]] = field(default_factory=dict)


def documented(
    *,
    summary: str,
    tags: list[str],
    body: type[Schema] | None = None,
    body_required: bool = True,
    query: type[Schema] | None = None,
    responses: dict[int, SchemaRef | None],
    auth: bool = True,
    idempotent: bool = False,
    key_required: bool = True,
    description: str = "",
    content: dict[str, dict[str, Any]] | None = None,
    path: dict[str, dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Record how an API view is described in the OpenAPI document.

    ``responses`` maps each status code the view can return to the schema of its JSON body
    (a Schema class or instance, e.g. ``ItemSchema(many=True)``), or None for a body-less
    response (204) or one whose body is the shared error shape (any 4xx). Every 4xx listed is
    documented with the error shape ``{"error": {"code", "message", "fields"}}``; 401 is added
    automatically when ``auth`` is true. ``idempotent`` adds the ``Idempotency-Key`` header,
    required unless ``key_required=False`` (the view then works without a key, only without
    the replay protection).
    ``content`` adds other media types to the success responses, e.g.
    ``{"text/csv": {"schema": {"type": "string"}}}`` for a view that also answers in CSV.
    ``body_required=False`` documents a body the view also works without.
    ``path`` gives the JSON Schema of a path parameter when its converter says too little,
    e.g. ``{"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}``.
    """
    doc = ApiDoc(
        summary=summary,
        tags=list(tags),
        responses=dict(responses),
        body=body,
        body_required=body_required,
        query=query,
        auth=auth,
        idempotent=idempotent,
        key_required=key_required,
        description=description,
        content=dict(content or {}),
        path=dict(path or {}),
    )

    def decorate(view: F) -> F:
        view.__api_doc__ = doc  # type: ignore[attr-defined]
        return view

    return decorate


def api_doc_of(view: Callable[..., Any]) -> ApiDoc | None:
    """The ``ApiDoc`` recorded on a view (following ``functools.wraps`` chains), or None."""
    seen: Callable[..., Any] | None = view
    while seen is not None:
        doc = getattr(seen, "__api_doc__", None)
        if isinstance(doc, ApiDoc):
            return doc
        seen = getattr(seen, "__wrapped__", None)
    return None
