"""Builders for the scheduling tests: programmes, series with sites, shift templates, shifts."""

from __future__ import annotations

import datetime as dt

from models import (
    ALL_WEEKDAYS,
    Assignment,
    HolidayPolicy,
    PatrolTeam,
    ProgrammeKind,
    Role,
    Series,
    SeriesPattern,
    SeriesSite,
    Shift,
    ShiftTemplate,
    User,
    VenueKind,
    db,
)
from tests.factories import make_community, make_team, make_user, make_venue
from tests.factories import make_programme as programme
from timeutil import span_utc


def contact_day_series(
    sites: int = 2,
    policy: HolidayPolicy = HolidayPolicy.KEEP,
    starts_on: dt.date = dt.date(2024, 1, 1),
    officials: list[User] | None = None,
    ends_on: dt.date | None = None,
) -> Series:
    series = Series(
        programme=programme(ProgrammeKind.CONTACT_DAY),
        name_zh="联系日",
        name_en="Contact day",
        pattern=SeriesPattern.RRULE,
        rrule="FREQ=MONTHLY;BYDAY=2SU",
        holiday_policy=policy,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    for _ in range(sites):
        community = make_community()
        site = SeriesSite(
            community=community,
            venue=make_venue(community=community),
            local_start=dt.time(9, 0),
            local_end=dt.time(11, 30),
        )
        site.officials = list(officials or [])
        series.sites.append(site)
    db.session.add(series)
    db.session.flush()
    return series


def court_series(
    kind: ProgrammeKind = ProgrammeKind.HOLIDAY_COURT, rooms: int = 2, starts_on: dt.date = dt.date(2024, 1, 1)
) -> Series:
    series = Series(
        programme=programme(kind),
        name_zh="假日法庭",
        name_en="Holiday court",
        pattern=SeriesPattern.COURT_DAYS,
        starts_on=starts_on,
    )
    for n in range(rooms):
        series.sites.append(
            SeriesSite(
                venue=make_venue(VenueKind.COURTROOM),
                local_start=dt.time(9 + 4 * n, 0),
                local_end=dt.time(12 + 4 * n, 0),
                capacity=40,
                bilingual=n == 0,
            )
        )
    db.session.add(series)
    db.session.flush()
    return series


def shift_template(
    team: PatrolTeam | None = None,
    start: dt.time = dt.time(19, 0),
    end: dt.time = dt.time(22, 0),
    weekdays: int = ALL_WEEKDAYS,
    valid_from: dt.date = dt.date(2024, 1, 1),
    **kw,
) -> ShiftTemplate:
    template = ShiftTemplate(
        team=team or make_team(),
        name=kw.pop("name", "Evening"),
        weekdays=weekdays,
        local_start=start,
        local_end=end,
        valid_from=valid_from,
        area_zh=kw.pop("area_zh", "金鸡湖东岸"),
        area_en=kw.pop("area_en", "East shore of Jinji Lake"),
        min_volunteers=kw.pop("min_volunteers", 2),
        max_volunteers=kw.pop("max_volunteers", 6),
        **kw,
    )
    db.session.add(template)
    db.session.flush()
    return template


def make_shift(team: PatrolTeam, day: dt.date, start: dt.time, end: dt.time, **kw) -> Shift:
    starts_at, ends_at = span_utc(day, start, end)
    kw.setdefault("area_zh", "示例路段")
    kw.setdefault("area_en", "Sample route")
    shift = Shift(team=team, local_date=day, starts_at=starts_at, ends_at=ends_at, **kw)
    db.session.add(shift)
    db.session.flush()
    return shift


def staff(shift: Shift, volunteer: User | None = None) -> Assignment:
    """Put a volunteer on a shift, keeping `assigned_count` in step as the roster service does."""
    volunteer = volunteer or make_user(Role.VOLUNTEER)
    assignment = Assignment(shift=shift, volunteer=volunteer, starts_at=shift.starts_at, ends_at=shift.ends_at)
    shift.assigned_count += 1
    db.session.add(assignment)
    db.session.flush()
    return assignment
