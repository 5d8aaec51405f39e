"""A volunteer's own availability: weekdays and dates they cannot do."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from models import Unavailability, User, db, record

from .assignments import forbidden, in_transaction, not_found
from .errors import RuleViolation


def my_unavailability(user_id: int) -> list[Unavailability]:
    return list(
        db.session.scalars(
            sa.select(Unavailability)
            .where(Unavailability.user_id == user_id)
            .order_by(Unavailability.weekday.is_(None), Unavailability.weekday, Unavailability.day)
        )
    )


def add_unavailability(
    user: User, *, weekday: int | None = None, day: dt.date | None = None, note: str = ""
) -> Unavailability:
    """Say I cannot do a weekday (every week) or one date. Existing assignments are not touched."""
    if (weekday is None) == (day is None):
        raise RuleViolation(_("Choose either a weekday or a date."), "bad_input", 400)
    if weekday is not None and not 0 <= weekday <= 6:
        raise RuleViolation(_("Choose a weekday."), "bad_input", 400)

    def work():
        existing = db.session.scalar(
            sa.select(Unavailability).where(
                Unavailability.user_id == user.id,
                Unavailability.weekday == weekday if weekday is not None else Unavailability.day == day,
            )
        )
        if existing is not None:
            raise RuleViolation(_("You have already said so."), "duplicate")
        row = Unavailability(user_id=user.id, weekday=weekday, day=day, note=(note or "").strip()[:200])
        db.session.add(row)
        db.session.flush()
        record(
            user, "unavailability.add", "unavailability", row.id, weekday=weekday, day=day.isoformat() if day else None
        )
        return row

    return in_transaction(work)


def remove_unavailability(user: User, unavailability_id: int) -> None:
    def work():
        row = db.session.get(Unavailability, unavailability_id)
        if row is None:
            raise not_found(_("This entry does not exist."))
        if row.user_id != user.id:
            raise forbidden(_("You can only change your own availability."))
        db.session.delete(row)
        record(user, "unavailability.remove", "unavailability", unavailability_id)

    in_transaction(work)


def set_weekly_limit(user: User, hours: int | None) -> None:
    """At most this many hours of shifts a week (None: no limit). Existing assignments stay."""
    if hours is not None and not 1 <= hours <= 168:
        raise RuleViolation(_("Choose between 1 and 168 hours, or leave it empty for no limit."), "bad_input", 400)

    def work():
        target = db.session.get(User, user.id)
        target.weekly_hours_limit = hours
        record(user, "user.weekly_hours_limit", "user", user.id, hours=hours)

    in_transaction(work)
