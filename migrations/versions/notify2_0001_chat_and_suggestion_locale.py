"""team chat language, suggestion language

Revision ID: notify2_0001
Revises: trade_0001
Create Date: 2026-12-06 21:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'notify2_0001'
down_revision = 'trade_0001'
branch_labels = None
depends_on = None


def upgrade():
    # Existing teams and suggestions keep what they had: Chinese.
    with op.batch_alter_table('patrol_teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_locale', sa.String(length=8), nullable=False, server_default='zh_CN'))
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=False, server_default='zh_CN'))


def downgrade():
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('patrol_teams', schema=None) as batch_op:
        batch_op.drop_column('chat_locale')
