"""Patrol shift templates, the shifts generated from them, and who is on each."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.hybrid import hybrid_property

from i18n import localized

from .base import TimestampMixin, UTCDateTime, db, new_uid, str_enum, utcnow

# Weekdays as bits, Monday = bit 0 (date.weekday()), so 0b1111111 = every day.
ALL_WEEKDAYS = 0b1111111


class ShiftTemplate(TimestampMixin, db.Model):
    """A team's repeating shift. `local_end <= local_start` means it ends the next day (22:00–02:00)."""

    __tablename__ = "shift_templates"
    __table_args__ = (
        sa.CheckConstraint("local_end <> local_start", name="not_zero_length"),
        sa.CheckConstraint("weekdays > 0 AND weekdays <= 127", name="weekdays_valid"),
        sa.CheckConstraint("min_volunteers >= 0", name="min_not_negative"),
        sa.CheckConstraint("max_volunteers >= 1 AND max_volunteers >= min_volunteers", name="max_valid"),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    team_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    weekdays: orm.Mapped[int] = orm.mapped_column(default=ALL_WEEKDAYS)
    local_start: orm.Mapped[dt.time] = orm.mapped_column()
    local_end: orm.Mapped[dt.time] = orm.mapped_column()
    area_zh: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    area_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    min_volunteers: orm.Mapped[int] = orm.mapped_column(default=2)
    max_volunteers: orm.Mapped[int] = orm.mapped_column(default=6)
    valid_from: orm.Mapped[dt.date] = orm.mapped_column()
    valid_until: orm.Mapped[dt.date | None] = orm.mapped_column()
    active: orm.Mapped[bool] = orm.mapped_column(default=True)

    team: orm.Mapped[PatrolTeam] = orm.relationship()  # noqa: F821

    @property
    def crosses_midnight(self) -> bool:
        return self.local_end <= self.local_start

    def runs_on(self, day: dt.date) -> bool:
        return bool(self.weekdays & (1 << day.weekday()))


class ShiftStatus(enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Shift(TimestampMixin, db.Model):
    """One patrol shift. `local_date` is the evening it starts on, also when it ends after midnight.

    `assigned_count` mirrors the active assignments so the database itself refuses
    an overfilled shift (CHECK) under concurrent sign-ups.
    """

    __tablename__ = "shifts"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "local_date"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("min_volunteers >= 0", name="min_not_negative"),
        sa.CheckConstraint("max_volunteers >= 1 AND max_volunteers >= min_volunteers", name="max_valid"),
        sa.CheckConstraint("assigned_count >= 0 AND assigned_count <= max_volunteers", name="assigned_within_capacity"),
        sa.CheckConstraint("held_count >= 0", name="held_not_negative"),
        sa.Index("ix_shifts_team_starts", "team_id", "starts_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    uid: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True, default=new_uid)
    team_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"))
    template_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("shift_templates.id", ondelete="SET NULL"), index=True
    )
    local_date: orm.Mapped[dt.date] = orm.mapped_column(index=True)
    starts_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    ends_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    area_zh: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    area_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    min_volunteers: orm.Mapped[int] = orm.mapped_column(default=2)
    max_volunteers: orm.Mapped[int] = orm.mapped_column(default=6)
    assigned_count: orm.Mapped[int] = orm.mapped_column(default=0)
    # Places held for waiting-list offers (models/trades.py): not free for anyone else.
    held_count: orm.Mapped[int] = orm.mapped_column(default=0, server_default="0")
    status: orm.Mapped[ShiftStatus] = orm.mapped_column(
        str_enum(ShiftStatus, "shift_status"), default=ShiftStatus.SCHEDULED
    )
    sequence: orm.Mapped[int] = orm.mapped_column(default=0)
    last_modified: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    team: orm.Mapped[PatrolTeam] = orm.relationship()  # noqa: F821
    template: orm.Mapped[ShiftTemplate | None] = orm.relationship()

    @property
    def duration(self) -> dt.timedelta:
        return self.ends_at - self.starts_at

    @property
    def area(self) -> str:
        return localized(self, "area")

    @hybrid_property
    def understaffed(self) -> bool:
        """A scheduled shift with fewer volunteers than its minimum (roster pages, alerts, reports)."""
        return self.status is ShiftStatus.SCHEDULED and self.assigned_count < self.min_volunteers

    @understaffed.inplace.expression
    @classmethod
    def _understaffed_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == ShiftStatus.SCHEDULED, cls.assigned_count < cls.min_volunteers)


class AssignmentStatus(enum.Enum):
    ASSIGNED = "assigned"
    DROPPED = "dropped"
    REMOVED = "removed"  # taken off by a coordinator
    SWAPPED = "swapped"  # handed to another volunteer by an accepted swap


class Attendance(enum.Enum):
    UNKNOWN = "unknown"
    PRESENT = "present"
    NO_SHOW = "no_show"


class Assignment(TimestampMixin, db.Model):
    """A volunteer on a shift. Times are copied from the shift so overlap checks need no join."""

    __tablename__ = "assignments"
    __table_args__ = (
        # One active assignment per volunteer and shift; history rows stay.
        sa.Index(
            "uq_assignments_active_shift_volunteer",
            "shift_id",
            "volunteer_id",
            unique=True,
            sqlite_where=sa.text("status = 'assigned'"),
            postgresql_where=sa.text("status = 'assigned'"),
        ),
        sa.Index("ix_assignments_volunteer_starts", "volunteer_id", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("hours_credited >= 0", name="hours_not_negative"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    shift_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    volunteer_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    ends_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    status: orm.Mapped[AssignmentStatus] = orm.mapped_column(
        str_enum(AssignmentStatus, "assignment_status"), default=AssignmentStatus.ASSIGNED
    )
    attendance: orm.Mapped[Attendance] = orm.mapped_column(
        str_enum(Attendance, "attendance"), default=Attendance.UNKNOWN
    )
    checked_in_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    hours_credited: orm.Mapped[float] = orm.mapped_column(sa.Numeric(6, 2), default=0)
    assigned_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    shift: orm.Mapped[Shift] = orm.relationship()
    volunteer: orm.Mapped[User] = orm.relationship(foreign_keys=[volunteer_id])  # noqa: F821


class Unavailability(TimestampMixin, db.Model):
    """A volunteer cannot do a weekday (every week) or a particular date."""

    __tablename__ = "unavailabilities"
    __table_args__ = (
        sa.CheckConstraint("(weekday IS NULL) <> (day IS NULL)", name="weekday_or_day"),
        sa.CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="weekday_range"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: orm.Mapped[int | None] = orm.mapped_column()
    day: orm.Mapped[dt.date | None] = orm.mapped_column()
    note: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")


class SwapStatus(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class SwapRequest(TimestampMixin, db.Model):
    """A volunteer asks a named teammate to take over one assignment."""

    __tablename__ = "swap_requests"
    __table_args__ = (sa.CheckConstraint("from_user_id <> to_user_id", name="different_people"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    assignment_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    from_user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: orm.Mapped[SwapStatus] = orm.mapped_column(str_enum(SwapStatus, "swap_status"), default=SwapStatus.PENDING)
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    assignment: orm.Mapped[Assignment] = orm.relationship()
    from_user: orm.Mapped[User] = orm.relationship(foreign_keys=[from_user_id])  # noqa: F821
    to_user: orm.Mapped[User] = orm.relationship(foreign_keys=[to_user_id])  # noqa: F821
