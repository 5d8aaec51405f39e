"""Reminders and alerts, queued on the notification outbox exactly once each, also across restarts.

Three kinds: a volunteer's shift reminder (SHIFT_REMINDER_HOURS before the start), an official's
contact-day reminder (CONTACT_DAY_REMINDER_HOURS before) and a coordinator's digest of their teams'
understaffed shifts in the next 48 hours. They travel the same pipeline as every other message:

- **Queue.** The `notifications` table is the reminders' ledger, one row per (kind, subject,
  recipient) with its unique key. A run inserts the ledger rows of what is due and, in the SAME
  transaction, the outbox rows (`services/notify.enqueue`: one per channel the person chose, the
  event key naming the reminder, rendered later in the person's language). A second run, or a
  restarted scheduler, finds the ledger rows and queues nothing; the outbox's own unique key
  (event, recipient, channel) is the second lock on the door. A ledger row therefore means "handed
  to the outbox" (status SENT); the message's delivery is its outbox row's.
- **Deliver.** The outbox sender (`scheduler/notify_sender.py`): claims, retries with backoff,
  recovers a sender killed mid-send, shows failures on /admin/notifications. The reminder jobs
  run it right after queuing, so a reminder goes out in the run that finds it (the every-minute
  sender job would take it too; the sender's claim keeps two senders off one row).

A reminder the scheduler was down for is queued by the next run as long as its shift or session
has not started. Ledger rows written before reminders moved onto the outbox and left pending or
failed (with attempts to spare) are queued once more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
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
from services import notify_events
from services.notify import Recipient, enqueue, iso

from .dbutil import insert_ignoring_conflicts

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # of a ledger row from before the outbox: how often it was tried by the old sender
UNDERSTAFFED_WINDOW = dt.timedelta(hours=48)


@dataclass
class Due:
    kind: NotificationKind
    subject_id: int
    recipient: User
    item: object  # the assignment, occurrence or shift the message is about


@dataclass
class ReminderRun:
    """`queued`: reminders handed to the outbox (a digest counts each shift); the rest: the sender's run."""

    queued: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _needs_queueing(kind: NotificationKind, subject_column, recipient_column):
    """Join condition and filter: no ledger row yet, or an old sender's pending/failed one with tries left."""
    on = sa.and_(
        Notification.kind == kind,
        Notification.subject_id == subject_column,
        Notification.recipient_id == recipient_column,
    )
    where = sa.or_(
        Notification.id.is_(None),
        sa.and_(Notification.status != NotificationStatus.SENT, Notification.attempts < MAX_ATTEMPTS),
    )
    return on, where


def _claim(dues: list[Due]) -> set[tuple]:
    """Ledger rows for `dues` (in the caller's transaction): the keys this run queues.

    New keys are inserted (a conflict means another run has them); an old sender's retryable
    row is taken over by a conditional UPDATE, so it, too, is queued by one run only.
    """
    now = utcnow()
    keys = {(d.kind, d.subject_id, d.recipient.id) for d in dues}
    table = Notification.__table__
    rows = [
        {
            "kind": kind,
            "subject_id": subject,
            "recipient_id": recipient,
            "status": NotificationStatus.SENT,
            "attempts": 0,
            "created_at": now,
            "sent_at": now,
            "last_error": "",
        }
        for kind, subject, recipient in keys
    ]
    inserted = db.session.execute(
        insert_ignoring_conflicts(table, ["kind", "subject_id", "recipient_id"]).returning(
            table.c.kind, table.c.subject_id, table.c.recipient_id
        ),
        rows,
    ).all()
    mine = {(NotificationKind(k) if isinstance(k, str) else k, s, r) for k, s, r in inserted}
    rest = keys - mine
    if rest:
        leftovers = db.session.execute(
            sa.select(Notification.id, Notification.kind, Notification.subject_id, Notification.recipient_id).where(
                Notification.kind.in_({k for k, _s, _r in rest}),
                Notification.subject_id.in_({s for _k, s, _r in rest}),
                Notification.recipient_id.in_({r for _k, _s, r in rest}),
                Notification.status != NotificationStatus.SENT,
                Notification.attempts < MAX_ATTEMPTS,
            )
        ).all()
        ids = [row.id for row in leftovers if (row.kind, row.subject_id, row.recipient_id) in rest]
        if ids:
            taken = db.session.execute(
                sa.update(table)
                .where(table.c.id.in_(ids), table.c.status != NotificationStatus.SENT.value)
                .values(status=NotificationStatus.SENT.value, sent_at=now, last_error="")
                .returning(table.c.kind, table.c.subject_id, table.c.recipient_id)
            ).all()
            mine |= {(NotificationKind(k) if isinstance(k, str) else k, s, r) for k, s, r in taken}
    return mine


