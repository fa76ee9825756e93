"""When a member is usually free: a set of day-part slots such as ``mon-morning``.

Stored on ``Member.availability`` as a comma-separated string so it is portable and readable.
"""

from __future__ import annotations

from collections.abc import Iterable

DAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
PARTS = (("morning", "mornings"), ("afternoon", "afternoons"), ("evening", "evenings"))
ALL_SLOTS = tuple(f"{day}-{part}" for day, _ in DAYS for part, _ in PARTS)
_DAY_NAMES = dict(DAYS)
_PART_NAMES = dict(PARTS)


def parse(text: str | None) -> frozenset[str]:
    """The valid slots in a stored string; anything unknown is ignored."""
    return frozenset(slot for slot in (text or "").split(",") if slot in ALL_SLOTS)


def serialise(slots: Iterable[str]) -> str:
    """Slots in calendar order, unknown ones dropped."""
    chosen = set(slots)
    return ",".join(slot for slot in ALL_SLOTS if slot in chosen)


def overlap(first: str | None, second: str | None) -> frozenset[str]:
    return parse(first) & parse(second)


def describe_slot(slot: str) -> str:
    """'mon-morning' → 'Monday mornings'."""
    day, part = slot.split("-")
    return f"{_DAY_NAMES[day]} {_PART_NAMES[part]}"


def describe(slots: Iterable[str]) -> str:
    """Plain words for a set of slots, e.g. 'Monday mornings, Thursday evenings'."""
    ordered = [slot for slot in ALL_SLOTS if slot in set(slots)]
    return ", ".join(describe_slot(slot) for slot in ordered)
