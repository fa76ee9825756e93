"""Human documentation of the JSON API at ``/api/docs``: one server-rendered page, no scripts.

The page is generated from the same OpenAPI document the API serves (``openapi.py``), so the
two cannot drift apart: operations grouped by tag, each with its parameters, request body and
responses, then every schema with its fields, and an example of getting a token with curl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template

from .openapi import TOKEN_EXAMPLE, openapi_document

bp = Blueprint("api_docs", __name__, url_prefix="/api")

_REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class BodyDoc:
    """One media type of a body: its type in words, and the schema to link to, if one."""

    media_type: str
    label: str
    schema: str | None


@dataclass(frozen=True)
class ResponseDoc:
    status: str
    description: str
    bodies: list[BodyDoc]


@dataclass(frozen=True)
class OperationDoc:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    needs_token: bool
    idempotent: bool
    parameters: list[FieldDoc]
    bodies: list[BodyDoc]
    responses: list[ResponseDoc]


@dataclass
class TagDoc:
    name: str
    anchor: str
    operations: list[OperationDoc] = field(default_factory=list)


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    anchor: str
    description: str
    fields: list[FieldDoc]


def schema_anchor(name: str) -> str:
    return "schema-" + name


def type_label(schema: dict[str, Any]) -> str:
    """A JSON Schema in a few words: ``list of Listing``, ``integer or null``, ``one of: a, b``."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(_REF_PREFIX)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return " or ".join(type_label(part) for part in schema[combinator])
    if "enum" in schema:
        return "one of: " + ", ".join("null" if value is None else str(value) for value in schema["enum"])
    kinds = schema.get("type", "any")
    labels = []
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind == "array":
            labels.append("list of " + type_label(schema.get("items", {})))
        elif kind == "string" and "format" in schema:
            labels.append(f"string ({schema['format']})")
        else:
            labels.append(str(kind))
    return " or ".join(labels)


def _field_docs(schema: dict[str, Any]) -> list[FieldDoc]:
    required = set(schema.get("required", []))
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    answers_only = all(prop.get("readOnly") for prop in properties.values())  # no need to say it each time
    docs = []
    for name, prop in properties.items():
        description = str(prop.get("description", ""))
        if prop.get("readOnly") and not answers_only:
            description = (description + " Only in answers.").strip()
        if prop.get("writeOnly"):
            description = (description + " Only in requests.").strip()
        docs.append(FieldDoc(name, type_label(prop), name in required, description))
    return docs


def _parameter_docs(parameters: list[dict[str, Any]]) -> list[FieldDoc]:
    return [
        FieldDoc(
            name=f"{parameter['name']} ({parameter['in']})",
            type=type_label(parameter.get("schema", {})),
            required=bool(parameter.get("required")),
            description=str(parameter.get("description", "")),
        )
        for parameter in parameters
    ]


def _schema_name(schema: dict[str, Any]) -> str | None:
    """The component a body refers to (directly, or as the items of a list)."""
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return str(ref).removeprefix(_REF_PREFIX) if ref else None


def _bodies(content: dict[str, Any]) -> list[BodyDoc]:
    bodies = []
    for media_type, media in content.items():
        schema = media.get("schema") or {}
        bodies.append(BodyDoc(media_type, type_label(schema) if schema else "", _schema_name(schema)))
    return bodies


def code_spans(text: str) -> list[tuple[bool, str]]:
    """Text with `code` in backticks, as (is_code, text) parts for the template."""
    return [(index % 2 == 1, part) for index, part in enumerate(text.split("`")) if part]


def page_contents(document: dict[str, Any]) -> tuple[list[TagDoc], list[SchemaDoc]]:
    """The operations grouped by tag (in the document's tag order) and every schema."""
    tags: dict[str, TagDoc] = {
        tag["name"]: TagDoc(tag["name"], "tag-" + tag["name"].lower().replace(" ", "-"))
        for tag in document.get("tags", [])
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            body = operation.get("requestBody", {}).get("content", {})
            doc = OperationDoc(
                anchor=operation.get("operationId", f"{method}-{path}"),
                method=method.upper(),
                path=path,
                summary=str(operation.get("summary", "")),
                description=str(operation.get("description", "")),
                needs_token=bool(operation.get("security")),
                idempotent=any(parameter["name"] == "Idempotency-Key" for parameter in parameters),
                parameters=_parameter_docs(parameters),
                bodies=_bodies(body),
                responses=[
                    ResponseDoc(status, str(response.get("description", "")), _bodies(response.get("content", {})))
                    for status, response in operation.get("responses", {}).items()
                ],
            )
            for tag in operation.get("tags", ["Other"]):
                tags.setdefault(tag, TagDoc(tag, "tag-" + tag.lower().replace(" ", "-"))).operations.append(doc)
    schemas = [
        SchemaDoc(name, schema_anchor(name), str(schema.get("description", "")), _field_docs(schema))
        for name, schema in sorted(document.get("components", {}).get("schemas", {}).items())
    ]
    return [tag for tag in tags.values() if tag.operations], schemas


@bp.get("/docs")
def index() -> str:
    document = openapi_document(current_app)
    tags, schemas = page_contents(document)
    return render_template(
        "api/docs.html",
        info=document["info"],
        tags=tags,
        schemas=schemas,
        token_example=TOKEN_EXAMPLE,
        code_spans=code_spans,
        schema_anchor=schema_anchor,
    )
