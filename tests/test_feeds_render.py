"""feeds.calendar.render keeps each event's bytes per process: the file must be byte for byte what
the library writes for the whole calendar, and a changed event must never come back stale."""

from __future__ import annotations

import dataclasses
import datetime as dt

import icalendar

from feeds.calendar import CANCELLED, TENTATIVE, FeedEvent, FeedMeta, build_calendar, render

UTC = dt.UTC
META = FeedMeta(
    key="team:1", lang="zh_CN", name="第一巡逻队 · 巡逻班次", description="样例数据", url="https://x.example/t"
)


def _events() -> list[FeedEvent]:
    start = dt.datetime(2026, 12, 31, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai, crossing midnight
    return [
        FeedEvent(
            uid="shift-1@sip.example",
            start=start,
            end=start + dt.timedelta(hours=7),
            summary="巡逻：金鸡湖东岸" * 6,  # long enough to fold, in multi-byte characters
            sequence=0,
            last_modified=dt.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC),
            description="志愿者：已报名 3 人（需要 2 至 4 人）\n带班：第一巡逻队",
            location="湖东社区服务中心, 苏州工业园区",
            url="https://x.example/me",
            categories=("巡逻", "Patrol"),
            geo=(31.3167, 120.7194),
        ),
        FeedEvent(
            uid="court-2026-10-01@sip.example",
            start=dt.datetime(2026, 10, 1, 1, 0, tzinfo=UTC),
            end=dt.datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
            summary="Holiday court; semicolons, commas\\ and backslashes",
            sequence=3,
            last_modified=dt.datetime(2026, 9, 20, tzinfo=UTC),
            status=CANCELLED,
        ),
        FeedEvent(
            uid="clinic-2027-02-06@sip.example",
            start=dt.datetime(2027, 2, 6, 1, 0, tzinfo=UTC),
            end=dt.datetime(2027, 2, 6, 4, 0, tzinfo=UTC),
            summary="Legal clinic",
            sequence=1,
            last_modified=dt.datetime(2026, 11, 2, tzinfo=UTC),
            status=TENTATIVE,
        ),
    ]


def test_render_is_byte_for_byte_the_libraries_calendar():
    events = _events()
    for _ in range(2):  # first build fills the per-event cache, the second reads from it
        assert render(META, events) == build_calendar(META, events).to_ical()
    assert render(META, []) == build_calendar(META, []).to_ical()


def test_a_changed_event_is_rendered_anew_not_served_from_the_cache():
    events = _events()
    render(META, events)
    moved = dataclasses.replace(events[0], sequence=1, description="志愿者：已报名 4 人（需要 2 至 4 人）")
    body = render(META, [moved, *events[1:]])
    parsed = icalendar.Calendar.from_ical(body)
    first = next(iter(parsed.walk("VEVENT")))
    assert int(first["SEQUENCE"]) == 1
    assert "已报名 4 人" in str(first["DESCRIPTION"])
    assert body.count(b"BEGIN:VEVENT") == 3 and body.count(b"BEGIN:VTIMEZONE") == 1
    assert body.endswith(b"END:VCALENDAR\r\n") and body.count(b"END:VCALENDAR") == 1
