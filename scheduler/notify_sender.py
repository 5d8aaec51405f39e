"""The outbox sender: claims due rows, renders each in its recipient's language, delivers, records.

Claim: PostgreSQL picks due rows `FOR UPDATE SKIP LOCKED` (two senders never take the same row);
SQLite has a single writer. A claimed row is marked `sending` with its attempt counted and a
lease (`next_attempt_at` = now + LEASE), and the claim is committed before anything is sent.
Each delivered row is marked `sent` in its own commit, so a sender killed mid-batch loses at
most the one message in flight: on restart `recover_orphaned` makes `sending` rows due again, and
that one message is re-sent with the same Message-ID (mail systems drop the duplicate); every
other message is sent exactly once. A failure is retried after BACKOFF × 2^(attempts-1), and
given up as `failed` (error kept, shown on /admin/notifications) after MAX_ATTEMPTS. A kind's
secret context keys (a one-time code) are blanked in the same commit that records `sent` or
`failed`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from models import OutboxChannel, OutboxMessage, OutboxStatus, db, utcnow
from services import notify

from .channels import DeliveryError, send_chat, sms_provider
from .mailer import Mail, Mailer, MailError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = dt.timedelta(seconds=60)
LEASE = dt.timedelta(minutes=10)
BATCH = 200


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` failed ones: 60 s, 120 s, 240 s, …"""
    base = current_app.config.get("NOTIFY_BACKOFF_SECONDS", BACKOFF.total_seconds())
    return dt.timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def recover_orphaned(now: dt.datetime | None = None) -> int:
    """Claims left `sending` by a sender that is gone become due now (commits). Call on start."""
    recovered = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now or utcnow())
    ).rowcount
    db.session.commit()
    if recovered:
        log.warning("recovered %d notification(s) left in flight by a sender that stopped", recovered)
    return recovered


def _claim(now: dt.datetime, batch: int) -> list[int]:
    due = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        # a lease that ran out: its sender is stuck or dead
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.next_attempt_at <= now),
    )
    query = sa.select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    query = query.limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        # The UPDATE re-checks that each row is still due: on SQLite (no SKIP LOCKED) a second
        # sender that selected the same rows claims none of them (writes are serialised).
        table = OutboxMessage.__table__
        ids = sorted(
            db.session.scalars(
                sa.update(table)
                .where(table.c.id.in_(ids), _due_sql(table, now))
                .values(status=OutboxStatus.SENDING.value, attempts=table.c.attempts + 1, next_attempt_at=now + LEASE)
                .returning(table.c.id)
            )
        )
    db.session.commit()  # the claim is durable before anything is sent
    return ids


def _due_sql(columns, now: dt.datetime):
    return sa.and_(
        columns.c.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
        columns.c.next_attempt_at <= now,
    )


def message_id(row: OutboxMessage) -> str:
    domain = current_app.config.get("MAIL_FROM", "noreply@sip-schedule.example").rpartition("@")[2] or "localhost"
    return f"<outbox.{row.id}@{domain}>"


class _Channels:
    def __init__(self, mailer: Mailer):
        self.mailer = mailer
        self.sms = sms_provider(current_app.config)

    def deliver(self, row: OutboxMessage) -> None:
        rendered = notify.render(row)
        if row.channel is OutboxChannel.EMAIL:
            self.mailer.send(
                Mail(
                    row.address,
                    rendered.subject,
                    rendered.text,
                    message_id(row),
                    html=rendered.html,
                    ical=rendered.ical,
                    ical_method=rendered.ical_method or "REQUEST",
                )
            )
        elif row.channel is OutboxChannel.SMS:
            self.sms.send(row.address, rendered.sms, message_id(row))
        else:
            send_chat(row.address, rendered.subject, rendered.text)


def send_due(
    now: dt.datetime | None = None,
    *,
    batch: int = BATCH,
    limit: int | None = None,
    after_each: Callable[[OutboxMessage], None] | None = None,
) -> SendResult:
    """Deliver every row due at `now` (default: the clock), in batches; returns the counts."""
    result = SendResult()
    config = current_app.config
    max_attempts = config.get("NOTIFY_MAX_ATTEMPTS", MAX_ATTEMPTS)
    outcome_batch = max(1, int(config.get("NOTIFY_OUTCOME_BATCH", 1)))
    done = 0
    with Mailer(config.get("SMTP_URL", ""), config.get("MAIL_FROM", "noreply@sip-schedule.example")) as mailer:
        channels = _Channels(mailer)
        while limit is None or done < limit:
            at = now or utcnow()
            ids = _claim(at, batch if limit is None else min(batch, limit - done))
            if not ids:
                break
            rows = db.session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
            )
            pending_commit = 0
            for row in rows.all():
                try:
                    channels.deliver(row)
                except (MailError, DeliveryError, LookupError, KeyError, ValueError) as exc:
                    row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    if row.attempts >= max_attempts:
                        row.status = OutboxStatus.FAILED
                        notify.forget_secrets(row)
                        result.failed += 1
                    else:
                        row.status = OutboxStatus.PENDING
                        row.next_attempt_at = (now or utcnow()) + backoff(row.attempts)
                        result.retrying += 1
                    log.warning("notification %s (%s, %s) failed: %s", row.id, row.kind, row.channel.value, exc)
                else:
                    row.status = OutboxStatus.SENT
                    row.sent_at = utcnow()
                    row.last_error = ""
                    notify.forget_secrets(row)  # a one-time code is not kept once it is out
                    result.sent += 1
                pending_commit += 1
                # Default 1: each outcome is durable at once, so a crash repeats at most the one
                # message in flight. A larger NOTIFY_OUTCOME_BATCH trades that for throughput on
                # slow-fsync disks (a crash may then repeat up to that many, same Message-IDs).
                if pending_commit >= outcome_batch:
                    db.session.commit()
                    pending_commit = 0
                if after_each is not None:
                    after_each(row)
            db.session.commit()
            done += len(ids)
    return result