def _queue(dues: list[Due], digest: bool = False) -> int:
    """Ledger rows and outbox rows of `dues`, one transaction (commits). Returns the reminders queued."""
    if not dues:
        return 0
    mine = _claim(dues)
    groups: dict[tuple, list[Due]] = defaultdict(list)
    for due in dues:
        key = (due.kind, due.subject_id, due.recipient.id)
        if key in mine:
            groups[(due.recipient.id,) if digest else key].append(due)
    for group in groups.values():
        first = group[0]
        kind = first.kind.value
        if first.kind is NotificationKind.SHIFT_REMINDER:
            event_key = f"{kind}:{first.subject_id}"
            context = _shift_context(first.item)
        elif first.kind is NotificationKind.CONTACT_DAY_REMINDER:
            event_key = f"{kind}:{first.subject_id}"
            context = _contact_day_context(first.item)
        else:
            shifts = sorted((d.item for d in group), key=lambda s: (s.starts_at, s.id))
            ids = ",".join(str(s.id) for s in shifts)
            event_key = f"{kind}:{first.recipient.id}:{hashlib.sha256(ids.encode()).hexdigest()[:24]}"
            context = _digest_context(shifts)
        enqueue(kind, event_key, [Recipient.user(first.recipient)], context)
    db.session.commit()
    return sum(len(group) for group in groups.values())


# --- what a reminder's message needs, as JSON (rendered at send time: services/notify_events.py) --


def _shift_context(assignment: Assignment) -> dict:
    return notify_events.shift_context(assignment.shift) | {"ical": None}


def _contact_day_context(occurrence: Occurrence) -> dict:
    venue = occurrence.venue
    return notify_events.occurrence_context(occurrence) | {
        "ical": None,
        "venue_zh": venue.name_zh if venue is not None else "",
        "venue_en": venue.name_en if venue is not None else "",
        "address_zh": venue.address_zh if venue is not None else "",
        "address_en": venue.address_en if venue is not None else "",
        "note_zh": occurrence.note_zh or "",
        "note_en": occurrence.note_en or "",
    }


def _digest_context(shifts: list[Shift]) -> dict:
    return {
        "shifts": [
            {
                "shift_id": s.id,
                "team_zh": s.team.name_zh,
                "team_en": s.team.name_en or s.team.name_zh,
                "start": iso(s.starts_at),
                "end": iso(s.ends_at),
                "assigned": s.assigned_count or 0,
                "minimum": s.min_volunteers or 0,
            }
            for s in shifts
        ]
    }


# --- what is due ---------------------------------------------------------------------------------


def shift_reminders_due(now: dt.datetime) -> list[Due]:
    hours = current_app.config.get("SHIFT_REMINDER_HOURS", 24)
    kind = NotificationKind.SHIFT_REMINDER
    on, where = _needs_queueing(kind, Assignment.id, Assignment.volunteer_id)
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
    on, where = _needs_queueing(kind, Occurrence.id, official)
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
    on, where = _needs_queueing(kind, Shift.id, TeamMembership.user_id)
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


# --- the jobs ------------------------------------------------------------------------------------


def queue_due_reminders(now: dt.datetime | None = None) -> int:
    """Queue the due shift and contact-day reminders on the outbox (commits); returns how many."""
    now = now or utcnow()
    return _queue(shift_reminders_due(now)) + _queue(contact_day_reminders_due(now))


def queue_understaffed(now: dt.datetime | None = None) -> int:
    """Queue one digest per coordinator of their teams' shifts newly below minimum (commits)."""
    return _queue(understaffed_due(now or utcnow()), digest=True)


def _then_send(queued: int) -> ReminderRun:
    from .notify_sender import send_due

    result = send_due()
    return ReminderRun(queued, result.sent, result.retrying, result.failed)


def send_due_reminders(now: dt.datetime | None = None) -> ReminderRun:
    """The reminders job: queue what is due, then run the outbox sender (commits)."""
    return _then_send(queue_due_reminders(now))


def alert_understaffed(now: dt.datetime | None = None) -> ReminderRun:
    """The understaffing job: queue the digests, then run the outbox sender (commits)."""
    return _then_send(queue_understaffed(now))
