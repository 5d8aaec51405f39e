"""Coordinators' rosters for their own teams: week and month grids, a shift's page, bulk actions,
attendance, hours, exports, and the coverage dashboard of all teams.

Every form works without JavaScript (POST, then redirect back; a refusal re-renders the page
with the reason and a 4xx status). static/roster.js sends the same forms with fetch and swaps
in the re-rendered shift row, so a coordinator can staff a week without page loads.
"""

from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, SubmitField, widgets
from wtforms.validators import DataRequired

import inputs
from access import roles_required
from i18n import current_language
from inputs import DateField
from models import PatrolTeam, Role, Shift, db
from responses import violation_json, violation_page
from services import assignments as service
from services import exports, roster_bulk, waitlist_manage
from services import roster as queries
from services.errors import RuleViolation
from services.memberships import member_labels
from timeutil import local_today
from views.template_helpers import day_in_words

bp = Blueprint("roster", __name__, url_prefix="/roster")

managers = roles_required(Role.COORDINATOR)


@bp.app_template_filter("hhmm")
@functools.lru_cache(maxsize=4096)  # rosters repeat the same few start and end times
def hhmm_filter(value: dt.datetime) -> str:
    """Local 24-hour time (19:00), as patrol rosters are written in both languages."""
    return service.hhmm(value)


@bp.app_template_filter("shift_heading")
def shift_heading_filter(shift) -> str:
    """The shift's day and times in the reader's language: "Saturday 5 December, 19:00–22:00"."""
    return _shift_heading(shift.local_date, shift.starts_at, shift.ends_at, current_language())


@functools.lru_cache(maxsize=4096)
def _shift_heading(day: dt.date, starts_at: dt.datetime, ends_at: dt.datetime, lang: str) -> str:
    # A list of shifts repeats the same few days and times: the words depend only on those and on
    # the language (`lang` decides the locale Flask-Babel uses here).
    return _(
        "%(date)s, %(hours)s",
        date=day_in_words(day, "EEEE d MMMM"),
        hours=f"{hhmm_filter(starts_at)}–{hhmm_filter(ends_at)}",
    )


# --- request parsing -------------------------------------------------------------------------


def _team_or_403(code: str) -> PatrolTeam:
    team = db.first_or_404(sa.select(PatrolTeam).where(PatrolTeam.code == code))
    if not service.can_manage_team(current_user, team.id):
        abort(403)
    return team


# Ids, dates and months go through inputs.py, with the service's bounds.
_int_field = inputs.id_field


def _date_arg(name: str, default: dt.date) -> dt.date:
    return inputs.date_arg(name, default)


def _month_arg(default: dt.date) -> tuple[int, int]:
    return inputs.month_arg(default)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _page_arg() -> int:
    return inputs.page_arg()


# --- index -----------------------------------------------------------------------------------


@bp.route("/")
@managers
def index():
    query = queries.managed_teams_query(current_user).order_by(PatrolTeam.code)
    page = db.paginate(query, page=_page_arg(), per_page=40, error_out=False)
    return render_template("roster/index.html", page=page, teams=page.items, today=local_today())


# --- the team roster: week and month ---------------------------------------------------------


def _roster_context(team: PatrolTeam):
    view = request.args.get("view", "week")
    show_all = request.args.get("show") == "all"
    today = local_today()
    if view == "month":
        year, month = _month_arg(today)
        first, last = queries.month_bounds(year, month)
        roster = queries.team_roster(team, first, last, with_availability=False)
        prev_month = first - dt.timedelta(days=1)
        next_month = last + dt.timedelta(days=1)
        nav = {
            "prev": url_for(".team", code=team.code, view="month", month=f"{prev_month:%Y-%m}"),
            "next": url_for(".team", code=team.code, view="month", month=f"{next_month:%Y-%m}"),
            "today": url_for(".team", code=team.code, view="month"),
        }
        return dict(view="month", roster=roster, nav=nav, month=f"{year}-{month:02d}", show_all=show_all)
    start = _date_arg("start", today)
    first = start - dt.timedelta(days=start.weekday())
    last = first + dt.timedelta(days=6)
    roster = queries.team_roster(team, first, last, with_availability=True)
    nav = {
        "prev": url_for(
            ".team",
            code=team.code,
            start=(first - dt.timedelta(days=7)).isoformat(),
            **({"show": "all"} if show_all else {}),
        ),
        "next": url_for(
            ".team",
            code=team.code,
            start=(first + dt.timedelta(days=7)).isoformat(),
            **({"show": "all"} if show_all else {}),
        ),
        "today": url_for(".team", code=team.code),
    }
    # Export and print cover exactly the week shown (which may span two months): `week=` its Monday.
    return dict(view="week", roster=roster, nav=nav, month=f"{first:%Y-%m}", week=first.isoformat(), show_all=show_all)


