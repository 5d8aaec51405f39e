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
        # At most one live token per owner, also when two requests issue one at the same time.
        sa.Index(
            "uq_feed_tokens_active_team",
            "team_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL AND team_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND team_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_feed_tokens_active_user",
            "user_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL AND user_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND user_id IS NOT NULL"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    token: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True, default=new_feed_token)
    kind: orm.Mapped[FeedKind] = orm.mapped_column(str_enum(FeedKind, "feed_kind"))
    team_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True
    )
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    team: orm.Mapped[PatrolTeam | None] = orm.relationship()  # noqa: F821
    user: orm.Mapped[User | None] = orm.relationship()  # noqa: F821

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FeedSnapshot(db.Model):
    """The last published version of one feed (per language and address), shared by all workers.

    `etag` is a hash of the body, so it changes exactly when the content does; `changed_at`
    (whole seconds) is the feed's Last-Modified; `fingerprint` is the database state the body
    was built from, so a worker that has not built the body itself can still answer 304.
    """

    __tablename__ = "feed_snapshots"

    key: orm.Mapped[str] = orm.mapped_column(sa.String(64), primary_key=True)
    fingerprint: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    etag: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    changed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
