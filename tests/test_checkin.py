"""Check-in: the window on real times (a shift crossing midnight), derived late / no-show, hours from
real times, who may, idempotence; member numbers telling apart two members of one name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import Attendance, Role, TeamMembership, db
from services import assignments
from services import checkin as service
from services import roster as queries
from services.errors import RuleViolation
from tests.conftest import count_queries
from tests.factories import local, make_assignment, make_shift, make_team, make_user


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def night(app):
    """Friday 15 January 2027, 22:00–02:00 Saturday (crosses midnight); Wang is on it, Zhao leads."""
    coordinator = make_user(Role.COORDINATOR, email="coord@ci.example")
    wang = make_user(Role.VOLUNTEER, email="wang@ci.example", name="王芳")
    zhao = make_user(Role.VOLUNTEER, email="zhao@ci.example", name="赵磊")
    outsider = make_user(Role.VOLUNTEER, email="out@ci.example")
    other_coordinator = make_user(Role.COORDINATOR, email="coord2@ci.example")
    team = make_team(coordinator=coordinator, members=[wang, zhao], code="T001")
    make_team(coordinator=other_coordinator, members=[outsider], code="T002")
    db.session.scalars(sa.select(TeamMembership).where(TeamMembership.user_id == zhao.id)).one().is_leader = True
    shift = make_shift(team, local(2027, 1, 15, 22), hours=4)
    assignment = make_assignment(shift, wang)
    make_assignment(shift, zhao)
    db.session.commit()
    return type(
        "Night",
        (),
        dict(
            team=team,
            shift=shift,
            wang=wang,
            zhao=zhao,
            outsider=outsider,
            coordinator=coordinator,
            other_coordinator=other_coordinator,
            assignment=assignment,
        ),
    )


def _code(n):
    return service.shift_code(n.shift)


@pytest.mark.parametrize(
    ("moment", "outcome"),
    [
        (local(2027, 1, 15, 21, 29) + dt.timedelta(seconds=59), "too_early"),
        (local(2027, 1, 15, 21, 30), "ok"),
        (local(2027, 1, 16, 1, 59) + dt.timedelta(seconds=59), "ok"),  # after midnight, still the Friday shift
        (local(2027, 1, 16, 2, 0), "too_late"),
    ],
)
def test_window_edges_on_real_times_across_midnight(night, moment, outcome):
    if outcome == "ok":
        done = service.check_in_self(night.wang, night.shift.id, _code(night), now=moment)
        assert done.checked_in_at == moment and done.attendance is Attendance.PRESENT
    else:
        with pytest.raises(RuleViolation) as refused:
            service.check_in_self(night.wang, night.shift.id, _code(night), now=moment)
        assert refused.value.code == outcome and refused.value.status == 409


def test_window_is_configurable(night, app):
    app.config["CHECKIN_OPENS_MINUTES"] = 60
    try:
        service.check_in_self(night.wang, night.shift.id, _code(night), now=local(2027, 1, 15, 21, 0))
    finally:
        app.config.pop("CHECKIN_OPENS_MINUTES")


def test_late_and_no_show_are_derived(night):
    a = night.assignment
    assert service.state(a, local(2027, 1, 15, 23)) == service.State.WAITING
    assert service.state(a, local(2027, 1, 16, 2)) == service.State.NO_SHOW  # the end passed
    service.check_in_self(night.wang, night.shift.id, _code(night), now=local(2027, 1, 15, 22, 10))
    assert service.state(a, local(2027, 1, 16, 3)) == service.State.CHECKED_IN  # within the grace
    a.checked_in_at = local(2027, 1, 15, 22, 11)
    assert service.state(a) == service.State.LATE


def test_hours_tally_counts_from_the_real_check_in(night, monkeypatch):
    monkeypatch.setattr(assignments, "utcnow", lambda: local(2027, 1, 16, 3))
    service.check_in_self(night.wang, night.shift.id, _code(night), now=local(2027, 1, 15, 23, 15))
    db.session.expire_all()
    assert night.assignment.hours_credited == Decimal("2.75")  # 23:15 → 02:00
    assert queries.volunteer_hours(night.wang.id, 2027) == 2.75
    early = service.check_in_self(night.zhao, night.shift.id, _code(night), now=local(2027, 1, 15, 21, 45))
    assert early.hours_credited == Decimal("4.00")  # before the start: counted from the start
    # The coordinator's tick afterwards keeps the real time.
    with_tick = assignments.mark_attendance(night.coordinator, night.assignment.id, True)
    assert with_tick.hours_credited == Decimal("2.75")
    assert queries.team_hours(night.team.id, 2027).total == 6.75


def test_second_check_in_changes_nothing(night):
    first = service.check_in_self(night.wang, night.shift.id, _code(night), now=local(2027, 1, 15, 22, 5))
    again = service.check_in_self(night.wang, night.shift.id, _code(night), now=local(2027, 1, 15, 23, 30))
    assert again.id == first.id and again.checked_in_at == local(2027, 1, 15, 22, 5)
    assert again.hours_credited == Decimal("3.92")


def test_refusals_say_which_rule(night):
    at = local(2027, 1, 15, 22, 5)
    with pytest.raises(RuleViolation) as refused:
        service.check_in_self(night.outsider, night.shift.id, _code(night), now=at)
    assert refused.value.code == "not_assigned" and refused.value.status == 403
    with pytest.raises(RuleViolation) as refused:
        service.check_in_self(night.wang, night.shift.id, "0" * 22, now=at)
    assert refused.value.code == "bad_code"
    with pytest.raises(RuleViolation) as refused:  # someone else's personal code, not a leader
        service.check_in_person(night.wang, night.zhao.id, service.person_code(night.zhao.id), now=at)
    assert refused.value.code == "forbidden"
    with pytest.raises(RuleViolation) as refused:  # the other team's coordinator
        service.check_in_by_leader(night.other_coordinator, night.assignment.id, now=at)
    assert refused.value.code == "forbidden"
    with pytest.raises(RuleViolation) as refused:
        service.check_in_person(night.zhao, night.wang.id, "f" * 22, now=at)
    assert refused.value.code == "bad_code"
    with pytest.raises(RuleViolation) as refused:  # not on a shift of the leader's team now
        service.check_in_person(night.zhao, night.wang.id, service.person_code(night.wang.id), now=local(2027, 1, 20))
    assert refused.value.code == "no_current_shift"
    with pytest.raises(RuleViolation) as refused:
        service.set_leader(night.other_coordinator, night.team.id, night.wang.id, True)
    assert refused.value.code == "forbidden"


def test_leader_scans_personal_code_into_current_shift(night):
    done = service.check_in_person(
        night.zhao, night.wang.id, service.person_code(night.wang.id), now=local(2027, 1, 15, 22, 20)
    )
    assert done.id == night.assignment.id and done.checked_in_at == local(2027, 1, 15, 22, 20)
    assert service.state(done) == service.State.LATE


def test_codes_differ_per_shift_and_person(night):
    other = make_shift(night.team, local(2027, 1, 16, 22), hours=4)
    assert service.shift_code(other) != _code(night) and len(_code(night)) == 22
    assert service.person_code(night.wang.id) != service.person_code(night.zhao.id)


# --- pages -----------------------------------------------------------------------------------


def test_scan_opens_a_confirmation_and_only_post_checks_in(night, client, auth, monkeypatch):
    monkeypatch.setattr(service, "utcnow", lambda: local(2027, 1, 15, 22, 1))
    auth.login("wang@ci.example")
    url = f"/checkin/s/{night.shift.id}/{_code(night)}"
    page = client.get(url)
    assert page.status_code == 200 and b"confirm-checkin" in page.data
    db.session.expire_all()
    assert night.assignment.checked_in_at is None
    done = client.post(url)
    assert done.status_code == 200 and b"checked-in" in done.data
    assert client.get(f"/checkin/s/{night.shift.id}/{'0' * 22}").status_code == 404


def test_pages_refuse_outsiders(night, client, auth, monkeypatch):
    monkeypatch.setattr(service, "utcnow", lambda: local(2027, 1, 15, 22, 1))
    auth.login("out@ci.example")
    assert client.get(f"/checkin/shift/{night.shift.id}").status_code == 403
    refused = client.post(f"/checkin/s/{night.shift.id}/{_code(night)}")
    assert refused.status_code == 403
    assert client.get(f"/checkin/p/{night.wang.id}/{service.person_code(night.wang.id)}").status_code == 403
    auth.logout()
    auth.login("coord2@ci.example")
    assert client.get(f"/checkin/team/{night.team.code}/members").status_code == 403


def test_leader_sheet_shows_qr_and_numbers_in_few_queries(night, client, auth):
    more = [make_user(Role.VOLUNTEER, name="王芳") for _ in range(8)]
    for person in more:
        db.session.add(TeamMembership(team_id=night.team.id, user_id=person.id))
    db.session.flush()
    for person in more[:4]:
        make_assignment(night.shift, person)
    db.session.commit()
    auth.login("zhao@ci.example")
    with count_queries(db.engine) as n:
        page = client.get(f"/checkin/shift/{night.shift.id}")
    assert page.status_code == 200 and b"<svg" in page.data
    assert n() <= 10, n()
    text = page.get_data(as_text=True)
    assert all(f"T001-{n:03d}" in text for n in (2, 3, 4, 5, 6, 7))  # two 王芳 among them
    auth.logout()
    auth.login("coord@ci.example")
    with count_queries(db.engine) as n:
        members = client.get(f"/checkin/team/{night.team.code}/members")
    assert members.status_code == 200 and n() <= 10, n()


def test_coordinator_names_a_leader(night):
    membership = service.set_leader(night.coordinator, night.team.id, night.wang.id, True)
    assert membership.is_leader and service.leads_team(night.wang, night.team.id)
    assert not service.leads_team(night.outsider, night.team.id)


def test_member_numbers_are_unique_and_stable_within_a_team(night):
    a = make_user(Role.VOLUNTEER, name="刘雪琴")
    b = make_user(Role.VOLUNTEER, name="刘雪琴")
    db.session.add_all(
        [TeamMembership(team_id=night.team.id, user_id=a.id), TeamMembership(team_id=night.team.id, user_id=b.id)]
    )
    db.session.commit()
    rows = db.session.execute(
        sa.select(TeamMembership.user_id, TeamMembership.member_number).where(TeamMembership.team_id == night.team.id)
    ).all()
    numbers = [number for _, number in rows]
    assert len(numbers) == len(set(numbers)) == 5 and sorted(numbers) == [1, 2, 3, 4, 5]
    labels = {m.user_id: m.member_label for m in service.team_members(night.team.id)}
    assert labels[a.id] != labels[b.id] and labels[a.id].startswith("T001-")


def test_personal_code_page_and_leader_confirmation(night, client, auth, monkeypatch):
    monkeypatch.setattr(service, "utcnow", lambda: local(2027, 1, 15, 22, 3))
    auth.login("wang@ci.example")
    mine = client.get("/checkin/me").get_data(as_text=True)
    path = f"/checkin/p/{night.wang.id}/{service.person_code(night.wang.id)}"
    assert "<svg" in mine
    assert client.get("/me/?lang=en").status_code == 200
    auth.logout()
    auth.login("zhao@ci.example")  # the leader
    assert "Check-in (team leader)" in client.get("/me/?lang=en").get_data(as_text=True)
    assert b"confirm-checkin" in client.get(path).data
    db.session.expire_all()
    assert night.assignment.checked_in_at is None
    assert b"checked-in" in client.post(path).data
    db.session.expire_all()
    assert night.assignment.checked_in_at == local(2027, 1, 15, 22, 3)
    assert client.get(f"/checkin/p/{night.wang.id}/{'0' * 22}").status_code == 404
