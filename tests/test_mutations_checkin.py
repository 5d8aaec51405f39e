"""The check-in window, grace and real hours pinned at their boundaries on real times (mutation
testing of services/checkin.py: `python tools/mutation.py checkin`). Friday 15 January 2027,
Asia/Shanghai: an evening shift 18:00–21:45 and a night shift 22:00–02:00 (crossing midnight)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import AssignmentStatus, Role, ShiftStatus, TeamMembership, db
from services import checkin as service
from services.errors import RuleViolation
from tests.factories import local, make_assignment, make_shift, make_team, make_user

SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def friday(app):
    """Zhao leads; Wang is on both shifts; Li is on the night shift, booked before Wang."""
    coordinator = make_user(Role.COORDINATOR)
    wang = make_user(Role.VOLUNTEER, name="王芳")
    zhao = make_user(Role.VOLUNTEER, name="赵磊")
    li = make_user(Role.VOLUNTEER, name="李娜")
    team = make_team(coordinator=coordinator, members=[wang, zhao, li])
    db.session.scalars(sa.select(TeamMembership).where(TeamMembership.user_id == zhao.id)).one().is_leader = True
    night = make_shift(team, local(2027, 1, 15, 22), hours=4)
    evening = make_shift(team, local(2027, 1, 15, 18), hours=3.75)  # 18:00–21:45, created after the night
    li_night = make_assignment(night, li)  # an id before Wang's
    wang_night = make_assignment(night, wang)
    wang_evening = make_assignment(evening, wang)
    db.session.commit()
    return type(
        "Friday",
        (),
        dict(
            team=team,
            night=night,
            evening=evening,
            wang=wang,
            zhao=zhao,
            li=li,
            li_night=li_night,
            wang_night=wang_night,
            wang_evening=wang_evening,
        ),
    )


def test_the_refusals_say_when_the_window_opens_and_closes(friday):
    code = service.shift_code(friday.night)
    with pytest.raises(RuleViolation) as refused:
        service.check_in_self(friday.wang, friday.night.id, code, now=(local(2027, 1, 15, 21, 29) + 59 * SECOND))
    assert refused.value.message == "Check-in opens 30 minutes before the start."
    assert (refused.value.code, refused.value.status) == ("too_early", 409)
    with pytest.raises(RuleViolation) as refused:
        service.check_in_self(friday.wang, friday.night.id, code, now=local(2027, 1, 16, 2))
    assert refused.value.message == "This shift is over: check-in is closed."
    assert (refused.value.code, refused.value.status) == ("too_late", 409)


def test_the_message_follows_the_setting(friday, app):
    app.config["CHECKIN_OPENS_MINUTES"] = 45
    code = service.shift_code(friday.night)
    with pytest.raises(RuleViolation) as refused:
        service.check_in_self(friday.wang, friday.night.id, code, now=(local(2027, 1, 15, 21, 14) + 59 * SECOND))
    assert refused.value.message == "Check-in opens 45 minutes before the start."
    assert service.check_in_self(friday.wang, friday.night.id, code, now=local(2027, 1, 15, 21, 15)).checked_in_at


def test_grace_boundary_and_its_setting(friday, app):
    a = friday.wang_night
    a.checked_in_at = local(2027, 1, 15, 22, 10)
    assert service.state(a) == service.State.CHECKED_IN  # exactly start + 10 min: on time
    a.checked_in_at = local(2027, 1, 15, 22, 10) + 1 * SECOND
    assert service.state(a) == service.State.LATE
    app.config["CHECKIN_GRACE_MINUTES"] = 20
    assert service.state(a) == service.State.CHECKED_IN
    a.checked_in_at = local(2027, 1, 15, 22, 20) + 1 * SECOND
    assert service.state(a) == service.State.LATE


def test_no_show_from_the_end_exactly(friday):
    a = friday.wang_night
    assert service.state(a, local(2027, 1, 16, 2) - SECOND) == service.State.WAITING
    assert service.state(a, local(2027, 1, 16, 2)) == service.State.NO_SHOW


def test_real_hours_to_the_hundredth_and_never_negative(friday):
    a = friday.wang_night
    # 54 seconds before the end: 0.015 h, rounded half-even to 0.02.
    assert service.real_hours(a, (local(2027, 1, 16, 1, 59) + 6 * SECOND)) == Decimal("0.02")
    assert service.real_hours(a, local(2027, 1, 15, 21, 40)) == Decimal("4.00")  # before the start: from the start
    assert service.real_hours(a, local(2027, 1, 16, 3)) == Decimal("0.00")
    done = service.check_in_self(
        friday.wang, friday.night.id, service.shift_code(friday.night), (local(2027, 1, 16, 1, 59) + 6 * SECOND)
    )
    assert done.hours_credited == Decimal("0.02")


@pytest.mark.parametrize(
    ("moment", "shift"),
    [
        ((local(2027, 1, 15, 17, 29) + 59 * SECOND), None),  # before the evening's window
        (local(2027, 1, 15, 17, 30), "evening"),  # the evening's window opens
        ((local(2027, 1, 15, 21, 29) + 59 * SECOND), "evening"),  # only the evening (the night's window not yet open)
        (local(2027, 1, 15, 21, 30), "evening"),  # both open: the earlier start first
        (local(2027, 1, 15, 21, 45), "night"),  # the evening has ended
        ((local(2027, 1, 16, 1, 59) + 59 * SECOND), "night"),
        (local(2027, 1, 16, 2), None),  # the night has ended
    ],
)
def test_the_leaders_current_shift_at_the_window_edges(friday, moment, shift):
    found = service.current_assignment_for(friday.zhao, friday.wang.id, moment)
    if shift is None:
        assert found is None
        with pytest.raises(RuleViolation) as refused:
            service.check_in_person(friday.zhao, friday.wang.id, service.person_code(friday.wang.id), now=moment)
        assert refused.value.code == "no_current_shift"
    else:
        expected = friday.wang_evening if shift == "evening" else friday.wang_night
        assert found.id == expected.id and found.volunteer_id == friday.wang.id


def test_a_leader_on_a_shift_checks_people_into_that_one(friday):
    make_assignment(friday.night, friday.zhao)
    db.session.commit()
    # 21:30: both of Wang's shifts are open; Zhao is on the night shift, so that one.
    found = service.current_assignment_for(friday.zhao, friday.wang.id, local(2027, 1, 15, 21, 30))
    assert found.id == friday.wang_night.id
    done = service.check_in_person(
        friday.zhao, friday.wang.id, service.person_code(friday.wang.id), now=local(2027, 1, 15, 21, 30)
    )
    assert done.id == friday.wang_night.id


def test_a_leader_no_longer_on_the_shift_does_not_count(friday):
    leader_on_night = make_assignment(friday.night, friday.zhao)
    leader_on_night.status = AssignmentStatus.DROPPED
    friday.night.assigned_count -= 1
    db.session.commit()
    found = service.current_assignment_for(friday.zhao, friday.wang.id, local(2027, 1, 15, 21, 30))
    assert found.id == friday.wang_evening.id


def test_ended_assignments_and_cancelled_shifts_are_not_current(friday):
    friday.wang_evening.status = AssignmentStatus.DROPPED
    friday.evening.assigned_count -= 1
    db.session.commit()
    assert service.current_assignment_for(friday.zhao, friday.wang.id, local(2027, 1, 15, 21, 30)).id == (
        friday.wang_night.id
    )
    friday.night.status = ShiftStatus.CANCELLED
    db.session.commit()
    assert service.current_assignment_for(friday.zhao, friday.wang.id, local(2027, 1, 15, 22, 30)) is None
    # Someone else's assignment on the shift is never the volunteer's (Li was booked before Wang).
    friday.night.status = ShiftStatus.SCHEDULED
    db.session.commit()
    found = service.current_assignment_for(friday.zhao, friday.li.id, local(2027, 1, 15, 22, 30))
    assert found.id == friday.li_night.id
