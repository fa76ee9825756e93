"""sessions: signed-in web sessions kept on the server (so signing out, a new password, "sign out
everywhere" and a coordinator can end them there, and they end on their own when idle or too
old), and each timebank's sign-in limits

Revision ID: 0010_sessions
Revises: 0007_month_summaries
Create Date: 2026-12-08 10:00:00.000000

Sessions signed in before this migration carry no session id in their cookie, so everyone signs
in again once after the upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_sessions'
down_revision = '0009_duties'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kept', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.Enum('signed_out', 'idle', 'lifetime', 'password_changed', 'password_reset', 'everywhere', 'by_coordinator', name='session_end_reason', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('draft', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_web_sessions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_web_sessions_member_id_ended_at', ['member_id', 'ended_at'], unique=False)

    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_idle_minutes', sa.Integer(), nullable=False, server_default='30'))
        batch_op.add_column(sa.Column('coordinator_session_idle_minutes', sa.Integer(), nullable=False, server_default='15'))
        batch_op.add_column(sa.Column('session_lifetime_hours', sa.Integer(), nullable=False, server_default='12'))
        batch_op.create_check_constraint(
            op.f('ck_timebanks_session_idle_minutes'), 'session_idle_minutes BETWEEN 5 AND 120'
        )
        batch_op.create_check_constraint(
            op.f('ck_timebanks_coordinator_session_idle_minutes'), 'coordinator_session_idle_minutes BETWEEN 5 AND 60'
        )
        batch_op.create_check_constraint(
            op.f('ck_timebanks_session_lifetime_hours'), 'session_lifetime_hours BETWEEN 1 AND 24'
        )


def downgrade():
    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_timebanks_session_lifetime_hours'), type_='check')
        batch_op.drop_constraint(op.f('ck_timebanks_coordinator_session_idle_minutes'), type_='check')
        batch_op.drop_constraint(op.f('ck_timebanks_session_idle_minutes'), type_='check')
        batch_op.drop_column('session_lifetime_hours')
        batch_op.drop_column('coordinator_session_idle_minutes')
        batch_op.drop_column('session_idle_minutes')

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_web_sessions_member_id_ended_at')

    op.drop_table('web_sessions')
