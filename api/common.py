"""Shared pieces of the JSON API: strict parameter parsing, pagination, errors, serialisation."""

from __future__ import annotations

import datetime as dt
import re

from flask import jsonify, request
from flask_babel import gettext as _

# The service's bounds live in inputs.py, shared with the pages and forms (re-exported here).
from inputs import MAX_ID, MAX_PAGE, MAX_YEAR, MIN_YEAR
from timeutil import local_to_utc, to_local

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
LANGUAGES = ("en", "zh_CN")

_DIGITS = re.compile(r"[0-9]{1,9}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ApiError(Exception):
    """An error answered with the API's error body: {"error": {"status", "code", "message"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self):
        response = jsonify(error={"status": self.status, "code": self.code, "message": self.message})
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter, refused (400) unless plain digits within the bounds."""
    raw = request.args.get(name)
    if raw is None:
        return default
    # int() would also take " 7", "7_0" and other scripts' digits; the API takes only 0-9.
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise ApiError(
            400,
            "invalid_parameter",
            _("%(name)s must be a whole number from %(min)d to %(max)d.", name=name, min=minimum, max=maximum),
        )
    return int(raw)


def date_arg(name: str) -> dt.date | None:
    """A YYYY-MM-DD query parameter (a local date in Asia/Shanghai), or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_date", _("%(name)s must be a date written YYYY-MM-DD.", name=name)) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ApiError(
            400,
            "invalid_date",
            _("%(name)s must be between %(min)d and %(max)d.", name=name, min=MIN_YEAR, max=MAX_YEAR),
        )
    return value


def date_range(default_from: dt.date | None = None) -> tuple[dt.date | None, dt.date | None]:
    start = date_arg("from") or default_from
    end = date_arg("to")
    if start is not None and end is not None and end < start:
        raise ApiError(400, "invalid_range", _("to must not be before from."))
    return start, end


def choice_arg(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise ApiError(
            400, "invalid_parameter", _("%(name)s must be one of: %(choices)s.", name=name, choices=", ".join(choices))
        )
    return raw


def text_arg(name: str, max_length: int = 64) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw or len(raw) > max_length:
        raise ApiError(
            400, "invalid_parameter", _("%(name)s must have 1 to %(max)d characters.", name=name, max=max_length)
        )
    return raw


def check_id(value: int) -> int:
    """Path ids beyond the database's integer range cannot exist: 404, not a database error."""
    if not 0 < value <= MAX_ID:
        raise ApiError(404, "not_found", _("Not found."))
    return value


def day_start_utc(day: dt.date) -> dt.datetime:
    return local_to_utc(day, dt.time(0, 0))


def paginated(select, serialise) -> dict:
    """Run `select` one page at a time: ?page= (from 1) and ?per_page= (at most 100)."""
    from models import db

    page = int_arg("page", 1, 1, MAX_PAGE)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    result = db.paginate(select, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)
    return {
        "items": [serialise(item) for item in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }


def local_iso(value: dt.datetime) -> str:
    """An instant as local time with its offset: unambiguous, and what a resident reads."""
    return to_local(value).isoformat()
