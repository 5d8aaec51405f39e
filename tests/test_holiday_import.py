"""Holiday years: confirmed or provisional, and importing a year's official arrangement.

The arrangement is made up, for 2031 (a year no release of the `holidays` package knows yet):
Spring Festival off Wed 22 to Tue 28 January (Tue 28 is an extra day off the package does not
have), make-up working days on Sunday 19 January and Saturday 8 February.
"""

from __future__ import annotations

import datetime as dt
import json

import icalendar
import pytest
import sqlalchemy as sa

import feeds.cache
import feeds.probes
import feeds.sources
from models import (
    HolidayOverride,
    HolidayYear,
    Occurrence,
    OccurrenceStatus,
    ProgrammeKind,
    Role,
    db,
)
from scheduler import holiday_import, holiday_years
from scheduler.occurrences import generate_occurrences
from tests.factories import make_user
from tests.schedule_builders import contact_day_series, court_series
from timeutil import to_local

YEAR = 2031
EXTRA_DAY_OFF = dt.date(2031, 1, 28)  # Tuesday
WORKING_SUNDAY = dt.date(2031, 1, 19)
WORKING_SATURDAY = dt.date(2031, 2, 8)
FILE = {
    "year": YEAR,
    "days": [{"name": "春节", "date": f"2031-01-{day}", "isOffDay": True} for day in range(22, 29)]
    + [
        {"name": "春节", "date": WORKING_SUNDAY.isoformat(), "isOffDay": False},
        {"name": "春节", "date": WORKING_SATURDAY.isoformat(), "isOffDay": False},
    ],
}
ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//holidays//EN\r
BEGIN:VEVENT\r
UID:a@test\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20310122\r
DTEND;VALUE=DATE:20310129\r
SUMMARY:春节（休）\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:b@test\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20310119\r
DTEND;VALUE=DATE:20310120\r
SUMMARY:春节（班）\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:c@test\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20310208\r
SUMMARY:Spring Festival (working day)\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def year_world(app):
    court = court_series(ProgrammeKind.HOLIDAY_COURT, rooms=1, starts_on=dt.date(2030, 1, 1))
    clinic = court_series(ProgrammeKind.LEGAL_CLINIC, rooms=1, starts_on=dt.date(2030, 1, 1))
    contact_day_series(sites=1, starts_on=dt.date(2030, 1, 1))
    generate_occurrences(dt.date(YEAR, 1, 1), dt.date(YEAR, 3, 31))
    db.session.commit()
    return court, clinic


def sessions(series, day: dt.date) -> list[Occurrence]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(Occurrence).where(Occurrence.series_id == series.id, Occurrence.rule_date == day))
    )


def state() -> tuple:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Occurrence.id, Occurrence.status, Occurrence.starts_at, Occurrence.sequence).order_by(Occurrence.id)
    ).all()
    return (
        tuple(map(tuple, rows)),
        db.session.scalar(sa.select(sa.func.count(HolidayOverride.id))),
        db.session.scalar(sa.select(sa.func.count()).select_from(HolidayYear)),
    )


def test_package_marks_known_years_by_their_make_up_working_days(app):
    assert holiday_years.package_knows(2026)  # 2026's arrangement is in the package
    assert not holiday_years.package_knows(YEAR)  # statutory days only
    assert holiday_years.is_confirmed(2026) and not holiday_years.is_confirmed(YEAR)
    holiday_years.confirm(YEAR)
    db.session.commit()
    assert holiday_years.is_confirmed(YEAR)


def test_parse_holiday_cn_json_and_ics_give_the_same_days():
    from_json = holiday_import.parse(json.dumps(FILE).encode(), "2031.json")
    from_ics = holiday_import.parse(ICS.encode(), "2031.ics")
    assert from_json.year == from_ics.year == YEAR
    assert [(d.day, d.off) for d in from_json.days] == [(d.day, d.off) for d in from_ics.days]
    assert [d.day for d in from_json.days if not d.off] == [WORKING_SUNDAY, WORKING_SATURDAY]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"{not json", "not valid JSON"),
        (b'{"year": 2031}', "list of"),
        (b'{"year": 2031, "days": [{"date": "2031-02-30", "name": "x", "isOffDay": true}]}', "not a date"),
        (b'{"year": 2031, "days": [{"date": "2035-01-01", "name": "x", "isOffDay": true}]}', "is not in 2031"),
        (b'{"year": 2031, "days": [{"date": "2031-01-01", "name": "x", "isOffDay": "yes"}]}', "isOffDay"),
        (
            b'{"year": 2031, "days": [{"date": "2031-01-01", "isOffDay": true},'
            b' {"date": "2031-01-01", "isOffDay": false}]}',
            "both",
        ),
        (b'{"year": 2031, "days": []}', "no days"),
        (b"hello", "Unknown file type"),
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no days"),
        (b"{" + b" " * (300 * 1024) + b"}", "too large"),
    ],
)
def test_bad_files_are_refused_with_a_sentence(app, data, message):
    from flask_babel import force_locale

    with force_locale("en"), pytest.raises(holiday_import.ArrangementError, match=message):
        holiday_import.parse(data, "upload")
    with force_locale("zh_CN"), pytest.raises(holiday_import.ArrangementError) as refused:
        holiday_import.parse(data, "upload")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))  # said in Chinese too


