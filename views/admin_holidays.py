"""Admin: which holiday years are confirmed, importing a year's official arrangement (preview, then apply)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from access import admin_required
from models import Occurrence, OccurrenceStatus, Programme, db
from scheduler import holiday_import, holiday_years
from timeutil import local_to_utc, local_today, to_local

bp = Blueprint("holidays_admin", __name__, url_prefix="/admin/holidays")

YEARS_SHOWN = 3  # this year and the next two: what generation and the public feeds reach


class UploadForm(FlaskForm):
    file = FileField(_l("Arrangement file"), validators=[FileRequired()])
    submit = SubmitField(_l("Show the changes"))


class ApplyForm(FlaskForm):
    arrangement = HiddenField(validators=[DataRequired(), Length(max=holiday_import.MAX_FILE_BYTES)])
    source = HiddenField(validators=[Length(max=200)])
    submit = SubmitField(_l("Apply these changes"))


class ConfirmYearForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    submit = SubmitField(_l("Confirm this year as shown"))


def _sessions_in(year: int) -> int:
    """Scheduled court and clinic sessions from today to the end of `year`."""
    start = max(local_today(), dt.date(year, 1, 1))
    return (
        db.session.scalar(
            sa.select(sa.func.count(Occurrence.id))
            .join(Programme)
            .where(
                Programme.kind.in_(holiday_years.CALENDAR_KINDS),
                Occurrence.status == OccurrenceStatus.SCHEDULED,
                Occurrence.starts_at >= local_to_utc(start, dt.time(0)),
                Occurrence.starts_at < local_to_utc(dt.date(year + 1, 1, 1), dt.time(0)),
            )
        )
        or 0
    )


def year_states() -> list[dict]:
    admin = holiday_years.admin_confirmed_years()
    first = local_today().year
    states = []
    for year in range(first, first + YEARS_SHOWN):
        states.append(
            {
                "year": year,
                "admin": year in admin,
                "package": holiday_years.package_knows(year),
                "confirmed": year in admin or holiday_years.package_knows(year),
                "sessions": _sessions_in(year),
            }
        )
    return states


@bp.app_template_global("holiday_todo")
def holiday_todo() -> list[dict]:
    """The admin home's to-do: unconfirmed years that already have court or clinic sessions."""
    return [state for state in year_states() if not state["confirmed"] and state["sessions"]]


def _page(upload: UploadForm, status: int = 200, errors: list[str] | None = None):
    return render_template(
        "admin/holidays_import.html",
        years=year_states(),
        form=upload,
        confirm_form=ConfirmYearForm(formdata=None),
        errors=errors or [],
        max_kb=holiday_import.MAX_FILE_BYTES // 1024,
    ), status


@bp.get("/")
@admin_required
def index():
    return _page(UploadForm(formdata=None))


@bp.post("/")
@admin_required
def preview():
    upload = UploadForm()
    if not upload.validate_on_submit():
        return _page(upload, 400, [_("Choose a file to upload.")])
    storage = upload.file.data
    data = storage.stream.read(holiday_import.MAX_FILE_BYTES + 1)
    try:
        arrangement = holiday_import.parse(data, storage.filename or "")
    except holiday_import.ArrangementError as exc:
        return _page(upload, 400, [str(exc)])
    report = holiday_import.run(arrangement, current_user, apply=False)
    form = ApplyForm(formdata=None, arrangement=arrangement.to_json(), source=arrangement.source)
    return render_template("admin/holidays_preview.html", report=report, arrangement=arrangement, form=form)


@bp.post("/apply")
@admin_required
def apply():
    form = ApplyForm()
    if not form.validate_on_submit():
        return _page(
            UploadForm(formdata=None), 400, [_("The import form expired or was changed. Upload the file again.")]
        )
    try:
        arrangement = holiday_import.parse_json(form.arrangement.data.encode(), form.source.data or "")
    except holiday_import.ArrangementError as exc:
        return _page(UploadForm(formdata=None), 400, [str(exc)])
    report = holiday_import.run(arrangement, current_user, apply=True)
    flash(
        _(
            "%(year)s is confirmed: %(added)s sessions added, %(cancelled)s cancelled, %(moved)s moved.",
            year=report.year,
            added=len(report.added),
            cancelled=len(report.cancelled),
            moved=len(report.moved),
        ),
        "success",
    )
    return redirect(url_for(".index"))


@bp.post("/confirm")
@admin_required
def confirm():
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        return _page(UploadForm(formdata=None), 400, [_("Give a year between 2000 and 2100.")])
    count = holiday_import.confirm_by_hand(form.year.data, current_user)
    flash(
        _(
            "%(year)s is confirmed as shown; %(count)s sessions are no longer provisional.",
            year=form.year.data,
            count=count,
        ),
        "success",
    )
    return redirect(url_for(".index"))


# --- provisional sessions on public pages ---------------------------------------------------------


def _confirmed_years() -> holiday_years.ConfirmedYears:
    from flask import g

    found = g.get("confirmed_years")
    if found is None:
        found = g.confirmed_years = holiday_years.ConfirmedYears()  # the table read once per request
    return found


@bp.app_template_global("provisional_session")
def provisional_session(occurrence) -> bool:
    """Is this court or clinic session in a year whose holiday arrangement is not confirmed?"""
    if occurrence is None or occurrence.status is OccurrenceStatus.CANCELLED:
        return False
    return _confirmed_years().provisional(occurrence.programme.kind, to_local(occurrence.starts_at).date())


@bp.app_template_global("any_provisional")
def any_provisional(occurrences) -> bool:
    return any(provisional_session(item) for item in occurrences)
