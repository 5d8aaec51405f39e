"""Waiting lists for full shifts and the team's open trade board.

A waiting list entry that has been OFFERED holds one place of its shift: `Shift.held_count`
counts those holds, and a booking by anyone else needs `assigned_count + held_count` below the
maximum (services/assignments.py), so nobody can take a held place meanwhile.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import TimestampMixin, UTCDateTime, db, str_enum


class WaitlistStatus(enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"  # a freed place is held for this person until offer_expires_at
    ACCEPTED = "accepted"
    DECLINED = "declined"  # the offer was turned down
    EXPIRED = "expired"  # the offer ran out, or the shift started while waiting
    LEFT = "left"  # left the queue
    SKIPPED = "skipped"  # could no longer be booked (e.g. now on an overlapping shift) when a place freed


ACTIVE_WAITLIST = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(TimestampMixin, db.Model):
    """One person queueing for one full shift; the queue order is the id (first come, first offered)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        # At most one live entry per person and shift; history rows stay.
        sa.Index(
            "uq_waitlist_active_shift_volunteer",
            "shift_id",
            "volunteer_id",
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'offered')"),
            postgresql_where=sa.text("status IN ('waiting', 'offered')"),
        ),
        sa.Index("ix_waitlist_shift_status", "shift_id", "status"),
        sa.Index("ix_waitlist_offer_expiry", "status", "offer_expires_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    shift_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"))
    volunteer_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: orm.Mapped[WaitlistStatus] = orm.mapped_column(
        str_enum(WaitlistStatus, "waitlist_status"), default=WaitlistStatus.WAITING
    )
    offered_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    offer_expires_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    shift: orm.Mapped[Shift] = orm.relationship()  # noqa: F821
    volunteer: orm.Mapped[User] = orm.relationship()  # noqa: F821


class TradeStatus(enum.Enum):
    OPEN = "open"  # on the board
    PENDING = "pending"  # taken, waiting for the coordinator's approval
    TAKEN = "taken"  # the shift moved to the taker
    WITHDRAWN = "withdrawn"  # the giver took it back
    CANCELLED = "cancelled"  # the assignment ended another way (drop, removal, swap)


ACTIVE_TRADE = (TradeStatus.OPEN, TradeStatus.PENDING)


class TradeOffer(TimestampMixin, db.Model):
    """A volunteer offers one of their shifts to the whole team; the giver stays on it until it is taken."""

    __tablename__ = "trade_offers"
    __table_args__ = (
        sa.Index(
            "uq_trade_offers_active_assignment",
            "assignment_id",
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'pending')"),
            postgresql_where=sa.text("status IN ('open', 'pending')"),
        ),
        sa.Index("ix_trade_offers_team_status", "team_id", "status"),
        sa.CheckConstraint("taker_id IS NULL OR taker_id <> from_user_id", name="taker_not_giver"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    assignment_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("assignments.id", ondelete="CASCADE"))
    shift_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    team_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"))
    from_user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    taker_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: orm.Mapped[TradeStatus] = orm.mapped_column(str_enum(TradeStatus, "trade_status"), default=TradeStatus.OPEN)
    taken_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    decided_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    assignment: orm.Mapped[Assignment] = orm.relationship()  # noqa: F821
    shift: orm.Mapped[Shift] = orm.relationship()  # noqa: F821
    team: orm.Mapped[PatrolTeam] = orm.relationship()  # noqa: F821
    from_user: orm.Mapped[User] = orm.relationship(foreign_keys=[from_user_id])  # noqa: F821
    taker: orm.Mapped[User | None] = orm.relationship(foreign_keys=[taker_id])  # noqa: F821
