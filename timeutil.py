"""Time zone edges: the database stores UTC; people live in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def local_datetime(day: dt.date, at: dt.time) -> dt.datetime:
    """An aware local datetime for a date and wall-clock time."""
    return dt.datetime.combine(day, at, tzinfo=LOCAL_TZ)


def local_to_utc(day: dt.date, at: dt.time) -> dt.datetime:
    return local_datetime(day, at).astimezone(UTC)


def to_local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: its zone is unknown")
    return value.astimezone(LOCAL_TZ)


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def span_utc(day: dt.date, start: dt.time, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    """UTC start and end of a local span; an end at or before the start is on the next day."""
    end_day = day + dt.timedelta(days=1) if end <= start else day
    return local_to_utc(day, start), local_to_utc(end_day, end)
