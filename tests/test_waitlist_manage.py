"""A coordinator's hand on one shift's waiting list: who queues (position, member number, since
when, offer), taking someone off it (POST + CSRF, the person told in their language), the next in
line keeping their order, and who may do it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from app import create_app
from models import AuditLog, OutboxMessage, Role, Shift, TeamMembership, WaitlistEntry, WaitlistStatus, db
from services import assignments as service
from services import notify, trades, waitlist, waitlist_manage
from services.errors import RuleViolation
from tests.conftest import base_config, count_queries
from tests.factories import PASSWORD, make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ, local_today


def evening(days_ahead: int, hour: int = 19) -> dt.datetime:
    day = local_today() + dt.timedelta(days=days_ahead)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.fixture
def queue(app):
    """Shift in five days, full (1 of 1); three teammates queue, two of them both named 刘雪琴."""
    coordinator = make_user(Role.COORDINATOR, email="coord@wl.example")
    on = make_user(Role.VOLUNTEER, email="on@wl.example")
    first = make_user(Role.VOLUNTEER, email="liu1@wl.example", name="刘雪琴", name_en="Liu Xueqin")
    second = make_user(Role.VOLUNTEER, email="liu2@wl.example", name="刘雪琴", name_en="Liu Xueqin", locale="en")
    third = make_user(Role.VOLUNTEER, email="wang@wl.example", name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[on, first, second, third], code="WL01")
    shift = make_shift(team, evening(5), min_volunteers=1, max_volunteers=1)
    held = make_assignment(shift, on)
    other_coordinator = make_user(Role.COORDINATOR, email="other@wl.example")
    make_team(coordinator=other_coordinator, members=[make_user(Role.VOLUNTEER)], code="WL02")
    make_user(Role.ADMIN, email="admin@wl.example")
    db.session.commit()
    entries = [trades.join_waitlist(v, shift.id) for v in (first, second, third)]
    return type(
        "Queue",
        (),
        dict(
            team=team,
            shift=shift,
            held=held,
            on=on,
            coordinator=coordinator,
            people=[first, second, third],
            entries=entries,
            other=other_coordinator,
        ),
    )


def fresh(entry_id: int) -> WaitlistEntry:
    db.session.expire_all()
    return db.session.get(WaitlistEntry, entry_id)


def test_the_list_shows_position_member_number_since_and_offer(queue, client, auth):
    auth.login("coord@wl.example")
    page = client.get(f"/roster/shift/{queue.shift.id}/waitlist?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # Member numbers: coordinator 001, on 002, the two 刘雪琴 003 and 004, 王芳 005, in queue order.
    assert text.index("WL01-003") < text.index("WL01-004") < text.index("WL01-005")
    assert "Liu Xueqin" in text and "Waiting since" in text and text.count(">waiting<") == 3
    assert f'name="entry_id" value="{queue.entries[0].id}"' in text
    assert 'name="csrf_token"' in text
    # A freed place is offered to the first: shown as held, with its expiry; the others move up.
    service.drop(queue.on, queue.held.id)
    _, rows = waitlist_manage.shift_waitlist(queue.coordinator, queue.shift.id)
    assert [(r.entry.id, r.position, r.offered) for r in rows] == [
        (queue.entries[0].id, None, True),
        (queue.entries[1].id, 1, False),
        (queue.entries[2].id, 2, False),
    ]
    text = client.get(f"/roster/shift/{queue.shift.id}/waitlist?lang=en").get_data(as_text=True)
    assert "place held until" in text
    chinese = client.get(f"/roster/shift/{queue.shift.id}/waitlist?lang=zh_CN").get_data(as_text=True)
    assert "候补名单" in chinese and "队员编号" in chinese and "刘雪琴" in chinese and "保留至" in chinese


def test_removing_someone_keeps_the_order_and_tells_them(queue, client, auth):
    first, second, third = queue.entries
    auth.login("coord@wl.example")
    response = client.post(f"/roster/shift/{queue.shift.id}/waitlist", data={"action": "remove", "entry_id": second.id})
    assert response.status_code == 303
    assert fresh(second.id).status is WaitlistStatus.LEFT
    assert [waitlist.position(fresh(e.id)) for e in (first, third)] == [1, 2]
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "waitlist.remove"))
    assert audit.actor_id == queue.coordinator.id and audit.entity_id == str(second.id)
    # The removed volunteer (English reader) is told, in English; nobody else is.
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_removed")).all()
    assert [r.user_id for r in rows] == [queue.people[1].id]
    rendered = notify.render(rows[0])
    assert rendered.subject.startswith("Taken off the waiting list")
    assert "took you off the waiting list" in rendered.text
    # Twice: the entry is no longer live (409), nothing more is sent.
    again = client.post(f"/roster/shift/{queue.shift.id}/waitlist", data={"action": "remove", "entry_id": second.id})
    assert again.status_code == 409
    assert (
        db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.kind == "waitlist_removed"))
        == 1
    )


def test_the_removal_notice_reads_in_chinese_too(queue):
    first = queue.entries[0]  # 刘雪琴 (first) reads Chinese, the default
    waitlist_manage.remove_from_waitlist(queue.coordinator, queue.shift.id, first.id)
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_removed"))
    assert row.user_id == queue.people[0].id and row.locale == "zh_CN"
    rendered = notify.render(row)
    assert "候补名单" in rendered.subject and "刘雪琴" in rendered.text
    assert "Waiting" not in rendered.text


def test_removing_the_person_offered_the_place_passes_it_to_the_next(queue):
    first, second, third = queue.entries
    service.drop(queue.on, queue.held.id)
    assert fresh(first.id).status is WaitlistStatus.OFFERED
    waitlist_manage.remove_from_waitlist(queue.coordinator, queue.shift.id, first.id)
    assert fresh(first.id).status is WaitlistStatus.LEFT
    assert fresh(second.id).status is WaitlistStatus.OFFERED
    assert fresh(third.id).status is WaitlistStatus.WAITING and waitlist.position(fresh(third.id)) == 1
    assert db.session.get(Shift, queue.shift.id).held_count == 1
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.user_id == queue.people[1].id)).all()
    assert "waitlist_offer" in kinds


def test_admin_may_remove_too(queue, client, auth):
    auth.login("admin@wl.example")
    assert client.get(f"/roster/shift/{queue.shift.id}/waitlist").status_code == 200
    response = client.post(
        f"/roster/shift/{queue.shift.id}/waitlist", data={"action": "remove", "entry_id": queue.entries[2].id}
    )
    assert response.status_code == 303
    assert fresh(queue.entries[2].id).status is WaitlistStatus.LEFT


@pytest.mark.parametrize("email", ["other@wl.example", "liu1@wl.example"])
def test_another_teams_coordinator_and_volunteers_are_refused(queue, client, auth, email):
    auth.login(email)
    path = f"/roster/shift/{queue.shift.id}/waitlist"
    assert client.get(path).status_code == 403
    assert client.post(path, data={"action": "remove", "entry_id": queue.entries[0].id}).status_code == 403
    assert fresh(queue.entries[0].id).status is WaitlistStatus.WAITING
    with pytest.raises(RuleViolation) as refused:
        waitlist_manage.remove_from_waitlist(queue.other, queue.shift.id, queue.entries[0].id)
    assert refused.value.status == 403


def test_an_entry_of_another_shift_or_unknown_ids_are_404(queue, client, auth):
    other_shift = make_shift(queue.team, evening(6), min_volunteers=1, max_volunteers=1)
    make_assignment(other_shift, queue.on)
    db.session.commit()
    elsewhere = trades.join_waitlist(queue.people[0], other_shift.id)
    auth.login("coord@wl.example")
    path = f"/roster/shift/{queue.shift.id}/waitlist"
    assert client.post(path, data={"action": "remove", "entry_id": elsewhere.id}).status_code == 404
    assert client.post(path, data={"action": "remove", "entry_id": 999999}).status_code == 404
    assert client.get("/roster/shift/999999/waitlist").status_code == 404
    assert client.post(path, data={"action": "remove", "entry_id": "x"}).status_code == 400
    assert client.post(path, data={"action": "shuffle", "entry_id": elsewhere.id}).status_code == 400
    assert fresh(elsewhere.id).status is WaitlistStatus.WAITING


def test_the_removal_needs_the_csrf_token(queue, database_url):
    browser = create_app(base_config(database_url, WTF_CSRF_ENABLED=True)).test_client()
    login = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    browser.post("/login", data={"email": "coord@wl.example", "password": PASSWORD, "csrf_token": token})
    path = f"/roster/shift/{queue.shift.id}/waitlist"
    entry = queue.entries[0]
    assert browser.post(path, data={"action": "remove", "entry_id": entry.id}).status_code == 400
    assert fresh(entry.id).status is WaitlistStatus.WAITING
    page = browser.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = browser.post(path, data={"action": "remove", "entry_id": entry.id, "csrf_token": token})
    assert response.status_code == 303
    assert fresh(entry.id).status is WaitlistStatus.LEFT


def test_the_list_runs_a_constant_number_of_queries(queue, web_app, client, auth):
    auth.login("coord@wl.example")
    path = f"/roster/shift/{queue.shift.id}/waitlist?lang=en"
    client.get(path)
    with web_app.app_context():
        engine = db.engine
    with count_queries(engine) as small:
        assert client.get(path).status_code == 200
    for _ in range(15):
        person = make_user(Role.VOLUNTEER)
        db.session.add(TeamMembership(team_id=queue.team.id, user_id=person.id))
        db.session.flush()
        db.session.add(WaitlistEntry(shift_id=queue.shift.id, volunteer_id=person.id))
    db.session.commit()
    with count_queries(engine) as large:
        text = client.get(path).get_data(as_text=True)
    assert text.count(">waiting<") == 18
    assert large() == small()
