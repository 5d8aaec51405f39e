"""Filters and globals every template may use."""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask, request, url_for
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


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localdate"] = lambda value, fmt="medium": format_date(to_local(value), fmt)
    app.jinja_env.filters["localtime"] = lambda value, fmt="short": format_time(value, fmt)
    app.jinja_env.filters["localdatetime"] = lambda value, fmt="medium": format_datetime(value, fmt)
    app.jinja_env.filters["day"] = lambda value, fmt="full": format_date(value, fmt)

    @app.context_processor
    def inject_helpers():
        return {
            "current_language": current_language,
            "pick": pick,
            "localized": localized,
            "lang_url": lang_url,
            "sample_data_present": sample_data_present,
        }
