"""Reminders against a real SMTP server (aiosmtpd): queued on the outbox and sent exactly once, also across restarts."""

from __future__ import annotations

import datetime as dt
import email
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from models import (
    AssignmentStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    Role,
    db,
    occurrence_officials,
    utcnow,
)
from scheduler import notify_sender, reminders
from scheduler.occurrences import generate_occurrences
from tests.factories import make_team, make_user
from tests.schedule_builders import contact_day_series, make_shift, staff
from timeutil import to_local

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Collect:
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content)
        message["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    handler.url = app.config["SMTP_URL"]
    yield handler
    controller.stop()


def outbox_rows(**where) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
    return db.session.scalars(query).all()


def plain(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def decoded(header: str) -> str:
    return str(email.header.make_header(email.header.decode_header(header)))


def soon(hours: float) -> tuple[dt.date, dt.time, dt.time]:
    start = to_local(utcnow() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)
    end = start + dt.timedelta(hours=2)
    return start.date(), start.time(), end.time()


def assigned_shift_soon(hours: float = 3, **kw):
    volunteer = make_user(Role.VOLUNTEER, email=kw.pop("email", None), locale=kw.pop("locale", "zh_CN"))
    team = make_team(members=[volunteer])
    shift = make_shift(team, *soon(hours), min_volunteers=kw.pop("min_volunteers", 1), **kw)
    assignment = staff(shift, volunteer)
    return volunteer, shift, assignment


def test_shift_reminder_is_sent_once(app, smtp):
    volunteer, shift, assignment = assigned_shift_soon(3, locale="en", email="ann@test.example")
    assigned_shift_soon(30)  # outside the 24-hour window: not yet
    db.session.commit()
    first = reminders.send_due_reminders()
    assert (first.queued, first.sent, first.failed) == (1, 1, 0)
    [message] = smtp.messages
    [row] = outbox_rows()
    assert (row.kind, row.event_key, row.channel, row.locale, row.user_id, row.status, row.attempts) == (
        "shift_reminder",
        f"shift_reminder:{assignment.id}",
        OutboxChannel.EMAIL,
        "en",
        volunteer.id,
        OutboxStatus.SENT,
        1,
    )
    assert message["To"] == "ann@test.example" and message["Subject"].startswith("Patrol shift reminder")
    assert message["Message-ID"] == notify_sender.message_id(row)
    body = {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk() if not p.is_multipart()}
    assert shift.team.name_en in body["text/plain"] and shift.team.name_en in body["text/html"]
    assert "text/calendar" not in body  # a reminder changes nothing in the calendar
    again = reminders.send_due_reminders()
    assert (again.queued, again.sent) == (0, 0)
    assert len(smtp.messages) == 1 and len(outbox_rows()) == 1
    note = db.session.scalar(sa.select(Notification))  # the ledger: handed to the outbox once
    assert (note.kind, note.subject_id, note.recipient_id, note.status) == (
        NotificationKind.SHIFT_REMINDER,
        assignment.id,
        volunteer.id,
        NotificationStatus.SENT,
    )


def test_reminder_in_the_volunteers_language(app, smtp):
    _, shift, _ = assigned_shift_soon(3, locale="zh_CN")
    db.session.commit()
    reminders.send_due_reminders()
    [message] = smtp.messages
    assert decoded(message["Subject"]).startswith("巡逻班次提醒")
    body = plain(message)
    assert shift.team.name_zh in body and shift.team.name_en not in body and shift.area_zh in body


def test_reminder_by_the_channels_the_volunteer_chose(app, smtp):
    """SMS only: no email, one SMS row (the log-only provider without SMS_URL)."""
    volunteer, _shift, assignment = assigned_shift_soon(3, locale="en")
    volunteer.phone, volunteer.notify_sms, volunteer.notify_email = "13812345678", True, False
    db.session.commit()
    run = reminders.send_due_reminders()
    assert (run.queued, run.sent) == (1, 1) and smtp.messages == []
    [row] = outbox_rows()
    assert (row.channel, row.address, row.event_key) == (
        OutboxChannel.SMS,
        "13812345678",
        f"shift_reminder:{assignment.id}",
    )


def test_failed_send_is_retried_with_backoff_then_sent_once(app, smtp):
    assigned_shift_soon(3)
    db.session.commit()
    smtp.refuse = True
    run = reminders.send_due_reminders()
    assert (run.queued, run.sent, run.retrying) == (1, 0, 1)
    [row] = outbox_rows()
    assert row.status is OutboxStatus.PENDING and "451" in row.last_error
    smtp.refuse = False
    assert reminders.send_due_reminders().sent == 0  # not before its backoff
    later = utcnow() + dt.timedelta(seconds=61)
    assert notify_sender.send_due(later).sent == 1
    assert notify_sender.send_due(later).sent == 0
    assert reminders.send_due_reminders().queued == 0  # never queued a second time
    assert len(smtp.messages) == 1
    db.session.refresh(row)
    assert row.status is OutboxStatus.SENT and row.attempts == 2


def test_a_missed_reminder_is_sent_late_not_lost(app, smtp):
    """The scheduler was down when the reminder fell due: it goes out while the shift is still ahead."""
    assigned_shift_soon(0.5)
    db.session.commit()
    assert reminders.send_due_reminders().sent == 1


def test_an_old_ledgers_failed_reminder_is_queued_once(app, smtp):
    """A reminder the pre-outbox sender failed (tries left) is handed to the outbox once; a sent one never."""
    volunteer, _shift, assignment = assigned_shift_soon(3)
    sent_volunteer, _other, sent_assignment = assigned_shift_soon(4)
    kind = NotificationKind.SHIFT_REMINDER
    db.session.add_all(
        [
            Notification(
                kind=kind,
                subject_id=assignment.id,
                recipient_id=volunteer.id,
                attempts=1,
                status=NotificationStatus.FAILED,
                last_error="451",
            ),
            Notification(
                kind=kind,
                subject_id=sent_assignment.id,
                recipient_id=sent_volunteer.id,
                attempts=1,
                status=NotificationStatus.SENT,
            ),
        ]
    )
    db.session.commit()
    run = reminders.send_due_reminders()
    assert (run.queued, run.sent) == (1, 1)
    assert [m["To"] for m in smtp.messages] == [volunteer.email]
    assert reminders.send_due_reminders().queued == 0
    assert set(db.session.scalars(sa.select(Notification.status))) == {NotificationStatus.SENT}


def test_dropped_assignments_get_no_reminder(app, smtp):
    _, shift, assignment = assigned_shift_soon(3)
    assignment.status = AssignmentStatus.DROPPED
    shift.assigned_count = 0
    db.session.commit()
    assert reminders.send_due_reminders().sent == 0 and smtp.messages == []


def test_contact_day_reminder_to_each_official_once(app, smtp):
    officials = [make_user(Role.OFFICIAL, locale="en"), make_user(Role.OFFICIAL)]
    day = (utcnow() + dt.timedelta(days=2)).date()
    series = contact_day_series(sites=1, officials=officials, starts_on=day - dt.timedelta(days=40))
    series.rrule = "FREQ=DAILY"  # a session two days ahead, inside the 72-hour window
    generate_occurrences(day, day)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(occurrence_officials)) == 2
    run = reminders.send_due_reminders()
    assert (run.queued, run.sent) == (2, 2)
    assert sorted(m["To"] for m in smtp.messages) == sorted(o.email for o in officials)
    english = next(m for m in smtp.messages if m["To"] == officials[0].email)
    assert english["Subject"].startswith("Contact day ")
    assert "You are expected at this contact day session" in plain(english)
    assert {r.locale for r in outbox_rows()} == {"en", "zh_CN"}
    again = reminders.send_due_reminders()
    assert (again.queued, again.sent) == (0, 0) and len(smtp.messages) == 2


def test_understaffed_alert_one_digest_per_coordinator(app, smtp):
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example", locale="en")
    team = make_team(coordinator=coordinator)
    for hours in (5, 20, 40, 60):  # the last is beyond 48 hours
        make_shift(team, *soon(hours), min_volunteers=2)
    full = make_shift(team, *soon(10), min_volunteers=1)
    staff(full)
    other = make_team(coordinator=make_user(Role.COORDINATOR))
    make_shift(other, *soon(8), min_volunteers=3)
    db.session.commit()
    result = reminders.alert_understaffed()
    assert result.queued == 4  # three shifts for one coordinator, one for the other
    assert result.sent == 2 and len(smtp.messages) == 2  # one digest each
    mine = next(m for m in smtp.messages if m["To"] == "coord@test.example")
    assert mine["Subject"].startswith("3 patrol shifts below their minimum")
    assert plain(mine).count(team.name_en) == 3
    again = reminders.alert_understaffed()
    assert (again.queued, again.sent) == (0, 0) and len(smtp.messages) == 2
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Notification.kind == NotificationKind.UNDERSTAFFED_ALERT))
        == 4
    )
    assert len(outbox_rows(kind="understaffed_alert")) == 2
    # A shift newly short after the digest gets a digest of its own; the alerted ones are not repeated.
    later = make_shift(team, *soon(30), min_volunteers=1)
    db.session.commit()
    third = reminders.alert_understaffed()
    assert (third.queued, third.sent) == (1, 1)
    assert smtp.messages[-1]["Subject"].startswith("1 patrol shift below its minimum")
    assert later.id == outbox_rows(kind="understaffed_alert")[-1].context["shifts"][0]["shift_id"]


