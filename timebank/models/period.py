"""Ledger periods: calendar months of a timebank's ledger. A closed period is read-only.

A period row is the month's closing: it is never deleted (that would reopen the month) and never
changed, except that ``close_month`` writes its checksum once, in the closing transaction, after
the month's statements (a database trigger refuses anything else, as it does for the
transfers and statements).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, install_trigger_ddl, utcnow


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("timebank_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    month: Mapped[date]  # the first day of the month
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    checksum: Mapped[str | None] = mapped_column(String(64))


PERIOD_REFUSED = "closed periods cannot be reopened or changed"


def _checksum_written_once(same: str) -> str:
    """The one UPDATE a close makes: the checksum, from none to one, after the statements, and
    nothing else. ``same``: the database's null-safe equality."""
    return (
        "OLD.checksum IS NULL AND NEW.checksum IS NOT NULL"
        " AND NEW.id = OLD.id AND NEW.timebank_id = OLD.timebank_id AND NEW.month = OLD.month"
        f" AND NEW.closed_at = OLD.closed_at AND NEW.closed_by_id {same} OLD.closed_by_id"
        " AND EXISTS (SELECT 1 FROM statements WHERE statements.period_id = OLD.id)"
    )


def closed_period_trigger_ddl(dialect: str) -> list[str]:
    """SQL statements that make ``periods`` refuse DELETE and every UPDATE but the close's own."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER periods_no_update BEFORE UPDATE ON periods WHEN NOT ({_checksum_written_once('IS')}) "
            f"BEGIN SELECT RAISE(ABORT, '{PERIOD_REFUSED}'); END",
            "CREATE TRIGGER periods_no_delete BEFORE DELETE ON periods "
            f"BEGIN SELECT RAISE(ABORT, '{PERIOD_REFUSED}'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION keep_period_closed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'UPDATE' THEN IF {_checksum_written_once('IS NOT DISTINCT FROM')} THEN RETURN NEW; "
            f"END IF; END IF; RAISE EXCEPTION '{PERIOD_REFUSED}'; END $$",
            "CREATE TRIGGER periods_stay_closed BEFORE UPDATE OR DELETE ON periods "
            "FOR EACH ROW EXECUTE FUNCTION keep_period_closed()",
        ]
    return []


install_trigger_ddl("periods", closed_period_trigger_ddl)
