"""ledger integrity: the database refuses a reversal that does not mirror its original (names
it, swaps its accounts, equals its amount, stays in its timebank, posts at once, reverses a posted
movement that is not a reversal), and a closed period that is deleted (reopened) or changed (the
close's own first write of its checksum, after its statements, is the one UPDATE allowed)

Revision ID: 0008_ledger_integrity
Revises: 0007_month_summaries
Create Date: 2026-12-08 09:00:00.000000

Triggers only: no table changes. They must stay identical to timebank.models.transfer
(reversal_trigger_ddl) and timebank.models.period (closed_period_trigger_ddl), which create_all
uses; tests/test_migrations.py compares the migrated database's triggers with create_all's.
Existing rows are not re-checked here: ``flask timebank check-ledger`` reports any that break
these rules.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_ledger_integrity'
down_revision = '0007_month_summaries'
branch_labels = None
depends_on = None

REVERSAL_REFUSED = (
    "a reversal must name the transfer it reverses, swap its accounts, equal its amount and stay in its timebank"
)
MIRRORED_ORIGINAL = (
    "SELECT 1 FROM transfers AS original WHERE original.id = NEW.reverses_id"
    " AND NEW.purpose = 'reversal' AND NEW.phase = 'single'"
    " AND original.timebank_id = NEW.timebank_id"
    " AND original.debit_account_id = NEW.credit_account_id"
    " AND original.credit_account_id = NEW.debit_account_id"
    " AND original.amount_minutes = NEW.amount_minutes"
    " AND original.phase IN ('single', 'post') AND original.purpose <> 'reversal'"
)
NAMES_AN_ORIGINAL = "NEW.purpose = 'reversal' OR NEW.reverses_id IS NOT NULL"

PERIOD_REFUSED = "closed periods cannot be reopened or changed"


def checksum_written_once(same):
    return (
        "OLD.checksum IS NULL AND NEW.checksum IS NOT NULL"
        " AND NEW.id = OLD.id AND NEW.timebank_id = OLD.timebank_id AND NEW.month = OLD.month"
        f" AND NEW.closed_at = OLD.closed_at AND NEW.closed_by_id {same} OLD.closed_by_id"
        " AND EXISTS (SELECT 1 FROM statements WHERE statements.period_id = OLD.id)"
    )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER transfers_reversal_mirrors_original BEFORE INSERT ON transfers "
            f"WHEN {NAMES_AN_ORIGINAL} "
            f"BEGIN SELECT RAISE(ABORT, '{REVERSAL_REFUSED}') WHERE NOT EXISTS ({MIRRORED_ORIGINAL}); END"
        )
        op.execute(
            f"CREATE TRIGGER periods_no_update BEFORE UPDATE ON periods WHEN NOT ({checksum_written_once('IS')}) "
            f"BEGIN SELECT RAISE(ABORT, '{PERIOD_REFUSED}'); END"
        )
        op.execute(
            "CREATE TRIGGER periods_no_delete BEFORE DELETE ON periods "
            f"BEGIN SELECT RAISE(ABORT, '{PERIOD_REFUSED}'); END"
        )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION refuse_unmirrored_reversal() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF NOT EXISTS ({MIRRORED_ORIGINAL}) THEN RAISE EXCEPTION '{REVERSAL_REFUSED}'; END IF; "
        "RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER transfers_reversal_mirrors_original BEFORE INSERT ON transfers "
        f"FOR EACH ROW WHEN ({NAMES_AN_ORIGINAL}) EXECUTE FUNCTION refuse_unmirrored_reversal()"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION keep_period_closed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF TG_OP = 'UPDATE' THEN IF {checksum_written_once('IS NOT DISTINCT FROM')} THEN RETURN NEW; "
        f"END IF; END IF; RAISE EXCEPTION '{PERIOD_REFUSED}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER periods_stay_closed BEFORE UPDATE OR DELETE ON periods "
        "FOR EACH ROW EXECUTE FUNCTION keep_period_closed()"
    )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS transfers_reversal_mirrors_original")
        op.execute("DROP TRIGGER IF EXISTS periods_no_update")
        op.execute("DROP TRIGGER IF EXISTS periods_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS transfers_reversal_mirrors_original ON transfers")
    op.execute("DROP FUNCTION IF EXISTS refuse_unmirrored_reversal()")
    op.execute("DROP TRIGGER IF EXISTS periods_stay_closed ON periods")
    op.execute("DROP FUNCTION IF EXISTS keep_period_closed()")
