"""Builders for the public-side tests: programmes and dated sessions, made with the models directly."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from dateutil.rrule import MONTHLY, SU, rrule

from models import (
    Bureau,
    ClinicSlot,
    Occurrence,
    OccurrenceStatus,
    ProgrammeKind,
    Role,
    db,
)
from tests.factories import make_community, make_user, make_venue
from tests.factories import make_programme as programme
from timeutil import local_today, span_utc


def second_sundays(after: dt.date, count: int = 3) -> list[dt.date]:
    """The next second Sundays of the month strictly after `after` (RRULE:FREQ=MONTHLY;BYDAY=2SU)."""
    start = dt.datetime.combine(after + dt.timedelta(days=1), dt.time(0))
    return [d.date() for d in rrule(MONTHLY, byweekday=SU(2), dtstart=start, count=count)]


def next_weekend_day(after: dt.date | None = None) -> dt.date:
    day = (after or local_today()) + dt.timedelta(days=1)
    while day.weekday() < 5:
        day += dt.timedelta(days=1)
    return day


def session(
    kind: ProgrammeKind,
    day: dt.date,
    start: dt.time = dt.time(9),
    end: dt.time = dt.time(11, 30),
    community=None,
    venue=None,
    officials=(),
    **kw,
) -> Occurrence:
    starts_at, ends_at = span_utc(day, start, end)
    occurrence = Occurrence(
        programme=programme(kind),
        community=community,
        venue=venue,
        rule_date=day,
        starts_at=starts_at,
        ends_at=ends_at,
        **kw,
    )
    occurrence.officials = list(officials)
    db.session.add(occurrence)
    db.session.flush()
    return occurrence


def contact_day(community=None, day: dt.date | None = None, **kw) -> Occurrence:
    community = community or make_community()
    venue = kw.pop("venue", None) or make_venue(community=community)
    return session(
        ProgrammeKind.CONTACT_DAY, day or second_sundays(local_today(), 1)[0], community=community, venue=venue, **kw
    )


def clinic_session(day: dt.date | None = None, capacity: int | None = 12, bilingual: bool = True, **kw) -> Occurrence:
    from models import VenueKind

    venue = kw.pop("venue", None) or make_venue(
        VenueKind.CLINIC_ROOM, name_zh="娄葑假日法律诊所", name_en="Loufeng Holiday Legal Clinic"
    )
    return session(
        ProgrammeKind.LEGAL_CLINIC,
        day or next_weekend_day(),
        dt.time(9),
        dt.time(12),
        venue=venue,
        capacity=capacity,
        bilingual=bilingual,
        **kw,
    )


def official(
    name="王局长", name_en="Director Wang", title_zh="公安分局局长", title_en="Director, Public Security Bureau"
):
    return make_user(Role.OFFICIAL, name=name, name_en=name_en, title_zh=title_zh, title_en=title_en)


def bureau(slug="transport", zh="交通运输局", en="Transport Bureau") -> Bureau:
    found = db.session.scalar(sa.select(Bureau).where(Bureau.slug == slug))
    if found is None:
        found = Bureau(slug=slug, name_zh=zh, name_en=en)
        db.session.add(found)
        db.session.flush()
    return found


def single_slot(occurrence: Occurrence, capacity: int) -> ClinicSlot:
    """One slot of a given capacity at the start of a clinic session (bypassing the slot plan)."""
    slot = ClinicSlot(
        occurrence=occurrence,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.starts_at + dt.timedelta(minutes=30),
        capacity=capacity,
    )
    db.session.add(slot)
    db.session.flush()
    return slot


CANCELLED = OccurrenceStatus.CANCELLED
