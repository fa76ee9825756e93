"""A clock the tests set and move: it stands in for ``timebank.clock.now_utc`` (the ``clock``
fixture in tests/conftest.py), so "31 minutes later" takes no time. The app reads the time
through that one function wherever a test needs to control it (web sessions' limits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ControllableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **how_long: float) -> datetime:
        """Move on, e.g. ``clock.advance(minutes=31)``; returns the new time."""
        self.now += timedelta(**how_long)
        return self.now
