"""Qualifications (team leader, first aid, ...) and the roster planner's drafts."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from i18n import localized

from .base import TimestampMixin, UTCDateTime, db, str_enum, utcnow


class Qualification(TimestampMixin, db.Model):
    """A skill some shifts need, kept by admins: bilingual name, a short stable code."""

    __tablename__ = "qualifications"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    code: orm.Mapped[str] = orm.mapped_column(sa.String(32), unique=True)
    name_zh: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    name_en: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")

    @property
    def name(self) -> str:
        return localized(self, "name")


class VolunteerQualification(TimestampMixin, db.Model):
    """A volunteer holds a qualification, until `expires_on` (inclusive) if set."""

    __tablename__ = "volunteer_qualifications"
    __table_args__ = (sa.UniqueConstraint("user_id", "qualification_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    qualification_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("qualifications.id", ondelete="CASCADE"), index=True
    )
    expires_on: orm.Mapped[dt.date | None] = orm.mapped_column()
    granted_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    qualification: orm.Mapped[Qualification] = orm.relationship()

    def valid_on(self, day: dt.date) -> bool:
        return self.expires_on is None or day <= self.expires_on


class TemplateRequirement(TimestampMixin, db.Model):
    """Every shift of a template needs at least `count` volunteers holding the qualification."""

    __tablename__ = "template_requirements"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "qualification_id"),
        sa.CheckConstraint("count >= 1", name="count_positive"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    template_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("shift_templates.id", ondelete="CASCADE"), index=True
    )
    qualification_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("qualifications.id", ondelete="CASCADE"), index=True
    )
    count: orm.Mapped[int] = orm.mapped_column(default=1)

    qualification: orm.Mapped[Qualification] = orm.relationship()


class PlanStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class Plan(TimestampMixin, db.Model):
    """A planner run: a draft the coordinator reviews, edits and publishes. team_id None = all teams."""

    __tablename__ = "plans"
    __table_args__ = (sa.CheckConstraint("last_day >= first_day", name="range_valid"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    team_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True
    )
    first_day: orm.Mapped[dt.date] = orm.mapped_column()
    last_day: orm.Mapped[dt.date] = orm.mapped_column()
    status: orm.Mapped[PlanStatus] = orm.mapped_column(str_enum(PlanStatus, "plan_status"), default=PlanStatus.DRAFT)
    created_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    published_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    # Solver figures and the shifts it could not fill, with reasons (shown on the review page).
    summary: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)

    entries: orm.Mapped[list[PlanEntry]] = orm.relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanEntry.id"
    )


class PlanEntry(db.Model):
    """One proposed (new) assignment of a draft."""

    __tablename__ = "plan_entries"
    __table_args__ = (sa.UniqueConstraint("plan_id", "shift_id", "volunteer_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    plan_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    shift_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    volunteer_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    plan: orm.Mapped[Plan] = orm.relationship(back_populates="entries")
