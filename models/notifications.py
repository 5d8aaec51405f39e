"""The reminders' ledger: one row per (kind, subject, recipient), so each reminder is queued once.

Since reminders travel the notification outbox (scheduler/reminders.py), a row is written with
status SENT in the same transaction as its outbox rows: "handed to the outbox"; the delivery itself
(attempts, errors) is the outbox row's. PENDING and FAILED rows are from the sender before that.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import UTCDateTime, db, str_enum, utcnow


class NotificationKind(enum.Enum):
    SHIFT_REMINDER = "shift_reminder"
    CONTACT_DAY_REMINDER = "contact_day_reminder"
    UNDERSTAFFED_ALERT = "understaffed_alert"


class NotificationStatus(enum.Enum):
    PENDING = "pending"  # (before the outbox) claimed, not yet handed to the SMTP server
    SENT = "sent"  # handed to the outbox (before it: to the SMTP server)
    FAILED = "failed"  # (before the outbox) the last send failed


class Notification(db.Model):
    __tablename__ = "notifications"
    # The unique key is the "exactly once": a second claim of the same reminder fails.
    __table_args__ = (sa.UniqueConstraint("kind", "subject_id", "recipient_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    kind: orm.Mapped[NotificationKind] = orm.mapped_column(str_enum(NotificationKind, "notification_kind"))
    subject_id: orm.Mapped[int] = orm.mapped_column()  # assignment, occurrence or shift id, by kind
    recipient_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: orm.Mapped[NotificationStatus] = orm.mapped_column(
        str_enum(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    sent_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    last_error: orm.Mapped[str] = orm.mapped_column(sa.String(500), default="")
