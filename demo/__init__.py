"""The deterministic demo data set: the source's scale, sample names, marked as sample data.

Every section inserts only the rows whose natural key is missing, so loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from models import (
    ALL_WEEKDAYS,
    Bureau,
    Community,
    HolidayPolicy,
    MembershipRole,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Role,
    Series,
    SeriesPattern,
    SeriesSite,
    ShiftTemplate,
    Subdistrict,
    TeamKind,
    TeamMembership,
    User,
    Venue,
    VenueKind,
    db,
)

from . import names

DEMO_DOMAIN = "demo.sip.example"
DEMO_PASSWORD = "demo-password"
TEAM_COUNT = 120
VOLUNTEERS_PER_TEAM = 25
SERIES_START = dt.date(2026, 1, 1)

DEMO_LOGINS = [
    (Role.ADMIN, f"admin@{DEMO_DOMAIN}"),
    (Role.COORDINATOR, f"coordinator001@{DEMO_DOMAIN}"),
    (Role.VOLUNTEER, f"volunteer0001@{DEMO_DOMAIN}"),
    (Role.OFFICIAL, f"official01@{DEMO_DOMAIN}"),
    (Role.STAFF, f"staff@{DEMO_DOMAIN}"),
]


@dataclass
class LoadSummary:
    added: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int) -> None:
        self.added[what] = self.added.get(what, 0) + n

    def __str__(self) -> str:
        if not any(self.added.values()):
            return "Demo data already present: nothing added."
        parts = ", ".join(f"{n} {what}" for what, n in self.added.items() if n)
        return f"Demo data loaded: {parts}."


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(Subdistrict.id))) == 0


def describe_logins() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {role.value:<12} {email}" for role, email in DEMO_LOGINS]
    return "\n".join(lines)


def _ensure(model, key: str, rows: list[dict], summary: LoadSummary, label: str) -> dict:
    """Insert the rows whose `key` is not in the table yet; return {key: id} for all rows."""
    column = getattr(model, key)
    wanted = [row[key] for row in rows]
    existing = set(db.session.scalars(sa.select(column).where(column.in_(wanted))))
    missing = [row for row in rows if row[key] not in existing]
    if missing:
        db.session.execute(sa.insert(model), missing)
        summary.count(label, len(missing))
    return dict(db.session.execute(sa.select(column, model.id).where(column.in_(wanted))).all())


def _person(rng: random.Random) -> tuple[str, str]:
    surname, surname_en = rng.choice(names.SURNAMES)
    given, given_en = rng.choice(names.GIVEN_NAMES)
    return surname + given, f"{surname_en} {given_en}"


def load() -> LoadSummary:
    """Load the sample data (idempotent: rows that exist by their natural key are kept)."""
    summary = LoadSummary()
    rng = random.Random(20260101)  # fixed seed: the same names on every machine
    subdistrict_ids = _ensure(
        Subdistrict,
        "slug",
        [{"slug": s, "name_zh": zh, "name_en": en} for s, zh, en in names.SUBDISTRICTS],
        summary,
        "subdistricts",
    )
    community_ids = _ensure(Community, "slug", _community_rows(subdistrict_ids), summary, "communities")
    venue_ids = _ensure(Venue, "slug", _venue_rows(subdistrict_ids, community_ids), summary, "venues")
    bureau_ids = _ensure(
        Bureau, "slug", [{"slug": s, "name_zh": zh, "name_en": en} for s, zh, en in names.BUREAUS], summary, "bureaus"
    )
    user_ids = _ensure(User, "email", _user_rows(rng, bureau_ids), summary, "users")
    team_ids = _ensure(PatrolTeam, "code", _team_rows(subdistrict_ids), summary, "patrol teams")
    _load_memberships(summary, team_ids, user_ids)
    _load_programmes(summary, venue_ids, community_ids, user_ids)
    _load_shift_templates(summary, team_ids)
    db.session.flush()
    # Each area adds its own sample rows, in dependency order.
    from . import public, rosters, schedule

    for area in (schedule, rosters, public):
        area.load(summary)
    db.session.commit()
    return summary


def _subdistrict_of(index: int) -> str:
    """Communities are listed ten per subdistrict, in the order of names.SUBDISTRICTS."""
    return names.SUBDISTRICTS[index // 10][0]


def _community_rows(subdistrict_ids: dict) -> list[dict]:
    return [
        {
            "slug": slug,
            "name_zh": f"{zh}社区",
            "name_en": f"{pinyin} Community",
            "subdistrict_id": subdistrict_ids[_subdistrict_of(index)],
            "is_sample": True,
        }
        for index, (slug, zh, pinyin) in enumerate(names.COMMUNITIES)
    ]


def _venue_rows(subdistrict_ids: dict, community_ids: dict) -> list[dict]:
    return (
        _community_venue_rows(subdistrict_ids, community_ids) + _courtroom_rows() + _clinic_room_rows(subdistrict_ids)
    )


def _community_venue_rows(subdistrict_ids: dict, community_ids: dict) -> list[dict]:
    rows = []
    # Every third community hosts a liaison centre (12 in all); the others meet in their hall.
    for index, (slug, zh, pinyin) in enumerate(names.COMMUNITIES):
        latitude, longitude = names.venue_position(_subdistrict_of(index), index)
        base = {
            "community_id": community_ids[slug],
            "subdistrict_id": subdistrict_ids[_subdistrict_of(index)],
            "is_sample": True,
            "latitude": latitude,
            "longitude": longitude,
        }
        if index % 10 in (0, 3, 6):
            rows.append(
                base
                | {
                    "slug": f"liaison-{slug}",
                    "kind": VenueKind.LIAISON_CENTRE,
                    "name_zh": f"{zh}民众联络所",
                    "name_en": f"{pinyin} Community Liaison Centre",
                    "address_zh": f"{zh}邻里中心二楼（示例地址）",
                    "address_en": f"2F, {pinyin} Neighbourhood Centre (sample address)",
                    "capacity": 80,
                }
            )
        rows.append(
            base
            | {
                "slug": f"hall-{slug}",
                "kind": VenueKind.OTHER,
                "name_zh": f"{zh}社区居委会议事厅",
                "name_en": f"{pinyin} Residents' Committee Hall",
                "address_zh": f"{zh}社区居委会（示例地址）",
                "address_en": f"{pinyin} Residents' Committee (sample address)",
                "capacity": 40,
            }
        )
    return rows


def _courtroom_rows() -> list[dict]:
    court_address = ("苏州工业园区人民法院（示例地址）", "SIP People's Court (sample address)")
    return [
        {
            "slug": f"court-room-{n}",
            "kind": VenueKind.COURTROOM,
            "name_zh": f"苏州工业园区人民法院 第{n}法庭",
            "name_en": f"SIP People's Court, Courtroom {n}",
            "address_zh": court_address[0],
            "address_en": court_address[1],
            "capacity": 60,
            "community_id": None,
            "subdistrict_id": None,
            "is_sample": True,
            "latitude": names.COURT_POSITION[0],
            "longitude": names.COURT_POSITION[1],
        }
        for n in range(1, 5)
    ]


def _clinic_room_rows(subdistrict_ids: dict) -> list[dict]:
    return [
        {
            "slug": f"clinic-{sub}",
            "kind": VenueKind.CLINIC_ROOM,
            "name_zh": f"{zh[:-2]}假日法律诊所",
            "name_en": f"{en.split()[0]} Holiday Legal Clinic",
            "address_zh": f"{zh[:-2]}邻里中心一楼（示例地址）",
            "address_en": f"1F, {en.split()[0]} Neighbourhood Centre (sample address)",
            "capacity": 12,
            "community_id": None,
            "subdistrict_id": subdistrict_ids[sub],
            "is_sample": True,
            "latitude": names.SUBDISTRICT_CENTRES[sub][0],
            "longitude": names.SUBDISTRICT_CENTRES[sub][1],
        }
        for sub, zh, en in names.SUBDISTRICTS
    ]


def _user_rows(rng: random.Random, bureau_ids: dict) -> list[dict]:
    """Admin, staff, officials, coordinators, volunteers: in this order, as the seeded names follow it."""
    rows = [
        {"email": f"admin@{DEMO_DOMAIN}", "name": "系统管理员", "name_en": "Administrator", "role": Role.ADMIN},
        {"email": f"staff@{DEMO_DOMAIN}", "name": "法院工作人员", "name_en": "Court staff", "role": Role.STAFF},
    ]
    rows += _official_rows(rng, bureau_ids)
    for n in range(1, TEAM_COUNT + 1):
        zh, en = _person(rng)
        rows.append({"email": f"coordinator{n:03d}@{DEMO_DOMAIN}", "name": zh, "name_en": en, "role": Role.COORDINATOR})
    for n in range(1, TEAM_COUNT * VOLUNTEERS_PER_TEAM + 1):
        zh, en = _person(rng)
        rows.append(
            {
                "email": f"volunteer{n:04d}@{DEMO_DOMAIN}",
                "name": zh,
                "name_en": en,
                "role": Role.VOLUNTEER,
                "phone": f"1390000{n:04d}",
            }
        )
    password_hash = generate_password_hash(DEMO_PASSWORD)  # hashed once, shared by sample accounts
    for row in rows:
        row.update(password_hash=password_hash, is_sample=True)
    return rows


def _official_rows(rng: random.Random, bureau_ids: dict) -> list[dict]:
    bureau_slugs = [s for s, _, _ in names.BUREAUS]
    rows = []
    for n in range(1, 25):
        zh, en = _person(rng)
        title_zh, title_en = names.OFFICIAL_TITLES[n % len(names.OFFICIAL_TITLES)]
        bureau = bureau_slugs[n % len(bureau_slugs)]
        bureau_zh, bureau_en = next((b[1], b[2]) for b in names.BUREAUS if b[0] == bureau)
        rows.append(
            {
                "email": f"official{n:02d}@{DEMO_DOMAIN}",
                "name": zh,
                "name_en": en,
                "role": Role.OFFICIAL,
                "title_zh": f"{bureau_zh}{title_zh}",
                "title_en": f"{title_en}, {bureau_en}",
                "bureau_id": bureau_ids[bureau],
            }
        )
    return rows


def _team_rows(subdistrict_ids: dict) -> list[dict]:
    rows = []
    for n in range(1, TEAM_COUNT + 1):
        kind, kind_zh, kind_en = names.TEAM_KINDS[(n - 1) % 3]
        sub, sub_zh, sub_en = names.SUBDISTRICTS[(n - 1) % 4]
        number = (n - 1) // 12 + 1
        rows.append(
            {
                "code": f"T{n:03d}",
                "kind": TeamKind(kind),
                "name_zh": f"{sub_zh[:-2]}{kind_zh}第{number}队",
                "name_en": f"{sub_en.split()[0]} {kind_en}, team {number}",
                "subdistrict_id": subdistrict_ids[sub],
                "police_station_zh": f"{sub_zh[:-2]}派出所",
                "police_station_en": f"{sub_en.split()[0]} Police Station",
                "is_sample": True,
            }
        )
    # Codes must be unique even where kind, subdistrict and number coincide.
    seen: dict[str, int] = {}
    for row in rows:
        seen[row["name_zh"]] = seen.get(row["name_zh"], 0) + 1
        if seen[row["name_zh"]] > 1:
            row["name_zh"] += f"({row['code']})"
            row["name_en"] += f" ({row['code']})"
    return rows


def _membership_rows(team_ids: dict, user_ids: dict) -> list[dict]:
    rows = []
    for n in range(1, TEAM_COUNT + 1):
        team_id = team_ids[f"T{n:03d}"]
        coordinator_id = user_ids[f"coordinator{n:03d}@{DEMO_DOMAIN}"]
        rows.append({"team_id": team_id, "user_id": coordinator_id, "role": MembershipRole.COORDINATOR})
        for k in range(VOLUNTEERS_PER_TEAM):
            volunteer_id = user_ids[f"volunteer{(n - 1) * VOLUNTEERS_PER_TEAM + k + 1:04d}@{DEMO_DOMAIN}"]
            rows.append({"team_id": team_id, "user_id": volunteer_id, "role": MembershipRole.MEMBER})
    # A few volunteers serve in two teams, so cross-team double-booking can be tried in the demo.
    for n in range(1, 6):
        rows.append(
            {
                "team_id": team_ids[f"T{n + 1:03d}"],
                "user_id": user_ids[f"volunteer{n:04d}@{DEMO_DOMAIN}"],
                "role": MembershipRole.MEMBER,
            }
        )
    return rows


def _load_memberships(summary: LoadSummary, team_ids: dict, user_ids: dict) -> None:
    existing_pairs = set(db.session.execute(sa.select(TeamMembership.team_id, TeamMembership.user_id)))
    missing = [m for m in _membership_rows(team_ids, user_ids) if (m["team_id"], m["user_id"]) not in existing_pairs]
    if missing:
        db.session.execute(sa.insert(TeamMembership), missing)
        summary.count("team memberships", len(missing))


def _load_programmes(summary: LoadSummary, venue_ids, community_ids, user_ids) -> None:
    """The four programmes, and one series for each dated one (unless it has one already)."""
    programme_ids = _ensure(Programme, "slug", PROGRAMME_ROWS, summary, "programmes")
    has_series = set(db.session.scalars(sa.select(Series.programme_id)))
    builders = {
        "contact-days": lambda: _contact_day_series(venue_ids, community_ids, user_ids),
        "holiday-court": lambda: _court_series(venue_ids),
        "legal-clinic": lambda: _clinic_series(venue_ids),
    }
    for slug, build in builders.items():
        if programme_ids[slug] not in has_series:
            series = build()
            series.programme_id = programme_ids[slug]
            db.session.add(series)
            summary.count("series", 1)


PROGRAMME_ROWS = [
    {
        "slug": "contact-days",
        "kind": ProgrammeKind.CONTACT_DAY,
        "name_zh": "社情民意联系日",
        "name_en": "Contact day",
        "description_zh": "每月第二个星期日，社工委领导和各局负责人深入社区，听取居民和企业的意见建议。",
        "description_en": "Every second Sunday of the month, the community work committee's leaders and "
        "bureau heads go into the communities to hear residents and companies.",
    },
    {
        "slug": "holiday-court",
        "kind": ProgrammeKind.HOLIDAY_COURT,
        "name_zh": "假日法庭",
        "name_en": "Holiday court",
        "description_zh": "周末和法定节假日开庭，方便上班族参与诉讼；可提供中英双语服务。",
        "description_en": "Court sessions on weekends and public holidays so that working people can "
        "attend; bilingual (Chinese/English) service for foreign parties.",
    },
    {
        "slug": "legal-clinic",
        "kind": ProgrammeKind.LEGAL_CLINIC,
        "name_zh": "假日法律诊所",
        "name_en": "Holiday legal clinic",
        "description_zh": "周末和法定节假日提供免费法律咨询。",
        "description_en": "Free legal consultations on weekends and public holidays.",
    },
    {
        "slug": "patrol",
        "kind": ProgrammeKind.PATROL,
        "name_zh": "巡逻",
        "name_en": "Patrol",
        "description_zh": "治安义工、反扒志愿者和保安联防巡逻队的巡逻班次（不公开）。",
        "description_en": "Patrol shifts of public-security volunteers, anti-pickpocket volunteers and "
        "joint security patrols (never public).",
    },
]


def _contact_day_series(venue_ids, community_ids, user_ids) -> Series:
    officials = [user_ids[f"official{n:02d}@{DEMO_DOMAIN}"] for n in range(1, 25)]
    series = Series(
        name_zh="社情民意联系日（每月第二个星期日）",
        name_en="Contact day (second Sunday of every month)",
        pattern=SeriesPattern.RRULE,
        rrule="FREQ=MONTHLY;BYDAY=2SU",
        holiday_policy=HolidayPolicy.KEEP,
        starts_on=SERIES_START,
    )
    # A community meets in its liaison centre where it has one, else in its residents' hall.
    venue_of = {slug: venue_ids.get(f"liaison-{slug}") or venue_ids[f"hall-{slug}"] for slug, _, _ in names.COMMUNITIES}
    officials_by_id = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(officials)))}
    for index, (slug, _, _) in enumerate(names.COMMUNITIES):
        site = SeriesSite(
            community_id=community_ids[slug],
            venue_id=venue_of[slug],
            local_start=dt.time(9, 0),
            local_end=dt.time(11, 30),
        )
        site.officials = [officials_by_id[officials[index % 24]], officials_by_id[officials[(index + 7) % 24]]]
        series.sites.append(site)
    return series


def _court_series(venue_ids) -> Series:
    series = Series(
        name_zh="假日法庭（周末及法定节假日）",
        name_en="Holiday court (weekends and public holidays)",
        pattern=SeriesPattern.COURT_DAYS,
        starts_on=SERIES_START,
    )
    series.sites = [
        SeriesSite(
            venue_id=venue_ids["court-room-1"],
            local_start=dt.time(9, 0),
            local_end=dt.time(12, 0),
            capacity=60,
            bilingual=True,
        ),
        SeriesSite(
            venue_id=venue_ids["court-room-2"], local_start=dt.time(13, 30), local_end=dt.time(17, 0), capacity=60
        ),
    ]
    return series


def _clinic_series(venue_ids) -> Series:
    series = Series(
        name_zh="假日法律诊所（周末及法定节假日）",
        name_en="Holiday legal clinic (weekends and public holidays)",
        pattern=SeriesPattern.COURT_DAYS,
        starts_on=SERIES_START,
    )
    series.sites = [
        SeriesSite(
            venue_id=venue_ids[f"clinic-{sub}"],
            local_start=dt.time(9, 0),
            local_end=dt.time(12, 0),
            capacity=8,
            bilingual=(sub in ("loufeng", "xietang")),
        )
        for sub, _, _ in names.SUBDISTRICTS
    ]
    return series


def _load_shift_templates(summary: LoadSummary, team_ids: dict[str, int]) -> None:
    has_templates = set(db.session.scalars(sa.select(ShiftTemplate.team_id).distinct()))
    rows = []
    for n in range(1, TEAM_COUNT + 1):
        team_id = team_ids[f"T{n:03d}"]
        if team_id in has_templates:
            continue
        area_zh, area_en = names.AREAS[n % len(names.AREAS)]
        kind = (n - 1) % 3
        if kind == 1:  # anti-pickpocket: busy daytime hours at stations and shopping streets
            spans = [
                ("日间", "Day", dt.time(10, 0), dt.time(13, 0)),
                ("傍晚", "Evening", dt.time(17, 0), dt.time(20, 0)),
            ]
        else:  # evening and a night shift across midnight
            spans = [
                ("晚间", "Evening", dt.time(19, 0), dt.time(22, 0)),
                ("夜间", "Night", dt.time(22, 0), dt.time(2, 0)),
            ]
        for name_zh, name_en, start, end in spans:
            rows.append(
                {
                    "team_id": team_id,
                    "name": f"{name_zh} / {name_en}",
                    "weekdays": ALL_WEEKDAYS,
                    "local_start": start,
                    "local_end": end,
                    "area_zh": area_zh,
                    "area_en": area_en,
                    "min_volunteers": 2,
                    "max_volunteers": 6,
                    "valid_from": SERIES_START,
                }
            )
    if rows:
        db.session.execute(sa.insert(ShiftTemplate), rows)
        summary.count("shift templates", len(rows))