def _perform(action: str) -> tuple[str, int]:
    """Run one roster form action through the service; returns (message, shift id)."""
    if action == "assign":
        shift_id = _int_field("shift_id")
        assignment = service.assign(current_user, shift_id, _int_field("volunteer_id"))
        return _("%(name)s is now on this shift.", name=assignment.volunteer.display_name), shift_id
    if action == "unassign":
        assignment = service.unassign(current_user, _int_field("assignment_id"))
        return _("%(name)s was taken off this shift.", name=assignment.volunteer.display_name), assignment.shift_id
    if action in ("present", "no_show"):
        assignment = service.mark_attendance(current_user, _int_field("assignment_id"), action == "present")
        message = (
            _("%(name)s: present.", name=assignment.volunteer.display_name)
            if action == "present"
            else _("%(name)s: no-show.", name=assignment.volunteer.display_name)
        )
        return message, assignment.shift_id
    abort(400, description=_("Unknown action."))


def _handle_post(render_page):
    """POST of a roster form: JSON for fetch() callers, else redirect back or re-render with the reason."""
    action = request.form.get("action", "")
    show_all = request.args.get("show") == "all"
    try:
        message, shift_id = _perform(action)
    except RuleViolation as exc:
        if _wants_json() and exc.status != 403:
            return violation_json(exc)
        return violation_page(exc, lambda error: render_page(error=error)[0], inline=True)
    if _wants_json():
        shift = db.session.get(Shift, shift_id)
        row, availability = queries.shift_detail(shift)
        macro = get_template_attribute("roster/_macros.html", "shift_row")
        html = macro(row, availability, show_all, request.full_path.rstrip("?"), request.endpoint == "roster.shift")
        return jsonify(ok=True, message=message, html=str(html))
    flash(message, "success")
    return redirect(request.full_path, code=303)


@bp.route("/team/<code>", methods=["GET", "POST"])
@managers
def team(code: str):
    item = _team_or_403(code)

    def render_page(error: str | None = None, status: int = 200):
        return render_template("roster/team.html", team=item, error=error, **_roster_context(item)), status

    if request.method == "POST":
        return _handle_post(render_page)
    return render_page()


@bp.route("/shift/<id:shift_id>", methods=["GET", "POST"])
@managers
def shift(shift_id: int):
    item = db.get_or_404(Shift, shift_id)
    if not service.can_manage_team(current_user, item.team_id):
        abort(403)

    def render_page(error: str | None = None, status: int = 200):
        row, availability = queries.shift_detail(item)
        return render_template(
            "roster/shift.html",
            row=row,
            availability=availability,
            team=item.team,
            show_all=request.args.get("show") == "all",
            error=error,
        ), status

    if request.method == "POST":
        return _handle_post(render_page)
    return render_page()


@bp.route("/shift/<id:shift_id>/waitlist", methods=["GET", "POST"])
@managers
def shift_waitlist(shift_id: int):
    """The shift's waiting list (position, member number, since when, offer) and taking someone off it."""
    error, status = None, 200
    if request.method == "POST":
        if request.form.get("action", "") != "remove":
            abort(400, description=_("Unknown action."))
        try:
            entry = waitlist_manage.remove_from_waitlist(current_user, shift_id, _int_field("entry_id"))
        except RuleViolation as exc:
            if exc.status in (403, 404):
                abort(exc.status)
            error, status = exc.message, exc.status
        else:
            flash(_("%(name)s was taken off the waiting list.", name=entry.volunteer.display_name), "success")
            return redirect(url_for(".shift_waitlist", shift_id=shift_id), code=303)
    try:
        item, rows = waitlist_manage.shift_waitlist(current_user, shift_id)
    except RuleViolation as exc:
        abort(exc.status)
    return render_template("roster/shift_waitlist.html", shift=item, team=item.team, rows=rows, error=error), status


# --- bulk actions ----------------------------------------------------------------------------

