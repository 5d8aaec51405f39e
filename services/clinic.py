"""Holiday legal clinic: consultation slots and residents' bookings.

A clinic session (an Occurrence of the legal-clinic programme) is split into slots of
SLOT_MINUTES. Capacity is kept in `ClinicSlot.booked_count`, changed only by conditional
UPDATEs, so two residents can never take the last place at once; the CHECK constraint
`booked_count <= capacity` is the backstop.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from i18n import current_language, normalise_language
from models import (
    BookingStatus,
    ClinicBooking,
    ClinicSlot,
    Occurrence,
    OccurrenceStatus,
    OutboxMessage,
    Programme,
    ProgrammeKind,
    db,
    record,
    utcnow,
)

from . import resident_notices
from .codes import new_code, normalise_code
from .errors import RuleViolation
from .transactions import unit_of_work
from .validation import clean_text, normalise_email_address, normalise_phone

SLOT_MINUTES = 30
DEFAULT_SLOT_CAPACITY = 2  # per slot, when the session has no capacity of its own
NAME_MAX = 100
TOPIC_MAX = 500


def slot_plan(occurrence: Occurrence) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """(start, end, capacity) of each slot of a session.

    `occurrence.capacity` is the number of consultations the whole session offers; it is
    spread over the slots, earlier slots taking the remainder. Without it each slot offers
    DEFAULT_SLOT_CAPACITY. Slots that would offer no place are left out.
    """
    length = dt.timedelta(minutes=SLOT_MINUTES)
    starts = []
    at = occurrence.starts_at
    while at + length <= occurrence.ends_at:
        starts.append(at)
        at += length
    if not starts:  # a session shorter than one slot is one slot
        return [(occurrence.starts_at, occurrence.ends_at, occurrence.capacity or DEFAULT_SLOT_CAPACITY)]
    if occurrence.capacity is None:
        capacities = [DEFAULT_SLOT_CAPACITY] * len(starts)
    else:
        base, extra = divmod(occurrence.capacity, len(starts))
        capacities = [base + (1 if i < extra else 0) for i in range(len(starts))]
    return [(start, start + length, cap) for start, cap in zip(starts, capacities) if cap > 0]


def is_clinic(occurrence: Occurrence | None) -> bool:
    return occurrence is not None and occurrence.programme.kind is ProgrammeKind.LEGAL_CLINIC


def ensure_slots(occurrence: Occurrence) -> list[ClinicSlot]:
    """The session's slots, creating the missing ones (idempotent, safe when two requests race).

    Slots left over from before the session was moved are removed while nobody has booked
    them; booked ones stay so that staff see and contact those residents.
    """
    if not is_clinic(occurrence):
        raise ValueError("slots exist only for legal-clinic sessions")
    existing = {slot.starts_at: slot for slot in _slots_of(occurrence.id)}
    plan = slot_plan(occurrence)
    planned = {start for start, _end, _cap in plan}
    stale = [slot for start, slot in existing.items() if start not in planned and slot.booked_count == 0]
    missing = [(s, e, c) for s, e, c in plan if s not in existing]
    if occurrence.status is not OccurrenceStatus.SCHEDULED:
        missing = []
    if not stale and not missing:
        return sorted(existing.values(), key=lambda s: s.starts_at)
    try:
        with db.session.begin_nested():
            for slot in stale:
                db.session.delete(slot)
            db.session.add_all(
                ClinicSlot(occurrence_id=occurrence.id, starts_at=s, ends_at=e, capacity=c) for s, e, c in missing
            )
    except IntegrityError:
        pass  # another request created the same slots a moment ago: theirs are as good
    return _slots_of(occurrence.id)


def _slots_of(occurrence_id: int) -> list[ClinicSlot]:
    return list(
        db.session.scalars(
            sa.select(ClinicSlot).where(ClinicSlot.occurrence_id == occurrence_id).order_by(ClinicSlot.starts_at)
        )
    )


def sync_slots(occurrence_ids) -> None:
    """Bring the slots of these sessions in line with their hours (non-clinic sessions are skipped).

    Called where sessions are created or moved (scheduler/occurrences.py), so that showing a
    session's booking page only reads.
    """
    ids = list(occurrence_ids)
    if not ids:
        return
    sessions = db.session.scalars(
        sa.select(Occurrence)
        .join(Occurrence.programme)
        .where(Occurrence.id.in_(ids), Programme.kind == ProgrammeKind.LEGAL_CLINIC)
    )
    for occurrence in sessions:
        ensure_slots(occurrence)


def bookable_slots(occurrence: Occurrence, now: dt.datetime | None = None) -> list[ClinicSlot]:
    """Slots inside the session's current hours that have not started yet (full ones included). Reads only."""
    now = now or utcnow()
    return [
        slot
        for slot in _slots_of(occurrence.id)
        if occurrence.starts_at <= slot.starts_at < occurrence.ends_at and slot.starts_at > now
    ]


