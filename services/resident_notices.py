"""What residents are told, through the notification outbox (services/notify.py).

One function per event, called inside the change's unit of work: each writes outbox rows (email
and/or SMS, whatever the booking gave) and never commits. Messages are rendered at send time in
the booking's language (`ClinicBooking.locale`: the page the resident booked on). Dated messages
carry an iMIP part with the session's feed UID and SEQUENCE: REQUEST on booking and on a move
(the move raised SEQUENCE), CANCEL when the session is cancelled.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timeutil import to_local

from .notify import Recipient, Rendered, enqueue, event, ical_context, iso
from .notify_events import Notice, _lang_field, register_notices

BOOKING_CONFIRMED = "booking_confirmed"
SESSION_MOVED = "clinic_session_moved"
SESSION_CANCELLED = "clinic_session_cancelled"
SUGGESTION_ANSWERED = "suggestion_answered"
RECOVERY_CODE = "booking_recovery_code"


def _recipient(booking) -> Recipient:
    return Recipient.resident(email=booking.email, phone=booking.phone, locale=booking.locale, name=booking.name)


def _context(booking, occurrence, method: str) -> dict:
    venue = occurrence.venue
    slot = booking.slot
    return {
        "ref": booking.reference,
        "start": iso(slot.starts_at),
        "end": iso(slot.ends_at),
        "session_start": iso(occurrence.starts_at),
        "session_end": iso(occurrence.ends_at),
        "place_zh": venue.name_zh if venue is not None else "",
        "place_en": (venue.name_en or venue.name_zh) if venue is not None else "",
        "path": "/legal-clinic/book/find",
        # The session's identity in the feeds: the visit updates in the resident's calendar with it.
        "ical": ical_context(
            occurrence.uid,
            occurrence.sequence or 0,
            slot.starts_at if method != "MOVED" else occurrence.starts_at,
            slot.ends_at if method != "MOVED" else occurrence.ends_at,
            method="REQUEST" if method == "MOVED" else method,
            location=venue.name_zh if venue is not None else "",
        ),
    }


def _when(c: dict, start: str = "start", end: str = "end") -> str:
    import datetime as dt

    begin = to_local(dt.datetime.fromisoformat(c[start]))
    finish = to_local(dt.datetime.fromisoformat(c[end]))
    return f"{begin:%Y-%m-%d %H:%M}–{finish:%H:%M}"


def _booking_details(c: dict) -> list[str]:
    return [_when(c), _lang_field(c, "place"), _("Reference code: %(ref)s", ref=c["ref"])]


def _moved_details(c: dict) -> list[str]:
    return [
        _("New time: %(when)s", when=_when(c, "session_start", "session_end")),
        _lang_field(c, "place"),
        _("Reference code: %(ref)s", ref=c["ref"]),
    ]


def _ref(c: dict) -> dict:
    return {"ref": c["ref"]}


NOTICES: dict[str, Notice] = {
    BOOKING_CONFIRMED: Notice(
        "a resident booked a legal-clinic consultation",
        _l("Legal clinic booking %(ref)s confirmed"),
        _l("Your consultation is booked. Keep the reference code: with it and your phone number you can cancel."),
        details=_booking_details,
        link=_l("Find or cancel my booking"),
        path=lambda c: c.get("path", ""),
        params=_ref,
    ),
    SESSION_MOVED: Notice(
        "a booked legal-clinic session was moved",
        _l("Legal clinic session moved (booking %(ref)s)"),
        _l(
            "The legal clinic session you booked has moved. Your booking stays; if the new time does not suit you, please cancel it."
        ),
        details=_moved_details,
        link=_l("Find or cancel my booking"),
        path=lambda c: c.get("path", ""),
        params=_ref,
    ),
    SESSION_CANCELLED: Notice(
        "a booked legal-clinic session was cancelled",
        _l("Legal clinic session cancelled (booking %(ref)s)"),
        _l(
            "Sorry: the legal clinic session you booked has been cancelled, and your booking with it. Please book another session."
        ),
        details=_booking_details,
        link=_l("Legal clinic"),
        path="/legal-clinic",
        params=_ref,
    ),
    SUGGESTION_ANSWERED: Notice(
        "a resident's suggestion was answered",
        _l("Your suggestion %(number)s has an answer"),
        _l("The bureau has answered your suggestion. Read the answer with your tracking number."),
        details=lambda c: [_("Tracking number: %(number)s", number=c["number"])],
        link=_l("Track my suggestion"),
        path=lambda c: c.get("path", ""),
        params=lambda c: {"number": c["number"]},
    ),
}
register_notices(NOTICES)


# Not a message of the common shape: a bare SMS with the code (no greeting, no link).
@event(RECOVERY_CODE, "one-time code of find-my-booking (SMS)", secret=("code",))
def _recovery_code(c: dict, r) -> Rendered:
    text = _(
        "Your code to see your legal clinic bookings: %(code)s (valid %(minutes)d minutes). "
        "If you did not ask for it, ignore this message.",
        code=c["code"],
        minutes=c["minutes"],
    )
    return Rendered(subject=_("Your code"), text=text, sms=text)


def booking_confirmed(booking) -> None:
    enqueue(
        BOOKING_CONFIRMED,
        f"booking_confirmed:{booking.id}",
        [_recipient(booking)],
        _context(booking, booking.slot.occurrence, "REQUEST"),
    )


def session_moved(occurrence, bookings) -> None:
    """Every live booking of a moved session; the key carries the SEQUENCE, so each move tells again."""
    for booking in bookings:
        enqueue(
            SESSION_MOVED,
            f"clinic_moved:{occurrence.id}:{occurrence.sequence}:{booking.id}",
            [_recipient(booking)],
            _context(booking, occurrence, "MOVED"),
        )


def cancel_key(booking) -> str:
    return f"clinic_cancelled:{booking.id}"


def session_cancelled(occurrence, bookings) -> None:
    for booking in bookings:
        enqueue(SESSION_CANCELLED, cancel_key(booking), [_recipient(booking)], _context(booking, occurrence, "CANCEL"))


def suggestion_answered(suggestion) -> None:
    """Suggestions carry a free-text contact only: told when it is a phone number or an email address."""
    from .errors import RuleViolation
    from .validation import normalise_email_address, normalise_phone

    contact = (getattr(suggestion, "submitter_contact", "") or "").strip()
    email = phone = ""
    try:
        phone = normalise_phone(contact)
    except RuleViolation:
        try:
            email = normalise_email_address(contact)
        except RuleViolation:
            return
    if not (email or phone):
        return
    enqueue(
        SUGGESTION_ANSWERED,
        f"suggestion_answered:{suggestion.id}",
        [Recipient.resident(email=email, phone=phone, locale=suggestion.locale or "zh_CN")],
        {"number": suggestion.tracking_number, "path": "/suggestions/track"},
    )


def recovery_code(phone: str, locale: str, code: str, minutes: int, ticket: str) -> None:
    """The one-time code, by SMS only. The outbox holds it until sent (it expires in `minutes`)."""
    enqueue(
        RECOVERY_CODE,
        f"recovery:{ticket}",
        [Recipient.resident(phone=phone, locale=locale)],
        {"code": code, "minutes": minutes},
    )