WEEKDAY_CHOICES = [
    SelectChoice(n, label)
    for n, label in enumerate(
        [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")]
    )
]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class BulkForm(FlaskForm):
    action = SelectField(
        _l("What to do"),
        choices=[
            SelectChoice("fill_min", _l("Fill from the usual volunteers, up to each shift's minimum")),
            SelectChoice("fill_max", _l("Fill from the usual volunteers, up to each shift's maximum")),
            SelectChoice("assign", _l("Put one volunteer on every matching shift")),
            SelectChoice("unassign", _l("Take one volunteer off every matching shift")),
        ],
    )
    first = DateField(_l("From"), validators=[DataRequired()])
    last = DateField(_l("To (inclusive)"), validators=[DataRequired()])
    weekdays = MultiCheckboxField(
        _l("Only on these weekdays (none ticked: every day)"), coerce=int, choices=WEEKDAY_CHOICES, validate_choice=True
    )
    start_time = SelectField(_l("Only the shift starting at"), choices=[])
    volunteer = SelectField(_l("Volunteer (for putting on or taking off)"), choices=[])
    submit = SubmitField(_l("Apply"))


@bp.route("/team/<code>/bulk", methods=["GET", "POST"])
@managers
def bulk(code: str):
    item = _team_or_403(code)
    form = BulkForm()
    members = queries.team_members(item.id)
    labels = member_labels(item.id)
    form.volunteer.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(m.id), f"{m.display_name} · {labels.get(m.id, '')}") for m in members
    ]
    times = db.session.scalars(
        sa.select(Shift.starts_at)
        .where(Shift.team_id == item.id, Shift.local_date >= local_today())
        .order_by(Shift.starts_at)
        .limit(200)
    ).all()
    form.start_time.choices = [SelectChoice("", _("Every shift"))] + [
        SelectChoice(t) for t in sorted({service.hhmm(v) for v in times})
    ]
    if request.method == "GET":
        today = local_today()
        form.first.data = _date_arg("first", today + dt.timedelta(days=7 - today.weekday()))
        form.last.data = _date_arg("last", form.first.data + dt.timedelta(days=27))
    result = None
    status = 200
    if form.validate_on_submit():
        volunteer_id = inputs.parse_id(form.volunteer.data) if form.volunteer.data else None
        weekdays = set(form.weekdays.data or [])
        args = dict(
            first=form.first.data, last=form.last.data, weekdays=weekdays, start_time=form.start_time.data or None
        )
        try:
            if form.action.data in ("assign", "unassign"):
                if volunteer_id is None:
                    raise RuleViolation(_("Choose the volunteer."), "bad_input", 400)
                call = roster_bulk.bulk_assign if form.action.data == "assign" else roster_bulk.bulk_unassign
                result = call(current_user, item.id, volunteer_id, **args)
            else:
                result = roster_bulk.fill_from_usual(
                    current_user, item.id, up_to="min" if form.action.data == "fill_min" else "max", **args
                )
        except RuleViolation as exc:
            return violation_page(exc, lambda: render_template("roster/bulk.html", team=item, form=form, result=None))
    elif request.method == "POST":
        status = 400
    return render_template("roster/bulk.html", team=item, form=form, result=result), status


# --- hours, exports, printing ----------------------------------------------------------------


@bp.route("/team/<code>/hours")
@managers
def hours(code: str):
    item = _team_or_403(code)
    year = inputs.year_arg(local_today().year)
    return render_template("roster/hours.html", team=item, table=queries.team_hours(item.id, year))


def _export_period() -> tuple[dt.date, dt.date, str]:
    """?week=<a date of the week> (Monday to Sunday) or ?month=YYYY-MM (default: this month)."""
    if request.args.get("week"):
        first, last = inputs.week_bounds(_date_arg("week", local_today()))
        return first, last, f"{first.isoformat()}_{last.isoformat()}"
    year, month = _month_arg(local_today())
    first, last = queries.month_bounds(year, month)
    return first, last, f"{year}-{month:02d}"


@bp.route("/team/<code>/export.csv")
@managers
def export_csv(code: str):
    item = _team_or_403(code)
    first, last, period = _export_period()
    body = exports.roster_csv_between(item, first, last)
    filename = f"roster-{item.code}-{period}.csv"
    return Response(
        body, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@bp.route("/team/<code>/print")
@managers
def print_roster(code: str):
    item = _team_or_403(code)
    first, last, period = _export_period()
    roster = queries.team_roster(item, first, last, with_availability=False)
    week = request.args.get("week") and first.isoformat()
    return render_template("roster/print.html", team=item, roster=roster, month=f"{first:%Y-%m}", week=week)


# --- coverage of all teams -------------------------------------------------------------------


@bp.route("/coverage")
@managers
def coverage():
    days = 30 if request.args.get("days") == "30" else 7
    sort = request.args.get("sort", "gaps")
    data = queries.coverage(current_user, days, sort=sort, page=_page_arg())
    return render_template("roster/coverage.html", data=data)
