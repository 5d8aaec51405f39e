"""The notification outbox end to end: a real SMTP server (aiosmtpd) and a real HTTP server for SMS and chat."""

from __future__ import annotations

import datetime as dt
import email
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import icalendar
import pytest
import sqlalchemy as sa

from models import OutboxChannel, OutboxMessage, OutboxStatus, Role, User, db, utcnow
from scheduler import notify_sender
from services import assignments, notify
from tests.factories import make_team, make_user
from tests.schedule_builders import make_shift
from tests.test_schedule_reminders import smtp, soon  # noqa: F401 - the SMTP fixture

__all__ = ["smtp"]


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.received.append((self.path, json.loads(body or b"{}")))
        status = 503 if self.server.refuse else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_hook(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received = []
    server.refuse = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def parts(message: email.message.Message) -> dict[str, email.message.Message]:
    return {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}


def calendar_of(message) -> icalendar.Calendar:
    part = parts(message)["text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def team_with(locale: str = "en", **kw):
    coordinator = make_user(Role.COORDINATOR, locale=locale)
    volunteer = make_user(Role.VOLUNTEER, locale=locale, email=kw.pop("email", None))
    team = make_team(coordinator=coordinator, members=[volunteer])
    shift = make_shift(team, *soon(kw.pop("hours", 72)), min_volunteers=kw.pop("min_volunteers", 1), **kw)
    db.session.commit()
    return coordinator, volunteer, team, shift


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_assign_sends_an_imip_request_with_the_feed_uid(app, smtp, locale):
    coordinator, volunteer, team, shift = team_with(locale)
    assignment = assignments.assign(coordinator, shift.id, volunteer.id)
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [(r.kind, r.channel, r.status) for r in rows] == [
        ("volunteer_assigned", OutboxChannel.EMAIL, OutboxStatus.PENDING)
    ]
    result = notify_sender.send_due()
    assert (result.sent, result.failed) == (1, 0)
    [message] = smtp.messages
    assert message["To"] == volunteer.email
    subject = "New patrol shift" if locale == "en" else "新的巡逻班次"
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))).startswith(subject)
    found = parts(message)
    assert set(found) == {"text/plain", "text/html", "text/calendar"}
    assert found["text/calendar"].get_param("method") == "REQUEST"
    assert "style=" not in found["text/html"].get_payload(decode=True).decode()
    team_name = team.name_en if locale == "en" else team.name_zh
    assert team_name in found["text/plain"].get_payload(decode=True).decode()
    cal = calendar_of(message)
    [ev] = cal.walk("VEVENT")
    db.session.refresh(shift)
    assert cal["METHOD"] == "REQUEST"
    assert str(ev["UID"]) == shift.uid and int(ev["SEQUENCE"]) == shift.sequence
    assert str(ev["ORGANIZER"]).startswith("mailto:") and str(ev["ATTENDEE"]) == f"mailto:{volunteer.email}"
    assert notify_sender.send_due().sent == 0  # once
    assert db.session.scalar(sa.select(OutboxMessage.status)) is OutboxStatus.SENT
    assert assignment.id


def sent_calendars(smtp) -> list[icalendar.Calendar]:
    return [calendar_of(m) for m in smtp.messages if "text/calendar" in parts(m)]


def test_move_sends_a_request_with_a_higher_sequence_and_removal_a_cancel(app, smtp):
    from services import shift_changes

    coordinator, volunteer, team, shift = team_with("en")
    assignment = assignments.assign(coordinator, shift.id, volunteer.id)
    later = shift.starts_at + dt.timedelta(hours=1)
    shift_changes.move_shift(coordinator, shift.id, later, later + dt.timedelta(hours=2))
    assignments.unassign(coordinator, assignment.id)
    assert notify_sender.send_due().sent == 4  # and the coordinator hears the shift is now understaffed
    assert [m["To"] for m in smtp.messages].count(coordinator.email) == 1
    cals = [calendar_of(m) for m in smtp.messages if m["To"] == volunteer.email]
    assert [str(c["METHOD"]) for c in cals] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [c.walk("VEVENT")[0] for c in cals]
    assert {str(e["UID"]) for e in events} == {shift.uid}
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences[0] < sequences[1] <= sequences[2]
    assert events[1]["DTSTART"].dt == later
    assert str(events[2]["STATUS"]) == "CANCELLED"
    # the feed carries the same UID and the SEQUENCE of the last change
    db.session.refresh(shift)
    assert shift.sequence == sequences[2]