def test_preview_lists_exactly_the_changes_and_changes_nothing(app, year_world):
    court, clinic = year_world
    before = state()
    report = holiday_import.run(holiday_import.parse(json.dumps(FILE).encode(), "2031.json"), apply=False)
    assert state() == before  # nothing written, not even the overrides or the confirmed year
    assert not report.applied and not report.was_confirmed
    added = sorted((c.when.date(), c.programme) for c in report.added)
    cancelled = sorted((c.when.date(), c.programme) for c in report.cancelled)
    names = sorted({c.programme for c in report.added})
    assert len(names) == 2  # the court and the clinic; the contact day's second Sunday is not touched
    assert added == sorted((EXTRA_DAY_OFF, name) for name in names)
    assert cancelled == sorted((day, name) for day in (WORKING_SUNDAY, WORKING_SATURDAY) for name in names)
    assert report.moved == []
    assert [d.day for d in report.workdays] == [WORKING_SUNDAY, WORKING_SATURDAY]
    assert [d.day for d in report.days_off] == [dt.date(2031, 1, 26), EXTRA_DAY_OFF]  # the others it had
    assert report.confirmed > 0

    # Applying does exactly what the preview said.
    applied = holiday_import.run(holiday_import.parse(json.dumps(FILE).encode(), "2031.json"), apply=True)
    assert [(c.occurrence_id, c.when) for c in applied.cancelled] == [
        (c.occurrence_id, c.when) for c in report.cancelled
    ]
    assert sorted((c.when, c.programme) for c in applied.added) == sorted((c.when, c.programme) for c in report.added)
    for series in (court, clinic):
        assert [o.status for o in sessions(series, WORKING_SUNDAY)] == [OccurrenceStatus.CANCELLED]
        assert [o.status for o in sessions(series, WORKING_SATURDAY)] == [OccurrenceStatus.CANCELLED]
        assert [o.status for o in sessions(series, EXTRA_DAY_OFF)] == [OccurrenceStatus.SCHEDULED]
        assert [to_local(o.starts_at).date() for o in sessions(series, EXTRA_DAY_OFF)] == [EXTRA_DAY_OFF]
    assert holiday_years.is_confirmed(YEAR)
    # A second import of the same file changes nothing.
    again = holiday_import.run(holiday_import.parse(json.dumps(FILE).encode(), "2031.json"), apply=True)
    assert again.changes == 0 and again.days_off == [] and again.workdays == [] and again.was_confirmed


def feed_statuses(client, path: str) -> dict[dt.date, tuple[str, int]]:
    body = client.get(path).data
    calendar = icalendar.Calendar.from_ical(body)
    return {e["DTSTART"].dt.date(): (str(e["STATUS"]), int(e["SEQUENCE"])) for e in calendar.walk("VEVENT")}


def test_feeds_go_from_tentative_to_confirmed(app, client, year_world, monkeypatch):
    monkeypatch.setattr(feeds.sources, "today", lambda: dt.date(YEAR, 1, 1))
    feeds.cache.bodies.clear()
    feeds.probes.reset()
    before = feed_statuses(client, "/feeds/holiday-court.ics")
    clinic_before = feed_statuses(client, "/feeds/legal-clinic.ics")
    assert before and set(status for status, _ in before.values()) == {"TENTATIVE"}
    assert set(status for status, _ in clinic_before.values()) == {"TENTATIVE"}
    assert EXTRA_DAY_OFF not in before and WORKING_SUNDAY in before
    contact = feed_statuses(client, "/feeds/contact-days.ics")
    assert contact and {status for status, _ in contact.values()} == {"CONFIRMED"}  # not holiday-bound
    description = str(
        icalendar.Calendar.from_ical(client.get("/feeds/holiday-court.ics?lang=en").data).walk("VEVENT")[0][
            "DESCRIPTION"
        ]
    )
    assert "Provisional" in description

    holiday_import.run(holiday_import.parse(json.dumps(FILE).encode(), "2031.json"), apply=True)
    after = feed_statuses(client, "/feeds/holiday-court.ics")
    assert after[WORKING_SUNDAY][0] == after[WORKING_SATURDAY][0] == "CANCELLED"
    assert after[EXTRA_DAY_OFF] == ("CONFIRMED", 0)
    for day, (_status, sequence) in before.items():
        if day not in (WORKING_SUNDAY, WORKING_SATURDAY):
            assert after[day] == ("CONFIRMED", sequence + 1), day  # SEQUENCE raised: the status changed
        else:
            assert after[day][1] == sequence + 1
    # Contact days are untouched (applying also generated the rest of the year: those are new).
    after_contact = feed_statuses(client, "/feeds/contact-days.ics")
    assert {day: found for day, found in after_contact.items() if day in contact} == contact


