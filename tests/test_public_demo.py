"""The public area's demo rows: slots, sample bookings and suggestions; idempotent, and fine with no sessions."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from demo import LoadSummary
from demo import public as demo_public
from models import ClinicBooking, ClinicSlot, Suggestion, SuggestionStatus, db
from tests import public_builders as pb
from timeutil import local_today


def counts():
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (ClinicSlot, ClinicBooking, Suggestion)
    )


def test_demo_rows_without_any_session(app):
    summary = LoadSummary()
    demo_public.load(summary)
    assert counts() == (0, 0, len(demo_public.SAMPLE_SUGGESTIONS))
    assert db.session.scalar(sa.select(Suggestion.occurrence_id).limit(1)) is None


def test_demo_rows_with_sessions_are_consistent_and_load_once(app):
    first_weekend = pb.next_weekend_day()
    for n in range(3):
        pb.clinic_session(first_weekend + dt.timedelta(days=7 * n), capacity=8)
    pb.clinic_session(first_weekend, capacity=8, bilingual=False)
    past_contact_day = pb.contact_day(day=local_today() - dt.timedelta(days=20))
    summary = LoadSummary()
    demo_public.load(summary)
    db.session.commit()
    slots, bookings, suggestions = counts()
    assert slots == 4 * 6 and bookings == len(demo_public.SAMPLE_BOOKINGS)
    assert summary.added["clinic slots"] == 24 and summary.added["suggestions"] == len(demo_public.SAMPLE_SUGGESTIONS)
    # booked_count agrees with the bookings, and the capacity holds.
    per_slot = dict(
        db.session.execute(sa.select(ClinicBooking.slot_id, sa.func.count()).group_by(ClinicBooking.slot_id)).all()
    )
    for slot in db.session.scalars(sa.select(ClinicSlot)):
        assert slot.booked_count == per_slot.get(slot.id, 0) <= slot.capacity
    statuses = set(db.session.scalars(sa.select(Suggestion.status)))
    assert statuses == set(SuggestionStatus)
    assert set(db.session.scalars(sa.select(Suggestion.occurrence_id))) == {past_contact_day.id}

    again = LoadSummary()
    demo_public.load(again)
    assert counts() == (slots, bookings, suggestions) and not any(again.added.values())
