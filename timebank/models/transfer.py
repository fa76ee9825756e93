"""Transfers: immutable double-entry ledger movements (DESIGN.md rules 2-4).

A transfer is never updated or deleted (database triggers refuse it). A pending transfer is
resolved by a second row whose phase is POST or VOID and whose ``pending_id`` points at it;
the unique constraint on ``pending_id`` means a pending transfer resolves at most once, and the
one on ``reverses_id`` means a transfer is reversed at most once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .account import Account
from .base import Base, install_trigger_ddl, utcnow
from .enums import TransferPhase, TransferPurpose, str_enum

# Posted help (reports.movements: HELP and POSTED), the rows of the partial indexes below. The
# queries' own IN lists must name the same values for the planner to use them.
HELP_POSTED = "phase IN ('single', 'post') AND purpose IN ('exchange', 'activity')"

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount_minutes > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint(
            "(phase IN ('post', 'void')) = (pending_id IS NOT NULL)", name="resolution_names_pending"
        ),
        UniqueConstraint("pending_id"),
        UniqueConstraint("reverses_id"),
        UniqueConstraint("timebank_id", "idempotency_key"),
        Index("ix_transfers_debit_account_created", "debit_account_id", "id"),
        Index("ix_transfers_credit_account_created", "credit_account_id", "id"),
        Index("ix_transfers_timebank_value_date", "timebank_id", "value_date"),
        # Hours of help (reports.movements.help_movements): a timebank's posted help of some
        # days, read from the index alone (the open month on the dashboard and reports), and
        # the reversals of those days without reading the month's other movements.
        Index(
            "ix_transfers_help_day",
            "timebank_id",
            "value_date",
            postgresql_include=[
                "id",
                "pending_id",
                "purpose",
                "debit_account_id",
                "credit_account_id",
                "amount_minutes",
            ],
            postgresql_where=text(HELP_POSTED),
            sqlite_where=text(HELP_POSTED),
        ),
        Index(
            "ix_transfers_reversal_day",
            "timebank_id",
            "value_date",
            postgresql_where=text("purpose = 'reversal'"),
            sqlite_where=text("purpose = 'reversal'"),
        ),
        # An account's days of help, on either side: "no help since" is one probe per account
        # (the coordinator dashboard's outreach), whatever the account's history.
        Index(
            "ix_transfers_help_debit_day",
            "debit_account_id",
            "value_date",
            postgresql_where=text(HELP_POSTED),
            sqlite_where=text(HELP_POSTED),
        ),
        Index(
            "ix_transfers_help_credit_day",
            "credit_account_id",
            "value_date",
            postgresql_where=text(HELP_POSTED),
            sqlite_where=text(HELP_POSTED),
        ),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_minutes: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[TransferPhase] = mapped_column(str_enum(TransferPhase, "transfer_phase"))
    purpose: Mapped[TransferPurpose] = mapped_column(str_enum(TransferPurpose, "transfer_purpose"))
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    # The day the movement counts for (the help's date, or the day of posting); checked
    # against closed periods.
    value_date: Mapped[date]
    memo: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # Hash of the request's content, so a replayed key with other content is a conflict.
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    debit_account: Mapped[Account] = relationship(foreign_keys=[debit_account_id])
    credit_account: Mapped[Account] = relationship(foreign_keys=[credit_account_id])
    pending: Mapped[Transfer | None] = relationship(foreign_keys=[pending_id], remote_side=[id])
    reverses: Mapped[Transfer | None] = relationship(foreign_keys=[reverses_id], remote_side=[id])

    def __repr__(self) -> str:
        route = f"{self.debit_account_id}->{self.credit_account_id}"
        return f"<Transfer {self.id} {self.phase} {self.amount_minutes}m {route}>"


# Immutability at the database level: the ledger is append-only even for code that forgets.
IMMUTABLE_TABLES = ("transfers", "audit_events", "statements")


def append_only_trigger_ddl(table: str, dialect: str) -> list[str]:
    """SQL statements that make ``table`` refuse UPDATE and DELETE."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
        ]
    return []


def drop_append_only_trigger_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]
    return []


def _install_append_only_triggers(table_name: str) -> None:
    install_trigger_ddl(table_name, lambda dialect: append_only_trigger_ddl(table_name, dialect))


# A reversal mirrors its original (a mistake is put right by a transfer the other way that points
# at it): it names the transfer it reverses, swaps its accounts, equals its amount, stays in its
# timebank, posts at once, and reverses a movement that posted and is not a reversal itself.
# ``ledger.reverse_transfer`` writes only such rows; the database refuses any other, and
# ``check_ledger`` reports one written with the trigger off.
REVERSAL_REFUSED = (
    "a reversal must name the transfer it reverses, swap its accounts, equal its amount and stay in its timebank"
)
_MIRRORED_ORIGINAL = (
    "SELECT 1 FROM transfers AS original WHERE original.id = NEW.reverses_id"
    " AND NEW.purpose = 'reversal' AND NEW.phase = 'single'"
    " AND original.timebank_id = NEW.timebank_id"
    " AND original.debit_account_id = NEW.credit_account_id"
    " AND original.credit_account_id = NEW.debit_account_id"
    " AND original.amount_minutes = NEW.amount_minutes"
    " AND original.phase IN ('single', 'post') AND original.purpose <> 'reversal'"
)
_NAMES_AN_ORIGINAL = "NEW.purpose = 'reversal' OR NEW.reverses_id IS NOT NULL"


def reversal_trigger_ddl(dialect: str) -> list[str]:
    """SQL statements that make ``transfers`` refuse a reversal that does not mirror its original."""
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER transfers_reversal_mirrors_original BEFORE INSERT ON transfers "
            f"WHEN {_NAMES_AN_ORIGINAL} "
            f"BEGIN SELECT RAISE(ABORT, '{REVERSAL_REFUSED}') WHERE NOT EXISTS ({_MIRRORED_ORIGINAL}); END"
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION refuse_unmirrored_reversal() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NOT EXISTS ({_MIRRORED_ORIGINAL}) THEN RAISE EXCEPTION '{REVERSAL_REFUSED}'; END IF; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER transfers_reversal_mirrors_original BEFORE INSERT ON transfers "
            f"FOR EACH ROW WHEN ({_NAMES_AN_ORIGINAL}) EXECUTE FUNCTION refuse_unmirrored_reversal()",
        ]
    return []


install_trigger_ddl("transfers", reversal_trigger_ddl)
