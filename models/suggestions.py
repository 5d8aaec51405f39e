"""Residents' suggestions from contact days, each tracked to an answer (件件有回音)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import TimestampMixin, UTCDateTime, db, str_enum


class SuggestionStatus(enum.Enum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    CLOSED = "closed"


class Suggestion(TimestampMixin, db.Model):
    __tablename__ = "suggestions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    tracking_number: orm.Mapped[str] = orm.mapped_column(sa.String(24), unique=True)
    occurrence_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("occurrences.id", ondelete="SET NULL"), index=True
    )
    content: orm.Mapped[str] = orm.mapped_column(sa.Text)
    # Personal data: never shown to someone who only holds the tracking number.
    submitter_name: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")
    submitter_contact: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    # The language of the page it was sent from (zh_CN or en): the answer's notice is written in it.
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN", server_default="zh_CN")
    recorded_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    bureau_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("bureaus.id"), index=True)
    status: orm.Mapped[SuggestionStatus] = orm.mapped_column(
        str_enum(SuggestionStatus, "suggestion_status"), default=SuggestionStatus.RECEIVED, index=True
    )
    answer: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    answered_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    closed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    occurrence: orm.Mapped[Occurrence | None] = orm.relationship()  # noqa: F821
    bureau: orm.Mapped[Bureau | None] = orm.relationship()  # noqa: F821
