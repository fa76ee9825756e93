"""Plain-text search helpers shared by the member directory and listings (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

MAX_WORDS = 8


def search_words(query: str | None) -> list[str]:
    """The distinct words of a search box, lower-cased, at most ``MAX_WORDS``."""
    seen: list[str] = []
    for word in re.findall(r"\w[\w'’-]*", (query or "").lower()):
        if word not in seen:
            seen.append(word)
    return seen[:MAX_WORDS]


def contains_pattern(word: str) -> str:
    r"""A LIKE pattern matching ``word`` anywhere; use with ``escape="\\"``."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