def test_cancelled_shift_sends_cancel_to_each_volunteer(app, smtp):
    from services import shift_changes

    coordinator, volunteer, team, shift = team_with("zh_CN", min_volunteers=1)
    other = make_user(Role.VOLUNTEER, locale="en")
    from models import MembershipRole, TeamMembership

    db.session.add(TeamMembership(team=team, user=other, role=MembershipRole.MEMBER))
    db.session.commit()
    shift.max_volunteers = 5
    db.session.commit()
    assignments.assign(coordinator, shift.id, volunteer.id)
    assignments.assign(coordinator, shift.id, other.id)
    shift_changes.cancel_shift(coordinator, shift.id)
    notify_sender.send_due()
    cancels = [
        m
        for m in smtp.messages
        if parts(m).get("text/calendar") is not None and parts(m)["text/calendar"].get_param("method") == "CANCEL"
    ]
    assert sorted(m["To"] for m in cancels) == sorted([volunteer.email, other.email])


def test_second_parser_reads_the_invitation(app, smtp):
    """`ical` (a second, independent parser) reads the iMIP part: METHOD, UID, SEQUENCE, ORGANIZER, ATTENDEE."""
    from ical.calendar_stream import IcsCalendarStream

    coordinator, volunteer, team, shift = team_with("en")
    assignments.assign(coordinator, shift.id, volunteer.id)
    notify_sender.send_due()
    raw = parts(smtp.messages[0])["text/calendar"].get_payload(decode=True).decode()
    assert "METHOD:REQUEST" in raw
    cal = IcsCalendarStream.calendar_from_ics(raw)
    [ev] = cal.events
    db.session.refresh(shift)
    assert ev.uid == shift.uid and ev.sequence == shift.sequence
    assert ev.organizer is not None and ev.attendees and ev.attendees[0].uri == f"mailto:{volunteer.email}"


def test_enqueue_is_at_most_once_per_event_recipient_channel(app):
    user = make_user(Role.VOLUNTEER, phone="+8613800000000", notify_sms=True)
    db.session.commit()
    r = notify.Recipient.user(user)
    for _ in range(3):
        notify.enqueue("volunteer_assigned", "k:1", [r, r], {"start": "", "end": ""})
    db.session.commit()
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert sorted(row.channel.value for row in rows) == ["email", "sms"]


def test_enqueue_is_one_statement_for_many_recipients(app):
    users = [make_user(Role.VOLUNTEER) for _ in range(20)]
    db.session.commit()
    recipients = [notify.Recipient.user(u) for u in users]  # the caller's loaded users
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        notify.enqueue("volunteer_assigned", "k:many", recipients, {"x": 1})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    db.session.commit()
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 20


def test_a_notification_adds_one_insert_to_assign_and_nothing_else(app):
    """The cost to the request (bench/notifications.py): the outbox row is the only statement added."""
    coordinator = make_user(Role.COORDINATOR)
    volunteers = [make_user(Role.VOLUNTEER) for _ in range(2)]
    team = make_team(coordinator=coordinator, members=volunteers)
    shifts = [make_shift(team, *soon(72 + 24 * n), min_volunteers=1) for n in range(2)]
    db.session.commit()
    ids = [(s.id, v.id) for s, v in zip(shifts, volunteers, strict=True)]
    coordinator_id = coordinator.id
    seen: dict[bool, list[str]] = {}
    for enabled, (shift_id, volunteer_id) in zip((True, False), ids, strict=True):
        app.config["NOTIFICATIONS_ENABLED"] = enabled
        db.session.expunge_all()  # like a new request
        actor = db.session.get(User, coordinator_id)
        statements: list[str] = []

        def count(conn, cursor, statement, *args, into=statements):
            into.append(" ".join(statement.split()).upper())

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assignments.assign(actor, shift_id, volunteer_id)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        seen[enabled] = statements
    app.config["NOTIFICATIONS_ENABLED"] = True
    added = list(seen[True])
    for statement in seen[False]:
        added.remove(statement)
    assert [s.split(" (")[0] for s in added] == ["INSERT INTO OUTBOX_MESSAGES"]
    assert not any("FROM PATROL_TEAMS WHERE PATROL_TEAMS.ID =" in s for s in seen[True])  # the team came with the shift


