"""month summaries: the report figures of closed months, stored at the close; listings indexes
for the dashboard suggestions' newest open requests and for search within one timebank;
exchanges by (account, status) for the member dashboard's exchanges under way; transfers'
partial indexes of posted help by (timebank, day) and (account, day) and of reversals by
(timebank, day), for the open month's figures and the coordinator dashboard's outreach

Revision ID: 0007_month_summaries
Revises: 0006_notifications_api
Create Date: 2026-12-07 13:30:00.000000

Existing closed months get their summaries from ``flask timebank backfill-month-summaries``
(the pages count a closed month without one live until then, so nothing is wrong meanwhile).
"""
from alembic import op
import sqlalchemy as sa

# Must stay identical to timebank.models.listing.search_document_in_timebank() (the query uses it).
TIMEBANK_SEARCH_DOCUMENT = (
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(tags, ''))"
    " || array_to_tsvector(ARRAY['timebank#' || timebank_id::text]))"
)

# Must stay identical to timebank.models.transfer.HELP_POSTED (the partial indexes' rows).
HELP_POSTED = "phase IN ('single', 'post') AND purpose IN ('exchange', 'activity')"


# revision identifiers, used by Alembic.
revision = '0007_month_summaries'
down_revision = '0006_notifications_api'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timebank_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=False),
    sa.Column('person_to_person_minutes', sa.BigInteger(), nullable=False),
    sa.Column('person_to_agency_minutes', sa.BigInteger(), nullable=False),
    sa.Column('group_activity_minutes', sa.BigInteger(), nullable=False),
    sa.Column('active_participants', sa.Integer(), nullable=False),
    sa.Column('reciprocity_active', sa.Integer(), nullable=False),
    sa.Column('reciprocity_both_ways', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['timebank_id'], ['timebanks.id'], name=op.f('fk_month_summaries_timebank_id_timebanks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_summaries')),
    sa.UniqueConstraint('timebank_id', 'month', name=op.f('uq_month_summaries_timebank_id'))
    )
    # Dashboard suggestions walk the newest open requests, overall and per category (matching).
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index('ix_listings_timebank_kind_status_id', ['timebank_id', 'kind', 'status', 'id'], unique=False)
        batch_op.create_index('ix_listings_timebank_kind_status_category_id', ['timebank_id', 'kind', 'status', 'category_id', 'id'], unique=False)
    # The member dashboard's exchanges still under way, on either side.
    with op.batch_alter_table('exchanges', schema=None) as batch_op:
        batch_op.create_index('ix_exchanges_provider_account_status', ['provider_account_id', 'status'], unique=False)
        batch_op.create_index('ix_exchanges_recipient_account_status', ['recipient_account_id', 'status'], unique=False)
    # Hours of help of a timebank's days (open month) and of an account's days (outreach).
    help_posted = {"postgresql_where": sa.text(HELP_POSTED), "sqlite_where": sa.text(HELP_POSTED)}
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(
            'ix_transfers_help_day', ['timebank_id', 'value_date'], unique=False,
            postgresql_include=['id', 'pending_id', 'purpose', 'debit_account_id', 'credit_account_id', 'amount_minutes'],
            **help_posted,
        )
        batch_op.create_index(
            'ix_transfers_reversal_day', ['timebank_id', 'value_date'], unique=False,
            postgresql_where=sa.text("purpose = 'reversal'"), sqlite_where=sa.text("purpose = 'reversal'"),
        )
        batch_op.create_index('ix_transfers_help_debit_day', ['debit_account_id', 'value_date'], unique=False, **help_posted)
        batch_op.create_index('ix_transfers_help_credit_day', ['credit_account_id', 'value_date'], unique=False, **help_posted)
    # Listings search within one timebank (PostgreSQL full text; SQLite searches with LIKE).
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_listings_timebank_search", "listings", [sa.text(TIMEBANK_SEARCH_DOCUMENT)], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_listings_timebank_search", table_name="listings")
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_help_credit_day')
        batch_op.drop_index('ix_transfers_help_debit_day')
        batch_op.drop_index('ix_transfers_reversal_day')
        batch_op.drop_index('ix_transfers_help_day')
    with op.batch_alter_table('exchanges', schema=None) as batch_op:
        batch_op.drop_index('ix_exchanges_recipient_account_status')
        batch_op.drop_index('ix_exchanges_provider_account_status')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_timebank_kind_status_category_id')
        batch_op.drop_index('ix_listings_timebank_kind_status_id')

    op.drop_table('month_summaries')
