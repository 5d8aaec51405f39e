"""Programmes, their recurring series and the dated occurrences residents see."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.hybrid import hybrid_property

from i18n import localized

from .base import BilingualNameMixin, TimestampMixin, UTCDateTime, db, new_uid, str_enum, utcnow


class ProgrammeKind(enum.Enum):
    CONTACT_DAY = "contact_day"  # 社情民意联系日
    HOLIDAY_COURT = "holiday_court"  # 假日法庭
    LEGAL_CLINIC = "legal_clinic"  # 假日法律诊所
    PATROL = "patrol"  # 巡逻

    @property
    def is_public(self) -> bool:
        """Whether residents see this kind on pages, feeds and the API (see PUBLIC_PROGRAMME_KINDS)."""
        return self in PUBLIC_PROGRAMME_KINDS

    @property
    def uses_series(self) -> bool:
        """Scheduled by series and sites (occurrences); patrol is scheduled by shift templates."""
        return self is not ProgrammeKind.PATROL


# The privacy rule of the product, in one place: an allow-list, so a new kind stays private until
# someone decides to publish it. Pages, feeds, the API and search all read it through
# `ProgrammeKind.is_public`, `Programme.is_public` or `public_programmes()`.
PUBLIC_PROGRAMME_KINDS: tuple[ProgrammeKind, ...] = (
    ProgrammeKind.CONTACT_DAY,
    ProgrammeKind.HOLIDAY_COURT,
    ProgrammeKind.LEGAL_CLINIC,
)


class Programme(BilingualNameMixin, TimestampMixin, db.Model):
    __tablename__ = "programmes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    kind: orm.Mapped[ProgrammeKind] = orm.mapped_column(str_enum(ProgrammeKind, "programme_kind"))
    description_zh: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    description_en: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")

    @hybrid_property
    def is_public(self) -> bool:
        return self.kind.is_public

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls):
        return public_kind(cls.kind)


def public_kind(column) -> sa.ColumnElement[bool]:
    """SQL form of the rule for any programme-kind column (ORM or Core).

    One equality per kind rather than an expanding IN, so that the feeds' prepared probe
    statements can bind it like any other parameter.
    """
    return sa.or_(*(column == kind for kind in PUBLIC_PROGRAMME_KINDS))


def public_programmes() -> sa.Select:
    """The programmes residents may see, ordered by id."""
    return sa.select(Programme).where(Programme.is_public).order_by(Programme.id)


class SeriesPattern(enum.Enum):
    RRULE = "rrule"  # an RFC 5545 rule, e.g. FREQ=MONTHLY;BYDAY=2SU
    COURT_DAYS = "court_days"  # weekends and public holidays, make-up working days excluded


class HolidayPolicy(enum.Enum):
    KEEP = "keep"
    NEXT_SUNDAY = "next_sunday"
    SKIP = "skip"


class Series(BilingualNameMixin, TimestampMixin, db.Model):
    """A recurring rule of one programme; each site gets one occurrence per rule date."""

    __tablename__ = "series"
    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        sa.CheckConstraint("pattern <> 'rrule' OR rrule IS NOT NULL", name="rrule_present"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    programme_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("programmes.id"), index=True)
    pattern: orm.Mapped[SeriesPattern] = orm.mapped_column(str_enum(SeriesPattern, "series_pattern"))
    rrule: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    holiday_policy: orm.Mapped[HolidayPolicy] = orm.mapped_column(
        str_enum(HolidayPolicy, "holiday_policy"), default=HolidayPolicy.KEEP
    )
    starts_on: orm.Mapped[dt.date] = orm.mapped_column()
    ends_on: orm.Mapped[dt.date | None] = orm.mapped_column()
    active: orm.Mapped[bool] = orm.mapped_column(default=True)

    programme: orm.Mapped[Programme] = orm.relationship()
    sites: orm.Mapped[list[SeriesSite]] = orm.relationship(
        back_populates="series", cascade="all, delete-orphan", order_by="SeriesSite.id"
    )


class SeriesSite(TimestampMixin, db.Model):
    """Where and when a series meets: a community's liaison centre, a courtroom, a clinic room."""

    __tablename__ = "series_sites"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "venue_id", "community_id"),
        sa.CheckConstraint("local_end > local_start", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    series_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("series.id", ondelete="CASCADE"), index=True)
    community_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("communities.id"), index=True)
    venue_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("venues.id"), index=True)
    local_start: orm.Mapped[dt.time] = orm.mapped_column()
    local_end: orm.Mapped[dt.time] = orm.mapped_column()
    capacity: orm.Mapped[int | None] = orm.mapped_column()
    bilingual: orm.Mapped[bool] = orm.mapped_column(default=False)
    active: orm.Mapped[bool] = orm.mapped_column(default=True)

    series: orm.Mapped[Series] = orm.relationship(back_populates="sites")
    community: orm.Mapped[Community | None] = orm.relationship()  # noqa: F821
    venue: orm.Mapped[Venue] = orm.relationship()  # noqa: F821
    officials: orm.Mapped[list[User]] = orm.relationship(secondary="series_site_officials")  # noqa: F821


