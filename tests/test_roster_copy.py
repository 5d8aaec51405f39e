"""Copy a period: a week onto the next, a month onto the next (by place in the month), through
the assignment rules; the preview keeps nothing; what cannot be copied comes with its rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import Assignment, AssignmentStatus, Role, Unavailability, db
from services import roster_copy
from services.errors import RuleViolation
from tests.conftest import count_queries
from tests.factories import local, make_assignment, make_shift, make_team, make_user


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def weeks(app):
    """Week of Monday 11 January 2027 staffed; the week of 18 January to be filled."""
    coordinator = make_user(Role.COORDINATOR, email="coord@copy.example")
    other = make_user(Role.COORDINATOR, email="other@copy.example")
    a, b, c, d = (make_user(Role.VOLUNTEER, name=n) for n in ("安", "白", "陈", "邓"))
    team = make_team(coordinator=coordinator, members=[a, b, c, d], code="T001")
    make_team(coordinator=other, code="T002")
    tue = make_shift(team, local(2027, 1, 12, 19))
    thu = make_shift(team, local(2027, 1, 14, 19))
    sat = make_shift(team, local(2027, 1, 16, 8))
    for shift, people in ((tue, (a, b)), (thu, (c,)), (sat, (a,))):
        for person in people:
            make_assignment(shift, person)
    next_tue = make_shift(team, local(2027, 1, 19, 19))
    next_thu = make_shift(team, local(2027, 1, 21, 19), min_volunteers=1, max_volunteers=1)
    make_assignment(next_thu, d)  # full
    db.session.add(Unavailability(user_id=b.id, day=next_tue.local_date, note="exam"))
    db.session.commit()
    return type(
        "Weeks",
        (),
        dict(team=team, coordinator=coordinator, other=other, a=a, b=b, c=c, d=d, next_tue=next_tue, next_thu=next_thu),
    )


def _active() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Assignment.status == AssignmentStatus.ASSIGNED))


def test_week_preview_keeps_nothing_and_lists_reasons(weeks):
    before = _active()
    result = roster_copy.copy_period(weeks.coordinator, weeks.team.id, "week", local(2027, 1, 13).date())
    assert _active() == before and not result.applied
    roster_copy.load_for_display(result)
    assert [(s.local_date.isoformat(), u.name) for s, u in result.done] == [("2027-01-19", "安")]
    reasons = {(u.name, code) for _s, u, _m, code in result.refused}
    assert reasons == {("白", "unavailable"), ("陈", "shift_full"), ("安", "no_target_shift")}, reasons


def test_week_apply_commits_what_passes_and_is_idempotent(weeks):
    result = roster_copy.copy_period(weeks.coordinator, weeks.team.id, "week", local(2027, 1, 11).date(), apply=True)
    assert result.applied and len(result.done) == 1
    on_tue = db.session.scalars(
        sa.select(Assignment.volunteer_id).where(
            Assignment.shift_id == weeks.next_tue.id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    ).all()
    assert on_tue == [weeks.a.id]
    again = roster_copy.copy_period(weeks.coordinator, weeks.team.id, "week", local(2027, 1, 11).date(), apply=True)
    assert again.done == [] and again.skipped == 1


def test_month_copies_by_place_in_the_month(app):
    coordinator = make_user(Role.COORDINATOR)
    a = make_user(Role.VOLUNTEER, name="安")
    team = make_team(coordinator=coordinator, members=[a])
    make_assignment(make_shift(team, local(2027, 1, 12, 19)), a)  # 2nd Tuesday of January
    make_assignment(make_shift(team, local(2027, 1, 26, 19)), a)  # 4th Tuesday
    first_feb = make_shift(team, local(2027, 2, 2, 19))  # 1st Tuesday: nobody in January's 1st
    second_feb = make_shift(team, local(2027, 2, 9, 19))
    db.session.commit()
    result = roster_copy.copy_period(coordinator, team.id, "month", local(2027, 1, 1).date(), apply=True)
    assert result.target == (local(2027, 2, 1).date(), local(2027, 2, 28).date())
    copied = {s.id for s, _u in result.done}
    assert second_feb.id in copied and first_feb.id not in copied


def test_only_the_teams_coordinator(weeks):
    with pytest.raises(RuleViolation) as refused:
        roster_copy.copy_period(weeks.other, weeks.team.id, "week", local(2027, 1, 11).date())
    assert refused.value.code == "forbidden"
    with pytest.raises(RuleViolation) as refused:
        roster_copy.copy_period(weeks.coordinator, weeks.team.id, "year", local(2027, 1, 11).date())
    assert refused.value.code == "bad_kind"


def test_copy_page_preview_then_apply(weeks, client, auth):
    auth.login("coord@copy.example")
    assert client.get("/roster/team/T001/copy?lang=en").status_code == 200
    form = {"kind": "week", "day": "2027-01-12", "preview": "Preview"}
    with count_queries(db.engine) as n:
        page = client.post("/roster/team/T001/copy?lang=en", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 places, 3 cannot be copied" in text and "T001-002" in text
    assert n() <= 40, n()
    assert _active() == 5  # the preview kept nothing
    form.pop("preview")
    form["apply"] = "Copy"
    assert client.post("/roster/team/T001/copy?lang=en", data=form).status_code == 200
    assert _active() == 6
    assert client.post("/roster/team/T001/copy", data={"kind": "week", "day": "not a date"}).status_code == 400
    auth.logout()
    auth.login("other@copy.example")
    assert client.get("/roster/team/T001/copy").status_code == 403