@unit_of_work
def book(
    slot_id: int,
    name: str,
    phone: str,
    topic: str = "",
    language: str = "zh_CN",
    now: dt.datetime | None = None,
    occurrence_id: int | None = None,
    email: str = "",
    locale: str | None = None,
) -> ClinicBooking:
    """Book one place in a slot; RuleViolation when the input is bad or the slot full, past or gone.

    `occurrence_id`, when given, is the session the resident was looking at: a slot of another
    session is refused as unknown.
    """
    now = now or utcnow()
    name = clean_text(name, _("Your name"), NAME_MAX)
    phone = normalise_phone(phone)
    topic = clean_text(topic, _("What would you like advice on?"), TOPIC_MAX, required=False, multiline=True)
    email = normalise_email_address(email)
    language = normalise_language(language) or "zh_CN"
    locale = normalise_language(locale) or current_language()
    slot = _open_slot(slot_id, occurrence_id, language, now)
    _refuse_second_booking(slot.occurrence, phone)
    _take_place(slot, now)
    booking = ClinicBooking(
        reference=_unused_reference(),
        slot=slot,
        name=name,
        phone=phone,
        topic=topic,
        language=language,
        email=email,
        locale=locale,
    )
    db.session.add(booking)
    db.session.flush()
    record(None, "clinic.book", "clinic_booking", booking.id, slot_id=slot.id)
    resident_notices.booking_confirmed(booking)
    return booking


def _open_slot(slot_id: int, occurrence_id: int | None, language: str, now: dt.datetime) -> ClinicSlot:
    """The slot, if it may be booked in this language now (the place itself is taken later)."""
    slot = db.session.get(ClinicSlot, slot_id, options=[orm.joinedload(ClinicSlot.occurrence)])
    if slot is None or not is_clinic(slot.occurrence) or occurrence_id not in (None, slot.occurrence_id):
        raise RuleViolation(_("This consultation time does not exist. Please choose another."), "no_slot", 404)
    occurrence = slot.occurrence
    if occurrence.status is OccurrenceStatus.CANCELLED:
        raise RuleViolation(
            _("This clinic session has been cancelled. Please choose another session."), "session_cancelled", 409
        )
    if slot.starts_at <= now:
        raise RuleViolation(
            _("This consultation time has already passed. Please choose a later time."), "slot_past", 409
        )
    if language == "en" and not occurrence.bilingual:
        raise RuleViolation(
            _(
                "Consultations in English are offered at sessions marked “Chinese and English”. "
                "Please choose such a session, or Chinese."
            ),
            "language_unavailable",
            400,
        )
    return slot


def _refuse_second_booking(occurrence: Occurrence, phone: str) -> None:
    """One live booking per phone number and session."""
    duplicate = db.session.scalar(
        sa.select(ClinicBooking.id)
        .join(ClinicSlot)
        .where(
            ClinicSlot.occurrence_id == occurrence.id,
            ClinicBooking.phone == phone,
            ClinicBooking.status == BookingStatus.BOOKED,
        )
        .limit(1)
    )
    if duplicate is not None:
        raise RuleViolation(
            _(
                "This phone number already has a booking at this session. "
                "To choose another time, cancel that booking first."
            ),
            "already_booked",
            409,
        )


