"""Reminders and alerts by email, each sent exactly once, also across scheduler restarts.

The `notifications` table is the ledger: a reminder is claimed by inserting its row
(unique on kind, subject, recipient) and committing *before* the message goes out; the row is
marked sent right after. A restart therefore never repeats a sent reminder, and a reminder the
scheduler was down for is sent by the next run as long as its shift or session has not started.
A failed send is retried (up to MAX_ATTEMPTS).

A claim left pending by a sender that died in the middle of a send (killed, host lost) is
recovered by the sender's liveness, not by waiting: only the scheduler holding the leader lock
sends (scheduler/leader.py), and the lock ends with its process. So when a process becomes the
leader, every pending claim belongs to a sender that is gone: `recover_orphaned_claims` turns
them into retries at once, and the new leader's first run (right after it starts) sends them,
with the same Message-ID. The guarantee is at-least-once: a message the dead sender had
already handed to the mail server before dying is sent a second time, with the same
Message-ID, so a receiving system can drop the duplicate. A claim still pending after
STALE_CLAIM (a leader stuck in a send) is retried too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import orm

from models import (
    Assignment,
    AssignmentStatus,
    MembershipRole,
    Notification,
    NotificationKind,
    NotificationStatus,
    Occurrence,
    OccurrenceStatus,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Shift,
    ShiftStatus,
    TeamMembership,
    User,
    db,
    occurrence_officials,
    utcnow,
)
from timeutil import to_local

from .dbutil import insert_ignoring_conflicts
from .mailer import Mail, Mailer, MailError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STALE_CLAIM = dt.timedelta(minutes=10)
UNDERSTAFFED_WINDOW = dt.timedelta(hours=48)


@dataclass
class Due:
    kind: NotificationKind
    subject_id: int
    recipient: User
    item: object  # the assignment, occurrence or shift the message is about


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0

    def __add__(self, other: DeliveryResult) -> DeliveryResult:
        return DeliveryResult(self.sent + other.sent, self.failed + other.failed)


def _needs_sending(kind: NotificationKind, subject_column, recipient_column, now: dt.datetime):
    """Join condition and filter: no ledger row yet, or a failed/stale one that may be retried."""
    on = sa.and_(
        Notification.kind == kind,
        Notification.subject_id == subject_column,
        Notification.recipient_id == recipient_column,
    )
    where = sa.or_(
        Notification.id.is_(None),
        sa.and_(
            Notification.attempts < MAX_ATTEMPTS,
            sa.or_(
                Notification.status == NotificationStatus.FAILED,
                sa.and_(Notification.status == NotificationStatus.PENDING, Notification.created_at < now - STALE_CLAIM),
            ),
        ),
    )
    return on, where


def recover_orphaned_claims() -> int:
    """Make every pending claim retryable; called by a process that has just become the leader (commits).

    Only the leader sends, and it has sent nothing yet: a pending claim is one whose sender died
    before recording the outcome. Its attempt was counted when claimed, so a message that kills
    its sender every time is given up after MAX_ATTEMPTS instead of looping.
    """
    recovered = db.session.execute(
        sa.update(Notification)
        .where(Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.FAILED, last_error="sender stopped before recording the outcome")
    ).rowcount
    db.session.commit()
    if recovered:
        log.warning("recovered %d reminder claim(s) left pending by a scheduler that stopped", recovered)
    return recovered


def _claim(dues: list[Due], now: dt.datetime) -> dict[tuple, Notification]:
    """Ledger rows for `dues`: new ones inserted and committed; returns those this run may send."""
    keys = {(d.kind, d.subject_id, d.recipient.id) for d in dues}
    rows = [
        {
            "kind": kind,
            "subject_id": subject,
            "recipient_id": recipient,
            "status": NotificationStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "last_error": "",
        }
        for kind, subject, recipient in keys
    ]
    table = Notification.__table__
    inserted = set(
        db.session.execute(
            insert_ignoring_conflicts(table, ["kind", "subject_id", "recipient_id"]).returning(table.c.id), rows
        ).scalars()
    )
    db.session.commit()  # the claim is durable before anything is sent
    found = db.session.scalars(
        sa.select(Notification).where(
            Notification.kind.in_({k for k, _s, _r in keys}),
            Notification.subject_id.in_({s for _k, s, _r in keys}),
            Notification.recipient_id.in_({r for _k, _s, r in keys}),
        )
    )
    mine = {}
    for note in found:
        key = (note.kind, note.subject_id, note.recipient_id)
        if key not in keys:
            continue
        retry = note.attempts < MAX_ATTEMPTS and (
            note.status is NotificationStatus.FAILED
            or (note.status is NotificationStatus.PENDING and note.created_at < now - STALE_CLAIM)
        )
        if note.id in inserted or retry:
            mine[key] = note
    return mine


def _deliver(
    dues: list[Due], compose: Callable[[User, list[Due]], Mail], now: dt.datetime, digest: bool = False
) -> DeliveryResult:
    """Claim, send and record. With `digest`, one message per recipient covers all their dues."""
    result = DeliveryResult()
    if not dues:
        return result
    mine = _claim(dues, now)
    groups: dict[tuple, list[Due]] = defaultdict(list)
    for due in dues:
        key = (due.kind, due.subject_id, due.recipient.id)
        if key in mine:
            groups[(due.recipient.id,) if digest else key].append(due)
    config = current_app.config
    with Mailer(config.get("SMTP_URL", ""), config.get("MAIL_FROM", "noreply@sip-schedule.example")) as mailer:
        for group in groups.values():
            notes = [mine[(d.kind, d.subject_id, d.recipient.id)] for d in group]
            for note in notes:
                note.attempts += 1
            db.session.commit()
            recipient = group[0].recipient
            # Every bilingual field read while composing follows this (see i18n.current_language).
            with force_locale(recipient.locale or "zh_CN"):
                mail = compose(recipient, group)
            try:
                mailer.send(mail)
            except MailError as exc:
                log.warning("reminder to user %s failed: %s", recipient.id, exc)
                for note in notes:
                    note.status = NotificationStatus.FAILED
                    note.last_error = str(exc)[:500]
                result.failed += len(notes)
            else:
                for note in notes:
                    note.status = NotificationStatus.SENT
                    note.sent_at = utcnow()
                    note.last_error = ""
                result.sent += len(notes)
            db.session.commit()
    return result


def _message_id(kind: NotificationKind, subject_id: int, recipient_id: int) -> str:
    domain = current_app.config.get("MAIL_FROM", "noreply@sip-schedule.example").rpartition("@")[2] or "localhost"
    return f"<{kind.value}.{subject_id}.{recipient_id}@{domain}>"


def _when(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    start, end = to_local(starts_at), to_local(ends_at)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}" + (" (+1)" if end.date() != start.date() else "")


def _link(path: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}{path}" if base else path


def _compose_shift(recipient: User, dues: list[Due]) -> Mail:
    assignment: Assignment = dues[0].item
    shift = assignment.shift
    team, area = shift.team.name, shift.area
    when = _when(shift.starts_at, shift.ends_at)
    subject = _("Patrol shift reminder: %(when)s", when=when)
    body = "\n".join(
        [
            _("Hello %(name)s,", name=recipient.display_name),
            "",
            _("You are on a patrol shift soon:"),
            f"  {team}",
            f"  {when}",
            f"  {area}",
            "",
            _("If you cannot come, drop the shift or ask a teammate to swap: %(link)s", link=_link("/me/")),
        ]
    )
    return Mail(recipient.email, subject, body, _message_id(dues[0].kind, dues[0].subject_id, recipient.id))


def _compose_contact_day(recipient: User, dues: list[Due]) -> Mail:
    occurrence: Occurrence = dues[0].item
    place = occurrence.community or occurrence.venue
    place_name = place.name
    venue = occurrence.venue
    when = _when(occurrence.starts_at, occurrence.ends_at)
    subject = _("Contact day %(when)s: %(place)s", when=when, place=place_name)
    lines = [
        _("Hello %(name)s,", name=recipient.display_name),
        "",
        _("You are expected at this contact day session:"),
        f"  {place_name}",
        f"  {when}",
    ]
    if venue is not None:
        lines.append(f"  {venue.name}, {venue.address}")
    note = occurrence.note
    if note:
        lines.append(f"  {note}")
    return Mail(recipient.email, subject, "\n".join(lines), _message_id(dues[0].kind, dues[0].subject_id, recipient.id))


def _compose_understaffed(recipient: User, dues: list[Due]) -> Mail:
    shifts = sorted((d.item for d in dues), key=lambda s: (s.starts_at, s.id))
    subject = ngettext(
        "%(num)d patrol shift below its minimum in the next 48 hours",
        "%(num)d patrol shifts below their minimum in the next 48 hours",
        len(shifts),
    )
    lines = [
        _("Hello %(name)s,", name=recipient.display_name),
        "",
        _("These shifts of your teams have fewer volunteers than their minimum:"),
    ]
    for shift in shifts:
        team = shift.team.name
        lines.append(
            f"  {_when(shift.starts_at, shift.ends_at)}  {team}  "
            + _("%(assigned)d of at least %(minimum)d", assigned=shift.assigned_count, minimum=shift.min_volunteers)
        )
    lines += ["", _("Assign volunteers in the roster: %(link)s", link=_link("/roster/"))]
    key = min(d.subject_id for d in dues)
    return Mail(recipient.email, subject, "\n".join(lines), _message_id(dues[0].kind, key, recipient.id))


def shift_reminders_due(now: dt.datetime) -> list[Due]:
    hours = current_app.config.get("SHIFT_REMINDER_HOURS", 24)
    kind = NotificationKind.SHIFT_REMINDER
    on, where = _needs_sending(kind, Assignment.id, Assignment.volunteer_id, now)
    query = (
        sa.select(Assignment, User)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(User, User.id == Assignment.volunteer_id)
        .outerjoin(Notification, on)
        .where(
            Assignment.status == AssignmentStatus.ASSIGNED,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at > now,
            Shift.starts_at <= now + dt.timedelta(hours=hours),
            User.active.is_(True),
            where,
        )
        .options(orm.contains_eager(Assignment.shift).joinedload(Shift.team))
        .order_by(Shift.starts_at, Assignment.id)
    )
    return [Due(kind, a.id, user, a) for a, user in db.session.execute(query).unique()]


def contact_day_reminders_due(now: dt.datetime) -> list[Due]:
    hours = current_app.config.get("CONTACT_DAY_REMINDER_HOURS", 72)
    kind = NotificationKind.CONTACT_DAY_REMINDER
    official = occurrence_officials.c.user_id
    on, where = _needs_sending(kind, Occurrence.id, official, now)
    query = (
        sa.select(Occurrence, User)
        .join(Programme, Programme.id == Occurrence.programme_id)
        .join(occurrence_officials, occurrence_officials.c.occurrence_id == Occurrence.id)
        .join(User, User.id == official)
        .outerjoin(Notification, on)
        .where(
            Programme.kind == ProgrammeKind.CONTACT_DAY,
            Occurrence.status == OccurrenceStatus.SCHEDULED,
            Occurrence.starts_at > now,
            Occurrence.starts_at <= now + dt.timedelta(hours=hours),
            User.active.is_(True),
            where,
        )
        .options(orm.joinedload(Occurrence.community), orm.joinedload(Occurrence.venue))
        .order_by(Occurrence.starts_at, Occurrence.id)
    )
    return [Due(kind, occ.id, user, occ) for occ, user in db.session.execute(query).unique()]


def understaffed_due(now: dt.datetime) -> list[Due]:
    kind = NotificationKind.UNDERSTAFFED_ALERT
    on, where = _needs_sending(kind, Shift.id, TeamMembership.user_id, now)
    query = (
        sa.select(Shift, User)
        .join(PatrolTeam, PatrolTeam.id == Shift.team_id)
        .join(
            TeamMembership,
            sa.and_(TeamMembership.team_id == Shift.team_id, TeamMembership.role == MembershipRole.COORDINATOR),
        )
        .join(User, User.id == TeamMembership.user_id)
        .outerjoin(Notification, on)
        .where(
            Shift.understaffed,
            Shift.starts_at > now,
            Shift.starts_at <= now + UNDERSTAFFED_WINDOW,
            PatrolTeam.active.is_(True),
            User.active.is_(True),
            where,
        )
        .options(orm.contains_eager(Shift.team))
        .order_by(Shift.starts_at, Shift.id)
    )
    return [Due(kind, shift.id, user, shift) for shift, user in db.session.execute(query).unique()]


def send_due_reminders(now: dt.datetime | None = None) -> DeliveryResult:
    """Shift reminders to assigned volunteers and contact-day reminders to officials (commits)."""
    now = now or utcnow()
    result = _deliver(shift_reminders_due(now), _compose_shift, now)
    return result + _deliver(contact_day_reminders_due(now), _compose_contact_day, now)


def alert_understaffed(now: dt.datetime | None = None) -> DeliveryResult:
    """One digest per coordinator of their teams' shifts below minimum in the next 48 hours (commits)."""
    now = now or utcnow()
    return _deliver(understaffed_due(now), _compose_understaffed, now, digest=True)
