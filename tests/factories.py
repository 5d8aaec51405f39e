"""Small builders for test data. Each returns a flushed model; the test commits when it needs to."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from models import (
    Assignment,
    AssignmentStatus,
    Community,
    MembershipRole,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Role,
    Shift,
    Subdistrict,
    TeamKind,
    TeamMembership,
    User,
    Venue,
    VenueKind,
    db,
)

PASSWORD = "correct horse battery"
# Hashing is deliberately slow in production; a cheap hash keeps the suite fast.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


def make_user(role: Role = Role.VOLUNTEER, email: str | None = None, name: str | None = None, **kw) -> User:
    n = _n()
    user = User(
        email=email or f"user{n}@test.example",
        name=name or f"测试用户{n}",
        name_en=kw.pop("name_en", f"Test User {n}"),
        role=role,
        password_hash=_FAST_HASH,
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_subdistrict(**kw) -> Subdistrict:
    n = _n()
    sub = Subdistrict(slug=kw.pop("slug", f"sub-{n}"), name_zh=f"街道{n}", name_en=f"Subdistrict {n}", **kw)
    db.session.add(sub)
    db.session.flush()
    return sub


def make_community(subdistrict: Subdistrict | None = None, **kw) -> Community:
    n = _n()
    community = Community(
        slug=kw.pop("slug", f"community-{n}"),
        name_zh=kw.pop("name_zh", f"社区{n}"),
        name_en=kw.pop("name_en", f"Community {n}"),
        subdistrict=subdistrict or make_subdistrict(),
        **kw,
    )
    db.session.add(community)
    db.session.flush()
    return community


def make_venue(kind: VenueKind = VenueKind.LIAISON_CENTRE, community: Community | None = None, **kw) -> Venue:
    n = _n()
    venue = Venue(
        slug=kw.pop("slug", f"venue-{n}"),
        kind=kind,
        name_zh=kw.pop("name_zh", f"场地{n}"),
        name_en=kw.pop("name_en", f"Venue {n}"),
        address_zh=kw.pop("address_zh", f"示例路{n}号"),
        address_en=kw.pop("address_en", f"{n} Sample Road"),
        capacity=kw.pop("capacity", 50),
        community=community,
        **kw,
    )
    db.session.add(venue)
    db.session.flush()
    return venue


def make_team(
    kind: TeamKind = TeamKind.PUBLIC_SECURITY, coordinator: User | None = None, members: list[User] = (), **kw
) -> PatrolTeam:
    n = _n()
    team = PatrolTeam(
        code=kw.pop("code", f"T{n:04d}"),
        kind=kind,
        name_zh=kw.pop("name_zh", f"巡逻队{n}"),
        name_en=kw.pop("name_en", f"Patrol team {n}"),
        **kw,
    )
    db.session.add(team)
    db.session.flush()
    if coordinator is not None:
        db.session.add(TeamMembership(team=team, user=coordinator, role=MembershipRole.COORDINATOR))
    for member in members:
        db.session.add(TeamMembership(team=team, user=member, role=MembershipRole.MEMBER))
    db.session.flush()
    return team


PROGRAMME_NAMES = {
    ProgrammeKind.CONTACT_DAY: ("contact-days", "社情民意联系日", "Contact day"),
    ProgrammeKind.HOLIDAY_COURT: ("holiday-court", "假日法庭", "Holiday court"),
    ProgrammeKind.LEGAL_CLINIC: ("legal-clinic", "假日法律诊所", "Holiday legal clinic"),
    ProgrammeKind.PATROL: ("patrol", "巡逻", "Patrol"),
}


def make_programme(kind: ProgrammeKind, slug: str | None = None) -> Programme:
    """The programme of that kind (by slug), created on first use."""
    default_slug, zh, en = PROGRAMME_NAMES[kind]
    slug = slug or default_slug
    found = db.session.scalar(sa.select(Programme).where(Programme.slug == slug))
    if found is None:
        found = Programme(slug=slug, kind=kind, name_zh=zh, name_en=en)
        db.session.add(found)
        db.session.flush()
    return found


def aware(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A UTC datetime, for brevity in tests."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def make_shift(team: PatrolTeam, starts_at: dt.datetime, hours: float = 3, **kw) -> Shift:
    """A shift starting at an aware datetime; `local_date` is its local (Asia/Shanghai) date."""
    from timeutil import to_local

    shift = Shift(
        team_id=team.id,
        local_date=kw.pop("local_date", to_local(starts_at).date()),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        min_volunteers=kw.pop("min_volunteers", 2),
        max_volunteers=kw.pop("max_volunteers", 6),
        **kw,
    )
    db.session.add(shift)
    db.session.flush()
    return shift


def make_assignment(shift: Shift, volunteer: User, **kw) -> Assignment:
    """An active assignment written directly (no rules), keeping the shift's count in step."""
    assignment = Assignment(
        shift_id=shift.id, volunteer_id=volunteer.id, starts_at=shift.starts_at, ends_at=shift.ends_at, **kw
    )
    db.session.add(assignment)
    if assignment.status in (None, AssignmentStatus.ASSIGNED):
        shift.assigned_count += 1
    db.session.flush()
    return assignment


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware Asia/Shanghai datetime, for shifts described in local wall-clock time."""
    from timeutil import LOCAL_TZ

    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)