@pytest.fixture
def admin_client(app, client, auth):
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    auth.login("admin@test.example")
    return client


def test_admin_upload_previews_then_applies(app, admin_client, year_world, monkeypatch):
    from timeutil import local_today

    monkeypatch.setattr("views.admin_holidays.local_today", lambda: dt.date(YEAR - 1, 12, 1))
    home = admin_client.get("/admin/?lang=en").get_data(as_text=True)
    assert f"Confirm the holiday arrangement of {YEAR}" in home
    page = admin_client.get("/admin/holidays/?lang=en")
    assert page.status_code == 200 and "Provisional" in page.get_data(as_text=True)

    before = state()
    upload = {"file": (__import__("io").BytesIO(json.dumps(FILE).encode()), "2031.json")}
    preview = admin_client.post("/admin/holidays/?lang=en", data=upload, content_type="multipart/form-data")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200, text
    assert "Sessions added (2)" in text and "Sessions cancelled (4)" in text and "Sessions moved (0)" in text
    assert state() == before
    arrangement = text.split('name="arrangement" type="hidden" value="')[1].split('"')[0]
    import html

    applied = admin_client.post(
        "/admin/holidays/apply?lang=en", data={"arrangement": html.unescape(arrangement), "source": "2031.json"}
    )
    assert applied.status_code == 302
    assert holiday_years.is_confirmed(YEAR)
    home = admin_client.get("/admin/?lang=en").get_data(as_text=True)
    assert f"Confirm the holiday arrangement of {YEAR}" not in home
    assert local_today()  # the real clock still answers


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({}, 400, "Choose a file"),
        ({"file": (__import__("io").BytesIO(b"{not json"), "x.json")}, 400, "not valid JSON"),
        ({"file": (__import__("io").BytesIO(b"hello"), "x.txt")}, 400, "Unknown file type"),
    ],
)
def test_admin_upload_errors_are_clear_4xx(app, admin_client, data, status, message):
    response = admin_client.post("/admin/holidays/?lang=en", data=data, content_type="multipart/form-data")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_admin_pages_need_an_admin(app, client, auth):
    assert client.get("/admin/holidays/").status_code == 302
    make_user(Role.COORDINATOR, email="coord@test.example")
    db.session.commit()
    auth.login("coord@test.example")
    assert client.get("/admin/holidays/").status_code == 403
    assert client.post("/admin/holidays/confirm", data={"year": YEAR}).status_code == 403


def test_public_pages_label_provisional_sessions(app, client, year_world):
    court, _clinic = year_world
    occurrence = sessions(court, WORKING_SUNDAY)[0]
    page = client.get(f"/sessions/{occurrence.id}?lang=en").get_data(as_text=True)
    assert "Provisional" in page and f"arrangement for {YEAR} is not published" in page
    for path in ("/holiday-court?lang=en", "/legal-clinic?lang=en"):  # the lists: a label and one line
        listed = client.get(path).get_data(as_text=True)
        assert ">Provisional</" in listed and listed.count("official holiday arrangement is not published") == 1
    holiday_import.confirm_by_hand(YEAR, None)
    page = client.get(f"/sessions/{occurrence.id}?lang=en").get_data(as_text=True)
    assert "Provisional" not in page
    for path in ("/holiday-court?lang=en", "/legal-clinic?lang=en"):
        assert "Provisional" not in client.get(path).get_data(as_text=True)


def test_cli_previews_then_applies(app, runner, year_world, tmp_path):
    path = tmp_path / "2031.json"
    path.write_text(json.dumps(FILE, ensure_ascii=False), encoding="utf-8")
    before = state()
    preview = runner.invoke(args=["holidays", "import", str(path)])
    assert preview.exit_code == 0, preview.output
    assert "preview" in preview.output and "2 added, 4 cancelled, 0 moved" in preview.output
    assert state() == before
    status = runner.invoke(args=["holidays", "status", "--years", "6"])
    assert f"{YEAR}\tPROVISIONAL" in status.output
    applied = runner.invoke(args=["holidays", "import", str(path), "--apply"])
    assert applied.exit_code == 0 and "applied" in applied.output
    assert holiday_years.is_confirmed(YEAR)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    refused = runner.invoke(args=["holidays", "import", str(bad)])
    assert refused.exit_code != 0 and "not valid JSON" in refused.output
