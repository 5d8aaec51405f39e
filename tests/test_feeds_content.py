"""What the feeds say: parsed back by parsers that did not write them, compared with the rows."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream

from models import (
    Assignment,
    AssignmentStatus,
    HearingNotice,
    Occurrence,
    OccurrenceStatus,
    Programme,
    ProgrammeKind,
    Shift,
    ShiftStatus,
    User,
    db,
)
from tests.feeds_fixtures import (  # noqa: F401  (fixtures)
    IN_WINDOW_SECOND_SUNDAYS,
    TODAY,
    WINDOW_END_DAY,
    WINDOW_FIRST_DAY,
    _pinned_today_and_clean_cache,
    expected_spans,
    paths,
    world,
)
from timeutil import local_to_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def occurrences_of(kind: ProgrammeKind, **where) -> list[Occurrence]:
    query = sa.select(Occurrence).join(Programme).where(Programme.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(Occurrence, name) == value)
    return list(db.session.scalars(query))


def expected(world, name: str) -> list:
    """(uid, start, end) of what each feed must hold, straight from the rows."""
    db.session.expire_all()
    if name == "contact_days":
        rows = occurrences_of(ProgrammeKind.CONTACT_DAY)
    elif name == "holiday_court":
        rows = occurrences_of(ProgrammeKind.HOLIDAY_COURT) + list(db.session.scalars(sa.select(HearingNotice)))
    elif name == "legal_clinic":
        rows = occurrences_of(ProgrammeKind.LEGAL_CLINIC)
    elif name == "community":
        rows = list(db.session.scalars(sa.select(Occurrence).where(Occurrence.community_id == world.community.id)))
    elif name == "other_community":
        rows = list(
            db.session.scalars(sa.select(Occurrence).where(Occurrence.community_id == world.other_community.id))
        )
    elif name == "team":
        rows = list(db.session.scalars(sa.select(Shift).where(Shift.team_id == world.team.id)))
    elif name == "volunteer":
        rows = list(
            db.session.scalars(
                sa.select(Shift)
                .join(Assignment)
                .where(Assignment.volunteer_id == world.volunteer.id, Assignment.status == AssignmentStatus.ASSIGNED)
            )
        )
    else:
        raise AssertionError(name)
    return expected_spans(rows, public=name not in ("team", "volunteer"))


def strict_spans(body: bytes) -> list:
    """Parsed by `ical` (strict: raises on anything malformed)."""
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return sorted((e.uid, e.dtstart.astimezone(UTC), e.dtend.astimezone(UTC)) for e in calendar.events)


def expanded_spans(body: bytes) -> list:
    """Expanded by `recurring-ical-events` over a range wider than the window."""
    calendar = icalendar.Calendar.from_ical(body)
    found = recurring_ical_events.of(calendar).between(
        dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    )
    return sorted((str(e["UID"]), e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)


def fetch(client, path: str, **kw) -> bytes:
    response = client.get(path, **kw)
    assert response.status_code == 200, (path, response.status_code)
    return response.data


@pytest.mark.parametrize("lang", ["", "?lang=en"])
def test_every_feed_parses_and_its_dates_equal_the_rows(client, world, paths, lang):
    for name, path in paths.all.items():
        body = fetch(client, path + lang)
        want = expected(world, name)
        assert want, name
        assert strict_spans(body) == want, name
        assert expanded_spans(body) == want, name
        for component in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            assert not component.errors, (name, component.errors)


def test_contact_days_are_second_sundays_at_nine_local(client, world, paths):
    body = fetch(client, paths.public["contact_days"])
    calendar = IcsCalendarStream.calendar_from_ics(body.decode())
    starts = sorted({e.dtstart.astimezone(SHANGHAI) for e in calendar.events})
    assert [s.date() for s in starts] == IN_WINDOW_SECOND_SUNDAYS
    assert IN_WINDOW_SECOND_SUNDAYS == [
        dt.date(2026, 2, 8),
        dt.date(2026, 3, 8),
        dt.date(2026, 4, 12),
        dt.date(2026, 5, 10),
        dt.date(2026, 6, 14),
    ]
    for start in starts:
        assert start.weekday() == 6 and 8 <= start.day <= 14
        assert (start.hour, start.minute) == (9, 0)
    for event in calendar.events:
        assert event.dtend.astimezone(SHANGHAI).time() == dt.time(11, 30)


def test_window_is_thirty_days_back_to_what_is_published(client, world, paths):
    body = fetch(client, paths.public["contact_days"])
    text = body.decode()
    assert "20260111T090000" not in text  # second Sunday of January: more than 30 days back
    # June is past the 90-day horizon, but it is generated and published: public feeds show it.
    assert "20260614T090000" in text
    assert "20260614T090000" in fetch(client, paths.public["community"]).decode()
    # Private feeds stop at the horizon (shifts are generated that far).
    shifts = strict_spans(fetch(client, paths.team))
    first = local_to_utc(WINDOW_FIRST_DAY, dt.time(0))
    last = local_to_utc(WINDOW_END_DAY, dt.time(0))
    assert all(end > first and start < last for _, start, end in shifts)
    # The night shift of Jan 29 ends at 02:00 on Jan 30, inside the window, so it is there.
    assert local_to_utc(dt.date(2026, 1, 29), dt.time(22)) in {start for _, start, _ in shifts}
    assert local_to_utc(dt.date(2026, 1, 28), dt.time(22)) not in {start for _, start, _ in shifts}


def test_calendar_properties(client, world, paths):
    for name, path in paths.all.items():
        body = fetch(client, path)
        calendar = icalendar.Calendar.from_ical(body)
        assert calendar["VERSION"] == "2.0"
        assert "SIP Community Schedules" in str(calendar["PRODID"])
        assert calendar["METHOD"] == "PUBLISH"
        assert calendar["X-WR-CALNAME"] and calendar["NAME"] == calendar["X-WR-CALNAME"]
        assert calendar.get("DESCRIPTION")
        assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
        assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
        assert b"X-WR-TIMEZONE" not in body  # would make some clients reinterpret the times
        timezones = calendar.walk("VTIMEZONE")
        assert [str(tz["TZID"]) for tz in timezones] == ["Asia/Shanghai"]
        assert b"TZOFFSETTO:+0800" in body and b"DTSTART:19" not in body  # no 1986-91 DST rules
        for event in calendar.walk("VEVENT"):
            for prop in ("DTSTART", "DTEND"):
                assert event[prop].params["TZID"] == "Asia/Shanghai", (name, prop)
                assert event[prop].dt.tzinfo is not None
            for prop in ("UID", "DTSTAMP", "SEQUENCE", "LAST-MODIFIED", "SUMMARY", "STATUS", "URL", "CATEGORIES"):
                assert prop in event, (name, prop)
            assert event["DTSTAMP"].dt.utcoffset() == dt.timedelta(0)
            assert str(event["URL"]).startswith("http://localhost/")
        if name in ("contact_days", "holiday_court", "legal_clinic", "community"):
            for event in calendar.walk("VEVENT"):
                assert event.get("LOCATION"), name


def test_lines_are_crlf_folded_at_75_octets_and_uids_unique(client, world, paths):
    for name, path in paths.all.items():
        body = fetch(client, path)
        assert body.endswith(b"\r\n")
        lines = body.split(b"\r\n")[:-1]
        assert all(b"\n" not in line and b"\r" not in line for line in lines), name
        for line in lines:
            assert len(line) <= 75, (name, line)
            line.decode("utf-8")  # a fold never splits a character
        event_uids = re.findall(rb"^UID:(.+)$", body, flags=re.M)
        # Every UID line is an event's: clients such as vdirsyncer read the file's first UID line
        # as each event's, so a calendar-level UID would collapse the feed to one event.
        assert len(event_uids) == len(set(event_uids)) == body.count(b"BEGIN:VEVENT"), name
        assert body.index(b"BEGIN:VEVENT") < body.index(b"\r\nUID:"), name
    # Chinese text long enough to be folded is folded without a broken character.
    assert any(b"\r\n " in fetch(client, p) for p in paths.all.values())


def test_location_has_the_venue_address_and_text_is_escaped(client, world, paths):
    body = fetch(client, paths.public["community"])
    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == "东湖民众联络所, 东湖邻里中心二楼(示例地址),星湖街; 1号"
    assert "星湖街\\; 1号".encode() in body.replace(b"\r\n ", b"")  # `;` and `,` escaped on the wire


def test_chinese_by_default_english_with_lang(client, world, paths):
    zh = icalendar.Calendar.from_ical(fetch(client, paths.public["community"]))
    en = icalendar.Calendar.from_ical(fetch(client, paths.public["community"] + "?lang=en"))
    assert "东湖社区" in str(zh.walk("VEVENT")[0]["SUMMARY"])
    assert "社情民意联系日" in str(zh.walk("VEVENT")[0]["SUMMARY"])
    assert str(en.walk("VEVENT")[0]["SUMMARY"]) == "Contact day · Donghu Community"
    assert str(en.walk("VEVENT")[0]["LOCATION"]) == "Donghu Community Liaison Centre, 2F, Donghu Centre, 1 Xinghu St"
    assert "lang=en" in str(en.walk("VEVENT")[0]["URL"])
    assert "Director, Finance Bureau" in str(en.walk("VEVENT")[0]["DESCRIPTION"])
    # Same UIDs in both languages: the same events.
    assert [str(e["UID"]) for e in zh.walk("VEVENT")] == [str(e["UID"]) for e in en.walk("VEVENT")]
    # Cookies and Accept-Language do not change a feed: one URL, one body.
    client.set_cookie("lang", "en")
    assert fetch(client, paths.public["community"], headers={"Accept-Language": "en"}) == fetch(
        client, paths.public["community"]
    )


def test_moved_occurrence_keeps_its_uid_and_raises_sequence(client, world, paths):
    occurrence = world.contact[4]  # community East, 2026-03-08
    uid = occurrence.uid
    before = icalendar.Calendar.from_ical(fetch(client, paths.public["contact_days"]))
    old = next(e for e in before.walk("VEVENT") if str(e["UID"]) == uid)
    assert old["DTSTART"].dt == dt.datetime(2026, 3, 8, 9, tzinfo=SHANGHAI)

    occurrence.starts_at = local_to_utc(dt.date(2026, 3, 15), dt.time(14))
    occurrence.ends_at = local_to_utc(dt.date(2026, 3, 15), dt.time(16, 30))
    occurrence.moved_by_hand = True
    occurrence.touch()
    db.session.commit()

    after = icalendar.Calendar.from_ical(fetch(client, paths.public["contact_days"]))
    new = [e for e in after.walk("VEVENT") if str(e["UID"]) == uid]
    assert len(new) == 1
    assert new[0]["DTSTART"].dt == dt.datetime(2026, 3, 15, 14, tzinfo=SHANGHAI)
    assert new[0]["SEQUENCE"] > old["SEQUENCE"]
    assert new[0]["LAST-MODIFIED"].dt > old["LAST-MODIFIED"].dt - dt.timedelta(seconds=1)
    assert len(after.walk("VEVENT")) == len(before.walk("VEVENT"))
    # The community feed shows the same event under the same UID.
    community = icalendar.Calendar.from_ical(fetch(client, paths.public["community"]))
    assert [e["DTSTART"].dt for e in community.walk("VEVENT") if str(e["UID"]) == uid] == [new[0]["DTSTART"].dt]


def test_cancelled_occurrence_stays_as_cancelled(client, world, paths):
    occurrence = world.contact[6]  # community East, 2026-04-12
    occurrence.status = OccurrenceStatus.CANCELLED
    occurrence.touch()
    db.session.commit()
    for path in (paths.public["contact_days"], paths.public["community"]):
        body = fetch(client, path)
        events = [e for e in icalendar.Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == occurrence.uid]
        assert len(events) == 1
        assert events[0]["STATUS"] == "CANCELLED"
        assert events[0]["SEQUENCE"] == 1
        assert events[0]["TRANSP"] == "TRANSPARENT"
        # Strict parsers agree, and clients that ignore STATUS still read it in the title.
        strict = IcsCalendarStream.calendar_from_ics(body.decode())
        assert next(e for e in strict.events if e.uid == occurrence.uid).status.value == "CANCELLED"
    en = icalendar.Calendar.from_ical(fetch(client, paths.public["contact_days"] + "?lang=en"))
    assert str(next(e for e in en.walk("VEVENT") if str(e["UID"]) == occurrence.uid)["SUMMARY"]).startswith(
        "Cancelled: "
    )


def test_cancelled_shift_in_team_and_volunteer_feeds(client, world, paths):
    shift = world.mine[2]
    shift.status = ShiftStatus.CANCELLED
    shift.sequence += 1
    db.session.commit()
    for path in (paths.team, paths.volunteer):
        events = icalendar.Calendar.from_ical(fetch(client, path)).walk("VEVENT")
        event = next(e for e in events if str(e["UID"]) == shift.uid)
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1


def test_no_patrol_shift_and_no_personal_data_in_any_public_feed(client, world, paths):
    shift_uids = {s.uid for s in db.session.scalars(sa.select(Shift))}
    people = list(db.session.scalars(sa.select(User)))
    officials = {u.id for u in world.officials}
    for name, path in paths.public.items():
        for lang in ("", "?lang=en"):
            body = fetch(client, path + lang)
            unfolded = body.replace(b"\r\n ", b"").decode()
            assert not shift_uids & set(re.findall(r"^UID:(.+)$", unfolded, flags=re.M)), name
            for word in ("湖东商业区", "Hudong shopping area", "Patrol", "巡逻", "火车站", "Railway station"):
                assert word not in unfolded, (name, word)
            for person in people:
                assert not person.phone or person.phone not in unfolded, (name, person.email)
                assert person.email not in unfolded
                if person.id not in officials:
                    assert person.name not in unfolded and person.name_en not in unfolded, (name, person.email)


def test_team_feed_has_area_and_head_count_but_no_names_or_phones(client, world, paths):
    body = fetch(client, paths.team + "?lang=en").replace(b"\r\n ", b"").decode()
    assert "Hudong shopping area" in body
    assert "Volunteers: 1 signed up (needs 2 to 6)" in body
    for person in (world.volunteer, world.other_volunteer, world.coordinator):
        assert person.phone not in body and person.name not in body and person.name_en not in body
    other_team_uids = {s.uid for s in world.other_shifts}
    assert not other_team_uids & set(re.findall(r"^UID:(.+)$", body, flags=re.M))


def test_volunteer_feed_has_only_their_own_assigned_shifts(client, world, paths):
    spans = strict_spans(fetch(client, paths.volunteer))
    assert {uid for uid, _, _ in spans} == {s.uid for s in world.mine[1:5]}  # Jan 25 and Jun 2 outside the window
    other = strict_spans(fetch(client, paths.other_volunteer))
    assert len(other) == 1 and other[0][0] not in {uid for uid, _, _ in spans}
    # A dropped shift leaves the feed (clients delete it at the next refresh).
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.shift_id == world.mine[2].id))
    assignment.status = AssignmentStatus.DROPPED
    world.mine[2].assigned_count -= 1
    db.session.commit()
    assert world.mine[2].uid not in {uid for uid, _, _ in strict_spans(fetch(client, paths.volunteer))}


def test_public_hearing_notice_in_court_feed(client, world, paths):
    calendar = icalendar.Calendar.from_ical(fetch(client, paths.public["holiday_court"] + "?lang=en"))
    hearing = next(e for e in calendar.walk("VEVENT") if str(e["UID"]) == world.hearing.uid)
    assert "(2026)苏0591民初101号" in str(hearing["SUMMARY"]) and "Sales contract dispute" in str(hearing["SUMMARY"])
    assert "SIP People's Court" in str(hearing["LOCATION"])
    assert hearing["DTSTART"].dt == dt.datetime(2026, 3, 7, 10, tzinfo=SHANGHAI)


def test_builds_are_deterministic(app, world, paths):
    from feeds.calendar import render
    from feeds.sources import Links, ProgrammeFeed, TeamFeed, Window

    window = Window.around(TODAY, 90)
    with app.test_request_context("/"):
        for source in (ProgrammeFeed(ProgrammeKind.CONTACT_DAY), TeamFeed(paths.team.split("/")[-1][:-4])):
            probe = source.probe(window)
            first = render(*source.build(probe.owner, window, "zh_CN", Links("https://x.example/", "zh_CN")))
            second = render(*source.build(probe.owner, window, "zh_CN", Links("https://x.example/", "zh_CN")))
            assert first == second
            assert source.probe(window) == probe


def test_dtstamp_and_last_modified_are_the_last_change(client, world, paths):
    changed = dt.datetime(2026, 2, 1, 3, 4, 5, tzinfo=UTC)
    db.session.execute(
        sa.update(Occurrence)
        .where(Occurrence.id == world.contact[4].id)
        .values(last_modified=changed, updated_at=changed)
    )
    db.session.commit()
    event = next(
        e
        for e in icalendar.Calendar.from_ical(fetch(client, paths.public["contact_days"])).walk("VEVENT")
        if str(e["UID"]) == world.contact[4].uid
    )
    assert event["DTSTAMP"].dt == changed == event["LAST-MODIFIED"].dt


def test_the_one_event_download(client, world):
    occurrence = world.contact[4]
    response = client.get(f"/feeds/occurrences/{occurrence.uid}.ics?lang=en")
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contact-day-2026-03-08.ics"'
    calendar = IcsCalendarStream.calendar_from_ics(response.get_data(as_text=True))
    assert [e.uid for e in calendar.events] == [occurrence.uid]
    assert calendar.events[0].dtstart == dt.datetime(2026, 3, 8, 9, tzinfo=SHANGHAI)
    hearing = client.get(f"/feeds/occurrences/{world.hearing.uid}.ics")
    assert hearing.status_code == 200 and world.hearing.uid.encode() in hearing.data
    # Never a patrol shift, whoever asks; unknown ids are 404.
    assert client.get(f"/feeds/occurrences/{world.shifts[0].uid}.ics").status_code == 404
    assert client.get("/feeds/occurrences/no-such-thing.ics").status_code == 404
    again = client.get(
        f"/feeds/occurrences/{occurrence.uid}.ics?lang=en", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
