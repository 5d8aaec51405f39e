"""booking email, page language, cancel reason; booking recovery codes

Revision ID: residents_0001
Revises: notify_0001
Create Date: 2026-12-06 18:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'residents_0001'
down_revision = 'notify_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=False, server_default='zh_CN'))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=16), nullable=False, server_default=''))
    with op.batch_alter_table('clinic_bookings', schema=None) as batch_op:
        batch_op.alter_column('email', server_default=None)
        batch_op.alter_column('locale', server_default=None)
        batch_op.alter_column('cancel_reason', server_default=None)
    op.create_table('booking_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('code_hmac', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_recovery_codes')),
    sa.UniqueConstraint('ticket', name=op.f('uq_booking_recovery_codes_ticket'))
    )
    with op.batch_alter_table('booking_recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_recovery_codes_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_recovery_codes_phone'), ['phone'], unique=False)


def downgrade():
    with op.batch_alter_table('booking_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_recovery_codes_phone'))
        batch_op.drop_index(batch_op.f('ix_booking_recovery_codes_expires_at'))
    op.drop_table('booking_recovery_codes')
    with op.batch_alter_table('clinic_bookings', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('locale')
        batch_op.drop_column('email')
