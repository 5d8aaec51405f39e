"""Secret tokens behind private calendar feeds."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

import sqlalchemy as sa
from sqlalchemy import orm

from .base import UTCDateTime, db, str_enum, utcnow


class FeedKind(enum.Enum):
    TEAM = "team"
    VOLUNTEER = "volunteer"


def new_feed_token() -> str:
    # 24 random bytes = 192 bits, 32 URL-safe characters: unguessable and short enough for Google.
    return secrets.token_urlsafe(24)


class FeedToken(db.Model):
    __tablename__ = "feed_tokens"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'team' AND team_id IS NOT NULL AND user_id IS NULL)"
            " OR (kind = 'volunteer' AND user_id IS NOT NULL AND team_id IS NULL)",
            name="owner_matches_kind",
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    token: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True, default=new_feed_token)
    kind: orm.Mapped[FeedKind] = orm.mapped_column(str_enum(FeedKind, "feed_kind"))
    team_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True)
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    team: orm.Mapped["PatrolTeam | None"] = orm.relationship()  # noqa: F821
    user: orm.Mapped["User | None"] = orm.relationship()  # noqa: F821

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
