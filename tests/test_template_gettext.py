"""Templates translate through i18n._translations (looked up once per locale per request): the
request's language, and a `force_locale` block (a message in its recipient's language) obeyed
inside it and undone after it."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale

TEMPLATE = "{{ _('Open shifts') }}|{{ ngettext('%(num)s day', '%(num)s days', 2) }}"


def test_request_language_then_forced_locale_then_back(app):
    with app.app_context(), app.test_request_context("/?lang=zh_CN"):  # a fresh g, as each request has
        assert render_template_string(TEMPLATE).startswith("空缺班次|")
        with force_locale("en"):
            assert render_template_string(TEMPLATE).startswith("Open shifts|")
        assert render_template_string(TEMPLATE).startswith("空缺班次|")
    with app.app_context(), app.test_request_context("/?lang=en"):
        assert render_template_string(TEMPLATE).startswith("Open shifts|")
        with force_locale("zh_CN"):
            assert render_template_string(TEMPLATE).startswith("空缺班次|")


def test_outside_a_request_force_locale_chooses(app):
    render_template_string(TEMPLATE)  # the default language chosen first, then overridden
    with force_locale("en"):
        assert render_template_string(TEMPLATE).startswith("Open shifts|")
    with force_locale("zh_CN"):
        assert render_template_string(TEMPLATE).startswith("空缺班次|")


def test_day_words_are_memoised_per_language_not_across_languages(app):
    import datetime as dt

    from views.template_helpers import day_in_words

    second_sunday = dt.date(2026, 12, 13)
    for _ in range(2):  # the second round comes from the memo
        with app.app_context(), app.test_request_context("/?lang=en"):
            assert day_in_words(second_sunday, "EEEE d MMMM") == "Sunday 13 December"
            assert day_in_words(second_sunday, "full") == "Sunday, December 13, 2026"  # same pattern in both
        with app.app_context(), app.test_request_context("/?lang=zh_CN"):
            assert day_in_words(second_sunday, "EEEE d MMMM") == "12月13日星期日"
            assert day_in_words(second_sunday, "full") == "2026年12月13日星期日"
    with app.app_context(), app.test_request_context("/?lang=en"), force_locale("zh_CN"):
        assert day_in_words(second_sunday, "EEEE d MMMM") == "12月13日星期日"
