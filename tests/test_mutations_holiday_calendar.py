"""Holiday-calendar rules that mutation testing (tools/mutation.py holiday_calendar) showed undefended:
range edges, weekday/weekend edges, overrides on the 'wrong' kind of day, names by language."""

from __future__ import annotations

import datetime as dt

import pytest

from models import HolidayOverride, OverrideKind, db
from scheduler import holiday_calendar as cal

D = dt.date


def _override(day, kind, reason=""):
    db.session.add(HolidayOverride(day=day, kind=kind, reason=reason))
    db.session.flush()


def test_saturday_and_sunday_are_the_weekend_friday_and_monday_are_not():
    assert [cal.is_weekend(D(2026, 3, d)) for d in (6, 7, 8, 9)] == [False, True, True, False]


def test_a_view_covers_both_ends_and_nothing_outside(app):
    view = cal.calendar_for(D(2026, 3, 7), D(2026, 3, 8))
    assert list(view.days()) == [D(2026, 3, 7), D(2026, 3, 8)]
    assert view.court_days() == [D(2026, 3, 7), D(2026, 3, 8)]
    for check in (view.is_public_holiday, view.is_makeup_workday, view.is_court_day, view.holiday_name):
        check(D(2026, 3, 7)), check(D(2026, 3, 8))  # both ends are inside
        for outside in (D(2026, 3, 6), D(2026, 3, 9)):
            with pytest.raises(ValueError, match="outside the loaded range"):
                check(outside)


def test_an_empty_range_has_no_days_and_reads_nothing(app):
    view = cal.calendar_for(D(2026, 3, 9), D(2026, 3, 8))
    assert list(view.days()) == [] and view.court_days() == [] and view.overrides == {}
    assert cal.court_days(D(2026, 3, 9), D(2026, 3, 8)) == []


def test_overrides_on_the_range_edges_are_read_and_outside_ones_are_not(app):
    _override(D(2027, 3, 8), OverrideKind.HOLIDAY, "first")
    _override(D(2027, 3, 10), OverrideKind.HOLIDAY, "last")
    _override(D(2027, 3, 11), OverrideKind.HOLIDAY, "outside")
    view = cal.calendar_for(D(2027, 3, 8), D(2027, 3, 10))
    assert sorted(view.overrides) == [D(2027, 3, 8), D(2027, 3, 10)]
    assert cal.court_days(D(2027, 3, 8), D(2027, 3, 10)) == [D(2027, 3, 8), D(2027, 3, 10)]


def test_a_workday_override_on_a_weekday_is_not_a_makeup_day_and_clears_a_holiday(app):
    _override(D(2026, 10, 2), OverrideKind.WORKDAY)  # a Friday holiday cancelled by the admin
    assert not cal.is_makeup_workday(D(2026, 10, 2))  # only weekend days are "make-up" days
    assert not cal.is_public_holiday(D(2026, 10, 2)) and not cal.is_court_day(D(2026, 10, 2))
    assert cal.holiday_name(D(2026, 10, 2)) is None and cal.holiday_name(D(2026, 10, 2), "en") is None


def test_a_holiday_override_on_a_makeup_day_makes_it_a_court_day(app):
    _override(D(2026, 2, 14), OverrideKind.HOLIDAY, "示例:改为休息")  # a make-up Saturday given back
    assert cal.is_court_day(D(2026, 2, 14)) and cal.is_public_holiday(D(2026, 2, 14))
    assert not cal.is_makeup_workday(D(2026, 2, 14))
    assert cal.holiday_name(D(2026, 2, 14), "en") == "示例:改为休息"  # the admin's reason, in any language


def test_a_holiday_override_without_reason_takes_the_package_name_or_empty(app):
    _override(D(2026, 10, 1), OverrideKind.HOLIDAY)
    _override(D(2027, 3, 10), OverrideKind.HOLIDAY)
    assert cal.holiday_name(D(2026, 10, 1)) == "国庆节"
    assert cal.holiday_name(D(2026, 10, 1), "en") == "National Day"
    assert cal.holiday_name(D(2027, 3, 10)) == ""  # a holiday with no name is still a holiday
    assert cal.holiday_name(D(2027, 3, 10)) is not None


@pytest.mark.parametrize(
    "lang, name",
    [
        ("zh_CN", "国庆节"),
        ("zh", "国庆节"),
        ("en", "National Day"),
        ("en_US", "National Day"),
        ("fr", "国庆节"),
        ("", "国庆节"),
    ],
)
def test_holiday_names_by_language(app, lang, name):
    assert cal.holiday_name(D(2026, 10, 1), lang) == name


def test_an_ordinary_weekday_is_no_holiday_no_makeup_and_no_court_day(app):
    day = D(2026, 3, 10)
    assert (cal.is_public_holiday(day), cal.is_makeup_workday(day), cal.is_court_day(day)) == (False, False, False)
    assert cal.holiday_name(day) is None


def test_a_weekday_holiday_is_a_court_day_and_a_plain_weekend_day_is_one_without_a_name(app):
    assert cal.is_court_day(D(2026, 10, 8)) is False  # the Thursday after the National Day week
    assert cal.is_court_day(D(2026, 10, 7)) is True and cal.holiday_name(D(2026, 10, 7)) is not None
    assert cal.is_court_day(D(2026, 3, 14)) is True and cal.holiday_name(D(2026, 3, 14)) is None


def test_package_days_names_and_order(app):
    listed = cal.package_days(2026)
    assert [item.day for item in listed] == sorted(item.day for item in listed)
    national = next(item for item in listed if item.day == D(2026, 10, 1))
    assert (national.kind, national.name_zh, national.name_en) == ("holiday", "国庆节", "National Day")
    workday = next(item for item in listed if item.day == D(2026, 2, 14))
    assert (workday.kind, workday.name_zh, workday.name_en) == ("workday", "", "")
    assert sum(item.kind == "holiday" for item in listed) == len(cal._china(2026, "zh_CN"))
    assert len({item.day for item in listed}) == len(listed)  # no day twice


def test_a_view_names_holidays_in_chinese_by_default(app):
    view = cal.calendar_for(D(2026, 10, 1), D(2026, 10, 1))
    assert view.holiday_name(D(2026, 10, 1)) == "国庆节"


@pytest.mark.parametrize("lang", ["fr", "zh_TW", ""])
def test_an_unknown_language_gets_the_chinese_name_also_for_an_override_without_reason(app, lang):
    _override(D(2026, 10, 1), OverrideKind.HOLIDAY)
    assert cal.holiday_name(D(2026, 10, 1), lang) == "国庆节"