def test_without_smtp_url_reminders_are_logged(app, caplog):
    # Alembic's fileConfig (run by migration tests) disables loggers that existed before it.
    logging.getLogger("scheduler.mailer").disabled = False
    app.config["SMTP_URL"] = ""
    assigned_shift_soon(3)
    db.session.commit()
    with caplog.at_level("INFO", logger="scheduler.mailer"):
        assert reminders.send_due_reminders().sent == 1
    assert "SMTP_URL is not set" in caplog.text


# --- a real scheduler process, stopped and started again ---------------------------------------


class Process:
    """`flask --app app scheduler run` in a subprocess, with its output read line by line."""

    def __init__(self, database_url: str, smtp_url: str = ""):
        env = dict(
            os.environ, DATABASE_URL=database_url, SMTP_URL=smtp_url, PYTHONUNBUFFERED="1", SECRET_KEY="test-secret"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.seen):
                return True
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    return any(text in line for line in self.seen)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.mark.slow
def test_scheduler_process_restart_sends_nothing_twice(app, smtp, database_url):
    assigned_shift_soon(3)
    db.session.commit()
    db.session.remove()
    first = Process(database_url, smtp.url)
    try:
        assert first.wait_for("job send_reminders done"), "".join(first.seen)
    finally:
        first.stop()
    assert len(smtp.messages) == 1
    second = Process(database_url, smtp.url)
    try:
        assert second.wait_for("job send_reminders done"), "".join(second.seen)
        assert second.wait_for("job send_notifications done"), "".join(second.seen)
    finally:
        second.stop()
    assert len(smtp.messages) == 1
    [row] = outbox_rows()
    assert (row.kind, row.status, row.attempts) == ("shift_reminder", OutboxStatus.SENT, 1)
    assert db.session.scalar(sa.select(Notification.status)) is NotificationStatus.SENT


