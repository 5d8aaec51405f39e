"""One place that turns request input into typed values with bounds.

Ids, dates, months and page numbers from paths, query strings and form fields, and JSON bodies,
are parsed here and nowhere else, with the service's ranges:

- ids are 1 ... 2**31-1 (PostgreSQL INTEGER): a larger id cannot exist, and looking it up would be
  a database error (a 500) instead of "not found";
- dates are in the years 2000-2100: nothing is scheduled outside them, and arithmetic near year
  1 or 9999 overflows Python's date type;
- page numbers are 1 ... 10,000: an offset beyond that is no page anyone reads, and a huge one
  overflows the database's BIGINT;
- JSON bodies are at most 64 kB and 32 levels deep (the parser would recurse to a RecursionError).

Path ids use the `id` URL converter (`<id:shift_id>`), registered by `init_app`; a value out of
range does not match the rule, so it answers 404 like any unknown address.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from flask import Flask, Request, abort, request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter
from wtforms import DateField as _WTFormsDateField
from wtforms import IntegerField as _WTFormsIntegerField
from wtforms.validators import StopValidation

MAX_ID = 2**31 - 1
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_DATE, MAX_DATE = dt.date(MIN_YEAR, 1, 1), dt.date(MAX_YEAR, 12, 31)
MAX_PAGE = 10_000
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32

_ID = re.compile(r"[0-9]{1,10}")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


# --- plain values -------------------------------------------------------------------------------


def parse_id(raw: str | None) -> int | None:
    """An id written in ASCII digits within 1 ... 2**31-1, else None."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def in_range(day: dt.date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def parse_date(raw: str | None) -> dt.date | None:
    """A YYYY-MM-DD date in the service's years, else None (Feb 30, 0001-01-01, 9999-12-31...)."""
    match = _DATE.fullmatch(raw or "")
    if not match:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return day if in_range(day) else None


def parse_month(raw: str | None) -> tuple[int, int] | None:
    """A YYYY-MM month in the service's years, as (year, month), else None."""
    match = _MONTH.fullmatch(raw or "")
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None
    return year, month


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the week of `day`, kept inside the service's range."""
    first = max(day - dt.timedelta(days=day.weekday()), MIN_DATE)
    return first, min(first + dt.timedelta(days=6), MAX_DATE)


# --- request arguments (abort with a clear message on bad input) ----------------------------------


def id_arg(name: str) -> int | None:
    """An optional id in the query string: absent or empty -> None, malformed or out of range -> 404."""
    raw = request.args.get(name)
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        abort(404)
    return value


def id_field(name: str) -> int:
    """A required id in the posted form: missing, malformed or out of range -> 400."""
    value = parse_id(request.form.get(name))
    if value is None:
        abort(400, description=_("A required field is missing or not valid."))
    return value


def date_arg(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name)
    if not raw:
        return default
    value = parse_date(raw)
    if value is None:
        abort(
            400,
            description=_("Dates are written YYYY-MM-DD, in the years %(min)d to %(max)d.", min=MIN_YEAR, max=MAX_YEAR),
        )
    return value


def month_arg(default: dt.date, name: str = "month") -> tuple[int, int]:
    raw = request.args.get(name)
    if not raw:
        return default.year, default.month
    value = parse_month(raw)
    if value is None:
        abort(
            400,
            description=_("Months are written YYYY-MM, in the years %(min)d to %(max)d.", min=MIN_YEAR, max=MAX_YEAR),
        )
    return value


def year_arg(default: int, name: str = "year") -> int:
    raw = request.args.get(name)
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{4}", raw) or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        abort(400, description=_("Years are %(min)d to %(max)d.", min=MIN_YEAR, max=MAX_YEAR))
    return int(raw)


def page_arg(name: str = "page") -> int:
    """?page=: absent -> 1; anything but 1 ... 10,000 -> 404 (there is no such page)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return 1
    if not re.fullmatch(r"[0-9]{1,5}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


# --- form fields ---------------------------------------------------------------------------------


class DateField(_WTFormsDateField):
    """WTForms' DateField, refusing dates outside the service's years with a message."""

    out_of_range = False

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.out_of_range = self.data is not None and not in_range(self.data)
        if self.out_of_range:
            self.data = None  # no view computes with year 9999

    def pre_validate(self, form):
        # Before the validators, which would otherwise say "required" about the emptied value.
        if self.out_of_range:
            raise StopValidation(_("Dates are in the years %(min)d to %(max)d.", min=MIN_YEAR, max=MAX_YEAR))
        super().pre_validate(form)


class IntegerField(_WTFormsIntegerField):
    """WTForms' IntegerField, refusing numbers beyond the database's INTEGER (before any validator)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_ID <= self.data <= MAX_ID:
            self.data = None
            raise ValueError(_("Not a valid number."))


def coerce_id(value) -> int:
    """`coerce=` for select and radio fields whose values are ids: out of range is not a valid choice."""
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    else:
        result = parse_id(str(value))
    if result is None or not 0 < result <= MAX_ID:
        raise ValueError(_("Not a valid choice."))
    return result


# --- JSON bodies ---------------------------------------------------------------------------------


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets nest deeper than `limit`, counted without recursion (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_body_problem(data: bytes) -> str | None:
    """Why a JSON request body is refused before parsing, or None."""
    if len(data) > MAX_JSON_BYTES:
        return "JSON body too large"
    if json_depth_exceeds(data.decode("utf-8", errors="replace")):
        return "JSON body nested too deep"
    return None


class BoundedRequest(Request):
    """Flask's request, refusing JSON bodies that are too large or too deep (as malformed JSON: 400,
    or None with silent=True) before the recursive parser sees them. Responses are unaffected."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        if force or self.is_json:
            problem = json_body_problem(self.get_data(cache=True))
            if problem is not None:
                return None if silent else self.on_json_loading_failed(ValueError(problem))
        return super().get_json(force=force, silent=silent, cache=cache)


# --- URL converter -------------------------------------------------------------------------------


class IdConverter(BaseConverter):
    """`<id:name>`: 1 ... 2**31-1 in ASCII digits; anything else does not match (404)."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        from werkzeug.routing import ValidationError

        result = parse_id(value)
        if result is None:
            raise ValidationError()
        return result

    def to_url(self, value) -> str:
        return str(int(value))


def init_app(app: Flask) -> None:
    """Before the blueprints: rules are compiled with the converters known when they are added."""
    app.url_map.converters["id"] = IdConverter
    app.request_class = BoundedRequest
