"""Who changed what, and when."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from .base import UTCDateTime, db, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    entity: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    entity_id: orm.Mapped[str] = orm.mapped_column(sa.String(64), default="")
    detail: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)

    actor: orm.Mapped[User | None] = orm.relationship()  # noqa: F821


def record(actor, action: str, entity: str, entity_id=None, **detail) -> AuditLog:
    """Add an audit entry to the current transaction (committed with the change it describes)."""
    entry = AuditLog(
        actor_id=getattr(actor, "id", None),
        action=action,
        entity=entity,
        entity_id="" if entity_id is None else str(entity_id),
        detail=detail,
    )
    db.session.add(entry)
    return entry
