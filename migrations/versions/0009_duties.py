"""duties: nobody decides on their own benefit. Decision requests (a coordinator's own grant
from the pool, own limits, or reversal of an exchange they took part in) wait here for another
coordinator or an installation admin; a timebank's explicit, audited setting lets a single
coordinator decide their own.

Revision ID: 0009_duties
Revises: 0007_month_summaries
Create Date: 2026-12-07 23:30:00.474512

Existing timebanks start with self-approval off (the server default fills their rows, then is
dropped so the column matches the model).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_duties'
down_revision = '0008_ledger_integrity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('decision_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timebank_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('grant', 'limits', 'reversal', name='decision_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'approved', 'refused', 'withdrawn', name='decision_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=True),
    sa.Column('floor_minutes', sa.BigInteger(), nullable=True),
    sa.Column('cap_minutes', sa.BigInteger(), nullable=True),
    sa.Column('exchange_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('request_key', sa.String(length=200), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=False),
    sa.Column('transfer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('cap_minutes IS NULL OR cap_minutes >= 0', name=op.f('ck_decision_requests_cap_not_negative')),
    sa.CheckConstraint('floor_minutes IS NULL OR floor_minutes <= 0', name=op.f('ck_decision_requests_floor_not_positive')),
    sa.CheckConstraint('minutes IS NULL OR minutes > 0', name=op.f('ck_decision_requests_minutes_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['members.id'], name=op.f('fk_decision_requests_decided_by_id_members')),
    sa.ForeignKeyConstraint(['exchange_id'], ['exchanges.id'], name=op.f('fk_decision_requests_exchange_id_exchanges')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_decision_requests_member_id_members')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['members.id'], name=op.f('fk_decision_requests_requested_by_id_members')),
    sa.ForeignKeyConstraint(['timebank_id'], ['timebanks.id'], name=op.f('fk_decision_requests_timebank_id_timebanks')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_decision_requests_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_requests')),
    sa.UniqueConstraint('timebank_id', 'request_key', name=op.f('uq_decision_requests_timebank_id'))
    )
    with op.batch_alter_table('decision_requests', schema=None) as batch_op:
        batch_op.create_index('ix_decision_requests_timebank_status', ['timebank_id', 'status'], unique=False)

    # The monthly report reads a timebank's self-approval events by action. (Not in batch mode:
    # audit_events must keep its append-only triggers, which a SQLite table copy would drop.)
    op.create_index('ix_audit_events_timebank_action', 'audit_events', ['timebank_id', 'action', 'id'], unique=False)

    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_self_approval', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.alter_column('allow_self_approval', server_default=None)


def downgrade():
    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.drop_column('allow_self_approval')

    op.drop_index('ix_audit_events_timebank_action', table_name='audit_events')

    with op.batch_alter_table('decision_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_requests_timebank_status')

    op.drop_table('decision_requests')
