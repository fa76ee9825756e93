"""two-factor sign-in: members' TOTP secret, when they turned it on and the last time step used;
their one-time recovery codes (hashed); a timebank's "coordinators must use two-factor" setting

Revision ID: 0011_two_factor
Revises: 0007_month_summaries
Create Date: 2026-12-10 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_two_factor'
down_revision = '0010_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('two_factor_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('coordinators_need_two_factor', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_recovery_codes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('member_id', 'code_hash', name=op.f('uq_recovery_codes_member_id'))
    )


def downgrade():
    op.drop_table('recovery_codes')
    with op.batch_alter_table('timebanks', schema=None) as batch_op:
        batch_op.drop_column('coordinators_need_two_factor')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('two_factor_enabled_at')
        batch_op.drop_column('totp_secret')
