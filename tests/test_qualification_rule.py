"""Qualification requirements are enforced by the assignment service, on every path that books.

The rule (services/assignments._check_qualifications): a volunteer who does not hold the
required qualification, valid on the shift's date (expiry inclusive), is refused when, after the
booking, the holders still needed outnumber the places still left (max - assigned - held).
Each test uses a shift three weeks ahead whose template requires at least one team leader.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import (
    ALL_WEEKDAYS,
    Assignment,
    AssignmentStatus,
    Plan,
    PlanEntry,
    PlanStatus,
    Qualification,
    Role,
    Shift,
    ShiftTemplate,
    TradeStatus,
    WaitlistStatus,
    db,
)
from services import assignments as service
from services import planner, qualifications, roster_bulk, trades
from services.errors import RuleViolation
from tests.factories import make_shift, make_team, make_user
from timeutil import LOCAL_TZ


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def _day() -> dt.date:
    """A Wednesday about three weeks ahead (past the drop cut-off, before any offer window closes)."""
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(weeks=3)
    return day + dt.timedelta(days=(2 - day.weekday()) % 7)


class Setting:
    def __init__(self, max_volunteers: int = 3, count: int = 1):
        self.day = _day()
        self.admin = make_user(Role.ADMIN)
        self.coordinator = make_user(Role.COORDINATOR)
        self.leader = make_user(name_en="Leader Lin")
        self.expired = make_user(name_en="Expired Emma")  # leader until the day BEFORE the shift
        self.same_day = make_user(name_en="Sameday Sun")  # leader until the shift's date (inclusive)
        self.others = [make_user(name_en=f"Member {i}") for i in range(4)]
        people = [self.leader, self.expired, self.same_day, *self.others]
        self.team = make_team(coordinator=self.coordinator, members=people, name_en="East patrol", code="TQ")
        template = ShiftTemplate(
            team_id=self.team.id,
            name="evening",
            weekdays=ALL_WEEKDAYS,
            local_start=dt.time(19),
            local_end=dt.time(22),
            min_volunteers=1,
            max_volunteers=max_volunteers,
            valid_from=self.day,
            valid_until=self.day,
        )
        db.session.add(template)
        self.qualification = Qualification(code="leader", name_zh="队长", name_en="Team leader")
        db.session.add(self.qualification)
        db.session.flush()
        start = dt.datetime(self.day.year, self.day.month, self.day.day, 19, tzinfo=LOCAL_TZ)
        self.shift = make_shift(
            self.team, start, hours=3, min_volunteers=1, max_volunteers=max_volunteers, template_id=template.id
        )
        db.session.commit()
        qualifications.set_requirement(self.coordinator, template.id, self.qualification.id, count)
        qualifications.grant(self.coordinator, self.leader.id, self.qualification.id)
        qualifications.grant(self.coordinator, self.expired.id, self.qualification.id, self.day - dt.timedelta(days=1))
        qualifications.grant(self.coordinator, self.same_day.id, self.qualification.id, self.day)

    def on(self) -> set[int]:
        return set(
            db.session.scalars(
                sa.select(Assignment.volunteer_id).where(
                    Assignment.shift_id == self.shift.id, Assignment.status == AssignmentStatus.ASSIGNED
                )
            )
        )


def refused(call) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call()
    return caught.value


def test_assign_keeps_the_last_place_for_a_holder_and_respects_expiry(app):
    s = Setting(max_volunteers=3)
    first, second, third = s.others[:3]
    service.assign(s.coordinator, s.shift.id, first.id)  # needed 1, left 2 after: allowed
    service.assign(s.coordinator, s.shift.id, second.id)  # needed 1, left 1 after: allowed
    no = refused(lambda: service.assign(s.coordinator, s.shift.id, third.id))  # needed 1, left 0 after
    assert no.code == "qualification_required" and no.status == 409
    assert no.message == (
        "This shift needs 1 volunteers holding “Team leader” and has 0; its remaining places are kept for them, "
        f"and Member 2 does not hold it on {service._date_label(s.day)}."
    )
    # Expired the day before the shift: not a holder that day.
    assert refused(lambda: service.assign(s.coordinator, s.shift.id, s.expired.id)).code == "qualification_required"
    # Valid until the shift's own date: a holder (expiry is inclusive).
    service.assign(s.coordinator, s.shift.id, s.same_day.id)
    # Now the shift is simply full.
    assert refused(lambda: service.assign(s.coordinator, s.shift.id, third.id)).code == "shift_full"
    assert s.on() == {first.id, second.id, s.same_day.id}


def test_a_holder_on_the_shift_frees_the_last_place_for_anyone(app):
    s = Setting(max_volunteers=2)
    service.assign(s.coordinator, s.shift.id, s.same_day.id)
    service.assign(s.coordinator, s.shift.id, s.others[0].id)
    assert s.on() == {s.same_day.id, s.others[0].id}


def test_two_holders_required_leaves_two_places(app):
    s = Setting(max_volunteers=4, count=2)
    first, second, third = s.others[:3]
    service.assign(s.coordinator, s.shift.id, first.id)
    service.assign(s.coordinator, s.shift.id, second.id)  # 2 non-holders, 2 places left for 2 holders
    assert refused(lambda: service.assign(s.coordinator, s.shift.id, third.id)).code == "qualification_required"
    service.assign(s.coordinator, s.shift.id, s.leader.id)
    assert refused(lambda: service.assign(s.coordinator, s.shift.id, third.id)).code == "qualification_required"
    assert refused(lambda: service.assign(s.coordinator, s.shift.id, s.expired.id)).code == "qualification_required"
    service.assign(s.coordinator, s.shift.id, s.same_day.id)
    assert s.on() == {first.id, second.id, s.leader.id, s.same_day.id}


def test_sign_up_and_bulk_assign(app):
    s = Setting(max_volunteers=2)
    service.sign_up(s.others[0], s.shift.id)
    assert refused(lambda: service.sign_up(s.others[1], s.shift.id)).code == "qualification_required"
    assert refused(lambda: service.sign_up(s.expired, s.shift.id)).code == "qualification_required"
    result = roster_bulk.bulk_assign(s.coordinator, s.team.id, s.others[2].id, s.day, s.day)
    assert result.done == [] and len(result.refused) == 1 and "Team leader" in result.refused[0][2]
    result = roster_bulk.bulk_assign(s.coordinator, s.team.id, s.same_day.id, s.day, s.day)
    assert len(result.done) == 1
    assert s.on() == {s.others[0].id, s.same_day.id}


def test_swap_request_and_accept(app):
    s = Setting(max_volunteers=2)
    member, taker = s.others[:2]
    mine = service.assign(s.coordinator, s.shift.id, s.leader.id)
    service.assign(s.coordinator, s.shift.id, member.id)
    # The leader hands over to a non-holder: the shift would be left with no leader and no place.
    assert refused(lambda: service.request_swap(s.leader, mine.id, taker.id)).code == "qualification_required"
    assert refused(lambda: service.request_swap(s.leader, mine.id, s.expired.id)).code == "qualification_required"
    pending = service.request_swap(s.leader, mine.id, s.same_day.id)  # a holder on that day: fine
    # Checked again on acceptance: the taker's qualification was revoked meanwhile.
    qualifications.revoke(s.coordinator, s.same_day.id, s.qualification.id)
    assert refused(lambda: service.answer_swap(s.same_day, pending.id, True)).code == "qualification_required"
    assert s.on() == {s.leader.id, member.id}  # nothing moved
    # A non-holder giving their place to another non-holder, when a leader is on: fine.
    theirs = db.session.scalar(sa.select(Assignment).where(Assignment.volunteer_id == member.id))
    swap = service.request_swap(member, theirs.id, s.others[2].id)
    service.answer_swap(s.others[2], swap.id, True)
    assert s.on() == {s.leader.id, s.others[2].id}


def test_trade_take_and_approval(app):
    s = Setting(max_volunteers=2)
    member, taker = s.others[:2]
    mine = service.assign(s.coordinator, s.shift.id, s.leader.id)
    service.assign(s.coordinator, s.shift.id, member.id)
    offer = trades.offer_trade(s.leader, mine.id)
    assert refused(lambda: trades.take_trade(taker, offer.id)).code == "qualification_required"
    assert refused(lambda: trades.take_trade(s.expired, offer.id)).code == "qualification_required"
    assert db.session.get(type(offer), offer.id).status is TradeStatus.OPEN
    # With approval: taken by a holder, who loses the qualification before the coordinator approves.
    trades.set_approval(s.coordinator, s.team.id, True)
    trades.take_trade(s.same_day, offer.id)
    qualifications.revoke(s.coordinator, s.same_day.id, s.qualification.id)
    no = refused(lambda: trades.decide_trade(s.coordinator, offer.id, True))
    assert no.code == "qualification_required"
    assert s.on() == {s.leader.id, member.id}
    qualifications.grant(s.coordinator, s.same_day.id, s.qualification.id, s.day)
    trades.decide_trade(s.coordinator, offer.id, True)
    assert s.on() == {s.same_day.id, member.id}


def test_waitlist_offer_skips_and_accept_refuses_a_non_holder(app):
    s = Setting(max_volunteers=2)
    member, waiting = s.others[:2]
    leaders_place = service.assign(s.coordinator, s.shift.id, s.leader.id)
    service.assign(s.coordinator, s.shift.id, member.id)
    # A non-holder in line is skipped when the leader's place frees (it is needed for a leader).
    skipped = trades.join_waitlist(waiting, s.shift.id)
    # A holder (this morning) is offered the place next; loses the qualification before accepting.
    qualifications.grant(s.coordinator, s.others[2].id, s.qualification.id)
    offered = trades.join_waitlist(s.others[2], s.shift.id)
    service.drop(s.leader, leaders_place.id)
    assert db.session.get(type(skipped), skipped.id).status is WaitlistStatus.SKIPPED
    assert db.session.get(type(offered), offered.id).status is WaitlistStatus.OFFERED
    qualifications.revoke(s.coordinator, s.others[2].id, s.qualification.id)
    assert refused(lambda: trades.answer_offer(s.others[2], offered.id, True)).code == "qualification_required"
    assert db.session.get(Shift, s.shift.id).held_count == 1  # still held: nothing half done
    qualifications.grant(s.coordinator, s.others[2].id, s.qualification.id, s.day)
    trades.answer_offer(s.others[2], offered.id, True)
    shift = db.session.get(Shift, s.shift.id)
    assert (shift.assigned_count, shift.held_count) == (2, 0)
    assert s.on() == {member.id, s.others[2].id}


def test_waitlist_accept_of_a_non_holder_when_a_leader_is_on(app):
    s = Setting(max_volunteers=3)
    service.assign(s.coordinator, s.shift.id, s.leader.id)
    service.assign(s.coordinator, s.shift.id, s.others[0].id)
    dropping = service.assign(s.coordinator, s.shift.id, s.others[1].id)
    entry = trades.join_waitlist(s.others[2], s.shift.id)
    service.drop(s.others[1], dropping.id)
    trades.answer_offer(s.others[2], entry.id, True)
    assert s.on() == {s.leader.id, s.others[0].id, s.others[2].id}


def test_planner_publish_is_refused_whole(app):
    s = Setting(max_volunteers=2)
    service.assign(s.coordinator, s.shift.id, s.others[0].id)
    plan = Plan(team_id=s.team.id, first_day=s.day, last_day=s.day, created_by_id=s.coordinator.id)
    db.session.add(plan)
    db.session.flush()
    db.session.add(PlanEntry(plan_id=plan.id, shift_id=s.shift.id, volunteer_id=s.others[1].id))
    db.session.commit()
    assert refused(lambda: planner.publish(s.coordinator, plan.id)).code == "qualification_required"
    assert db.session.get(Plan, plan.id).status is PlanStatus.DRAFT
    assert s.on() == {s.others[0].id}
