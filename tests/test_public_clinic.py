"""Legal-clinic bookings: slots, capacity (also under concurrent requests), cancelling, bad input, privacy."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import BookingStatus, ClinicBooking, ClinicSlot, OccurrenceStatus, Role, db, utcnow
from services import clinic
from services.codes import ALPHABET
from services.errors import RuleViolation
from tests import public_builders as pb
from tests.conftest import requires_postgres
from tests.factories import make_user


def form(slot_, **overrides):
    data = {"slot": slot_.id, "name": "Anna Schmidt", "phone": "13812345678", "language": "en", "topic": "Tenancy"}
    data.update(overrides)
    return data


# ---------------------------------------------------------------- slots


def test_a_session_is_split_into_half_hour_slots_sharing_its_capacity(app):
    session = pb.clinic_session(capacity=8)  # 09:00–12:00: six slots
    slots = clinic.ensure_slots(session)
    assert [(s.ends_at - s.starts_at) for s in slots] == [dt.timedelta(minutes=30)] * 6
    assert [s.capacity for s in slots] == [2, 2, 1, 1, 1, 1]
    assert clinic.ensure_slots(session) == slots  # idempotent
    assert db.session.scalar(sa.select(sa.func.count(ClinicSlot.id))) == 6


def test_without_a_session_capacity_each_slot_gets_the_default(app):
    slots = clinic.ensure_slots(pb.clinic_session(capacity=None))
    assert {s.capacity for s in slots} == {clinic.DEFAULT_SLOT_CAPACITY}


def test_a_moved_session_drops_its_unbooked_old_slots_and_keeps_booked_ones(app):
    session = pb.clinic_session(capacity=6)
    slots = clinic.ensure_slots(session)
    clinic.book(slots[0].id, "张三", "13812345678")
    session.starts_at += dt.timedelta(hours=5)
    session.ends_at += dt.timedelta(hours=5)
    after = clinic.ensure_slots(session)
    assert slots[0] in after and len(after) == 7  # the booked old slot stays for staff to see
    assert slots[0] not in clinic.bookable_slots(session)


def test_slots_only_for_clinic_sessions(app):
    with pytest.raises(ValueError):
        clinic.ensure_slots(pb.contact_day())


# ---------------------------------------------------------------- booking and cancelling (services)


def test_book_gives_an_unguessable_reference_and_counts_the_place(app):
    slot = clinic.ensure_slots(pb.clinic_session())[0]
    booking = clinic.book(slot.id, " 张三 ", "+86 138-1234-5678", "劳动合同", "zh_CN")
    assert booking.name == "张三" and booking.phone == "13812345678"
    assert len(booking.reference) == 10 and set(booking.reference) <= set(ALPHABET)
    assert slot.booked_count == 1
    other = clinic.book(slot.id, "李四", "13812345679")
    assert other.reference != booking.reference


def test_a_full_slot_is_refused_with_a_clear_message(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=1)
    clinic.book(slot.id, "张三", "13812345678")
    with force_locale("en"), pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "李四", "13812345679")
    assert refused.value.code == "slot_full" and refused.value.status == 409
    assert "fully booked" in refused.value.message
    assert slot.booked_count == 1


def test_a_past_slot_is_refused(app):
    session = pb.clinic_session(day=dt.date(2026, 1, 3))  # a Saturday long gone
    slot = pb.single_slot(session, capacity=2)
    with force_locale("en"), pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "张三", "13812345678")
    assert refused.value.code == "slot_past" and "already passed" in refused.value.message


def test_a_slot_of_a_cancelled_session_is_refused(app):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    session.status = OccurrenceStatus.CANCELLED
    with pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "张三", "13812345678")
    assert refused.value.code == "session_cancelled"


def test_english_only_at_bilingual_sessions(app):
    slot = clinic.ensure_slots(pb.clinic_session(bilingual=False))[0]
    with pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "Anna", "13812345678", language="en")
    assert refused.value.code == "language_unavailable"


def test_one_booking_per_phone_and_session(app):
    slots = clinic.ensure_slots(pb.clinic_session())
    clinic.book(slots[0].id, "张三", "13812345678")
    with pytest.raises(RuleViolation) as refused:
        clinic.book(slots[1].id, "张三", "138 1234 5678")
    assert refused.value.code == "already_booked"


def test_cancel_needs_the_reference_and_the_phone(app):
    slot = clinic.ensure_slots(pb.clinic_session())[0]
    booking = clinic.book(slot.id, "张三", "13812345678")
    with pytest.raises(RuleViolation) as wrong_phone:
        clinic.cancel(booking.reference, "13900000000")
    with pytest.raises(RuleViolation) as unknown:
        clinic.cancel("ABCDEFGHJK", "13812345678")
    # The same answer either way: a wrong phone does not confirm that the reference exists.
    assert wrong_phone.value.message == unknown.value.message and wrong_phone.value.status == 404
    assert booking.status is BookingStatus.BOOKED and slot.booked_count == 1

    cancelled = clinic.cancel(booking.reference.lower()[:5] + "-" + booking.reference.lower()[5:], "138 1234 5678")
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancelled_at is not None
    assert slot.booked_count == 0
    with pytest.raises(RuleViolation) as again:
        clinic.cancel(booking.reference, "13812345678")
    assert again.value.code == "already_cancelled" and slot.booked_count == 0


def test_a_started_consultation_cannot_be_cancelled_online(app):
    slot = clinic.ensure_slots(pb.clinic_session())[0]
    booking = clinic.book(slot.id, "张三", "13812345678")
    with pytest.raises(RuleViolation) as refused:
        clinic.cancel(booking.reference, "13812345678", now=slot.starts_at + dt.timedelta(minutes=1))
    assert refused.value.code == "slot_past"


@pytest.mark.parametrize(
    "phone, stored",
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("0512-6234 5678", "051262345678"),
        ("+49 151 0000 1003", "+4915100001003"),
        ("(0512) 62345678", "051262345678"),
    ],
)
def test_phone_numbers_in_the_forms_people_write(app, phone, stored):
    slot = clinic.ensure_slots(pb.clinic_session())[0]
    assert clinic.book(slot.id, "张三", phone).phone == stored


@pytest.mark.parametrize("phone", ["12345", "1381234567", "23812345678", "abc", "+0 123", "138123456789012345"])
def test_wrong_phone_formats_are_refused(app, phone):
    slot = clinic.ensure_slots(pb.clinic_session())[0]
    with pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "张三", phone)
    assert refused.value.code == "phone_format" and refused.value.status == 400


# ---------------------------------------------------------------- the booking pages


def test_book_and_cancel_through_the_pages(app, client):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    db.session.commit()
    page = client.get(f"/legal-clinic/book/{session.id}?lang=en").get_data(as_text=True)
    assert f'id="slot-{slot.id}"' in page and '<label for="name">Your name</label>' in page
    response = client.post(f"/legal-clinic/book/{session.id}?lang=en", data=form(slot))
    assert response.status_code == 302 and response.location.endswith("/legal-clinic/book/confirmation")
    confirmation = client.get("/legal-clinic/book/confirmation?lang=en").get_data(as_text=True)
    booking = db.session.scalar(sa.select(ClinicBooking))
    assert booking.reference in confirmation and "ending in 5678" in confirmation
    assert "Anna Schmidt" not in confirmation  # even this browser's page does not repeat the name

    wrong = client.post(
        "/legal-clinic/book/cancel?lang=en", data={"reference": booking.reference, "phone": "13900000000"}
    )
    assert wrong.status_code == 404 and "No booking matches" in wrong.get_data(as_text=True)
    done = client.post(
        "/legal-clinic/book/cancel?lang=en", data={"reference": booking.reference, "phone": "13812345678"}
    )
    assert done.status_code == 200 and "has been cancelled" in done.get_data(as_text=True)
    db.session.expire_all()
    assert booking.status is BookingStatus.CANCELLED and slot.booked_count == 0


def test_full_slot_on_the_page(app, client):
    session = pb.clinic_session()
    slot = pb.single_slot(session, capacity=1)
    clinic.book(slot.id, "张三", "13912345678")
    db.session.commit()
    html = client.get(f"/legal-clinic/book/{session.id}?lang=en").get_data(as_text=True)
    assert f'id="slot-{slot.id}" name="slot" value="{slot.id}" disabled' in html and "Full" in html
    response = client.post(f"/legal-clinic/book/{session.id}?lang=en", data=form(slot))
    assert response.status_code == 409
    assert "fully booked" in response.get_data(as_text=True)


def test_past_slot_on_the_page(app, client):
    session = pb.clinic_session(day=dt.date(2026, 1, 3))
    slot = pb.single_slot(session, capacity=2)
    db.session.commit()
    assert "This session is over" in client.get(f"/legal-clinic/book/{session.id}?lang=en").get_data(as_text=True)
    response = client.post(f"/legal-clinic/book/{session.id}?lang=en", data=form(slot))
    assert response.status_code == 409 and "already passed" in response.get_data(as_text=True)


def test_a_slot_of_another_session_is_unknown_here(app, client):
    here, there = pb.clinic_session(), pb.clinic_session()
    slot_there = clinic.ensure_slots(there)[0]
    db.session.commit()
    response = client.post(f"/legal-clinic/book/{here.id}?lang=en", data=form(slot_there))
    assert response.status_code == 404 and "does not exist" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, status, message",
    [
        ({"name": "x" * 101}, 400, "Your name is too long: at most 100 characters."),
        ({"name": ""}, 400, "Please fill in: Your name."),
        ({"phone": "12345"}, 400, "Please enter a phone number such as 13812345678"),
        ({"topic": "t" * 501}, 400, "at most 500 characters"),
        ({"name": "<script>alert(1)</script>"}, 400, "may not contain HTML or script tags"),
        ({"topic": "<img src=x onerror=alert(1)>"}, 400, "may not contain HTML or script tags"),
        ({"slot": "abc"}, 400, ""),
        ({"slot": ""}, 400, "Please choose a time."),
        ({"language": "fr"}, 400, ""),
    ],
)
def test_bad_booking_input_gets_a_message_and_a_4xx_and_nothing_is_stored(app, client, overrides, status, message):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    db.session.commit()
    response = client.post(f"/legal-clinic/book/{session.id}?lang=en", data=form(slot, **overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert message in html.replace("&lt;", "<").replace("&gt;", ">")
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert db.session.scalar(sa.select(sa.func.count(ClinicBooking.id))) == 0
    db.session.expire_all()
    assert slot.booked_count == 0


def test_text_with_a_lone_angle_bracket_is_kept_and_shown_escaped(app, client, auth):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    make_user(Role.STAFF, email="staff@test.example")
    db.session.commit()
    client.post(f"/legal-clinic/book/{session.id}", data=form(slot, topic="deposit < 5000 & rent > 2000"))
    assert db.session.scalar(sa.select(ClinicBooking.topic)) == "deposit < 5000 & rent > 2000"
    auth.login("staff@test.example")
    html = client.get(f"/legal-clinic/book/manage/{session.id}").get_data(as_text=True)
    assert "deposit &lt; 5000 &amp; rent &gt; 2000" in html


def test_personal_data_is_for_clinic_staff_only(app, client, auth):
    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    clinic.book(slot.id, "Anna Schmidt", "13812345678", "Tenancy", "en")
    make_user(Role.STAFF, email="staff@test.example")
    make_user(Role.VOLUNTEER, email="volunteer@test.example")
    make_user(Role.OFFICIAL, email="official@test.example")
    db.session.commit()
    url = f"/legal-clinic/book/manage/{session.id}?lang=en"
    assert client.get(url).status_code == 302  # to the login page
    for email in ("volunteer@test.example", "official@test.example"):
        auth.login(email)
        assert client.get(url).status_code == 403
        auth.logout()
    auth.login("staff@test.example")
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Anna Schmidt" in html and "13812345678" in html
    assert response.headers["Cache-Control"] == "no-store"
    listing = client.get("/legal-clinic/book/manage?lang=en").get_data(as_text=True)
    assert "1 / " in listing
    # The public pages never show it.
    for public in ("/legal-clinic", f"/legal-clinic/book/{session.id}", f"/sessions/{session.id}"):
        assert "Anna Schmidt" not in client.get(public + "?lang=en").get_data(as_text=True)


# ---------------------------------------------------------------- concurrency


@requires_postgres
def test_concurrent_bookings_never_exceed_capacity(app, make_client):
    """Twelve residents press "Book" at once for a slot with three places: three get one."""
    session = pb.clinic_session()
    slot = pb.single_slot(session, capacity=3)
    db.session.commit()
    url = f"/legal-clinic/book/{session.id}"
    forms = [form(slot, phone=f"139000000{n:02d}", name=f"居民{n}", language="zh_CN") for n in range(12)]
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        client = make_client()
        barrier.wait()
        response = client.post(url, data=forms[n])
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] * 3 + [409] * 9
    db.session.expire_all()
    assert slot.booked_count == 3
    assert db.session.scalar(sa.select(sa.func.count(ClinicBooking.id))) == 3


@requires_postgres
def test_concurrent_cancel_frees_the_place_once(app, web_app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    reference = clinic.book(slot.id, "张三", "13812345678").reference
    db.session.commit()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt() -> None:
        with web_app.app_context():
            barrier.wait()
            try:
                clinic.cancel(reference, "13812345678")
                db.session.commit()
                outcomes.append("cancelled")
            except RuleViolation as violation:
                db.session.rollback()
                outcomes.append(violation.code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_cancelled"] * 5 + ["cancelled"]
    db.session.expire_all()
    assert slot.booked_count == 0


def test_the_database_refuses_overbooking_whatever_the_code_does(app):
    from sqlalchemy.exc import IntegrityError

    slot = pb.single_slot(pb.clinic_session(), capacity=1)
    slot.booked_count = 2
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_no_slot_is_booked_in_the_past_even_if_the_clock_moves_between_check_and_update(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    with pytest.raises(RuleViolation) as refused:
        clinic.book(slot.id, "张三", "13812345678", now=slot.starts_at + dt.timedelta(seconds=1))
    assert refused.value.code == "slot_past"
    assert utcnow() < slot.starts_at


def test_booking_and_cancelling_posts_are_rate_limited(app, database_url):
    """Ten attempts a minute per address: enough for a person, too few to guess reference codes."""
    from app import create_app
    from extensions import limiter
    from tests.conftest import base_config

    session = pb.clinic_session()
    slot = clinic.ensure_slots(session)[0]
    db.session.commit()
    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    try:
        client = limited.test_client()
        cancels = [
            client.post(
                "/legal-clinic/book/cancel?lang=en", data={"reference": "ABCDEFGHJK", "phone": "13812345678"}
            ).status_code
            for _ in range(11)
        ]
        assert cancels == [404] * 10 + [429]
        bookings = [
            client.post(f"/legal-clinic/book/{session.id}", data=form(slot, phone="1")).status_code for _ in range(11)
        ]
        assert bookings == [400] * 10 + [429]
        assert client.get(f"/legal-clinic/book/{session.id}").status_code == 200  # reading is not limited
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is one object shared by every app in this process
        with limited.app_context():
            db.engine.dispose()
