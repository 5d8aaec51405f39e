"""What residents are told: one function per event, called inside the change's unit of work.

The seam for the notification pipeline (branch `notify`): each function renders the message in the
booking's language (`ClinicBooking.locale`, the page the resident booked on) and hands one
`ResidentNotice` per booking and channel to `deliver`. Until the integrator connects the outbox
(`connect(writer)`: the writer must add its rows to the current session, never commit), notices
go to the log without personal data. Calendar parts: `ics_method` says REQUEST or CANCEL, with the
session's feed UID and SEQUENCE, for the pipeline's iMIP builder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _

from timeutil import to_local

log = logging.getLogger(__name__)

BOOKING_CONFIRMED = "resident.booking_confirmed"
SESSION_MOVED = "resident.session_moved"
SESSION_CANCELLED = "resident.session_cancelled"
SUGGESTION_ANSWERED = "resident.suggestion_answered"


@dataclass(frozen=True)
class ResidentNotice:
    event: str
    booking_id: int | None  # or the suggestion's id for SUGGESTION_ANSWERED
    channel: str  # "email" or "sms"
    to: str
    locale: str
    subject: str
    text: str
    ics_method: str | None = None  # "REQUEST" / "CANCEL" for dated events
    uid: str | None = None
    sequence: int | None = None


def _log_only(notice: ResidentNotice) -> None:
    log.info("resident notice %s (%s) for booking %s", notice.event, notice.channel, notice.booking_id)


_writer: Callable[[ResidentNotice], None] = _log_only


def connect(writer: Callable[[ResidentNotice], None] | None) -> None:
    """Route notices to the pipeline (None: back to the log)."""
    global _writer
    _writer = writer or _log_only


def _when(booking) -> str:
    start = to_local(booking.slot.starts_at)
    return f"{start:%Y-%m-%d %H:%M}"


def _place(occurrence) -> str:
    venue = occurrence.venue
    return (venue.name if venue is not None else "") or ""


def _send(booking, event: str, subject: str, text: str, ics_method: str | None) -> None:
    occurrence = booking.slot.occurrence
    for channel, to in (("email", booking.email), ("sms", booking.phone)):
        if not to:
            continue
        _writer(
            ResidentNotice(
                event=event,
                booking_id=booking.id,
                channel=channel,
                to=to,
                locale=booking.locale,
                subject=subject,
                text=text,
                ics_method=ics_method,
                uid=occurrence.uid,
                sequence=occurrence.sequence,
            )
        )


def booking_confirmed(booking) -> None:
    with force_locale(booking.locale):
        subject = _("Your legal clinic booking %(reference)s", reference=booking.reference)
        text = _(
            "Your consultation is booked for %(when)s at %(place)s. Reference code: %(reference)s. "
            "To cancel, use the reference code and this phone number.",
            when=_when(booking),
            place=_place(booking.slot.occurrence),
            reference=booking.reference,
        )
        _send(booking, BOOKING_CONFIRMED, subject, text, "REQUEST")


def session_moved(occurrence, bookings) -> None:
    for booking in bookings:
        with force_locale(booking.locale):
            start = to_local(occurrence.starts_at)
            subject = _("Legal clinic session moved (booking %(reference)s)", reference=booking.reference)
            text = _(
                "The legal clinic session you booked has moved to %(when)s. Your booking %(reference)s "
                "stays valid; if the new time does not suit you, please cancel it.",
                when=f"{start:%Y-%m-%d %H:%M}",
                reference=booking.reference,
            )
            _send(booking, SESSION_MOVED, subject, text, "REQUEST")


def session_cancelled(occurrence, bookings) -> None:
    for booking in bookings:
        with force_locale(booking.locale):
            subject = _("Legal clinic session cancelled (booking %(reference)s)", reference=booking.reference)
            text = _(
                "Sorry: the legal clinic session of %(when)s has been cancelled, and your booking "
                "%(reference)s with it. Please book another session.",
                when=_when(booking),
                reference=booking.reference,
            )
            _send(booking, SESSION_CANCELLED, subject, text, "CANCEL")


def suggestion_answered(suggestion) -> None:
    """Suggestions carry free-text contact details only (no language, no verified channel): the seam
    hands over the tracking number; the integrator decides whether `submitter_contact` is usable."""
    _writer(
        ResidentNotice(
            event=SUGGESTION_ANSWERED,
            booking_id=suggestion.id,
            channel="",
            to="",
            locale="zh_CN",
            subject=suggestion.tracking_number,
            text="",
        )
    )


def recovery_code(phone: str, locale: str, text: str) -> None:
    """The one-time code of "find my booking": SMS only, to the number that asked."""
    _writer(
        ResidentNotice(
            event="resident.recovery_code",
            booking_id=None,
            channel="sms",
            to=phone,
            locale=locale,
            subject="",
            text=text,
        )
    )
