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
    # Optional address for confirmations and changes (services/validation.normalise_email_address).
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), default="")
    # The language of the page the resident booked on: messages to them are written in it.
    # (`language` above is the language of the consultation itself.)
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN")
    # Why it was cancelled: "" (by the resident) or "session" (the whole session was cancelled).
    cancel_reason: orm.Mapped[str] = orm.mapped_column(sa.String(16), default="")

    slot: orm.Mapped[ClinicSlot] = orm.relationship()


class BookingRecoveryCode(db.Model):
    """A one-time code sent by SMS to open a phone number's bookings ("find my booking").

    Only an HMAC of the code is kept. `ticket` (random, kept in the resident's session) names the
    row, so the phone number never travels in a cookie. A row is written for every request, with
    bookings or without, so the answer and the work look the same either way (no enumeration).
    """

    __tablename__ = "booking_recovery_codes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    ticket: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    phone: orm.Mapped[str] = orm.mapped_column(sa.String(32), index=True)
    code_hmac: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    expires_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    verified_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
