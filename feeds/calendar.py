"""Turn plain event records into iCalendar bytes with the `icalendar` library.

Everything written here is a function of its input: no random UIDs, no "now". Two builds
of the same data give the same bytes, which is what lets the ETag be a hash of the body.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from icalendar import Calendar, Event, Timezone, vCategory, vDDDTypes, vDuration, vGeo, vInt, vText, vUri

from timeutil import LOCAL_TZ

PRODID = "-//SIP Community Schedules//Feeds 1.0//EN"
TZID = "Asia/Shanghai"
# Calendar clients that honour it (Nextcloud, Thunderbird, Apple) poll once an hour.
REFRESH = dt.timedelta(hours=1)

CONFIRMED = "CONFIRMED"
TENTATIVE = "TENTATIVE"  # court and clinic days of a year whose holiday arrangement is not confirmed
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
    geo: tuple[float, float] | None = None  # (latitude, longitude) of the venue


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


def _utc_seconds(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_TZ).replace(microsecond=0)


class _Values:
    """Property values shared by the events of one build (a team's URL, category, area...).

    Properties are set directly rather than through `Component.add`, which re-infers the type
    of every value: that halves the cost of building a 240-event feed, and the bytes are the same.
    """

    def __init__(self) -> None:
        self._texts: dict[str, vText] = {}
        self._uris: dict[str, vUri] = {}
        self._categories: dict[tuple[str, ...], vCategory] = {}

    def text(self, value: str) -> vText:
        found = self._texts.get(value)
        if found is None:
            found = self._texts[value] = vText(value)
        return found

    def uri(self, value: str) -> vUri:
        found = self._uris.get(value)
        if found is None:
            found = self._uris[value] = vUri(value)
        return found

    def categories(self, value: tuple[str, ...]) -> vCategory:
        found = self._categories.get(value)
        if found is None:
            found = self._categories[value] = vCategory(list(value))
        return found


def make_event(item: FeedEvent, values: _Values | None = None) -> Event:
    values = values or _Values()
    event = Event()
    # DTSTAMP is the last change, not "now": the same data must give the same bytes.
    stamp = vDDDTypes(_utc_seconds(item.last_modified))
    event["SUMMARY"] = values.text(item.summary)
    event["DTSTART"] = vDDDTypes(_local(item.start))  # TZID=Asia/Shanghai
    event["DTEND"] = vDDDTypes(_local(item.end))
    event["DTSTAMP"] = stamp
    event["UID"] = vText(item.uid)
    event["SEQUENCE"] = vInt(item.sequence)
    if item.categories:
        event["CATEGORIES"] = values.categories(item.categories)
    if item.description:
        event["DESCRIPTION"] = values.text(item.description)
    event["LAST-MODIFIED"] = stamp
    if item.location:
        event["LOCATION"] = values.text(item.location)
    if item.geo is not None:
        event["GEO"] = vGeo(item.geo)
    event["STATUS"] = values.text(item.status)
    if item.status == CANCELLED:
        # Free the time in clients that keep showing a cancelled event.
        event["TRANSP"] = values.text("TRANSPARENT")
    if item.url:
        event["URL"] = values.uri(item.url)
    return event


def build_calendar(meta: FeedMeta, events: list[FeedEvent]) -> Calendar:
    cal = Calendar.new(
        prodid=PRODID,
        name=meta.name,
        description=meta.description or None,
        method="PUBLISH",
        url=meta.url or None,
    )
    # No calendar-level UID (RFC 7986 allows one): vdirsyncer and other clients take the first
    # `UID:` line of the file for every event, and then keep one event of the whole feed.
    cal.pop("UID", None)
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    cal.add_component(shanghai_vtimezone())
    values = _Values()
    for item in events:
        cal.add_component(make_event(item, values))
    return cal


# Rendered VEVENTs kept per process. A feed is rebuilt whenever anything in it changes (a sign-up
# changes one shift's head count in a team's feed of a few hundred shifts); serialising every event
# again was most of a rebuild's cost. An event's bytes are a function of its FeedEvent alone.
EVENT_CACHE_SIZE = 50_000  # a few hundred bytes each: some 20 MB per worker at most


@functools.lru_cache(maxsize=EVENT_CACHE_SIZE)
def _event_bytes(item: FeedEvent) -> bytes:
    return make_event(item).to_ical()


def render(meta: FeedMeta, events: list[FeedEvent]) -> bytes:
    """The same bytes as `build_calendar(meta, events).to_ical()`, each event serialised once per process.

    A component's bytes are its own lines between BEGIN and END, so the calendar without events,
    cut before its closing line, and the events' bytes in order make the whole file.
    """
    head = build_calendar(meta, []).to_ical()
    end = b"END:VCALENDAR\r\n"
    if not head.endswith(end):  # a library whose layout differs: the plain way, still right
        return build_calendar(meta, events).to_ical()
    return b"".join([head[: -len(end)], *map(_event_bytes, events), end])