def test_late_drop_tells_coordinators_and_the_team_chat(app, smtp, http_hook):
    coordinator, volunteer, team, shift = team_with("en", hours=30, min_volunteers=1)
    team.chat_webhook = f"json://127.0.0.1:{http_hook.server_address[1]}/robot"
    db.session.commit()
    app.config["DROP_CUTOFF_HOURS"] = 1
    assignment = assignments.sign_up(volunteer, shift.id)
    assignments.drop(volunteer, assignment.id)
    kinds = sorted((r.kind, r.channel.value) for r in db.session.scalars(sa.select(OutboxMessage)))
    assert kinds == [
        ("late_drop", "chat"),
        ("late_drop", "email"),
        ("roster_changed", "chat"),
        ("shift_understaffed", "chat"),
        ("shift_understaffed", "email"),
        ("signup_confirmed", "email"),
        ("volunteer_removed", "email"),
    ]
    result = notify_sender.send_due()
    assert (result.sent, result.failed, result.retrying) == (7, 0, 0)
    to_coordinator = [m for m in smtp.messages if m["To"] == coordinator.email]
    assert len(to_coordinator) == 2
    assert len(http_hook.received) == 3
    assert all(path == "/robot" for path, _ in http_hook.received)
    assert any(volunteer.name in json.dumps(body, ensure_ascii=False) for _, body in http_hook.received)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_swap_request_accept_and_decline(app, smtp, locale):
    coordinator, volunteer, team, shift = team_with(locale)
    mate = make_user(Role.VOLUNTEER, locale=locale)
    from models import MembershipRole, TeamMembership

    db.session.add(TeamMembership(team=team, user=mate, role=MembershipRole.MEMBER))
    db.session.commit()
    assignment = assignments.assign(coordinator, shift.id, volunteer.id)
    swap = assignments.request_swap(volunteer, assignment.id, mate.id)
    assignments.answer_swap(mate, swap.id, accept=False)
    swap2 = assignments.request_swap(volunteer, assignment.id, mate.id)
    assignments.answer_swap(mate, swap2.id, accept=True)
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.kind, r.user_id) for r in rows] == [
        ("volunteer_assigned", volunteer.id),
        ("swap_requested", mate.id),
        ("swap_declined", volunteer.id),
        ("swap_requested", mate.id),
        ("swap_accepted", volunteer.id),
        ("volunteer_assigned", mate.id),
    ]
    assert notify_sender.send_due().sent == 6
    accepted = smtp.messages[4]
    assert calendar_of(accepted)["METHOD"] == "CANCEL"
    text = parts(smtp.messages[1])["text/plain"].get_payload(decode=True).decode()
    assert volunteer.name in text


def test_sms_through_the_http_provider_and_backoff_on_failure(app, http_hook):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    user = make_user(Role.VOLUNTEER, phone="+8613800000001", notify_sms=True, notify_email=False, locale="en")
    db.session.commit()
    notify.enqueue(
        "contact_day_cancelled",
        "sms:1",
        [notify.Recipient.user(user)],
        {"place_zh": "社区", "place_en": "Community", "start": notify.iso(utcnow()), "end": notify.iso(utcnow())},
    )
    db.session.commit()
    http_hook.refuse = True
    now = utcnow()
    assert notify_sender.send_due(now).retrying == 1
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "503" in row.last_error
    assert row.next_attempt_at == now + dt.timedelta(seconds=60)
    assert notify_sender.send_due(now + dt.timedelta(seconds=59)).retrying == 0  # not due yet
    assert notify_sender.send_due(now + dt.timedelta(seconds=61)).retrying == 1
    db.session.refresh(row)
    assert row.next_attempt_at == now + dt.timedelta(seconds=61 + 120)  # 60 s × 2^(2-1)
    assert notify_sender.send_due(now + dt.timedelta(seconds=200)).failed == 1
    db.session.refresh(row)
    assert row.status is OutboxStatus.FAILED and row.attempts == 3
    http_hook.refuse = False
    assert notify.retry(row.id)
    db.session.commit()
    assert notify_sender.send_due().sent == 1
    path, body = http_hook.received[-1]
    assert path == "/sms" and body["to"] == "+8613800000001" and "Contact day cancelled" in body["text"]


