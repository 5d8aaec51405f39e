""" "Find my booking": a one-time code sent by SMS opens a phone number's upcoming bookings.

- A code is 6 digits, valid CODE_MINUTES, MAX_ATTEMPTS tries; only an HMAC (keyed with the app's
  SECRET_KEY, so a copied table does not give the codes away by trying all million) is stored.
- No enumeration: a request writes the same row and gets the same answer whether or not the number
  has bookings. The SMS is sent only when it has upcoming bookings: a message to a number that has
  none would let anyone make the service text any phone (cost, harassment) and tells its owner
  nothing useful. Requests are rate-limited per IP and per phone in the view (Flask-Limiter).
- A verified code opens the bookings for ACCESS_MINUTES, through a random ticket kept in the
  resident's session (the phone number itself never goes into the cookie).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import orm

from i18n import current_language
from models import (
    BookingRecoveryCode,
    BookingStatus,
    ClinicBooking,
    ClinicSlot,
    Occurrence,
    OutboxMessage,
    OutboxStatus,
    db,
    utcnow,
)

from . import notify, resident_notices
from .errors import RuleViolation
from .transactions import in_transaction, unit_of_work
from .validation import normalise_phone

CODE_MINUTES = 10
ACCESS_MINUTES = 30
MAX_ATTEMPTS = 5


def _hmac(ticket: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{ticket}:{code}".encode(), hashlib.sha256).hexdigest()


def upcoming_bookings(phone: str, now: dt.datetime | None = None) -> list[ClinicBooking]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(ClinicBooking)
            .join(ClinicSlot)
            .where(
                ClinicBooking.phone == phone, ClinicBooking.status == BookingStatus.BOOKED, ClinicSlot.starts_at > now
            )
            .options(
                orm.contains_eager(ClinicBooking.slot).joinedload(ClinicSlot.occurrence).joinedload(Occurrence.venue)
            )
            .order_by(ClinicSlot.starts_at, ClinicBooking.id)
        )
    )


@unit_of_work
def request_code(phone: str, now: dt.datetime | None = None) -> str:
    """Issue a code for the number and text it if it has upcoming bookings; returns the ticket.

    A malformed number is refused (400): that says nothing about bookings.
    """
    now = now or utcnow()
    phone = normalise_phone(phone)
    ticket = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(
        BookingRecoveryCode(
            ticket=ticket,
            phone=phone,
            code_hmac=_hmac(ticket, code),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=CODE_MINUTES),
        )
    )
    db.session.flush()
    if upcoming_bookings(phone, now):
        resident_notices.recovery_code(phone, current_language(), code, CODE_MINUTES, ticket)
    return ticket


def _wrong() -> RuleViolation:
    return RuleViolation(
        _("This code is wrong or has expired. Check the text message, or ask for a new code."), "bad_code", 400
    )


def verify(ticket: str | None, code: str, now: dt.datetime | None = None) -> None:
    """Check the code; a wrong try is counted (committed) before it is refused."""
    now = now or utcnow()
    code = "".join(ch for ch in (code or "") if ch.isdigit())[:6]

    def work():
        row = None
        if ticket:
            row = db.session.scalar(
                sa.select(BookingRecoveryCode).where(BookingRecoveryCode.ticket == ticket).with_for_update()
            )
        if row is None or row.verified_at is not None or row.expires_at <= now:
            return False
        if row.attempts >= MAX_ATTEMPTS:
            return "locked"
        row.attempts += 1
        if len(code) == 6 and hmac.compare_digest(row.code_hmac, _hmac(row.ticket, code)):
            row.verified_at = now
            return True
        return False

    outcome = in_transaction(work)
    if outcome == "locked":
        raise RuleViolation(_("Too many wrong codes. Please ask for a new code."), "too_many_attempts", 429)
    if outcome is not True:
        raise _wrong()


def verified_phone(ticket: str | None, now: dt.datetime | None = None) -> str | None:
    """The phone number a verified ticket opens, while its access lasts. Reads only."""
    if not ticket:
        return None
    now = now or utcnow()
    row = db.session.scalar(sa.select(BookingRecoveryCode).where(BookingRecoveryCode.ticket == ticket))
    if row is None or row.verified_at is None or row.verified_at + dt.timedelta(minutes=ACCESS_MINUTES) <= now:
        return None
    return row.phone


@unit_of_work
def purge(now: dt.datetime | None = None) -> dict:
    """Delete codes older than a day (they hold phone numbers); no code text outlives its use in the outbox.

    The sender blanks a code in its outbox row once the SMS is sent or given up; here, a row still
    waiting for a retry when its code has expired is given up (an expired code opens nothing),
    and a row that still holds a code (one sent before codes were blanked) is blanked.
    Run hourly by the scheduler (`purge_recovery_codes`).
    """
    now = now or utcnow()
    result = db.session.execute(
        sa.delete(BookingRecoveryCode).where(BookingRecoveryCode.created_at < now - dt.timedelta(days=1))
    )
    code = OutboxMessage.context["code"].as_string()
    rows = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == resident_notices.RECOVERY_CODE,
            OutboxMessage.status != OutboxStatus.SENDING,  # in a sender's hands now: it blanks it itself
            OutboxMessage.created_at < now - dt.timedelta(minutes=CODE_MINUTES),
            code.is_not(None),
            code != notify.CLEARED,
        )
    ).all()
    for row in rows:
        if row.status is OutboxStatus.PENDING:
            row.status = OutboxStatus.FAILED
            row.last_error = "the code expired before it could be sent"
        notify.forget_secrets(row)
    return {"codes_deleted": result.rowcount or 0, "outbox_codes_cleared": len(rows)}
