"""China's holiday calendar and the court-day rule, pinned to the published 2024 and 2026 arrangements."""

from __future__ import annotations

import datetime as dt

from models import HolidayOverride, OverrideKind, db
from scheduler import holiday_calendar as cal
from tests.conftest import count_queries

D = dt.date
MAKEUP_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]


def days(start: dt.date, end: dt.date):
    while start <= end:
        yield start
        start += dt.timedelta(days=1)


def test_2026_public_holidays_and_makeup_days(app):
    assert cal.is_public_holiday(D(2026, 10, 1))
    assert cal.holiday_name(D(2026, 10, 1)) == "国庆节"
    assert cal.holiday_name(D(2026, 10, 1), "en") == "National Day"
    assert cal.is_public_holiday(D(2026, 2, 17)) and "Spring Festival" in cal.holiday_name(D(2026, 2, 17), "en")
    assert not cal.is_public_holiday(D(2026, 3, 10)) and cal.holiday_name(D(2026, 3, 10)) is None
    for day in MAKEUP_2026:
        assert day.weekday() >= 5 and cal.is_makeup_workday(day), day
        assert not cal.is_public_holiday(day)
    assert not cal.is_makeup_workday(D(2026, 10, 11))  # an ordinary Sunday


def test_2024_02_11_is_inside_the_spring_festival_break(app):
    assert cal.is_public_holiday(D(2024, 2, 11))
    assert cal.holiday_name(D(2024, 2, 11)) == "春节"
    assert cal.is_makeup_workday(D(2024, 2, 18))  # the Sunday after is worked


def test_holiday_court_days_of_2026(app):
    court = cal.court_days(D(2026, 1, 1), D(2026, 12, 31))
    court_set = set(court)
    assert court == sorted(court_set)
    # The whole National Day week, weekdays included.
    assert set(days(D(2026, 10, 1), D(2026, 10, 7))) <= court_set
    # Make-up working days are excluded although they are weekends.
    for day in (D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)):
        assert day not in court_set and not cal.is_court_day(day), day
    # Every ordinary weekend day is a court day.
    weekends = [day for day in days(D(2026, 1, 1), D(2026, 12, 31)) if day.weekday() >= 5]
    assert len(weekends) == 104
    assert set(weekends) - set(MAKEUP_2026) <= court_set
    # Ordinary weekdays are not; weekday holidays are (19 of them in 2026): 98 + 19 court days.
    assert D(2026, 3, 10) not in court_set and D(2026, 2, 16) in court_set and D(2026, 10, 7) in court_set
    assert len(court) == 117


def test_overrides_win_and_are_read_in_one_query(app):
    db.session.add_all(
        [
            HolidayOverride(day=D(2027, 3, 10), kind=OverrideKind.HOLIDAY, reason="示例:临时假日"),
            HolidayOverride(day=D(2027, 3, 13), kind=OverrideKind.WORKDAY, reason="Sample make-up working day"),
            HolidayOverride(day=D(2026, 10, 1), kind=OverrideKind.WORKDAY, reason="Sample: cancelled holiday"),
        ]
    )
    db.session.flush()
    assert cal.is_public_holiday(D(2027, 3, 10)) and cal.is_court_day(D(2027, 3, 10))
    assert cal.holiday_name(D(2027, 3, 10)) == "示例:临时假日"
    assert cal.is_makeup_workday(D(2027, 3, 13)) and not cal.is_court_day(D(2027, 3, 13))
    assert not cal.is_public_holiday(D(2026, 10, 1)) and not cal.is_court_day(D(2026, 10, 1))
    assert cal.holiday_name(D(2026, 10, 1)) is None
    with count_queries(db.engine) as queries:
        court = cal.court_days(D(2026, 1, 1), D(2027, 12, 31))
    assert queries() == 1
    assert D(2027, 3, 10) in court and D(2027, 3, 13) not in court and D(2026, 10, 1) not in court


def test_an_unannounced_year_has_the_package_estimate(app):
    # 2027's arrangement is not in the package yet: festival days, no make-up days until an admin adds them.
    assert cal.is_public_holiday(D(2027, 2, 6))
    assert cal.is_court_day(D(2027, 2, 8))  # a Monday inside the estimated break


def test_package_days_lists_holidays_and_makeup_days_for_a_year(app):
    listed = cal.package_days(2026)
    kinds = {item.day: item.kind for item in listed}
    assert kinds[D(2026, 10, 1)] == "holiday"
    assert [day for day, kind in kinds.items() if kind == "workday"] == MAKEUP_2026
    assert all(item.day.year == 2026 for item in listed)
