"""The notification outbox: one row per (event, recipient, channel), written in the change's transaction.

Rows hold only the event kind and a small JSON context; the message is rendered by the sender
in the recipient's language (services/notify.py), so writing a row costs the request almost nothing.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import UTCDateTime, db, str_enum, utcnow


class OutboxStatus(enum.Enum):
    PENDING = "pending"  # due at next_attempt_at (first try or a retry after backoff)
    SENDING = "sending"  # claimed by a sender; a sender that dies leaves it here (recovered on restart)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; `last_error` says why


class OutboxChannel(enum.Enum):
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"  # a team's group webhook (apprise URL)


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    # At most once per (event, recipient, channel): a second enqueue of the same event is ignored.
    __table_args__ = (
        sa.UniqueConstraint("event_key", "recipient_key", "channel", name="uq_outbox_event_recipient_channel"),
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    event_key: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    recipient_key: orm.Mapped[str] = orm.mapped_column(sa.String(200))  # "user:12", "resident:+86…", "team:3"
    channel: orm.Mapped[OutboxChannel] = orm.mapped_column(str_enum(OutboxChannel, "outbox_channel"))
    address: orm.Mapped[str] = orm.mapped_column(sa.String(500))  # email, phone or webhook URL
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN")
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    context: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    status: orm.Mapped[OutboxStatus] = orm.mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    next_attempt_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    sent_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    last_error: orm.Mapped[str] = orm.mapped_column(sa.String(500), default="")
