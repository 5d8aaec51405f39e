"""Filters and globals every template may use."""

from __future__ import annotations

import datetime as dt
import functools
import time

import sqlalchemy as sa
from flask import Flask, g, request, url_for
from flask_babel import format_date, format_datetime, format_time

from i18n import current_language, localized, pick
from timeutil import to_local

_sample_cache: dict[str, float | bool] = {"checked": 0.0, "value": False}


def sample_data_present() -> bool:
    """Whether demo (sample) data is loaded; checked at most once a minute per process."""
    now = time.monotonic()
    if now - float(_sample_cache["checked"]) > 60:
        from models import Community, db

        _sample_cache["value"] = bool(
            db.session.scalar(sa.select(Community.id).where(Community.is_sample.is_(True)).limit(1))
        )
        _sample_cache["checked"] = now
    return bool(_sample_cache["value"])


def lang_url(lang: str) -> str:
    """This page in another language (the choice is then remembered by cookie)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    endpoint = request.endpoint or "public.index"
    view_args = dict(request.view_args or {})
    try:
        return url_for(endpoint, **view_args, **args)
    except Exception:  # an error page without a routable endpoint
        return url_for("public.index", lang=lang)


# Templates write day patterns the English way; Chinese orders and marks them differently
# ("Saturday 5 December" / "12月5日星期六"). Babel's own zh patterns for these skeletons.
_ZH_DAY_PATTERNS = {
    "EEEE d MMMM": "M月d日EEEE",
    "EEEE d MMMM y": "y年M月d日EEEE",
    "EEE d MMM": "M月d日EEE",
    "EEE d MMM y": "y年M月d日EEE",
    "d MMM": "M月d日",
    "d MMMM": "M月d日",
    "d MMM y": "y年M月d日",
    "d MMMM y": "y年M月d日",
    "MMMM y": "y年M月",
    "EEE d": "d日EEE",
}


def day_in_words(value, fmt: str = "full") -> str:
    """A date in the reader's language with a pattern written for English, e.g. "EEE d MMM"."""
    lang = current_language()
    if lang != "en":
        fmt = _ZH_DAY_PATTERNS.get(fmt, fmt)
    if type(value) is dt.date:  # a datetime would be moved to the reader's zone: not memoised
        return _formatted_day(value, fmt, lang)
    return format_date(value, fmt)


@functools.lru_cache(maxsize=4096)
def _formatted_day(value: dt.date, fmt: str, lang: str) -> str:
    # A list of 30 shifts formats the same few days again and again; the words depend only on
    # the day, the pattern and the language (`lang` decides the locale Flask-Babel uses here).
    return format_date(value, fmt)


def member_no(team_id: int, user_id: int) -> str:
    """A member's number in a team, for lists where two people may share a name.

    One query per team per request (cached on `g`), however many names the page shows.
    """
    from services.memberships import member_labels

    cache = g.setdefault("member_labels", {})
    if team_id not in cache:
        cache[team_id] = member_labels(team_id)
    return cache[team_id].get(user_id, "")


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["member_no"] = member_no
    app.jinja_env.filters["localdate"] = lambda value, fmt="medium": format_date(to_local(value), fmt)
    app.jinja_env.filters["localtime"] = lambda value, fmt="short": format_time(value, fmt)
    app.jinja_env.filters["localdatetime"] = lambda value, fmt="medium": format_datetime(value, fmt)
    app.jinja_env.filters["day"] = day_in_words

    @app.context_processor
    def inject_helpers():
        return {
            "current_language": current_language,
            "pick": pick,
            "localized": localized,
            "lang_url": lang_url,
            "sample_data_present": sample_data_present,
        }
