"""The notification pipeline's front door: `enqueue` writes outbox rows in the caller's transaction.

A service that changes what someone should know calls `enqueue(kind, event_key, recipients, context)`
inside its unit of work (it never commits). All rows of one event are written by ONE INSERT … ON
CONFLICT DO NOTHING; the unique key (event_key, recipient_key, channel) makes a repeat a no-op.
Nothing is rendered here: the sender (scheduler/notify_sender.py) calls `render` per row at send
time, under the recipient's locale, so the request pays only for the insert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from models import OutboxChannel, OutboxMessage, OutboxStatus, db, utcnow

LOCALES = ("zh_CN", "en")


@dataclass(frozen=True)
class Recipient:
    """Who is told, and where. `key` identifies the person across channels for the unique key."""

    key: str
    name: str = ""
    locale: str = "zh_CN"
    email: str = ""
    phone: str = ""
    webhook: str = ""
    user_id: int | None = None

    @classmethod
    def user(cls, user) -> Recipient:
        """A registered user, by their channel choices (no query: reads the loaded object)."""
        return cls(
            key=f"user:{user.id}",
            name=user.display_name,
            locale=user.locale if user.locale in LOCALES else "zh_CN",
            email=user.email if getattr(user, "notify_email", True) else "",
            phone=user.phone if getattr(user, "notify_sms", False) else "",
            user_id=user.id,
        )

    @classmethod
    def resident(cls, *, email: str = "", phone: str = "", locale: str = "zh_CN", name: str = "") -> Recipient:
        """Someone without an account (a resident who booked): email and/or phone, the page's language."""
        return cls(
            key=f"resident:{(phone or email).strip().lower()}",
            name=name,
            locale=locale if locale in LOCALES else "zh_CN",
            email=email.strip().lower(),
            phone=phone.strip(),
        )

    @classmethod
    def team_chat(cls, team) -> Recipient | None:
        """A team's group-chat robot, or None when the team has none; messages in the team's chat language."""
        url = getattr(team, "chat_webhook", "") or ""
        if not url:
            return None
        locale = getattr(team, "chat_locale", "") or "zh_CN"
        locale = locale if locale in LOCALES else "zh_CN"
        name_zh = getattr(team, "name_zh", "") or ""
        name = (getattr(team, "name_en", "") or name_zh) if locale == "en" else name_zh
        return cls(key=f"team:{team.id}", name=name, locale=locale, webhook=url)

    def channels(self) -> list[tuple[OutboxChannel, str]]:
        out = []
        if self.email:
            out.append((OutboxChannel.EMAIL, self.email))
        if self.phone:
            out.append((OutboxChannel.SMS, self.phone))
        if self.webhook:
            out.append((OutboxChannel.CHAT, self.webhook))
        return out


@dataclass
class Rendered:
    """One message in one language. `sms` is the short text for SMS and chat (defaults to `text`)."""

    subject: str
    text: str
    html: str = ""
    sms: str = ""
    ical: str = ""  # a whole VCALENDAR (iMIP), filled in by `render` from the context's "ical"
    ical_method: str = ""


@dataclass
class EventKind:
    kind: str
    render: Callable[[dict, Recipient], Rendered]
    description: str = ""
    extra: dict = field(default_factory=dict)
    # Context keys holding a secret (a one-time code): kept only until the message is sent or given up.
    secret: tuple[str, ...] = ()


_KINDS: dict[str, EventKind] = {}
CLEARED = "[cleared]"


def register(
    kind: str, render: Callable[[dict, Recipient], Rendered], description: str = "", secret: tuple[str, ...] = ()
) -> None:
    """Declare an event kind; `render(context, recipient)` runs under the recipient's locale."""
    _KINDS[kind] = EventKind(kind, render, description, secret=tuple(secret))


def event(kind: str, description: str = "", secret: tuple[str, ...] = ()):
    """Decorator form of `register`."""

    def wrap(render):
        register(kind, render, description, secret)
        return render

    return wrap


def secret_keys(kind: str) -> tuple[str, ...]:
    spec = kinds().get(kind)
    return spec.secret if spec is not None else ()


def forget_secrets(message: OutboxMessage) -> bool:
    """Blank the secret parts of a row's context (the sender calls it once the row is sent or failed)."""
    keys = [k for k in secret_keys(message.kind) if (message.context or {}).get(k) not in (None, CLEARED)]
    if not keys:
        return False
    message.context = {**message.context, **dict.fromkeys(keys, CLEARED)}  # a new dict: the JSON column is saved
    return True


def kinds() -> dict[str, EventKind]:
    from . import (
        notify_events,  # noqa: F401 - registers the built-in kinds
        trade_notices,  # noqa: F401 - waiting list and trade board kinds
        waitlist_manage,  # noqa: F401 - a coordinator's removal from a waiting list
    )

    return dict(_KINDS)


