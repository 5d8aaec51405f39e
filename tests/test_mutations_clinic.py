"""Clinic rules that mutation testing (tools/mutation.py clinic) showed no test would defend:
the booking UPDATE's own conditions, the cancel race, every refusal's code/status/message in both
languages, the staff list's order and the defaults a booking is stored with."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import AuditLog, BookingStatus, ClinicBooking, ClinicSlot, OccurrenceStatus, db
from services import clinic
from services.errors import RuleViolation
from tests import public_builders as pb

CJK = re.compile(r"[\u4e00-\u9fff]")


def _refusal(call, locale="en") -> RuleViolation:
    with force_locale(locale), pytest.raises(RuleViolation) as refused:
        call()
    return refused.value


def _behind_the_session(statements, *loaded) -> None:
    """Change a row as another request would: committed on a connection of its own, while the
    objects this session has loaded keep their old values (the service reads those).

    The setup is committed first: a refused service call rolls back its unit of work, and that
    must not take the test's rows (or the other request's change) with it."""
    db.session.commit()
    for item in loaded:
        db.session.refresh(item)
    with db.engine.begin() as connection:
        for statement in statements if isinstance(statements, list) else [statements]:
            connection.execute(statement)


def test_the_booking_update_itself_refuses_a_slot_that_has_started(app):
    # The session was moved earlier by staff after this request loaded the slot: only the
    # UPDATE's own `starts_at > now` stops a booking of a consultation that has begun.
    now = dt.datetime.now(dt.UTC)
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    assert slot.starts_at > now
    _behind_the_session(
        sa.update(ClinicSlot).where(ClinicSlot.id == slot.id).values(starts_at=now - dt.timedelta(minutes=5)), slot
    )
    refused = _refusal(lambda: clinic.book(slot.id, "张三", "13812345678", now=now))
    assert refused.code == "slot_full" and refused.status == 409
    assert db.session.scalar(sa.select(ClinicSlot.booked_count).where(ClinicSlot.id == slot.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count(ClinicBooking.id))) == 0


def test_the_booking_update_itself_refuses_a_full_slot(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=1)
    _behind_the_session(sa.update(ClinicSlot).where(ClinicSlot.id == slot.id).values(booked_count=1), slot)
    refused = _refusal(lambda: clinic.book(slot.id, "张三", "13812345678"))
    assert (refused.code, refused.status) == ("slot_full", 409)
    assert refused.message == "Sorry, this consultation time is fully booked. Please choose another time."


def test_a_cancel_that_loses_the_race_changes_nothing(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    booking = clinic.book(slot.id, "张三", "13812345678")
    assert booking.status is BookingStatus.BOOKED
    # A simultaneous request cancelled it (and gave the place back) after this one loaded it.
    _behind_the_session(
        [
            sa.update(ClinicBooking).where(ClinicBooking.id == booking.id).values(status=BookingStatus.CANCELLED),
            sa.update(ClinicSlot).where(ClinicSlot.id == slot.id).values(booked_count=0),
        ],
        booking,
        slot,
    )
    refused = _refusal(lambda: clinic.cancel(booking.reference, "13812345678"))
    assert (refused.code, refused.status) == ("already_cancelled", 409)
    assert refused.message == "This booking has already been cancelled."
    assert db.session.scalar(sa.select(ClinicSlot.booked_count).where(ClinicSlot.id == slot.id)) == 0


def test_cancel_records_when_frees_the_place_and_is_audited(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    other = clinic.book(slot.id, "李四", "13812345679")
    booking = clinic.book(slot.id, "张三", "13812345678")
    now = slot.starts_at - dt.timedelta(hours=1)
    cancelled = clinic.cancel(booking.reference, "13812345678", now=now)
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancelled_at == now
    assert slot.booked_count == 1  # read again from the database: one place given back
    assert db.session.get(ClinicBooking, other.id).status is BookingStatus.BOOKED  # only that booking
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "clinic.cancel"))
    assert entry.entity == "clinic_booking" and entry.entity_id == str(booking.id) and entry.actor_id is None


def test_a_booking_is_stored_with_its_defaults_and_audited(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    booking = clinic.book(slot.id, "张三", "13812345678")
    assert booking.topic == "" and booking.language == "zh_CN" and booking.slot_id == slot.id
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "clinic.book"))
    assert entry.entity == "clinic_booking" and entry.entity_id == str(booking.id)
    assert entry.detail == {"slot_id": slot.id}


def test_a_new_reference_is_drawn_until_it_is_unused(app, monkeypatch):
    slot = pb.single_slot(pb.clinic_session(), capacity=3)
    first = clinic.book(slot.id, "张三", "13812345678")
    draws = iter([first.reference, first.reference, "NEWCODE234"])
    monkeypatch.setattr(clinic, "new_code", lambda: next(draws))
    second = clinic.book(slot.id, "李四", "13812345679")
    assert second.reference == "NEWCODE234"


@pytest.mark.parametrize(
    "field, value, label",
    [
        ("name", "", "Your name"),
        ("name", "x" * (clinic.NAME_MAX + 1), "Your name"),
        ("topic", "x" * (clinic.TOPIC_MAX + 1), "What would you like advice on?"),
    ],
)
def test_bad_fields_are_named_in_the_message(app, field, value, label):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    values = {"name": "张三", "topic": ""} | {field: value}
    refused = _refusal(lambda: clinic.book(slot.id, values["name"], "13812345678", values["topic"]))
    assert refused.status == 400 and label in refused.message


def test_every_refusal_has_its_code_status_and_both_languages(app):
    session = pb.clinic_session(bilingual=False)
    slot = pb.single_slot(session, capacity=3)
    booking = clinic.book(slot.id, "张三", "13812345678")
    cases = {
        "no_slot": (404, lambda: clinic.book(999999, "李四", "13812345679")),
        "no_slot_other_session": (
            404,
            lambda: clinic.book(slot.id, "李四", "13812345679", occurrence_id=session.id + 1),
        ),
        "language_unavailable": (400, lambda: clinic.book(slot.id, "Anna", "13812345679", language="en")),
        "already_booked": (409, lambda: clinic.book(slot.id, "张三", "13812345678")),
        "slot_past": (409, lambda: clinic.book(slot.id, "李四", "13812345679", now=slot.starts_at)),
        "no_booking": (404, lambda: clinic.cancel(booking.reference, "13900000000")),
        "cancel_slot_past": (409, lambda: clinic.cancel(booking.reference, "13812345678", now=slot.starts_at)),
    }
    for name, (status, call) in cases.items():
        english, chinese = _refusal(call, "en"), _refusal(call, "zh_CN")
        assert english.code == name.replace("_other_session", "").replace("cancel_", ""), name
        assert english.status == status == chinese.status, name
        assert english.message and not CJK.search(english.message.replace("“", "")), (name, english.message)
        assert CJK.search(chinese.message), (name, chinese.message)  # translated: the msgid is in the catalogue
    session.status = OccurrenceStatus.CANCELLED
    cancelled = _refusal(lambda: clinic.book(slot.id, "李四", "13812345679"), "zh_CN")
    assert cancelled.code == "session_cancelled" and cancelled.status == 409 and CJK.search(cancelled.message)


def test_staff_see_bookings_in_time_then_booking_order(app):
    session = pb.clinic_session(capacity=8)
    slots = clinic.ensure_slots(session)
    late = clinic.book(slots[1].id, "甲", "13812345671")
    early_second = clinic.book(slots[0].id, "乙", "13812345672")
    early_first = clinic.book(slots[0].id, "丙", "13812345673")
    early_first.created_at = early_second.created_at - dt.timedelta(minutes=1)
    other_session = pb.clinic_session(day=pb.next_weekend_day(pb.next_weekend_day()))
    clinic.book(clinic.ensure_slots(other_session)[0].id, "丁", "13812345674")
    db.session.flush()
    assert clinic.bookings_for(session) == [early_first, early_second, late]


def test_the_booking_update_refuses_a_slot_starting_this_very_moment(app):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    _behind_the_session(sa.update(ClinicSlot).where(ClinicSlot.id == slot.id).values(starts_at=now), slot)
    assert _refusal(lambda: clinic.book(slot.id, "张三", "13812345678", now=now)).code == "slot_full"


def test_bookable_slots_start_after_now_and_inside_the_session(app):
    session = pb.clinic_session(capacity=12)  # 09:00-12:00
    slots = clinic.ensure_slots(session)
    assert clinic.bookable_slots(session, now=slots[0].starts_at) == slots[1:]  # one starting now is not
    last = slots[-1]
    clinic.book(last.id, "张三", "13812345678", now=session.starts_at - dt.timedelta(days=1))
    session.ends_at = last.starts_at  # shortened: the booked slot now starts exactly at the end
    assert last not in clinic.bookable_slots(session, now=session.starts_at - dt.timedelta(days=1))


def test_one_booking_per_phone_per_session_and_a_cancelled_one_does_not_count(app):
    first, second = pb.clinic_session(), pb.clinic_session(day=pb.next_weekend_day(pb.next_weekend_day()))
    slot_a, slot_b = clinic.ensure_slots(first)[0], clinic.ensure_slots(second)[0]
    booking = clinic.book(slot_a.id, "张三", "13812345678")
    assert clinic.book(slot_b.id, "张三", "13812345678").slot_id == slot_b.id  # another session: fine
    clinic.cancel(booking.reference, "13812345678")
    assert clinic.book(slot_a.id, "张三", "13812345678").status is BookingStatus.BOOKED  # after cancelling


def test_cancelling_twice_says_so_in_both_languages(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    booking = clinic.book(slot.id, "张三", "13812345678")
    clinic.cancel(booking.reference, "13812345678")
    again = _refusal(lambda: clinic.cancel(booking.reference, "13812345678"))
    assert (again.code, again.status, again.message) == (
        "already_cancelled",
        409,
        "This booking has already been cancelled.",
    )
    assert CJK.search(_refusal(lambda: clinic.cancel(booking.reference, "13812345678"), "zh_CN").message)


@pytest.mark.parametrize("reference", ["", "!!!", "这不是编号"])
def test_a_reference_that_is_no_code_is_an_unknown_booking(app, reference):
    refused = _refusal(lambda: clinic.cancel(reference, "13812345678"))
    assert (refused.code, refused.status) == ("no_booking", 404)


def test_the_booking_keeps_its_language_and_a_multiline_topic(app):
    slot = pb.single_slot(pb.clinic_session(bilingual=True), capacity=3)
    english = clinic.book(slot.id, "Anna", "13812345678", "Lease\r\nDeposit\tback", language="en")
    assert english.language == "en" and english.topic == "Lease\nDeposit\tback"
    unknown = clinic.book(slot.id, "张三", "13812345679", language="fr")
    assert unknown.language == "zh_CN"


def test_missing_name_message_names_the_field_exactly(app):
    slot = pb.single_slot(pb.clinic_session(), capacity=2)
    assert _refusal(lambda: clinic.book(slot.id, " ", "13812345678")).message == "Please fill in: Your name."
    too_long = _refusal(lambda: clinic.book(slot.id, "张三", "13812345678", "x" * (clinic.TOPIC_MAX + 1)))
    assert too_long.message == f"What would you like advice on? is too long: at most {clinic.TOPIC_MAX} characters."


def test_a_session_shorter_than_a_slot_is_one_slot_with_the_session_capacity(app):
    session = pb.clinic_session(capacity=5)
    session.ends_at = session.starts_at + dt.timedelta(minutes=20)
    assert clinic.slot_plan(session) == [(session.starts_at, session.ends_at, 5)]


def test_slots_without_a_place_are_left_out(app):
    session = pb.clinic_session(capacity=4)  # 09:00-12:00: six slots, four places
    plan = clinic.slot_plan(session)
    assert [cap for _s, _e, cap in plan] == [1, 1, 1, 1]
    assert plan[0][0] == session.starts_at and plan[-1][0] == session.starts_at + dt.timedelta(minutes=90)


def test_only_clinic_sessions_have_slots_says_why(app):
    with pytest.raises(ValueError, match="^slots exist only for legal-clinic sessions$"):
        clinic.ensure_slots(pb.contact_day())


def test_stale_unbooked_slots_go_even_when_nothing_is_missing(app):
    session = pb.clinic_session(capacity=6)
    slots = clinic.ensure_slots(session)
    session.ends_at -= dt.timedelta(minutes=30)  # the last slot no longer fits
    after = clinic.ensure_slots(session)
    assert slots[-1] not in after and after == slots[:-1]
