"""Legal-clinic consultation slots and residents' bookings."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import TimestampMixin, UTCDateTime, db, str_enum


class ClinicSlot(TimestampMixin, db.Model):
    __tablename__ = "clinic_slots"
    __table_args__ = (
        sa.UniqueConstraint("occurrence_id", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("booked_count >= 0 AND booked_count <= capacity", name="booked_within_capacity"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    occurrence_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    starts_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    ends_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    capacity: orm.Mapped[int] = orm.mapped_column(default=2)
    booked_count: orm.Mapped[int] = orm.mapped_column(default=0)

    occurrence: orm.Mapped[Occurrence] = orm.relationship()  # noqa: F821


class BookingStatus(enum.Enum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class ClinicBooking(TimestampMixin, db.Model):
    """A resident's booking. Name and phone are personal data: clinic staff only."""

    __tablename__ = "clinic_bookings"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    reference: orm.Mapped[str] = orm.mapped_column(sa.String(16), unique=True)
    slot_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("clinic_slots.id", ondelete="CASCADE"), index=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    phone: orm.Mapped[str] = orm.mapped_column(sa.String(32))
    topic: orm.Mapped[str] = orm.mapped_column(sa.String(500), default="")
    language: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN")
    status: orm.Mapped[BookingStatus] = orm.mapped_column(
        str_enum(BookingStatus, "booking_status"), default=BookingStatus.BOOKED
    )
    cancelled_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    slot: orm.Mapped[ClinicSlot] = orm.relationship()
