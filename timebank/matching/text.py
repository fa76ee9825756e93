"""Words for text fit: lowercase, drop common words, light suffix stripping. Deterministic, no ML.

The aim is that "gardening", "gardener" and "gardens" meet, that "shopping" meets "shop", and
that a person can check by eye why two texts were said to share a word. Each stem remembers the
first word it came from, so a reason can quote the word as the member wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+")

# Common English words, and words almost every offer or request uses ("help", "need", "hours"),
# which would make everything look alike.
_STOPWORD_TEXT = """
    a about above after again all also am an and any anyone anything are around as at be because
    been before being below between both but by can cannot could did do does doing done down during
    each either else ever every few for from further get gets getting give giving go going got had
    has have having he her here hers him his how i if in into is it its just least less like
    little lot lots make many may me might mine more most much must my myself need needed needs
    neither no nor not now of off often on once one only or other our ours out over own please
    quite really same she should so some someone something sometimes still such than thank thanks
    that the their theirs them then there these they thing things this those though through to
    too under until up upon us use used very want wanted wants was way we week weekly well were
    what when where whether which while who whom whose why will with without would yes yet you
    your yours yourself
    able help helping helped helps hour hours time times offer offers offering request requests
    requesting happy love bit day days month months
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_MIN_STEM = 3
_NO_UNDOUBLE = frozenset("lsz")


def stem(word: str) -> str:
    """A light, predictable stem: strips -ies, -ing, -ed, -er, -ly, -s and a final -e.

    Suffixes are stripped repeatedly ("gardeners" → "gardener" → "garden") while at least three
    letters remain; a doubled final consonant left by -ing/-ed is undoubled ("shopping" → "shop").
    """
    previous = None
    while word != previous:
        previous = word
        word = _strip_once(word)
    return word


def _strip_once(word: str) -> str:
    if word.endswith("ies") and len(word) - 3 >= _MIN_STEM - 1:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            stemmed = word[: -len(suffix)]
            if len(stemmed) > _MIN_STEM and stemmed[-1] == stemmed[-2] and stemmed[-1] not in _NO_UNDOUBLE:
                stemmed = stemmed[:-1]
            return stemmed
    for suffix in ("er", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) - 1 >= _MIN_STEM:
        return word[:-1]
    if word.endswith("e") and len(word) - 1 >= _MIN_STEM:
        return word[:-1]
    return word


def words(*texts: str | None) -> dict[str, str]:
    """The meaningful words in ``texts``: stem → the first word (lowercased) it came from."""
    found: dict[str, str] = {}
    for text in texts:
        for word in _WORD.findall((text or "").lower()):
            if len(word) < 2 or word.isdigit() or word in STOPWORDS:
                continue
            found.setdefault(stem(word), word)
    return found


def shared(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """The stems both texts use, in the order they first appear in ``first``."""
    return [key for key in first if key in second]


def quote_list(items: Iterable[str]) -> str:
    """'a' → "'a'"; ['a', 'b', 'c'] → "'a', 'b' and 'c'"."""
    quoted = [f"'{item}'" for item in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def and_list(items: Iterable[str]) -> str:
    """['a', 'b', 'c'] → 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
