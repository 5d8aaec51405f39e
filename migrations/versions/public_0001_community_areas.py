"""Community areas (streets, compounds, landmarks) and precomputed search keys.

Revision ID: public_0001
Revises: 0001
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = 'public_0001'
down_revision = 'feeds_0001'
branch_labels = None
depends_on = None


def _compact(text):
    # Frozen copy of services/search.py's normalisation at the time of this revision
    # (migrations never import app code); `flask --app app search reindex` recomputes with the current one.
    decomposed = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", "", text)


def _key(*names):
    from pypinyin import Style, lazy_pinyin

    segments = []
    for name in names:
        pinyin = "".join(lazy_pinyin(name or "", style=Style.NORMAL, errors="ignore"))
        for segment in (_compact(name), _compact(pinyin)):
            if segment and segment not in segments:
                segments.append(segment)
    return "|" + "|".join(segments) + "|" if segments else ""


def upgrade():
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), nullable=False, server_default=''))

    op.create_table('community_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('street', 'compound', 'landmark', name='area_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('search_key', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_areas_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_areas')),
    sa.UniqueConstraint('community_id', 'name_zh', name=op.f('uq_community_areas_community_id_name_zh'))
    )
    with op.batch_alter_table('community_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_areas_community_id'), ['community_id'], unique=False)

    # Existing communities become findable by their names at once (they have no areas yet).
    bind = op.get_bind()
    communities = sa.table('communities', sa.column('id', sa.Integer), sa.column('slug', sa.String),
                           sa.column('name_zh', sa.String), sa.column('name_en', sa.String),
                           sa.column('search_key', sa.Text))
    for row in bind.execute(sa.select(communities.c.id, communities.c.slug, communities.c.name_zh,
                                      communities.c.name_en)).all():
        bare_zh = re.sub(r"社区$", "", row.name_zh or "")
        bare_en = re.sub(r"\s*community$", "", row.name_en or "", flags=re.I)
        bind.execute(communities.update().where(communities.c.id == row.id).values(
            search_key=_key(row.name_zh, row.name_en, row.slug, bare_zh, bare_en)))


def downgrade():
    with op.batch_alter_table('community_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_areas_community_id'))
    op.drop_table('community_areas')
    # Not a batch (table copy) on SQLite: other tables' foreign keys point at communities.
    op.drop_column('communities', 'search_key')
