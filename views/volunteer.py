"""A volunteer's own pages: my shifts, open shifts of my teams, swaps, availability, my hours."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, NumberRange, Optional

import inputs
from access import roles_required
from inputs import DateField, IntegerField
from models import Role, utcnow
from services import assignments as service
from services import availability as availability_service
from services import checkin
from services import roster as queries
from services import trades as trade_service
from services.errors import RuleViolation
from timeutil import local_today

bp = Blueprint("volunteer", __name__, url_prefix="/me")

volunteers = roles_required(Role.VOLUNTEER, Role.COORDINATOR)
OPEN_DAYS = 30


# Ids in forms go through inputs.py: malformed or beyond the database's INTEGER -> 400.
_int_field = inputs.id_field


def _run(action):
    """Run a service call for the form just posted: redirect with a note, or say why not (4xx)."""
    try:
        message = action()
    except RuleViolation as exc:
        if exc.status == 403:
            abort(403)
        return exc
    flash(message, "success")
    return None


def _my_shift_action(action: str) -> str:
    """One of the forms on "My shifts"; returns what to tell the volunteer."""
    if action == "drop":
        service.drop(current_user, _int_field("assignment_id"))
        return _("You have dropped the shift.")
    if action == "swap":
        service.request_swap(current_user, _int_field("assignment_id"), _int_field("to_user_id"))
        return _("Swap request sent; the shift stays yours until it is accepted.")
    if action in ("accept", "decline"):
        service.answer_swap(current_user, _int_field("swap_id"), action == "accept")
        return _("You have taken over the shift.") if action == "accept" else _("You have declined the swap.")
    if action == "cancel_swap":
        service.cancel_swap(current_user, _int_field("swap_id"))
        return _("Swap request withdrawn.")
    abort(400, description=_("Unknown action."))


@bp.route("/", methods=["GET", "POST"])
@volunteers
def index():
    error = None
    status = 200
    if request.method == "POST":
        outcome = _run(lambda: _my_shift_action(request.form.get("action", "")))
        if outcome is None:
            return redirect(url_for(".index"), code=303)
        error, status = outcome.message, outcome.status

    upcoming = queries.upcoming_assignments(current_user.id)
    incoming, outgoing = queries.pending_swaps(current_user.id)
    pending_for = {swap.assignment_id: swap for swap in outgoing}
    year = local_today().year
    return render_template(
        "volunteer/index.html",
        upcoming=upcoming,
        incoming=incoming,
        outgoing=outgoing,
        pending_for=pending_for,
        teammates=queries.teammates(current_user.id),
        led_teams=set(checkin.led_team_ids(current_user)),  # a leader opens the shift's check-in page
        my_teams=trade_service.my_teams(current_user.id),
        can_drop=service.can_still_drop,
        cutoff_hours=int(service.drop_cutoff().total_seconds() // 3600),
        hours=queries.volunteer_hours(current_user.id, year),
        year=year,
        now=utcnow(),
        error=error,
    ), status


@bp.route("/open", methods=["GET", "POST"])
@volunteers
def open_shifts():
    error = None
    status = 200
    if request.method == "POST":

        def sign_up():
            shift_id = _int_field("shift_id")

            def book_and_describe():
                # Described inside the booking's unit of work, while its shift is loaded (after the
                # commit, it would be read again).
                shift = service.sign_up(current_user, shift_id).shift
                return _(
                    "You are on the %(times)s shift of %(date)s.",
                    times=service.shift_times(shift),
                    date=format_date(shift.local_date, "medium"),
                )

            return service.in_transaction(book_and_describe)

        outcome = _run(sign_up)
        if outcome is None:
            return redirect(request.full_path.rstrip("?"), code=303)
        error, status = outcome.message, outcome.status
    shifts, pager = queries.open_shifts(current_user, OPEN_DAYS, inputs.page_arg())
    return render_template("volunteer/open.html", shifts=shifts, page=pager, days=OPEN_DAYS, error=error), status


WEEKDAYS = [SelectChoice("", _l("— a date instead —"))] + [
    SelectChoice(str(n), label)
    for n, label in enumerate(
        [
            _l("Mondays"),
            _l("Tuesdays"),
            _l("Wednesdays"),
            _l("Thursdays"),
            _l("Fridays"),
            _l("Saturdays"),
            _l("Sundays"),
        ]
    )
]


class UnavailableForm(FlaskForm):
    weekday = SelectField(_l("Every week on"), choices=WEEKDAYS, validators=[Optional()])
    day = DateField(_l("Or on this date"), validators=[Optional()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add"))


class LimitForm(FlaskForm):
    hours = IntegerField(
        _l("At most this many hours of shifts a week (empty: no limit)"),
        validators=[Optional(), NumberRange(min=1, max=168)],
    )
    save = SubmitField(_l("Save limit"))


@bp.route("/availability", methods=["GET", "POST"])
@volunteers
def availability():
    form = UnavailableForm()
    limit_form = LimitForm(prefix="limit")
    status = 200
    if request.method == "POST":
        done, status = _availability_post(form, limit_form)
        if done is not None:
            return done
    else:
        limit_form.hours.data = current_user.weekly_hours_limit
    rows = availability_service.my_unavailability(current_user.id)
    return render_template(
        "volunteer/availability.html", form=form, limit_form=limit_form, rows=rows, weekday_name=weekday_name
    ), status


def _availability_post(form: UnavailableForm, limit_form: LimitForm):
    """(a redirect after a change, or None and the page's status)."""
    action = request.form.get("action")
    if action == "limit":
        if not limit_form.validate_on_submit():
            return None, 400

        def save():
            availability_service.set_weekly_limit(current_user, limit_form.hours.data)
            return _("Saved.")

        return _act(save)
    if action == "remove":

        def remove():
            availability_service.remove_unavailability(current_user, _int_field("id"))
            return _("Removed.")

        return _act(remove)
    if not form.validate_on_submit():
        return None, 400
    # Optional() ends validation on a blank value and clears the "not a valid choice" error, so
    # " " or "x" arrive here: only the listed weekdays are taken.
    raw_weekday = (form.weekday.data or "").strip()
    if raw_weekday and raw_weekday not in {choice.value for choice in WEEKDAYS}:
        form.weekday.errors.append(_("Choose a weekday."))
        return None, 400
    weekday = int(raw_weekday) if raw_weekday else None
    day = form.day.data
    if day is not None and day < local_today():
        form.day.errors.append(_("Choose a date that has not passed."))
        return None, 400

    def add():
        availability_service.add_unavailability(current_user, weekday=weekday, day=day, note=form.note.data)
        return _("Saved. Coordinators will not be offered you then.")

    return _act(add)


def _act(action):
    """Run a change: back to the page (303) when it is done, else its message and 4xx on the page."""
    outcome = _run(action)
    if outcome is None:
        return redirect(url_for(".availability"), code=303), 200
    flash(outcome.message, "error")
    return None, outcome.status


def weekday_name(weekday: int) -> str:
    """The reader's name of a weekday (0 = Monday); 2024-01-01 was a Monday."""
    return format_date(dt.date(2024, 1, 1) + dt.timedelta(days=weekday), "EEEE")
