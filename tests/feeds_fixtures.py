"""A small world for the feed tests, written straight into the models as the scheduler would.

Dates are real calendar facts: in 2026 the second Sundays are Jan 11, Feb 8, Mar 8, Apr 12,
May 10 and Jun 14; Sat Feb 28 is a make-up working day (no court); "today" is pinned to
Sunday 2026-03-01, so the private feeds' window runs from local 2026-01-30 to local 2026-05-31
and the public feeds' (FEEDS_PUBLIC_DAYS_AHEAD, 400 days) to local 2027-04-06.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from models import (
    Assignment,
    HearingNotice,
    Occurrence,
    Programme,
    ProgrammeKind,
    Role,
    Shift,
    User,
    VenueKind,
    db,
)
from tests.factories import make_community, make_subdistrict, make_team, make_user, make_venue
from timeutil import local_to_utc, span_utc

TODAY = dt.date(2026, 3, 1)
WINDOW_FIRST_DAY = dt.date(2026, 1, 30)  # TODAY - 30 days
WINDOW_END_DAY = dt.date(2026, 5, 31)  # TODAY + 90 + 1 days, exclusive: team and volunteer feeds
PUBLIC_WINDOW_END_DAY = dt.date(2027, 4, 6)  # TODAY + 400 + 1 days, exclusive: public feeds
SECOND_SUNDAYS_2026 = [
    dt.date(2026, 1, 11),
    dt.date(2026, 2, 8),
    dt.date(2026, 3, 8),
    dt.date(2026, 4, 12),
    dt.date(2026, 5, 10),
    dt.date(2026, 6, 14),
]
IN_WINDOW_SECOND_SUNDAYS = [d for d in SECOND_SUNDAYS_2026 if WINDOW_FIRST_DAY <= d < PUBLIC_WINDOW_END_DAY]
COURT_DAYS = [dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 4, 4), dt.date(2026, 4, 5)]
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _pinned_today_and_clean_cache(monkeypatch):
    import feeds.cache
    import feeds.probes
    import feeds.sources

    monkeypatch.setattr(feeds.sources, "today", lambda: TODAY)
    feeds.cache.bodies.clear()
    feeds.probes.reset()
    yield
    feeds.cache.bodies.clear()
    feeds.probes.reset()


@dataclass
class World:
    programmes: dict[ProgrammeKind, Programme] = field(default_factory=dict)
    contact: list[Occurrence] = field(default_factory=list)
    court: list[Occurrence] = field(default_factory=list)
    clinic: list[Occurrence] = field(default_factory=list)
    hearing: HearingNotice | None = None
    community: object = None
    other_community: object = None
    team: object = None
    other_team: object = None
    coordinator: User | None = None
    volunteer: User | None = None
    other_volunteer: User | None = None
    officials: list[User] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    other_shifts: list[Shift] = field(default_factory=list)
    mine: list[Shift] = field(default_factory=list)


def make_programmes() -> dict[ProgrammeKind, Programme]:
    rows = {
        ProgrammeKind.CONTACT_DAY: (
            "contact-days",
            "社情民意联系日",
            "Contact day",
            "每月第二个星期日。",
            "Second Sunday.",
        ),
        ProgrammeKind.HOLIDAY_COURT: ("holiday-court", "假日法庭", "Holiday court", "周末开庭。", "Weekend sittings."),
        ProgrammeKind.LEGAL_CLINIC: (
            "legal-clinic",
            "假日法律诊所",
            "Holiday legal clinic",
            "免费咨询。",
            "Free advice.",
        ),
        ProgrammeKind.PATROL: ("patrol", "巡逻", "Patrol", "不公开。", "Never public."),
    }
    found = {}
    for kind, (slug, zh, en, dzh, den) in rows.items():
        programme = Programme(slug=slug, kind=kind, name_zh=zh, name_en=en, description_zh=dzh, description_en=den)
        db.session.add(programme)
        found[kind] = programme
    db.session.flush()
    return found


def make_occurrence(programme: Programme, day: dt.date, start: dt.time, end: dt.time, **kw) -> Occurrence:
    starts_at, ends_at = span_utc(day, start, end)
    occurrence = Occurrence(programme=programme, rule_date=day, starts_at=starts_at, ends_at=ends_at, **kw)
    db.session.add(occurrence)
    return occurrence


def make_shifts(team, days, spans, area=("湖东商业区", "Hudong shopping area")) -> list[Shift]:
    shifts = []
    for day in days:
        for start, end in spans:
            starts_at, ends_at = span_utc(day, start, end)
            shifts.append(
                Shift(
                    team=team,
                    local_date=day,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    area_zh=area[0],
                    area_en=area[1],
                    min_volunteers=2,
                    max_volunteers=6,
                )
            )
    db.session.add_all(shifts)
    db.session.flush()
    return shifts


def assign(volunteer: User, shift: Shift) -> Assignment:
    assignment = Assignment(shift=shift, volunteer=volunteer, starts_at=shift.starts_at, ends_at=shift.ends_at)
    shift.assigned_count += 1
    db.session.add(assignment)
    db.session.flush()
    return assignment


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def build_world() -> World:
    w = World()
    w.programmes = make_programmes()
    sub = make_subdistrict(slug="loufeng")
    w.community = make_community(
        sub, slug="sample-east", name_zh="东湖社区", name_en="Donghu Community", is_sample=True
    )
    w.other_community = make_community(sub, slug="sample-west", name_zh="西湖社区", name_en="Xihu Community")
    liaison = make_venue(
        VenueKind.LIAISON_CENTRE,
        w.community,
        name_zh="东湖民众联络所",
        name_en="Donghu Community Liaison Centre",
        address_zh="东湖邻里中心二楼(示例地址),星湖街; 1号",
        address_en="2F, Donghu Centre, 1 Xinghu St",
    )
    hall = make_venue(VenueKind.OTHER, w.other_community, name_zh="西湖议事厅", name_en="Xihu Hall")
    courtroom = make_venue(
        VenueKind.COURTROOM,
        None,
        name_zh="第1法庭",
        name_en="Courtroom 1",
        address_zh="苏州工业园区人民法院",
        address_en="SIP People's Court",
    )
    clinic_room = make_venue(VenueKind.CLINIC_ROOM, None, name_zh="娄葑法律诊所", name_en="Loufeng Legal Clinic")

    w.officials = [
        make_user(
            Role.OFFICIAL,
            name="王局长",
            name_en="Wang Jun",
            title_zh="园区财政局局长",
            title_en="Director, Finance Bureau",
            phone="13800000001",
        ),
        make_user(
            Role.OFFICIAL,
            name="李主任",
            name_en="Li Na",
            title_zh="社工委主任",
            title_en="Head, Community Work Committee",
            phone="13800000002",
        ),
    ]
    contact = w.programmes[ProgrammeKind.CONTACT_DAY]
    for day in SECOND_SUNDAYS_2026:
        occurrence = make_occurrence(
            contact, day, dt.time(9), dt.time(11, 30), community=w.community, venue=liaison, bilingual=True
        )
        occurrence.officials = list(w.officials)
        w.contact.append(occurrence)
        w.contact.append(
            make_occurrence(contact, day, dt.time(9), dt.time(11, 30), community=w.other_community, venue=hall)
        )
    court = w.programmes[ProgrammeKind.HOLIDAY_COURT]
    clinic = w.programmes[ProgrammeKind.LEGAL_CLINIC]
    for day in COURT_DAYS:
        w.court.append(make_occurrence(court, day, dt.time(9), dt.time(12), venue=courtroom, bilingual=True))
        w.clinic.append(make_occurrence(clinic, day, dt.time(9), dt.time(12), venue=clinic_room))
    db.session.flush()
    w.hearing = HearingNotice(
        occurrence=w.court[0],
        case_number="(2026)苏0591民初101号",
        cause_zh="买卖合同纠纷",
        cause_en="Sales contract dispute",
        courtroom=courtroom,
        starts_at=local_to_utc(COURT_DAYS[0], dt.time(10)),
        ends_at=local_to_utc(COURT_DAYS[0], dt.time(11)),
    )
    db.session.add(w.hearing)

    w.coordinator = make_user(Role.COORDINATOR, name="赵协调", name_en="Zhao Coordinator", phone="13700000000")
    w.volunteer = make_user(Role.VOLUNTEER, name="张志愿", name_en="Zhang Volunteer", phone=PHONE)
    w.other_volunteer = make_user(Role.VOLUNTEER, name="钱志愿", name_en="Qian Volunteer", phone="13600000000")
    w.team = make_team(
        coordinator=w.coordinator,
        members=[w.volunteer, w.other_volunteer],
        name_zh="娄葑治安义工第1队",
        name_en="Loufeng public-security volunteers, team 1",
    )
    w.other_team = make_team(name_zh="斜塘反扒第2队", name_en="Xietang anti-pickpocket, team 2")
    spans = [(dt.time(19), dt.time(22)), (dt.time(22), dt.time(2))]
    w.shifts = make_shifts(w.team, days(dt.date(2026, 1, 20), dt.date(2026, 6, 10)), spans)
    w.other_shifts = make_shifts(
        w.other_team,
        days(dt.date(2026, 2, 20), dt.date(2026, 3, 20)),
        [(dt.time(10), dt.time(13))],
        area=("火车站", "Railway station"),
    )
    by_day = {(s.local_date, s.starts_at): s for s in w.shifts}
    for day in (
        dt.date(2026, 1, 25),
        dt.date(2026, 2, 2),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 4),
        dt.date(2026, 5, 30),
        dt.date(2026, 6, 2),
    ):
        shift = by_day[(day, local_to_utc(day, dt.time(22)))]
        assign(w.volunteer, shift)
        w.mine.append(shift)
    assign(w.other_volunteer, by_day[(dt.date(2026, 3, 5), local_to_utc(dt.date(2026, 3, 5), dt.time(19)))])
    db.session.commit()
    return w


@pytest.fixture
def world(app) -> World:
    return build_world()


def in_window(start: dt.datetime, end: dt.datetime, public: bool = False) -> bool:
    first = local_to_utc(WINDOW_FIRST_DAY, dt.time(0))
    last = local_to_utc(PUBLIC_WINDOW_END_DAY if public else WINDOW_END_DAY, dt.time(0))
    return end > first and start < last


def expected_spans(rows, public: bool = False) -> list[tuple[str, dt.datetime, dt.datetime]]:
    return sorted((r.uid, r.starts_at, r.ends_at) for r in rows if in_window(r.starts_at, r.ends_at, public))


def scalar_count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@dataclass
class Paths:
    public: dict[str, str]
    team: str
    volunteer: str
    other_volunteer: str

    @property
    def private(self) -> dict[str, str]:
        return {"team": self.team, "volunteer": self.volunteer}

    @property
    def all(self) -> dict[str, str]:
        return {**self.public, **self.private}


def issue_paths(w: World) -> Paths:
    from feeds import tokens

    team = tokens.get_or_issue(team=w.team)
    mine = tokens.get_or_issue(user=w.volunteer)
    other = tokens.get_or_issue(user=w.other_volunteer)
    db.session.commit()
    return Paths(
        public={
            "contact_days": "/feeds/contact-days.ics",
            "holiday_court": "/feeds/holiday-court.ics",
            "legal_clinic": "/feeds/legal-clinic.ics",
            "community": f"/feeds/communities/{w.community.slug}.ics",
            "other_community": f"/feeds/communities/{w.other_community.slug}.ics",
        },
        team=f"/feeds/t/{team.token}.ics",
        volunteer=f"/feeds/v/{mine.token}.ics",
        other_volunteer=f"/feeds/v/{other.token}.ics",
    )


@pytest.fixture
def paths(world) -> Paths:
    return issue_paths(world)