series_site_officials = sa.Table(
    "series_site_officials",
    db.metadata,
    sa.Column("site_id", sa.ForeignKey("series_sites.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class OccurrenceStatus(enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Occurrence(TimestampMixin, db.Model):
    """One dated session: a contact-day session in a community, a court day, a clinic session.

    `uid` is the event's identity in every feed: fixed at creation, never derived
    from anything that can change. Moving or cancelling raises `sequence`.
    """

    __tablename__ = "occurrences"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "rule_date"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.Index("ix_occurrences_programme_starts", "programme_id", "starts_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    uid: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True, default=new_uid)
    programme_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("programmes.id"))
    series_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("series.id"), index=True)
    site_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("series_sites.id"), index=True)
    community_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("communities.id"), index=True)
    venue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("venues.id"), index=True)
    # The date the rule produced (local); stays put when the occurrence is moved by hand.
    rule_date: orm.Mapped[dt.date | None] = orm.mapped_column()
    starts_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    ends_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    status: orm.Mapped[OccurrenceStatus] = orm.mapped_column(
        str_enum(OccurrenceStatus, "occurrence_status"), default=OccurrenceStatus.SCHEDULED
    )
    sequence: orm.Mapped[int] = orm.mapped_column(default=0)
    last_modified: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    moved_by_hand: orm.Mapped[bool] = orm.mapped_column(default=False)
    # Set when the rule date is a statutory holiday: shown to the admin to decide.
    on_public_holiday: orm.Mapped[bool] = orm.mapped_column(default=False)
    holiday_name: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    title_zh: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    title_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    note_zh: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    note_en: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    capacity: orm.Mapped[int | None] = orm.mapped_column()
    bilingual: orm.Mapped[bool] = orm.mapped_column(default=False)

    programme: orm.Mapped[Programme] = orm.relationship()
    series: orm.Mapped[Series | None] = orm.relationship()
    site: orm.Mapped[SeriesSite | None] = orm.relationship()
    community: orm.Mapped[Community | None] = orm.relationship()  # noqa: F821
    venue: orm.Mapped[Venue | None] = orm.relationship()  # noqa: F821
    officials: orm.Mapped[list[User]] = orm.relationship(secondary="occurrence_officials")  # noqa: F821

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def note(self) -> str:
        return localized(self, "note")

    def touch(self) -> None:
        """Record a change that calendar clients must pick up."""
        self.sequence = (self.sequence or 0) + 1
        self.last_modified = utcnow()


occurrence_officials = sa.Table(
    "occurrence_officials",
    db.metadata,
    sa.Column("occurrence_id", sa.ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class HearingNotice(TimestampMixin, db.Model):
    """A public hearing notice of the holiday court: case number, cause, room, time. Never parties."""

    __tablename__ = "hearing_notices"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    uid: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True, default=new_uid)
    occurrence_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    case_number: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    cause_zh: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    cause_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    courtroom_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("venues.id"))
    starts_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    ends_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    bilingual: orm.Mapped[bool] = orm.mapped_column(default=False)
    status: orm.Mapped[OccurrenceStatus] = orm.mapped_column(
        str_enum(OccurrenceStatus, "hearing_status"), default=OccurrenceStatus.SCHEDULED
    )
    sequence: orm.Mapped[int] = orm.mapped_column(default=0)
    last_modified: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    occurrence: orm.Mapped[Occurrence] = orm.relationship()
    courtroom: orm.Mapped[Venue | None] = orm.relationship()  # noqa: F821

    @property
    def cause(self) -> str:
        return localized(self, "cause")


class OverrideKind(enum.Enum):
    HOLIDAY = "holiday"  # an extra day off: courts sit
    WORKDAY = "workday"  # a make-up working day or a cancelled holiday: courts do not sit


class HolidayOverride(TimestampMixin, db.Model):
    """An admin's correction of China's calendar for one date (the State Council publishes late)."""

    __tablename__ = "holiday_overrides"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    day: orm.Mapped[dt.date] = orm.mapped_column(unique=True)
    kind: orm.Mapped[OverrideKind] = orm.mapped_column(str_enum(OverrideKind, "override_kind"))
    reason: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    created_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class HolidayYear(TimestampMixin, db.Model):
    """A year whose holiday arrangement an admin imported or confirmed (the package may know it too).

    Until a year is confirmed, court and clinic days in it are published as provisional.
    """

    __tablename__ = "holiday_years"

    year: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    source: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")  # file name, or "confirmed by hand"
    confirmed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Bureau(BilingualNameMixin, db.Model):
    """A government bureau that answers residents' suggestions."""

    __tablename__ = "bureaus"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
