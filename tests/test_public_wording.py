"""Wording by locale: Babel dates (no US formats), full-width punctuation in Chinese, no space before
commas in English, plural forms."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from babel.messages.pofile import read_po

from models import ProgrammeKind, VenueKind, db
from scheduler.holiday_calendar import localise_dates
from tests import public_builders as pb
from tests.factories import make_community, make_venue
from timeutil import local_today

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u3400-\u9fff]")
# Kept as typed: placeholders, JSON, recurrence rules, times, tags, URLs and format names.
TECHNICAL = re.compile(r"\{[^}]*\}|FREQ=[A-Z0-9=;]+|%\(\w+\)[sd]|[a-z][a-z0-9+.-]*://\S+|\d:\d|<[^>]+>|YYYY-MM-DD")


def test_chinese_catalogue_uses_full_width_punctuation():
    with (ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    wrong = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if text and HAN.search(text) and re.search(r"[,;:?!()]", TECHNICAL.sub("", text)):
                wrong.append(text)
    assert wrong == []


def test_holiday_names_carry_dates_in_the_readers_format():
    assert (
        localise_dates("Day off (substituted from 01/04/2026)", "en_US") == "Day off (substituted from 4 January 2026)"
    )
    assert localise_dates("休息日（由 2026-01-04 调休）", "zh_CN") == "休息日（由2026年1月4日调休）"


def test_calendar_names_no_us_dates(app):
    from scheduler.holiday_calendar import calendar_for

    view = calendar_for(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    names = [view.holiday_name(day, lang) for day in view.days() for lang in ("en", "zh_CN")]
    assert not [n for n in names if n and re.search(r"\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}", n)]
    assert "Day off (substituted from 4 January 2026)" in names


def test_public_pages_punctuate_by_language(app, client):
    community = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    venue = make_venue(community=community, name_zh="金湖民众联络所", name_en="Jinhu Liaison Centre")
    day = pb.second_sundays(local_today(), 1)[0]
    pb.contact_day(community, day, venue=venue)
    court = make_venue(VenueKind.COURTROOM, name_zh="第1法庭", name_en="Courtroom 1")
    pb.session(ProgrammeKind.HOLIDAY_COURT, pb.next_weekend_day(), dt.time(9), dt.time(12), venue=court)
    db.session.commit()
    prefix = "" if day.year == local_today().year else f"{day.year}年"
    chinese = client.get("/?lang=zh&community=jinhu").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", chinese)
    assert f"金湖社区：{prefix}{day.month}月{day.day}日星期日，09:00–11:30，金湖民众联络所" in " ".join(text.split())
    assert "订阅：" in chinese or "订阅金湖社区的联系日" in chinese
    for path in ("/", "/contact-days", "/holiday-court", "/legal-clinic", "/?community=jinhu"):
        for lang in ("en", "zh"):
            html = client.get(path + ("&" if "?" in path else "?") + f"lang={lang}").get_data(as_text=True)
            words = " ".join(re.sub(r"<[^>]+>", "", html.split("<main", 1)[1]).split())
            assert not re.search(r"\s,", words), (path, lang, re.findall(r".{30}\s,.{10}", words))
            if lang == "zh":
                assert not re.search(r"[\u3400-\u9fff], |星期[一二三四五六日],", words), (path, words)


def test_day_patterns_written_for_english_read_right_in_chinese(app):
    from flask_babel import refresh

    from views.template_helpers import day_in_words

    day = dt.date(2026, 12, 5)
    with app.test_request_context("/?lang=zh"):
        refresh()  # the test's app context would otherwise keep the first locale
        assert day_in_words(day, "EEEE d MMMM") == "12月5日星期六"
        assert day_in_words(day, "EEE d MMM") == "12月5日周六"
        assert day_in_words(day, "MMMM y") == "2026年12月"
    with app.test_request_context("/?lang=en"):
        refresh()
        assert day_in_words(day, "EEEE d MMMM") == "Saturday 5 December"