def enabled() -> bool:
    return bool(current_app.config.get("NOTIFICATIONS_ENABLED", True))


def _insert_ignoring_conflicts():
    table = OutboxMessage.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=["event_key", "recipient_key", "channel"])


def enqueue(
    kind: str,
    event_key: str,
    recipients: Iterable[Recipient | None],
    context: dict,
    *,
    at: dt.datetime | None = None,
) -> int:
    """Queue `kind` for every recipient on every channel they have; in the caller's transaction.

    `context` must be JSON (str/int/float/bool/list/dict; datetimes as ISO strings, see `iso`).
    `event_key` names the change, e.g. f"assigned:{assignment.id}:{shift.sequence}": the same key
    and recipient and channel is queued at most once. Returns the number of rows offered.
    """
    if not enabled():
        return 0
    now = utcnow()
    due = at or now
    rows = []
    seen = set()
    for r in recipients:
        if r is None:
            continue
        for channel, address in r.channels():
            if (r.key, channel) in seen:
                continue
            seen.add((r.key, channel))
            rows.append(
                {
                    "kind": kind,
                    "event_key": event_key[:200],
                    "recipient_key": r.key[:200],
                    "channel": channel,
                    "address": address[:500],
                    "name": (r.name or "")[:200],
                    "locale": r.locale,
                    "user_id": r.user_id,
                    "context": context,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": due,
                    "created_at": now,
                    "last_error": "",
                }
            )
    if rows:
        db.session.execute(_insert_ignoring_conflicts(), rows)  # one statement for the whole event
    return len(rows)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def ical_context(
    uid: str, sequence: int, start: dt.datetime, end: dt.datetime, *, method: str = "REQUEST", location: str = ""
) -> dict:
    """The "ical" entry of a context: the event as the feeds have it (same UID and SEQUENCE)."""
    return {
        "uid": uid,
        "sequence": int(sequence),
        "start": iso(start),
        "end": iso(end),
        "method": method,
        "location": location,
    }


def render(message: OutboxMessage) -> Rendered:
    """The message for one outbox row, in its recipient's language, with its iMIP part if any."""
    spec = kinds().get(message.kind)
    if spec is None:
        raise LookupError(f"unknown notification kind {message.kind!r}")
    recipient = Recipient(key=message.recipient_key, name=message.name, locale=message.locale, user_id=message.user_id)
    with force_locale(message.locale or "zh_CN"):
        rendered = spec.render(message.context or {}, recipient)
    if not rendered.sms:
        rendered.sms = f"{rendered.subject}\n{rendered.text}"
    ical = (message.context or {}).get("ical")
    if ical and message.channel is OutboxChannel.EMAIL:
        rendered.ical_method = ical.get("method", "REQUEST")
        rendered.ical = imip_calendar(ical, rendered.subject, message.address, message.name)
    return rendered


def imip_calendar(ical: dict, summary: str, attendee: str, attendee_name: str = "") -> str:
    """A VCALENDAR with METHOD, one VEVENT, ORGANIZER and ATTENDEE (RFC 5546 / 6047)."""
    from icalendar import Calendar, Event, vCalAddress, vText

    method = ical.get("method", "REQUEST")
    organizer_mail = current_app.config.get("MAIL_FROM", "noreply@sip-schedule.example")
    cal = Calendar()
    cal.add("prodid", "-//SIP Community Schedules//Notifications 1.0//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = Event()
    ev["UID"] = vText(ical["uid"])
    ev.add("sequence", int(ical.get("sequence", 0)))
    ev.add("dtstamp", utcnow().replace(microsecond=0))
    ev.add("dtstart", dt.datetime.fromisoformat(ical["start"]))
    ev.add("dtend", dt.datetime.fromisoformat(ical["end"]))
    ev.add("summary", summary)
    if ical.get("location"):
        ev.add("location", ical["location"])
    organizer = vCalAddress(f"mailto:{organizer_mail}")
    organizer.params["CN"] = vText("SIP Community Schedules")
    ev["ORGANIZER"] = organizer
    att = vCalAddress(f"mailto:{attendee}")
    if attendee_name:
        att.params["CN"] = vText(attendee_name)
    att.params["ROLE"] = vText("REQ-PARTICIPANT")
    if method == "REQUEST":
        att.params["PARTSTAT"] = vText("NEEDS-ACTION")
        att.params["RSVP"] = vText("FALSE")
    ev["ATTENDEE"] = att
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    cal.add_component(ev)
    return cal.to_ical().decode()


def retry(message_id: int) -> bool:
    """Make a failed (or pending) row due now with a fresh attempt budget; the caller's transaction."""
    table = OutboxMessage.__table__
    done = db.session.execute(
        sa.update(table)
        .where(table.c.id == message_id, table.c.status.in_([OutboxStatus.FAILED.value, OutboxStatus.PENDING.value]))
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=utcnow(), last_error="")
    ).rowcount
    return done == 1
