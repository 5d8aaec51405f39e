"""Turn plain event records into iCalendar bytes with the `icalendar` library.

Everything written here is a function of its input: no random UIDs, no "now". Two builds
of the same data give the same bytes, which is what lets the ETag be a hash of the body.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from icalendar import Calendar, Event, Timezone, vDuration

from timeutil import LOCAL_TZ

PRODID = "-//SIP Community Schedules//Feeds 1.0//EN"
TZID = "Asia/Shanghai"
# Calendar clients that honour it (Nextcloud, Thunderbird, Apple) poll once an hour.
REFRESH = dt.timedelta(hours=1)
# Stable namespace for the calendar-level UID (RFC 7986); the feed key goes in, nothing secret.
_CALENDAR_NAMESPACE = uuid.UUID("0b1f9a5e-5d2c-4f43-9a57-3c2b1e6f3a10")

CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class FeedEvent:
    """One VEVENT, already in the reader's language. Times are aware (any zone)."""

    uid: str
    start: dt.datetime
    end: dt.datetime
    summary: str
    sequence: int
    last_modified: dt.datetime
    status: str = CONFIRMED
    location: str = ""
    description: str = ""
    url: str = ""
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedMeta:
    key: str  # e.g. "programme:contact_day", "team:12": names the calendar, never a secret
    lang: str
    name: str
    description: str
    url: str = ""
    extra: dict = field(default_factory=dict)


_vtimezone: Timezone | None = None


def shanghai_vtimezone() -> Timezone:
    """The VTIMEZONE for Asia/Shanghai, computed once per process.

    From 2000 on, so it does not carry China's 1986-91 daylight-saving rules.
    """
    global _vtimezone
    if _vtimezone is None:
        _vtimezone = Timezone.from_tzid(TZID, first_date=dt.date(2000, 1, 1))
        # The library notes a 2038 limit; with one fixed offset and no rule the block holds for good.
        _vtimezone.pop("COMMENT", None)
    return _vtimezone


def calendar_uid(meta: FeedMeta) -> str:
    return str(uuid.uuid5(_CALENDAR_NAMESPACE, f"{meta.key}|{meta.lang}"))


def _utc_seconds(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_TZ).replace(microsecond=0)


def make_event(item: FeedEvent) -> Event:
    event = Event()
    event.add("uid", item.uid)
    # DTSTAMP is the last change, not "now": the same data must give the same bytes.
    stamp = _utc_seconds(item.last_modified)
    event.add("dtstamp", stamp)
    event.add("dtstart", _local(item.start))
    event.add("dtend", _local(item.end))
    event.add("sequence", item.sequence)
    event.add("last-modified", stamp)
    event.add("summary", item.summary)
    if item.location:
        event.add("location", item.location)
    if item.description:
        event.add("description", item.description)
    if item.url:
        event.add("url", item.url)
    if item.categories:
        event.add("categories", list(item.categories))
    event.add("status", item.status)
    if item.status == CANCELLED:
        # Free the time in clients that keep showing a cancelled event.
        event.add("transp", "TRANSPARENT")
    return event


def build_calendar(meta: FeedMeta, events: list[FeedEvent]) -> Calendar:
    cal = Calendar.new(
        prodid=PRODID,
        uid=calendar_uid(meta),
        name=meta.name,
        description=meta.description or None,
        method="PUBLISH",
        url=meta.url or None,
    )
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    cal.add_component(shanghai_vtimezone())
    for item in events:
        cal.add_component(make_event(item))
    return cal


def render(meta: FeedMeta, events: list[FeedEvent]) -> bytes:
    return build_calendar(meta, events).to_ical()
