"""Admin pages of the schedule: series, sites, occurrences, holiday overrides, shift templates."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import (
    HearingNotice,
    HolidayOverride,
    HolidayPolicy,
    Occurrence,
    OccurrenceStatus,
    ProgrammeKind,
    Role,
    Series,
    SeriesSite,
    Shift,
    ShiftTemplate,
    db,
)
from scheduler.occurrences import generate_occurrences
from scheduler.shifts import generate_shifts
from tests.conftest import base_config
from tests.factories import make_community, make_team, make_user, make_venue
from tests.schedule_builders import contact_day_series, court_series, programme, shift_template, staff
from timeutil import local_today, to_local


@pytest.fixture
def admin(app, auth):
    user = make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    auth.login(user.email)
    return user


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/admin/schedule/", "/admin/schedule/holidays", "/admin/schedule/teams", "/admin/schedule/series/new"]
)
def test_pages_need_an_admin(app, client, auth, path):
    assert client.get(path).status_code == 302  # to the login page
    make_user(Role.COORDINATOR, email="coord@test.example")
    db.session.commit()
    auth.login("coord@test.example")
    assert client.get(path).status_code == 403


def test_overview_lists_series_and_flags_holiday_occurrences(app, client, admin):
    series = contact_day_series(sites=1, starts_on=dt.date(2024, 1, 1))
    series.name_en = "Contact day (sample)"
    generate_occurrences(dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    db.session.commit()
    page = text(client.get("/admin/schedule/?lang=en"))
    assert "Contact day (sample)" in page and "FREQ=MONTHLY;BYDAY=2SU" in page
    detail = text(client.get(f"/admin/schedule/series/{series.id}?when=holiday&lang=en"))
    assert "2024-02-11" in detail and "春节" in detail


def test_create_series_then_a_site_generates_occurrences(app, client, admin):
    contact = programme(ProgrammeKind.CONTACT_DAY)
    community = make_community()
    venue = make_venue(community=community)
    official = make_user(Role.OFFICIAL)
    db.session.commit()
    start = local_today()
    response = client.post(
        "/admin/schedule/series/new",
        data={
            "programme_id": contact.id,
            "name_zh": "联系日(测试)",
            "name_en": "Contact day (test)",
            "pattern": "rrule",
            "rrule": "RRULE:FREQ=MONTHLY;BYDAY=2SU",
            "holiday_policy": "next_sunday",
            "starts_on": start.isoformat(),
            "active": "y",
        },
    )
    assert response.status_code == 302
    series = db.session.scalar(sa.select(Series).where(Series.name_en == "Contact day (test)"))
    assert series.rrule == "FREQ=MONTHLY;BYDAY=2SU" and series.holiday_policy is HolidayPolicy.NEXT_SUNDAY
    response = client.post(
        f"/admin/schedule/series/{series.id}/sites/new",
        data={
            "community_id": community.id,
            "venue_id": venue.id,
            "local_start": "14:00",
            "local_end": "16:30",
            "capacity": "30",
            "active": "y",
            "officials": [official.id],
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    found = db.session.scalars(sa.select(Occurrence).where(Occurrence.series_id == series.id)).all()
    assert 2 <= len(found) <= 4  # the second Sundays within the 90-day horizon
    assert all(to_local(o.starts_at).time() == dt.time(14, 0) and o.capacity == 30 for o in found)
    assert all([u.id for u in o.officials] == [official.id] for o in found)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rrule": "FREQ=SECONDLY"}, "frequency must be"),
        ({"rrule": "not a rule"}, "Not a valid recurrence rule"),
        ({"rrule": "DTSTART:20260101\nRRULE:FREQ=DAILY"}, "without a DTSTART"),
        ({"rrule": ""}, "required"),
        ({"ends_on": "2020-01-01"}, "end date"),
        ({"starts_on": "2026-02-30"}, "Not a valid date"),
        ({"name_zh": ""}, "required"),
    ],
)
def test_series_form_refuses_bad_input_with_400(app, client, admin, change, message):
    contact = programme(ProgrammeKind.CONTACT_DAY)
    db.session.commit()
    data = {
        "programme_id": contact.id,
        "name_zh": "联系日",
        "name_en": "Contact day",
        "pattern": "rrule",
        "rrule": "FREQ=MONTHLY;BYDAY=2SU",
        "holiday_policy": "keep",
        "starts_on": "2026-01-01",
    } | change
    response = client.post("/admin/schedule/series/new?lang=en", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_site_form_refuses_backwards_hours(app, client, admin):
    series = contact_day_series(sites=0)
    venue = make_venue()
    db.session.commit()
    response = client.post(
        f"/admin/schedule/series/{series.id}/sites/new?lang=en",
        data={"community_id": "0", "venue_id": venue.id, "local_start": "16:00", "local_end": "09:00"},
    )
    assert response.status_code == 400 and "after the start time" in text(response)
    assert db.session.scalar(sa.select(sa.func.count(SeriesSite.id))) == 0


def test_edit_series_policy_reaches_future_occurrences(app, client, admin):
    series = contact_day_series(sites=1, starts_on=dt.date(2024, 1, 1))
    db.session.commit()
    today = local_today()
    response = client.post(
        f"/admin/schedule/series/{series.id}/edit",
        data={
            "programme_id": series.programme_id,
            "name_zh": "联系日",
            "name_en": "Contact day",
            "pattern": "rrule",
            "rrule": "FREQ=MONTHLY;BYDAY=2SU",
            "holiday_policy": "skip",
            "starts_on": "2024-01-01",
            "active": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert series.holiday_policy is HolidayPolicy.SKIP
    future = db.session.scalars(sa.select(Occurrence).where(Occurrence.series_id == series.id)).all()
    assert future and all(o.rule_date >= today for o in future)


def occurrence_in_2030(app):
    series = contact_day_series(sites=1, starts_on=dt.date(2030, 1, 1))
    generate_occurrences(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    db.session.commit()
    return db.session.scalar(sa.select(Occurrence).where(Occurrence.series_id == series.id))


def test_move_and_cancel_through_the_pages(app, client, admin):
    occurrence = occurrence_in_2030(app)
    uid = occurrence.uid
    page = client.get(f"/admin/schedule/occurrences/{occurrence.id}?lang=en")
    assert page.status_code == 200 and uid in text(page)
    response = client.post(
        f"/admin/schedule/occurrences/{occurrence.id}/move",
        data={"day": "2030-01-20", "start": "14:00", "end": "16:00", "note": "Moved (sample)"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert occurrence.uid == uid and occurrence.sequence == 1 and to_local(occurrence.starts_at).day == 20
    response = client.post(f"/admin/schedule/occurrences/{occurrence.id}/cancel", data={"reason": "Sample reason"})
    assert response.status_code == 302
    db.session.expire_all()
    assert occurrence.status is OccurrenceStatus.CANCELLED and occurrence.sequence == 2 and occurrence.uid == uid
    again = client.post(f"/admin/schedule/occurrences/{occurrence.id}/cancel?lang=en", data={})
    assert again.status_code == 409 and "already cancelled" in text(again)


@pytest.mark.parametrize(
    "data, status",
    [
        ({"day": "2030-01-20", "start": "16:00", "end": "14:00"}, 400),
        ({"day": "2030-02-31", "start": "09:00", "end": "10:00"}, 400),
        ({"day": "2020-01-20", "start": "09:00", "end": "10:00"}, 400),
        ({"day": "", "start": "", "end": ""}, 400),
    ],
)
def test_move_refuses_bad_input(app, client, admin, data, status):
    occurrence = occurrence_in_2030(app)
    response = client.post(f"/admin/schedule/occurrences/{occurrence.id}/move?lang=en", data=data)
    assert response.status_code == status
    db.session.expire_all()
    assert occurrence.sequence == 0


def test_unknown_occurrence_is_404(app, client, admin):
    assert client.get("/admin/schedule/occurrences/999999").status_code == 404
    assert client.post("/admin/schedule/occurrences/999999/cancel").status_code == 404


def test_forms_need_the_csrf_token(app, database_url):
    from app import create_app

    occurrence = occurrence_in_2030(app)
    make_user(Role.ADMIN, email="csrf-admin@test.example")
    db.session.commit()
    strict = create_app(base_config(database_url, WTF_CSRF_ENABLED=True))
    client = strict.test_client()
    login_page = text(client.get("/login"))
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    from tests.factories import PASSWORD

    client.post("/login", data={"email": "csrf-admin@test.example", "password": PASSWORD, "csrf_token": token})
    response = client.post(f"/admin/schedule/occurrences/{occurrence.id}/cancel", data={"reason": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert occurrence.status is OccurrenceStatus.SCHEDULED


def test_holiday_overrides_page(app, client, admin):
    series = court_series(rooms=1, starts_on=dt.date(2024, 1, 1))
    db.session.commit()
    page = text(client.get("/admin/schedule/holidays?year=2026&lang=en"))
    assert "National Day" in page and "2026-02-14" in page and "Make-up working day" in page
    assert "117" in page  # court days of 2026
    saturday = local_today() + dt.timedelta(days=(5 - local_today().weekday()) % 7 + 7)
    generate_occurrences(local_today(), local_today() + dt.timedelta(days=30))
    db.session.commit()
    response = client.post(
        "/admin/schedule/holidays",
        data={"day": saturday.isoformat(), "kind": "workday", "reason": "Sample make-up working day"},
    )
    assert response.status_code == 302
    override = db.session.scalar(sa.select(HolidayOverride))
    assert override.day == saturday and override.created_by_id == admin.id
    cancelled = db.session.scalar(
        sa.select(Occurrence).where(Occurrence.series_id == series.id, Occurrence.rule_date == saturday)
    )
    assert cancelled.status is OccurrenceStatus.CANCELLED and cancelled.sequence == 1
    duplicate = client.post(
        "/admin/schedule/holidays?lang=en", data={"day": saturday.isoformat(), "kind": "holiday", "reason": "again"}
    )
    assert duplicate.status_code == 400 and "already has an override" in text(duplicate)
    no_reason = client.post("/admin/schedule/holidays", data={"day": "2030-01-02", "kind": "holiday", "reason": ""})
    assert no_reason.status_code == 400
    response = client.post(f"/admin/schedule/holidays/{override.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(HolidayOverride.id))) == 0
    assert cancelled.status is OccurrenceStatus.SCHEDULED and cancelled.sequence == 2  # held again
    assert client.get("/admin/schedule/holidays?year=abc").status_code == 400


def test_teams_list_is_paginated_and_searchable(app, client, admin):
    for n in range(60):
        make_team(code=f"P{n:03d}", name_en=f"Patrol {n:03d}")
    db.session.commit()
    first = text(client.get("/admin/schedule/teams?lang=en"))
    assert "P000" in first and "P055" not in first and "Page 1 of 2" in first
    assert "P055" in text(client.get("/admin/schedule/teams?page=2&lang=en"))
    found = text(client.get("/admin/schedule/teams?q=P042&lang=en"))
    assert "P042" in found and "P041" not in found


def test_template_edit_applies_and_reports_staffed_shifts(app, client, admin):
    start = local_today() + dt.timedelta(days=2)
    template = shift_template(valid_from=start)
    generate_shifts(start, start + dt.timedelta(days=6))
    first_week = db.session.scalars(sa.select(Shift).order_by(Shift.local_date)).all()
    staffed = first_week[0]
    staff(staffed)
    db.session.commit()
    form = text(client.get(f"/admin/schedule/templates/{template.id}/edit?lang=en"))
    assert 'value="19:00"' in form
    response = client.post(
        f"/admin/schedule/templates/{template.id}/edit?lang=en",
        data={
            "name": "Night",
            "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
            "local_start": "22:00",
            "local_end": "02:00",
            "area_zh": "示例路段",
            "area_en": "Sample route",
            "min_volunteers": "2",
            "max_volunteers": "5",
            "valid_from": start.isoformat(),
            "active": "y",
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert "Shifts with volunteers left unchanged" in page and staffed.local_date.isoformat() in page
    db.session.expire_all()
    assert template.local_start == dt.time(22, 0) and template.max_volunteers == 5
    assert to_local(staffed.starts_at).hour == 19
    assert all(s.duration == dt.timedelta(hours=4) and s.sequence == 1 for s in first_week[1:])
    # The rest of the horizon is generated from the new template.
    later = db.session.scalars(sa.select(Shift).where(Shift.local_date > first_week[-1].local_date)).all()
    assert later and all(s.duration == dt.timedelta(hours=4) and s.sequence == 0 for s in later)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"weekdays": []}, "at least one day"),
        ({"local_end": "22:00", "local_start": "22:00"}, "cannot end when it starts"),
        ({"min_volunteers": "5", "max_volunteers": "3"}, "at least the minimum"),
        ({"local_start": "25:00"}, "Not a valid time"),
    ],
)
def test_template_form_refuses_bad_input(app, client, admin, change, message):
    team = make_team()
    db.session.commit()
    data = {
        "name": "Day",
        "weekdays": ["0"],
        "local_start": "09:00",
        "local_end": "12:00",
        "min_volunteers": "1",
        "max_volunteers": "3",
        "valid_from": "2030-01-01",
        "active": "y",
    } | change
    response = client.post(f"/admin/schedule/teams/{team.id}/templates/new?lang=en", data=data)
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(sa.select(sa.func.count(ShiftTemplate.id))) == 0


def test_new_template_generates_the_horizon(app, client, admin):
    team = make_team()
    db.session.commit()
    response = client.post(
        f"/admin/schedule/teams/{team.id}/templates/new",
        data={
            "name": "Weekend",
            "weekdays": ["5", "6"],
            "local_start": "09:00",
            "local_end": "12:00",
            "min_volunteers": "1",
            "max_volunteers": "3",
            "valid_from": local_today().isoformat(),
            "active": "y",
        },
    )
    assert response.status_code == 200
    shifts = db.session.scalars(sa.select(Shift).where(Shift.team_id == team.id)).all()
    assert 24 <= len(shifts) <= 28 and all(s.local_date.weekday() >= 5 for s in shifts)


def test_staff_publish_hearing_notices_without_personal_data(app, client, auth):
    user = make_user(Role.STAFF, email="court@test.example")
    series = court_series(rooms=1, starts_on=dt.date(2030, 1, 1))
    generate_occurrences(dt.date(2030, 1, 5), dt.date(2030, 1, 5))
    db.session.commit()
    session = db.session.scalar(sa.select(Occurrence).where(Occurrence.series_id == series.id))
    auth.login(user.email)
    page = client.get(f"/admin/schedule/occurrences/{session.id}?lang=en")
    assert page.status_code == 200 and "Move" not in text(page)  # staff list hearings; only admins move
    ok = client.post(
        f"/admin/schedule/occurrences/{session.id}/hearings",
        data={
            "case_number": "(2030)苏0591民初7号",
            "cause_zh": "劳动争议",
            "cause_en": "Labour dispute",
            "start": "09:30",
            "end": "10:30",
        },
    )
    assert ok.status_code == 302
    refused = client.post(
        f"/admin/schedule/occurrences/{session.id}/hearings?lang=en",
        data={
            "case_number": "(2030)苏0591民初8号",
            "cause_zh": "原告电话13912345678",
            "start": "10:30",
            "end": "11:00",
        },
    )
    assert refused.status_code == 400 and "public" in text(refused)
    assert db.session.scalar(sa.select(sa.func.count(HearingNotice.id))) == 1
    assert (
        client.post(
            f"/admin/schedule/occurrences/{session.id}/move",
            data={"day": "2030-01-06", "start": "09:00", "end": "12:00"},
        ).status_code
        == 403
    )
