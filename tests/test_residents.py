"""Issue 11, residents and officials: officials' contact days and private feed, a clinic session's
cancel (count first, then N messages, staff page shows them cancelled), booking email and language,
"find my booking" by SMS code (wrong, expired, rate limit, no enumeration)."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import re

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa

from app import create_app
from extensions import limiter
from feeds import tokens
from models import (
    BookingRecoveryCode,
    BookingStatus,
    ClinicBooking,
    OccurrenceStatus,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    Role,
    db,
    utcnow,
)
from scheduler import notify_sender, operations
from services import clinic, recovery
from tests import public_builders as pb
from tests.conftest import base_config
from tests.factories import make_user
from tests.test_notify import calendar_of, http_hook, parts  # noqa: F401 - fixtures
from tests.test_schedule_reminders import smtp  # noqa: F401 - the SMTP fixture
from timeutil import local_today


@pytest.fixture(autouse=True)
def _clean_feed_cache():
    import feeds.cache
    import feeds.probes

    feeds.cache.bodies.clear()
    feeds.probes.reset()
    yield
    feeds.cache.bodies.clear()
    feeds.probes.reset()


def subject_of(message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


# ---------------------------------------------------------------- officials


def test_an_official_sees_only_their_own_contact_days_upcoming_first(app, client, auth):
    mine, other = pb.official(), pb.official(name="李处长", name_en="Chief Li")
    today = local_today()
    past = pb.contact_day(day=today - dt.timedelta(days=20), officials=[mine])
    later = pb.contact_day(day=today + dt.timedelta(days=40), officials=[mine])
    sooner = pb.contact_day(day=today + dt.timedelta(days=10), officials=[mine])
    theirs = pb.contact_day(day=today + dt.timedelta(days=5), officials=[other])
    volunteer = make_user(Role.VOLUNTEER)
    db.session.commit()
    auth.login(mine.email)
    body = client.get("/official/").get_data(as_text=True)
    order = [int(m) for m in re.findall(r'id="occurrence-(\d+)"', body)]
    assert order == [sooner.id, later.id, past.id]
    assert f'occurrence-{theirs.id}"' not in body
    auth.logout()
    auth.login(volunteer.email)
    assert client.get("/official/").status_code == 403
    auth.logout()
    assert client.get("/official/").status_code in (302, 401)


def test_the_officials_page_is_paginated(app, client, auth):
    mine = pb.official()
    start = local_today() + dt.timedelta(days=1)
    for n in range(25):
        pb.contact_day(day=start + dt.timedelta(days=n), officials=[mine])
    db.session.commit()
    auth.login(mine.email)
    first = client.get("/official/").get_data(as_text=True)
    second = client.get("/official/?page=2").get_data(as_text=True)
    assert len(re.findall(r'id="occurrence-', first)) == 20 and len(re.findall(r'id="occurrence-', second)) == 5


def test_official_feed_lists_own_days_by_an_independent_parser_and_stops_when_revoked(app, client, auth):
    mine, other = pb.official(), pb.official(name="李处长", name_en="Chief Li")
    day = local_today() + dt.timedelta(days=12)
    own = pb.contact_day(day=day, officials=[mine])
    pb.contact_day(day=day + dt.timedelta(days=1), officials=[other])
    db.session.commit()
    auth.login(mine.email)
    assert client.get("/official/").status_code == 200
    issued = client.post("/feeds/me/issue", data={"next": "/official/"})
    assert issued.status_code == 302 and issued.headers["Location"].endswith("/official/")
    token = tokens.active_token(user=mine)
    page = client.get("/official/").get_data(as_text=True)
    assert f"/feeds/o/{token.token}.ics" in page
    response = client.get(f"/feeds/o/{token.token}.ics")
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("private")
    calendar = icalendar.Calendar.from_ical(response.data)
    events = recurring_ical_events.of(calendar).between(day - dt.timedelta(days=1), day + dt.timedelta(days=3))
    assert [str(e["UID"]) for e in events] == [own.uid]
    assert int(events[0]["SEQUENCE"]) == own.sequence
    # Revoked: the address answers 404 at once.
    client.post(f"/feeds/tokens/{token.id}/revoke", data={"next": "/official/"})
    assert client.get(f"/feeds/o/{token.token}.ics").status_code == 404
    assert client.get("/feeds/o/" + "x" * 32 + ".ics").status_code == 404


# ---------------------------------------------------------------- booking: email and language


def _booking_form(slot, **overrides):
    data = {"slot": slot.id, "name": "Anna Schmidt", "phone": "13812345678", "language": "en", "topic": ""}
    data.update(overrides)
    return data


def test_a_bad_email_is_refused_with_a_message_and_nothing_saved(app, client):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    db.session.commit()
    response = client.post(f"/legal-clinic/book/{session.id}?lang=en", data=_booking_form(slot, email="anna@@example"))
    assert response.status_code == 400
    assert "email address such as name@example.com" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ClinicBooking.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_booking_stores_email_and_page_language_and_confirms_with_an_imip_request(app, client, smtp, http_hook, lang):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    db.session.commit()
    response = client.post(
        f"/legal-clinic/book/{session.id}?lang={lang}",
        data=_booking_form(slot, email=" Anna@Example.org "),
        headers={"Accept-Language": "en" if lang == "en" else "zh-CN"},
    )
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(ClinicBooking))
    assert booking.email == "anna@example.org" and booking.locale == lang
    confirmation = client.get("/legal-clinic/book/confirmation").get_data(as_text=True)
    assert f"/feeds/occurrences/{session.uid}.ics" in confirmation
    result = notify_sender.send_due()
    assert (result.sent, result.failed) == (2, 0)  # email and SMS
    [message] = smtp.messages
    assert message["To"] == "anna@example.org"
    expected = "Legal clinic booking" if lang == "en" else "法律诊所预约"
    assert expected in subject_of(message)
    cal = calendar_of(message)
    [event] = cal.walk("VEVENT")
    assert cal["METHOD"] == "REQUEST" and str(event["UID"]) == session.uid
    assert str(event["ATTENDEE"]) == "mailto:anna@example.org"
    [(path, sms)] = http_hook.received
    assert sms["to"] == "13812345678" and booking.reference in sms["text"]


# ---------------------------------------------------------------- cancelling a session


def _three_bookings(session):
    slots = clinic.ensure_slots(session)
    made = [
        clinic.book(slots[0].id, "Anna", "13812345671", email="anna@example.org", locale="en"),
        clinic.book(slots[0].id, "张三", "13812345672", email="zhang@example.org", locale="zh_CN"),
        clinic.book(slots[1].id, "李四", "13812345673", locale="zh_CN"),  # SMS only
    ]
    db.session.commit()
    return made


def test_staff_see_the_count_then_cancel_and_every_resident_is_told(app, client, auth, smtp, http_hook):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    staff = make_user(Role.STAFF)
    session = pb.clinic_session()
    bookings = _three_bookings(session)
    clinic.cancel(bookings[2].reference, "13812345673")  # the resident's own cancel: not told again
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    auth.login(staff.email)
    page = client.get(f"/legal-clinic/book/manage/{session.id}/cancel?lang=en").get_data(as_text=True)
    assert 'data-count="2"' in page and "2 residents have booked" in page
    # Someone booked meanwhile: the staff member sees the new count instead of a cancel.
    stale = client.post(f"/legal-clinic/book/manage/{session.id}/cancel", data={"expected": "1", "reason": ""})
    assert stale.status_code == 409 and 'data-count="2"' in stale.get_data(as_text=True)
    assert db.session.get(type(session), session.id).status is OccurrenceStatus.SCHEDULED
    done = client.post(f"/legal-clinic/book/manage/{session.id}/cancel", data={"expected": "2", "reason": "Flood"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(session), session.id).status is OccurrenceStatus.CANCELLED
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "clinic_session_cancelled")).all()
    assert sorted((r.address, r.channel) for r in rows) == [
        ("13812345671", OutboxChannel.SMS),
        ("13812345672", OutboxChannel.SMS),
        ("anna@example.org", OutboxChannel.EMAIL),
        ("zhang@example.org", OutboxChannel.EMAIL),
    ]
    result = notify_sender.send_due()
    assert (result.sent, result.failed) == (4, 0)
    by_to = {m["To"]: m for m in smtp.messages}
    assert set(by_to) == {"anna@example.org", "zhang@example.org"}
    assert "Legal clinic session cancelled" in subject_of(by_to["anna@example.org"])
    assert "法律诊所" in subject_of(by_to["zhang@example.org"])
    for message in smtp.messages:
        cal = calendar_of(message)
        assert cal["METHOD"] == "CANCEL" and str(cal.walk("VEVENT")[0]["UID"]) == session.uid
    assert sorted(body["to"] for _path, body in http_hook.received) == ["13812345671", "13812345672"]
    staff_page = client.get(f"/legal-clinic/book/manage/{session.id}?lang=en").get_data(as_text=True)
    assert "Booked<" not in staff_page and staff_page.count("Cancelled with the session") == 2
    assert staff_page.count('data-state="sent"') == 4
    statuses = {b.status for b in db.session.scalars(sa.select(ClinicBooking))}
    assert statuses == {BookingStatus.CANCELLED}


def test_moving_a_session_tells_every_booking_with_a_higher_sequence(app, smtp):
    admin = make_user(Role.ADMIN)
    session = pb.clinic_session()
    _three_bookings(session)
    first = {r.context["ical"]["sequence"] for r in db.session.scalars(sa.select(OutboxMessage))}
    day = local_today() + dt.timedelta(days=20)
    operations.move_occurrence(admin, session, day, dt.time(14), dt.time(17))
    db.session.commit()
    moved = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "clinic_session_moved")).all()
    assert len(moved) == 5  # 2 emails + 3 phones
    assert {r.context["ical"]["sequence"] for r in moved} == {session.sequence} and session.sequence > max(first)
    notify_sender.send_due()
    moved_mail = {
        m["To"]: m for m in smtp.messages if int(calendar_of(m).walk("VEVENT")[0]["SEQUENCE"]) == session.sequence
    }
    assert set(moved_mail) == {"anna@example.org", "zhang@example.org"}
    assert calendar_of(moved_mail["anna@example.org"])["METHOD"] == "REQUEST"
    assert "Legal clinic session moved" in subject_of(moved_mail["anna@example.org"])
    assert "法律诊所" in subject_of(moved_mail["zhang@example.org"])


def test_staff_cancel_page_needs_staff(app, client, auth):
    session = pb.clinic_session()
    volunteer = make_user(Role.VOLUNTEER)
    db.session.commit()
    auth.login(volunteer.email)
    assert client.get(f"/legal-clinic/book/manage/{session.id}/cancel").status_code == 403
    assert client.post(f"/legal-clinic/book/manage/{session.id}/cancel", data={"expected": "0"}).status_code == 403


# ---------------------------------------------------------------- find my booking


def _code_sent(http_hook) -> str:
    notify_sender.send_due()
    [(_path, body)] = http_hook.received[-1:]
    return re.search(r"\b(\d{6})\b", body["text"]).group(1)


def test_find_my_booking_by_sms_code_and_cancel(app, client, http_hook):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    session = pb.clinic_session()
    [booking, *_rest] = _three_bookings(session)
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    http_hook.received.clear()
    assert client.post("/legal-clinic/book/find", data={"phone": "138 1234 5671"}).status_code == 303
    code = _code_sent(http_hook)
    row = db.session.scalar(sa.select(BookingRecoveryCode))
    assert code not in row.code_hmac and len(row.code_hmac) == 64  # stored as an HMAC
    assert client.get("/legal-clinic/book/mine").status_code == 302  # not yet verified
    wrong = client.post("/legal-clinic/book/find/code?lang=en", data={"code": "000000" if code != "000000" else "1"})
    assert wrong.status_code == 400 and "wrong or has expired" in wrong.get_data(as_text=True)
    assert client.post("/legal-clinic/book/find/code", data={"code": code}).status_code == 303
    mine = client.get("/legal-clinic/book/mine").get_data(as_text=True)
    assert booking.reference in mine and f'booking-{booking.id}"' in mine
    assert client.post("/legal-clinic/book/mine", data={"booking_id": booking.id}).status_code == 303
    db.session.expire_all()
    assert db.session.get(ClinicBooking, booking.id).status is BookingStatus.CANCELLED
    # Another phone's booking cannot be cancelled from this page.
    other = db.session.scalar(sa.select(ClinicBooking).where(ClinicBooking.phone == "13812345672"))
    assert client.post("/legal-clinic/book/mine", data={"booking_id": other.id}).status_code == 404


def test_wrong_codes_lock_the_code_and_an_expired_code_fails(app):
    session = pb.clinic_session()
    _three_bookings(session)
    ticket = recovery.request_code("13812345671")
    for _n in range(recovery.MAX_ATTEMPTS):
        with pytest.raises(Exception) as refused:
            recovery.verify(ticket, "999999x")
        assert refused.value.code == "bad_code"
    with pytest.raises(Exception) as refused:
        recovery.verify(ticket, "123456")
    assert refused.value.code == "too_many_attempts" and refused.value.status == 429
    assert db.session.scalar(sa.select(BookingRecoveryCode.attempts)) == recovery.MAX_ATTEMPTS
    # Expired: even the right code (recomputed here from the HMAC's inputs) fails after 10 minutes.
    later = recovery.request_code("13812345671")
    row = db.session.scalar(sa.select(BookingRecoveryCode).where(BookingRecoveryCode.ticket == later))
    code = next(f"{n:06d}" for n in range(10**6) if recovery._hmac(later, f"{n:06d}") == row.code_hmac)
    with pytest.raises(Exception) as refused:
        recovery.verify(later, code, now=utcnow() + dt.timedelta(minutes=recovery.CODE_MINUTES, seconds=1))
    assert refused.value.code == "bad_code"
    recovery.verify(later, code)
    assert recovery.verified_phone(later) == "13812345671"
    assert recovery.verified_phone(later, now=utcnow() + dt.timedelta(minutes=recovery.ACCESS_MINUTES + 1)) is None


def test_no_enumeration_same_answer_with_or_without_bookings(app, client, http_hook):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    session = pb.clinic_session()
    _three_bookings(session)
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    answers = []
    for phone in ("13812345671", "13900000000"):
        posted = client.post("/legal-clinic/book/find?lang=en", data={"phone": phone})
        page = client.get("/legal-clinic/book/find/code?lang=en")
        answers.append((posted.status_code, posted.headers["Location"], page.status_code, page.get_data(as_text=True)))
    assert answers[0] == answers[1]
    notify_sender.send_due()
    assert [body["to"] for _p, body in http_hook.received] == ["13812345671"]  # nothing to the other number
    assert db.session.scalar(sa.select(sa.func.count(BookingRecoveryCode.id))) == 2  # the same work either way


def test_find_is_rate_limited_per_phone_and_per_ip(app, database_url):
    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    try:
        client = limited.test_client()
        statuses = [client.post("/legal-clinic/book/find", data={"phone": "13811112222"}).status_code for _ in range(4)]
        assert statuses == [303, 303, 303, 429]  # per phone: 3 per 10 minutes
        others = [
            client.post("/legal-clinic/book/find", data={"phone": f"1381111{n:04d}"}).status_code for n in range(4)
        ]
        # Other numbers still get answers, until the IP's 5 a minute are used up.
        assert others[0] == 303 and others[-1] == 429 and statuses.count(303) + others.count(303) == 5
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is one object shared by every app in this process
        with limited.app_context():
            db.engine.dispose()


def test_the_officials_page_costs_the_same_few_queries_for_many_days(app, web_app, client, auth):
    from tests.conftest import count_queries

    with web_app.app_context():
        engine = db.engine
    mine = pb.official()
    start = local_today() + dt.timedelta(days=1)
    pb.contact_day(day=start, officials=[mine])
    db.session.commit()
    auth.login(mine.email)
    client.get("/official/")
    with count_queries(engine) as few:
        assert client.get("/official/").status_code == 200
    for n in range(1, 15):
        pb.contact_day(day=start + dt.timedelta(days=n), officials=[mine])
    db.session.commit()
    with count_queries(engine) as many:
        assert client.get("/official/").status_code == 200
    assert 0 < many() == few()


def test_an_answered_suggestion_with_a_phone_is_told_by_sms(app, http_hook):
    from services import suggestions

    app.config["SMS_URL"] = http_hook.url + "/sms"
    staff = make_user(Role.STAFF)
    item = suggestions.submit(pb.contact_day().id, "路灯坏了", submitter_contact="138 1234 5678")
    suggestions.assign(item, pb.bureau().id, staff)
    suggestions.answer(item, "已修复", staff)
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "suggestion_answered")).all()
    assert [(r.channel, r.address) for r in rows] == [(OutboxChannel.SMS, "13812345678")]
    assert notify_sender.send_due().sent == 1
    assert item.tracking_number in http_hook.received[0][1]["text"]


# --- the code's text does not outlive its use ----------------------------------------------------


def _code_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_recovery_code")).all()


def test_the_code_is_blanked_in_the_outbox_once_sent_or_given_up(app, http_hook):  # noqa: F811
    app.config["SMS_URL"] = http_hook.url + "/sms"
    _three_bookings(pb.clinic_session())
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    recovery.request_code("13812345671")
    [row] = _code_rows()
    assert re.fullmatch(r"\d{6}", row.context["code"])  # needed until it is sent
    assert notify_sender.send_due().sent == 1
    code = re.search(r"\d{6}", http_hook.received[-1][1]["text"]).group()
    [row] = _code_rows()
    assert row.status is OutboxStatus.SENT and row.context["code"] == "[cleared]"
    assert code not in str(row.context) and row.context["minutes"] == recovery.CODE_MINUTES
    # A gateway that keeps refusing: retried with the code, blanked when given up.
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    http_hook.refuse = True
    recovery.request_code("13812345672")
    now = utcnow()
    assert notify_sender.send_due(now).retrying == 1
    failing = next(r for r in _code_rows() if r.address == "13812345672")
    assert re.fullmatch(r"\d{6}", failing.context["code"])  # still needed for the retry
    assert notify_sender.send_due(now + dt.timedelta(minutes=5)).failed == 1
    failing = next(r for r in _code_rows() if r.address == "13812345672")
    assert failing.status is OutboxStatus.FAILED and failing.context["code"] == "[cleared]"
    # An admin's retry cannot send "[cleared]" as a code: refused, the row stays as it is.
    from services import notify_settings

    with pytest.raises(Exception) as refused:
        notify_settings.retry(make_user(Role.ADMIN), failing.id)
    assert refused.value.status == 409 and refused.value.code == "secret_cleared"
    assert next(r for r in _code_rows() if r.id == failing.id).status is OutboxStatus.FAILED


def test_the_purge_job_deletes_old_codes_and_leaves_no_code_text_in_the_outbox(app, http_hook):  # noqa: F811
    from scheduler import jobs

    app.config["SMS_URL"] = http_hook.url + "/sms"
    _three_bookings(pb.clinic_session())
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    recovery.request_code("13812345671")  # sent, then its row written back as older releases left it
    notify_sender.send_due()
    sent = _code_rows()[0]
    sent.context = {**sent.context, "code": "123456"}
    http_hook.refuse = True
    recovery.request_code("13812345672")  # waiting for a retry
    notify_sender.send_due()
    waiting = next(r for r in _code_rows() if r.address == "13812345672")
    assert waiting.status is OutboxStatus.PENDING
    old = recovery.request_code("13812345673")  # a day-old code row of the recovery table
    db.session.execute(
        sa.update(BookingRecoveryCode)
        .where(BookingRecoveryCode.ticket == old)
        .values(created_at=utcnow() - dt.timedelta(days=2))
    )
    db.session.commit()
    assert jobs.JOB_PURGE_RECOVERY in jobs.JOB_IDS
    # Within the code's 10 minutes the waiting row keeps its code for the retry.
    soon = jobs.purge_recovery_codes(utcnow() + dt.timedelta(minutes=1))
    assert soon == {"codes_deleted": 1, "outbox_codes_cleared": 0}
    later = jobs.purge_recovery_codes(utcnow() + dt.timedelta(minutes=recovery.CODE_MINUTES + 1))
    assert later["outbox_codes_cleared"] == 3  # the old sent row, the waiting one, the third number's
    rows = _code_rows()
    assert {r.context["code"] for r in rows} == {"[cleared]"}
    waiting = next(r for r in rows if r.address == "13812345672")
    assert waiting.status is OutboxStatus.FAILED and "expired" in waiting.last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingRecoveryCode)) == 2
    assert jobs.purge_recovery_codes(utcnow() + dt.timedelta(hours=1))["outbox_codes_cleared"] == 0
