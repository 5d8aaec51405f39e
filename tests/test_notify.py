"""The notification outbox end to end: a real SMTP server (aiosmtpd) and a real HTTP server for SMS and chat."""

from __future__ import annotations

import email
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import icalendar
import pytest
import sqlalchemy as sa

from models import OutboxChannel, OutboxMessage, OutboxStatus, Role, db
from scheduler import notify_sender
from services import assignments
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
