"""The iMIP invitations read by a second, independent parser: Mozilla's ical.js (Thunderbird's) under Node.

Assign → METHOD:REQUEST; move → REQUEST with a higher SEQUENCE; removal → CANCEL. Each with the
UID and SEQUENCE the volunteer's own feed has for the shift (the feed read by ical.js too), and the
iTIP parts a client needs (RFC 5546: METHOD, ORGANIZER, ATTENDEE, SEQUENCE, DTSTAMP).
"""

from __future__ import annotations

import datetime as dt

import pytest

from feeds import tokens
from models import db
from scheduler import notify_sender
from services import assignments, shift_changes
from tests.test_feeds_icaljs import node, parse_with_icaljs  # noqa: F401 - the Node fixture
from tests.test_notify import parts, smtp, team_with  # noqa: F401 - the SMTP fixture

__all__ = ["node", "smtp"]


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def invitations(smtp, to: str) -> list[bytes]:
    return [parts(m)["text/calendar"].get_payload(decode=True) for m in smtp.messages if m["To"] == to]


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_icaljs_reads_request_moved_request_and_cancel(app, client, smtp, node, tmp_path, locale):  # noqa: F811
    coordinator, volunteer, _team, shift = team_with(locale)
    feed = f"/feeds/v/{tokens.get_or_issue(user=volunteer).token}.ics"
    db.session.commit()

    def feed_event() -> dict:
        [event] = [e for e in parse_with_icaljs(node, client.get(feed).data, tmp_path)["events"] if e["uid"] == uid]
        return event

    assignment = assignments.assign(coordinator, shift.id, volunteer.id)
    uid = shift.uid
    notify_sender.send_due()
    in_feed_at_assign = feed_event()
    later = shift.starts_at + dt.timedelta(hours=1)
    shift_changes.move_shift(coordinator, shift.id, later, later + dt.timedelta(hours=2))
    notify_sender.send_due()
    in_feed_after_move = feed_event()
    assignments.unassign(coordinator, assignment.id)
    notify_sender.send_due()

    parsed = [parse_with_icaljs(node, body, tmp_path) for body in invitations(smtp, volunteer.email)]
    assert [p["calendar"]["method"] for p in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    events = []
    for p in parsed:
        [event] = p["events"]  # one VEVENT per invitation
        events.append(event)
        assert event["uid"] == uid
        assert event["organizer"].lower().startswith("mailto:")
        [attendee] = event["attendees"]
        assert attendee["value"].lower() == f"mailto:{volunteer.email}"
        assert event["dtstamp"] and event["summary"]
    request, moved, cancel = events
    # REQUEST: the feed's UID and SEQUENCE, the shift's times, an invitation that asks nothing back.
    assert request["sequence"] == in_feed_at_assign["sequence"]
    assert (_utc(request["start"]), _utc(request["end"])) == (
        _utc(in_feed_at_assign["start"]),
        _utc(in_feed_at_assign["end"]),
    )
    assert request["status"] == "CONFIRMED" and request["attendees"][0]["partstat"] == "NEEDS-ACTION"
    # The move: a higher SEQUENCE, the new times, both as the feed has them after the move.
    assert moved["sequence"] > request["sequence"]
    assert moved["sequence"] == in_feed_after_move["sequence"]
    assert _utc(moved["start"]) == later == _utc(in_feed_after_move["start"])
    assert _utc(moved["end"]) == later + dt.timedelta(hours=2)
    # CANCEL: the same UID, a SEQUENCE not below the last REQUEST's (RFC 5546 3.2.5), status CANCELLED.
    assert cancel["sequence"] >= moved["sequence"] and cancel["status"] == "CANCELLED"
