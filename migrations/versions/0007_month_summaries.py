"""month summaries: the report figures of closed months, stored at the close; listings indexes
for the dashboard suggestions' newest open requests

Revision ID: 0007_month_summaries
Revises: 0006_notifications_api
Create Date: 2026-12-07 13:30:00.000000

Existing closed months get their summaries from ``flask timebank backfill-month-summaries``
(the pages count a closed month without one live until then, so nothing is wrong meanwhile).
"""
from alembic import op
import sqlalchemy as sa


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


def downgrade():
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_timebank_kind_status_category_id')
        batch_op.drop_index('ix_listings_timebank_kind_status_id')

    op.drop_table('month_summaries')