def _take_place(slot: ClinicSlot, now: dt.datetime) -> None:
    """Take one place by one conditional UPDATE: under concurrent requests the database serialises
    them on the row, and the loser sees the new count and updates nothing."""
    taken = db.session.execute(
        sa.update(ClinicSlot)
        .where(ClinicSlot.id == slot.id, ClinicSlot.booked_count < ClinicSlot.capacity, ClinicSlot.starts_at > now)
        .values(booked_count=ClinicSlot.booked_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise RuleViolation(
            _("Sorry, this consultation time is fully booked. Please choose another time."), "slot_full", 409
        )
    db.session.expire(slot, ["booked_count"])


def _unused_reference() -> str:
    while True:
        reference = new_code()
        if db.session.scalar(sa.select(ClinicBooking.id).where(ClinicBooking.reference == reference)) is None:
            return reference


@unit_of_work
def cancel(reference: str, phone: str, now: dt.datetime | None = None) -> ClinicBooking:
    """Cancel a booking. Both the reference and the phone used to book are needed, so a
    guessed reference alone cancels nothing; a wrong pair gets the same answer as an unknown one."""
    now = now or utcnow()
    code = normalise_code(reference)
    phone = normalise_phone(phone)
    booking = None
    if code:
        booking = db.session.scalar(
            sa.select(ClinicBooking)
            .where(ClinicBooking.reference == code)
            .options(orm.joinedload(ClinicBooking.slot).joinedload(ClinicSlot.occurrence))
        )
    if booking is None or booking.phone != phone:
        raise RuleViolation(
            _("No booking matches this reference code and phone number. Please check both."), "no_booking", 404
        )
    return _cancel_booking(booking, now)


def _cancel_booking(booking: ClinicBooking, now: dt.datetime) -> ClinicBooking:
    """The resident's own cancel, once they have proved the booking is theirs."""
    if booking.status is BookingStatus.CANCELLED:
        raise RuleViolation(_("This booking has already been cancelled."), "already_cancelled", 409)
    if booking.slot.starts_at <= now:
        raise RuleViolation(
            _("This consultation has already begun or passed, so it can no longer be cancelled online."),
            "slot_past",
            409,
        )
    changed = db.session.execute(
        sa.update(ClinicBooking)
        .where(ClinicBooking.id == booking.id, ClinicBooking.status == BookingStatus.BOOKED)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # cancelled by a simultaneous request
        raise RuleViolation(_("This booking has already been cancelled."), "already_cancelled", 409)
    db.session.execute(
        sa.update(ClinicSlot)
        .where(ClinicSlot.id == booking.slot_id)
        .values(booked_count=ClinicSlot.booked_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(booking, ["status", "cancelled_at"])
    db.session.expire(booking.slot, ["booked_count"])
    record(None, "clinic.cancel", "clinic_booking", booking.id)
    return booking


@unit_of_work
def cancel_mine(booking_id: int, phone: str, now: dt.datetime | None = None) -> ClinicBooking:
    """Cancel a booking of a phone number its holder has proved to own (services/recovery.py)."""
    now = now or utcnow()
    booking = db.session.get(
        ClinicBooking, booking_id, options=[orm.joinedload(ClinicBooking.slot).joinedload(ClinicSlot.occurrence)]
    )
    if booking is None or booking.phone != phone:
        raise RuleViolation(
            _("No booking matches this reference code and phone number. Please check both."), "no_booking", 404
        )
    return _cancel_booking(booking, now)


def active_bookings(occurrence_id: int) -> list[ClinicBooking]:
    """The live bookings of a session: the people a cancel or a move must tell."""
    return list(
        db.session.scalars(
            sa.select(ClinicBooking)
            .join(ClinicSlot)
            .where(ClinicSlot.occurrence_id == occurrence_id, ClinicBooking.status == BookingStatus.BOOKED)
            .options(orm.contains_eager(ClinicBooking.slot))
            .order_by(ClinicSlot.starts_at, ClinicBooking.id)
        )
    )


def count_active_bookings(occurrence_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(ClinicBooking.id))
            .join(ClinicSlot)
            .where(ClinicSlot.occurrence_id == occurrence_id, ClinicBooking.status == BookingStatus.BOOKED)
        )
        or 0
    )


def cancel_session_bookings(occurrence: Occurrence, now: dt.datetime | None = None) -> list[ClinicBooking]:
    """Mark every live booking of a cancelled session cancelled (reason "session"), free the places,
    and tell each resident. A building block: the session's cancel (scheduler) commits."""
    if not is_clinic(occurrence):
        return []
    now = now or utcnow()
    bookings = active_bookings(occurrence.id)
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.cancel_reason = "session"
        booking.slot.booked_count = max(booking.slot.booked_count - 1, 0)
    db.session.flush()
    if bookings:
        record(None, "clinic.cancel_session", "occurrence", occurrence.id, bookings=len(bookings))
    resident_notices.session_cancelled(occurrence, bookings)
    return bookings


def bookings_for(occurrence: Occurrence) -> list[ClinicBooking]:
    """Every booking of a session, for clinic staff (personal data: staff pages only)."""
    return list(
        db.session.scalars(
            sa.select(ClinicBooking)
            .join(ClinicSlot)
            .where(ClinicSlot.occurrence_id == occurrence.id)
            .options(orm.contains_eager(ClinicBooking.slot))
            .order_by(ClinicSlot.starts_at, ClinicBooking.created_at, ClinicBooking.id)
        )
    )


def free_places(occurrences: list[Occurrence], now: dt.datetime | None = None) -> dict[int, int]:
    """Places still free per session, for a list page: one grouped query for all of them.

    Slots are made on the first booking visit, so a session without slots yet offers its whole
    plan. Slots that have started, or lie outside moved hours, no longer count."""
    now = now or utcnow()
    sessions = {o.id: o for o in occurrences if o.status is OccurrenceStatus.SCHEDULED}
    if not sessions:
        return {}
    rows = db.session.execute(
        sa.select(ClinicSlot.occurrence_id, ClinicSlot.starts_at, ClinicSlot.capacity, ClinicSlot.booked_count).where(
            ClinicSlot.occurrence_id.in_(list(sessions))
        )
    ).all()
    with_slots: dict[int, int] = {}
    for occurrence_id, starts_at, capacity, booked in rows:
        o = sessions[occurrence_id]
        free = capacity - booked if o.starts_at <= starts_at < o.ends_at and starts_at > now else 0
        with_slots[occurrence_id] = with_slots.get(occurrence_id, 0) + max(free, 0)
    return {
        oid: with_slots[oid] if oid in with_slots else sum(cap for start, _end, cap in slot_plan(o) if start > now)
        for oid, o in sessions.items()
    }


def notice_status(bookings: list[ClinicBooking]) -> dict[int, list[tuple[str, str]]]:
    """Per booking, how its latest message went on each channel: the cancellation notice for a booking
    cancelled with its session, else the confirmation. One query for the whole list."""
    wanted = {
        (resident_notices.cancel_key(b) if b.cancel_reason == "session" else f"booking_confirmed:{b.id}"): b.id
        for b in bookings
    }
    if not wanted:
        return {}
    found: dict[int, list[tuple[str, str]]] = {}
    rows = db.session.execute(
        sa.select(OutboxMessage.event_key, OutboxMessage.channel, OutboxMessage.status)
        .where(OutboxMessage.event_key.in_(list(wanted)))
        .order_by(OutboxMessage.event_key, OutboxMessage.channel)
    )
    for key, channel, status in rows:
        found.setdefault(wanted[key], []).append((channel.value, status.value))
    return found