@pytest.mark.slow
def test_a_killed_senders_claim_is_sent_by_the_next_scheduler_within_a_minute(app, smtp, database_url):
    """kill -9 in the middle of a send: the reminder (shift in 2 hours) still goes out, soon, with its Message-ID."""
    assigned_shift_soon(2)
    db.session.commit()
    db.session.remove()
    # A mail server that accepts the connection and never greets: the sender hangs inside its send.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    first = Process(database_url, f"smtp://127.0.0.1:{silent.getsockname()[1]}")
    try:
        deadline = time.monotonic() + 60
        while True:  # the claim is committed (attempt counted) before the send starts
            row = db.session.scalar(sa.select(OutboxMessage))
            if row is not None and row.attempts == 1:
                break
            db.session.remove()
            assert time.monotonic() < deadline, "".join(first.seen)
            time.sleep(0.2)
        assert row.status is OutboxStatus.SENDING and row.kind == "shift_reminder"
        expected_id = notify_sender.message_id(row)
        db.session.remove()
        first.proc.kill()  # no chance to record anything
        first.proc.wait()
        killed_at = time.monotonic()
    finally:
        first.stop()
        silent.close()

    second = Process(database_url, smtp.url)
    try:
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        assert second.wait_for("job send_reminders done", timeout=60), "".join(second.seen)
    finally:
        second.stop()
    assert time.monotonic() - killed_at < 60
    assert [m["Message-ID"] for m in smtp.messages] == [expected_id]
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.status is OutboxStatus.SENT and row.attempts == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1  # never queued twice


def test_recovery_makes_only_claims_in_flight_due(app, smtp):
    assigned_shift_soon(3)
    db.session.commit()
    assert reminders.send_due_reminders().sent == 1
    assert notify_sender.recover_orphaned() == 0  # a sent reminder stays sent
    [row] = outbox_rows()
    row.status, row.next_attempt_at = OutboxStatus.SENDING, utcnow() + notify_sender.LEASE  # as a killed sender
    db.session.commit()
    assert reminders.send_due_reminders().sent == 0  # a live claim is not taken over
    assert notify_sender.recover_orphaned() == 1
    assert reminders.send_due_reminders().sent == 1
    assert len(smtp.messages) == 2 and smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]
