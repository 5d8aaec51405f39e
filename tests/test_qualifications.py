"""Qualifications: the admin's list, grants with expiry by a coordinator of the volunteer's team,
requirements per template, and the roster's flag when a shift lacks a required holder."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import Qualification, Role, Shift, VolunteerQualification, db
from services import qualifications
from services import roster as queries
from services.errors import RuleViolation

from .factories import make_assignment, make_team, make_user
from .test_planner import JAN_1, JAN_31, _team


def test_admin_keeps_the_list_and_coordinators_grant_to_their_own_team(app):
    admin = make_user(Role.ADMIN)
    team, coordinator, people, _ = _team(2)
    stranger_coordinator = make_user(Role.COORDINATOR)
    make_team(coordinator=stranger_coordinator)
    with pytest.raises(RuleViolation) as refused:
        qualifications.create_qualification(coordinator, "leader", "队长", "Team leader")
    assert refused.value.code == "forbidden"
    leader = qualifications.create_qualification(admin, "Leader", "队长", "Team leader")
    assert leader.code == "leader"
    with pytest.raises(RuleViolation) as refused:
        qualifications.create_qualification(admin, "leader", "队长")
    assert refused.value.code == "duplicate"
    with pytest.raises(RuleViolation) as refused:
        qualifications.create_qualification(admin, "bad code!", "x")
    assert refused.value.code == "bad_input"

    qualifications.grant(coordinator, people[0].id, leader.id, dt.date(2027, 1, 15))
    with pytest.raises(RuleViolation) as refused:
        qualifications.grant(stranger_coordinator, people[1].id, leader.id)
    assert refused.value.code == "forbidden"
    held = db.session.scalar(sa.select(VolunteerQualification).where(VolunteerQualification.user_id == people[0].id))
    assert held.valid_on(dt.date(2027, 1, 15)) and not held.valid_on(dt.date(2027, 1, 16))
    qualifications.revoke(coordinator, people[0].id, leader.id)
    with pytest.raises(RuleViolation) as refused:
        qualifications.revoke(coordinator, people[0].id, leader.id)
    assert refused.value.code == "not_found"


def test_roster_flags_a_shift_without_its_required_holder(app):
    team, coordinator, people, templates = _team(2)
    leader = Qualification(code="leader", name_zh="队长", name_en="Team leader")
    db.session.add(leader)
    db.session.commit()
    qualifications.set_requirement(coordinator, templates[0].id, leader.id, 1)
    qualifications.grant(coordinator, people[0].id, leader.id, dt.date(2027, 1, 10))
    jan_5, jan_20 = (
        db.session.scalar(sa.select(Shift).where(Shift.template_id == templates[0].id, Shift.local_date == day))
        for day in (dt.date(2027, 1, 5), dt.date(2027, 1, 20))
    )
    for shift in (jan_5, jan_20):
        make_assignment(shift, people[0])  # straight into the table (booked before the requirement, say)
    db.session.commit()
    rows = {r.shift.id: r for r in queries.team_roster(team, JAN_1, JAN_31, with_availability=False).rows}
    assert rows[jan_5.id].missing_qualifications == []
    assert [(q.code, n) for q, n in rows[jan_20.id].missing_qualifications] == [("leader", 1)]  # expired on the 10th
    night = next(r for r in rows.values() if r.shift.template_id == templates[1].id)
    assert night.missing_qualifications == []  # no requirement on the night template


def test_qualifications_page(app, client, auth):
    admin = make_user(Role.ADMIN)
    team, coordinator, people, templates = _team(1)
    auth.login(admin.email)
    assert client.get("/roster/qualifications/").status_code == 200
    response = client.post(
        "/roster/qualifications/",
        data={"action": "create", "c-code": "first-aid", "c-name_zh": "急救", "c-name_en": "First aid"},
    )
    assert response.status_code == 302
    qualification = db.session.scalar(sa.select(Qualification))
    auth.logout()
    auth.login(coordinator.email)
    response = client.post(
        "/roster/qualifications/",
        data={"action": "grant", "g-email": people[0].email, "g-qualification": str(qualification.id)},
    )
    assert response.status_code == 302
    response = client.post(
        "/roster/qualifications/",
        data={
            "action": "require",
            "r-template": str(templates[0].id),
            "r-qualification": str(qualification.id),
            "r-count": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/roster/team/{team.code}?view=month&month=2027-01").get_data(as_text=True)
    assert "急救" in page  # the unmet requirement is flagged on the month grid
    bad = client.post(
        "/roster/qualifications/",
        data={"action": "grant", "g-email": "nobody@x.example", "g-qualification": str(qualification.id)},
    )
    assert bad.status_code == 404
