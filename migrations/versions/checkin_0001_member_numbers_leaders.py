"""member numbers and team leaders (check-in)

Revision ID: checkin_0001
Revises: planner_0001
Create Date: 2026-12-06 18:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'checkin_0001'
down_revision = 'planner_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('is_leader', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Existing members are numbered in the order they joined (then by id), per team.
    op.execute(
        """
        UPDATE team_memberships SET member_number = (
            SELECT COUNT(*) FROM team_memberships AS earlier
            WHERE earlier.team_id = team_memberships.team_id AND earlier.id <= team_memberships.id
        )
        """
    )
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_team_memberships_member_number', ['team_id', 'member_number'])


def downgrade():
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.drop_constraint('uq_team_memberships_member_number', type_='unique')
        batch_op.drop_column('is_leader')
        batch_op.drop_column('member_number')