def test_a_resident_without_account_gets_email_and_sms(app, smtp, http_hook):
    app.config["SMS_URL"] = http_hook.url + "/sms"
    r = notify.Recipient.resident(email="Res@Example.org", phone="+8613900000000", locale="en", name="Li")
    notify.enqueue(
        "contact_day_moved",
        "resident:1",
        [r],
        {"place_en": "Hall", "start": notify.iso(utcnow()), "end": notify.iso(utcnow())},
    )
    db.session.commit()
    assert notify_sender.send_due().sent == 2
    assert smtp.messages[0]["To"] == "res@example.org" and http_hook.received[0][1]["to"] == "+8613900000000"


def test_contact_day_moved_and_cancelled_tell_the_officials(app, smtp):
    from models import Occurrence
    from scheduler import occurrences as occ_service
    from scheduler.occurrences import generate_occurrences
    from tests.schedule_builders import contact_day_series

    officials = [make_user(Role.OFFICIAL, locale="en"), make_user(Role.OFFICIAL, locale="zh_CN")]
    day = (utcnow() + dt.timedelta(days=5)).date()
    series = contact_day_series(sites=1, officials=officials, starts_on=day - dt.timedelta(days=40))
    series.rrule = "FREQ=DAILY"
    generate_occurrences(day, day)
    db.session.commit()
    occurrence = db.session.scalar(sa.select(Occurrence))
    occ_service.move_occurrence(occurrence, day + dt.timedelta(days=1), dt.time(9), dt.time(11), officials[0])
    occ_service.cancel_occurrence(occurrence, officials[0])
    db.session.commit()
    assert notify_sender.send_due().sent == 4
    by_method = sorted((m["To"], calendar_of(m)["METHOD"]) for m in smtp.messages)
    assert by_method == sorted([(o.email, "REQUEST") for o in officials] + [(o.email, "CANCEL") for o in officials])
    uids = {str(calendar_of(m).walk("VEVENT")[0]["UID"]) for m in smtp.messages}
    assert uids == {occurrence.uid}


class SlowCollect:
    """An SMTP handler that takes a while per message, so a sender can be killed mid-batch."""

    def __init__(self, delay: float):
        self.delay = delay
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(self.delay)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def _sender(database_url: str, smtp_url: str, *extra: str):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, DATABASE_URL=database_url, SMTP_URL=smtp_url, SECRET_KEY="test-secret")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "notifications", "send", *extra],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_sender_killed_mid_batch_and_restarted_sends_each_message_once(app, database_url):
    """kill -9 in the middle of a batch: every message arrives, each Message-ID once (the one in flight at most twice)."""
    import time

    from aiosmtpd.controller import Controller

    from tests.test_schedule_reminders import free_port

    users = [make_user(Role.VOLUNTEER) for _ in range(40)]
    db.session.commit()
    notify.enqueue(
        "contact_day_cancelled",
        "kill:1",
        [notify.Recipient.user(u) for u in users],
        {"place_zh": "社区", "start": notify.iso(utcnow()), "end": notify.iso(utcnow())},
    )
    db.session.commit()
    db.session.remove()
    handler = SlowCollect(0.05)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    url = f"smtp://127.0.0.1:{controller.port}"
    try:
        first = _sender(database_url, url)
        deadline = time.monotonic() + 60
        while len(handler.messages) < 10:
            assert time.monotonic() < deadline and first.poll() is None, first.stdout.read()
            time.sleep(0.02)
        first.kill()  # SIGKILL: no chance to record anything
        first.wait()
        sent_before = len(handler.messages)
        assert sent_before < 40
        statuses = dict(
            db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()
        )
        assert statuses.get(OutboxStatus.SENDING, 0) > 0  # the rest of the claimed batch is in flight
        db.session.remove()
        second = _sender(database_url, url, "--recover")
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
    finally:
        controller.stop()
    ids = [m["Message-ID"] for m in handler.messages]
    assert len(set(ids)) == 40
    assert len(ids) - len(set(ids)) <= 1  # only a message accepted in the instant before the kill repeats
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.SENT)) == 40
