"""Admin pages for series, shift templates, holiday overrides, moving and cancelling occurrences."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import orm

import inputs
from access import admin_required, roles_required
from models import (
    ALL_WEEKDAYS,
    Community,
    HearingNotice,
    HolidayOverride,
    HolidayPolicy,
    Occurrence,
    OverrideKind,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Role,
    Series,
    SeriesPattern,
    SeriesSite,
    ShiftTemplate,
    User,
    Venue,
    db,
)
from responses import violation_page
from scheduler import holiday_calendar, operations
from scheduler.rules import normalise_rrule
from services.errors import RuleViolation
from timeutil import local_today, to_local

from .admin_schedule_forms import (
    CancelForm,
    ConfirmForm,
    HearingForm,
    MoveForm,
    OverrideForm,
    SeriesForm,
    SiteForm,
    TemplateForm,
    options,
)

bp = Blueprint("schedule_admin", __name__, url_prefix="/admin/schedule")

PER_PAGE = 50


def _invalid(page: str, **context):
    """Re-render a form that failed validation: a message and 400."""
    flash(_("Please correct the marked fields."), "error")
    return render_template(page, **context), 400


def _reconcile_message(result) -> str:
    return _(
        "Occurrences: %(created)d created, %(updated)d updated, %(cancelled)d cancelled, %(reinstated)d reinstated.",
        created=result.created,
        updated=result.updated,
        cancelled=result.cancelled,
        reinstated=result.reinstated,
    )


# --- overview -------------------------------------------------------------------------------


@bp.route("/")
@admin_required
def index():
    series = db.session.scalars(
        sa.select(Series).options(orm.joinedload(Series.programme), orm.selectinload(Series.sites)).order_by(Series.id)
    ).all()
    flagged = db.session.scalars(
        sa.select(Occurrence)
        .join(Series, Series.id == Occurrence.series_id)
        .where(
            Series.pattern == SeriesPattern.RRULE,
            Occurrence.on_public_holiday.is_(True),
            Occurrence.rule_date >= local_today(),
        )
        .options(orm.joinedload(Occurrence.community), orm.joinedload(Occurrence.series))
        .order_by(Occurrence.rule_date, Occurrence.id)
        .limit(100)
    ).all()
    return render_template("admin/schedule/index.html", series=series, flagged=flagged)


# --- series and sites -----------------------------------------------------------------------


def _series_form(series: Series | None = None) -> SeriesForm:
    form = SeriesForm(obj=series)
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.id)).all()
    form.programme_id.choices = options((p.id, p.name) for p in programmes if p.kind.uses_series)
    if series is not None and request.method == "GET":
        form.pattern.data = series.pattern.value
        form.holiday_policy.data = series.holiday_policy.value
    return form


def _series_values(form: SeriesForm) -> dict:
    pattern = SeriesPattern(form.pattern.data)
    return {
        "programme_id": form.programme_id.data,
        "name_zh": form.name_zh.data.strip(),
        "name_en": form.name_en.data.strip(),
        "pattern": pattern,
        "rrule": normalise_rrule(form.rrule.data) if pattern is SeriesPattern.RRULE else None,
        "holiday_policy": HolidayPolicy(form.holiday_policy.data),
        "starts_on": form.starts_on.data,
        "ends_on": form.ends_on.data,
        "active": form.active.data,
    }


@bp.route("/series/new", methods=["GET", "POST"])
@admin_required
def series_new():
    form = _series_form()
    if request.method == "GET":
        form.rrule.data = "FREQ=MONTHLY;BYDAY=2SU"
        form.starts_on.data = local_today()
    if form.validate_on_submit():
        series = operations.create_series(current_user, _series_values(form))
        flash(_("Series created. Add its sites (where and when it meets)."), "success")
        return redirect(url_for(".series_detail", series_id=series.id))
    if form.is_submitted():
        return _invalid("admin/schedule/series_form.html", form=form, series=None)
    return render_template("admin/schedule/series_form.html", form=form, series=None)


@bp.route("/series/<id:series_id>/edit", methods=["GET", "POST"])
@admin_required
def series_edit(series_id: int):
    series = db.get_or_404(Series, series_id)
    form = _series_form(series)
    if form.validate_on_submit():
        result = operations.update_series(current_user, series, _series_values(form))
        flash(_("Series saved.") + " " + _reconcile_message(result), "success")
        return redirect(url_for(".series_detail", series_id=series.id))
    if form.is_submitted():
        return _invalid("admin/schedule/series_form.html", form=form, series=series)
    return render_template("admin/schedule/series_form.html", form=form, series=series)


@bp.route("/series/<id:series_id>")
@admin_required
def series_detail(series_id: int):
    series = db.get_or_404(Series, series_id)
    sites = db.session.scalars(
        sa.select(SeriesSite)
        .where(SeriesSite.series_id == series.id)
        .options(
            orm.joinedload(SeriesSite.venue),
            orm.joinedload(SeriesSite.community),
            orm.selectinload(SeriesSite.officials),
        )
        .order_by(SeriesSite.id)
    ).all()
    when = request.args.get("when", "upcoming")
    query = (
        sa.select(Occurrence)
        .where(Occurrence.series_id == series.id)
        .options(orm.joinedload(Occurrence.community), orm.joinedload(Occurrence.venue))
    )
    today = local_today()
    if when == "past":
        query = query.where(Occurrence.rule_date < today).order_by(Occurrence.rule_date.desc(), Occurrence.id)
    elif when == "holiday":
        query = query.where(Occurrence.on_public_holiday.is_(True)).order_by(Occurrence.rule_date, Occurrence.id)
    else:
        when = "upcoming"
        query = query.where(Occurrence.rule_date >= today).order_by(Occurrence.rule_date, Occurrence.id)
    page = db.paginate(query, page=inputs.page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/schedule/series_detail.html", series=series, sites=sites, page=page, when=when)


def _site_form(site: SeriesSite | None = None) -> SiteForm:
    form = SiteForm(obj=site)
    communities = db.session.scalars(sa.select(Community).order_by(Community.slug)).all()
    venues = db.session.scalars(sa.select(Venue).order_by(Venue.kind, Venue.slug)).all()
    officials = db.session.scalars(
        sa.select(User).where(User.role == Role.OFFICIAL, User.active.is_(True)).order_by(User.name)
    ).all()
    form.community_id.choices = options([(0, _("— none —"))] + [(c.id, c.name) for c in communities])
    form.venue_id.choices = options((v.id, v.name) for v in venues)
    form.officials.choices = options(
        (u.id, f"{u.display_name} · {u.title}" if u.title else u.display_name) for u in officials
    )
    if site is not None and request.method == "GET":
        form.community_id.data = site.community_id or 0
        form.officials.data = [u.id for u in site.officials]
    return form


def _site_values(form: SiteForm) -> dict:
    return {
        "community_id": form.community_id.data or None,
        "venue_id": form.venue_id.data,
        "local_start": form.local_start.data,
        "local_end": form.local_end.data,
        "capacity": form.capacity.data,
        "bilingual": form.bilingual.data,
        "active": form.active.data,
    }


def _save_site(series: Series, site: SeriesSite, form: SiteForm, page: str):
    try:
        result = operations.save_site(current_user, series, site, _site_values(form), form.officials.data)
    except RuleViolation as exc:
        # The duplicate-site rule: shown at the venue field, like the form's own checks (400).
        form.venue_id.errors.append(exc.message)
        return _invalid(page, form=form, series=series, site=site)
    flash(_("Site saved.") + " " + _reconcile_message(result), "success")
    return redirect(url_for(".series_detail", series_id=series.id))


@bp.route("/series/<id:series_id>/sites/new", methods=["GET", "POST"])
@admin_required
def site_new(series_id: int):
    series = db.get_or_404(Series, series_id)
    form = _site_form()
    if request.method == "GET":
        form.local_start.data, form.local_end.data = dt.time(9, 0), dt.time(11, 30)
    if form.validate_on_submit():
        return _save_site(series, SeriesSite(), form, "admin/schedule/site_form.html")
    if form.is_submitted():
        return _invalid("admin/schedule/site_form.html", form=form, series=series, site=None)
    return render_template("admin/schedule/site_form.html", form=form, series=series, site=None)


@bp.route("/sites/<id:site_id>/edit", methods=["GET", "POST"])
@admin_required
def site_edit(site_id: int):
    site = db.get_or_404(SeriesSite, site_id)
    series = site.series
    form = _site_form(site)
    if form.validate_on_submit():
        return _save_site(series, site, form, "admin/schedule/site_form.html")
    if form.is_submitted():
        return _invalid("admin/schedule/site_form.html", form=form, series=series, site=site)
    return render_template("admin/schedule/site_form.html", form=form, series=series, site=site)


# --- one occurrence: move, cancel, hearing notices ------------------------------------------


def _occurrence_page(occurrence: Occurrence, status: int = 200, move_form=None, cancel_form=None, hearing_form=None):
    return _occurrence_body(occurrence, move_form, cancel_form, hearing_form), status


def _occurrence_body(occurrence: Occurrence, move_form=None, cancel_form=None, hearing_form=None):
    start, end = to_local(occurrence.starts_at), to_local(occurrence.ends_at)
    if move_form is None:
        move_form = MoveForm(formdata=None, day=start.date(), start=start.time(), end=end.time())
    notices = db.session.scalars(
        sa.select(HearingNotice).where(HearingNotice.occurrence_id == occurrence.id).order_by(HearingNotice.starts_at)
    ).all()
    is_court = occurrence.programme.kind is ProgrammeKind.HOLIDAY_COURT
    holiday_en = holiday_calendar.holiday_name(occurrence.rule_date, "en") if occurrence.on_public_holiday else None
    return render_template(
        "admin/schedule/occurrence.html",
        occurrence=occurrence,
        move_form=move_form,
        cancel_form=cancel_form or CancelForm(formdata=None),
        hearing_form=hearing_form
        or (HearingForm(formdata=None, start=start.time(), end=end.time()) if is_court else None),
        remove_form=ConfirmForm(formdata=None),
        notices=notices,
        is_court=is_court,
        holiday_en=holiday_en,
    )


@bp.route("/occurrences/<id:occurrence_id>")
@roles_required(Role.STAFF)
def occurrence_detail(occurrence_id: int):
    return _occurrence_page(db.get_or_404(Occurrence, occurrence_id))


@bp.route("/occurrences/<id:occurrence_id>/move", methods=["POST"])
@admin_required
def occurrence_move(occurrence_id: int):
    occurrence = db.get_or_404(Occurrence, occurrence_id)
    form = MoveForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _occurrence_page(occurrence, 400, move_form=form)
    try:
        operations.move_occurrence(
            current_user, occurrence, form.day.data, form.start.data, form.end.data, note=(form.note.data or "").strip()
        )
    except RuleViolation as exc:
        return violation_page(exc, lambda: _occurrence_body(occurrence, move_form=form))
    flash(_("Occurrence moved; calendars will show the new time."), "success")
    return redirect(url_for(".occurrence_detail", occurrence_id=occurrence.id))


@bp.route("/occurrences/<id:occurrence_id>/cancel", methods=["POST"])
@admin_required
def occurrence_cancel(occurrence_id: int):
    occurrence = db.get_or_404(Occurrence, occurrence_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _occurrence_page(occurrence, 400, cancel_form=form)
    try:
        operations.cancel_occurrence(current_user, occurrence, reason=(form.reason.data or "").strip())
    except RuleViolation as exc:
        return violation_page(exc, lambda: _occurrence_body(occurrence, cancel_form=form))
    flash(_("Occurrence cancelled; calendars will show it as cancelled."), "success")
    return redirect(url_for(".occurrence_detail", occurrence_id=occurrence.id))


@bp.route("/occurrences/<id:occurrence_id>/hearings", methods=["POST"])
@roles_required(Role.STAFF)
def hearing_add(occurrence_id: int):
    occurrence = db.get_or_404(Occurrence, occurrence_id)
    form = HearingForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _occurrence_page(occurrence, 400, hearing_form=form)
    try:
        operations.add_hearing_notice(
            current_user,
            occurrence,
            case_number=form.case_number.data,
            cause_zh=form.cause_zh.data,
            cause_en=form.cause_en.data,
            local_start=form.start.data,
            local_end=form.end.data,
            bilingual=form.bilingual.data,
        )
    except RuleViolation as exc:
        return violation_page(exc, lambda: _occurrence_body(occurrence, hearing_form=form))
    flash(_("Hearing notice published."), "success")
    return redirect(url_for(".occurrence_detail", occurrence_id=occurrence.id))


@bp.route("/hearings/<id:notice_id>/cancel", methods=["POST"])
@roles_required(Role.STAFF)
def hearing_cancel(notice_id: int):
    notice = db.get_or_404(HearingNotice, notice_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        operations.cancel_hearing_notice(current_user, notice)
    except RuleViolation as exc:
        return violation_page(exc, lambda: _occurrence_body(notice.occurrence))
    flash(_("Hearing notice cancelled."), "success")
    return redirect(url_for(".occurrence_detail", occurrence_id=notice.occurrence_id))


# --- holiday calendar -----------------------------------------------------------------------


def _year_arg() -> int:
    return inputs.year_arg(local_today().year)


def _holidays_page(year: int, form: OverrideForm, status: int = 200):
    overrides = db.session.scalars(
        sa.select(HolidayOverride)
        .where(HolidayOverride.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        .order_by(HolidayOverride.day)
    ).all()
    return render_template(
        "admin/schedule/holidays.html",
        year=year,
        package_days=holiday_calendar.package_days(year),
        overrides=overrides,
        form=form,
        remove_form=ConfirmForm(formdata=None),
        court_days=len(holiday_calendar.court_days(dt.date(year, 1, 1), dt.date(year, 12, 31))),
    ), status


@bp.route("/holidays")
@admin_required
def holidays():
    year = _year_arg()
    return _holidays_page(year, OverrideForm(formdata=None))


@bp.route("/holidays", methods=["POST"])
@admin_required
def holiday_add():
    form = OverrideForm()
    year = form.day.data.year if form.day.data else _year_arg()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _holidays_page(year, form, 400)
    try:
        result = operations.add_holiday_override(
            current_user, form.day.data, OverrideKind(form.kind.data), form.reason.data.strip()
        )
    except RuleViolation as exc:
        form.day.errors.append(exc.message)
        flash(_("Please correct the marked fields."), "error")
        return _holidays_page(year, form, 400)
    flash(_("Override saved.") + " " + _reconcile_message(result), "success")
    return redirect(url_for(".holidays", year=year))


@bp.route("/holidays/<id:override_id>/delete", methods=["POST"])
@admin_required
def holiday_remove(override_id: int):
    override = db.get_or_404(HolidayOverride, override_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    year = override.day.year
    result = operations.remove_holiday_override(current_user, override)
    flash(_("Override removed.") + " " + _reconcile_message(result), "success")
    return redirect(url_for(".holidays", year=year))


# --- shift templates ------------------------------------------------------------------------


@bp.route("/teams")
@admin_required
def teams():
    q = (request.args.get("q") or "").strip()[:50]
    query = sa.select(PatrolTeam).order_by(PatrolTeam.code)
    if q:
        like = f"%{q}%"
        query = query.where(
            sa.or_(PatrolTeam.code.ilike(like), PatrolTeam.name_zh.ilike(like), PatrolTeam.name_en.ilike(like))
        )
    page = db.paginate(query, page=inputs.page_arg(), per_page=PER_PAGE, error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(ShiftTemplate.team_id, sa.func.count(ShiftTemplate.id))
            .where(ShiftTemplate.team_id.in_([team.id for team in page.items]))
            .group_by(ShiftTemplate.team_id)
        ).all()
    )
    rows = [(team, counts.get(team.id, 0)) for team in page.items]
    return render_template("admin/schedule/teams.html", page=page, rows=rows, q=q)


@bp.route("/teams/<id:team_id>/templates")
@admin_required
def team_templates(team_id: int):
    team = db.get_or_404(PatrolTeam, team_id)
    templates = db.session.scalars(
        sa.select(ShiftTemplate).where(ShiftTemplate.team_id == team.id).order_by(ShiftTemplate.local_start)
    ).all()
    return render_template("admin/schedule/templates.html", team=team, templates=templates)


def _template_values(form: TemplateForm) -> dict:
    return {
        "name": form.name.data.strip(),
        "weekdays": sum(1 << day for day in set(form.weekdays.data or [])),
        "local_start": form.local_start.data,
        "local_end": form.local_end.data,
        "area_zh": (form.area_zh.data or "").strip(),
        "area_en": (form.area_en.data or "").strip(),
        "min_volunteers": form.min_volunteers.data,
        "max_volunteers": form.max_volunteers.data,
        "valid_from": form.valid_from.data,
        "valid_until": form.valid_until.data,
        "active": form.active.data,
    }


def _save_template(team: PatrolTeam, template: ShiftTemplate, form: TemplateForm):
    report = operations.save_template(current_user, team, template, _template_values(form))
    return render_template("admin/schedule/template_report.html", team=team, template=template, report=report)


@bp.route("/teams/<id:team_id>/templates/new", methods=["GET", "POST"])
@admin_required
def template_new(team_id: int):
    team = db.get_or_404(PatrolTeam, team_id)
    form = TemplateForm()
    if request.method == "GET":
        form.weekdays.data = [day for day in range(7) if ALL_WEEKDAYS & (1 << day)]
        form.min_volunteers.data, form.max_volunteers.data = 2, 6
        form.valid_from.data = local_today()
    if form.validate_on_submit():
        return _save_template(team, ShiftTemplate(team_id=team.id), form)
    if form.is_submitted():
        return _invalid("admin/schedule/template_form.html", form=form, team=team, template=None)
    return render_template("admin/schedule/template_form.html", form=form, team=team, template=None)


@bp.route("/templates/<id:template_id>/edit", methods=["GET", "POST"])
@admin_required
def template_edit(template_id: int):
    template = db.get_or_404(ShiftTemplate, template_id)
    team = template.team
    form = TemplateForm(obj=template)
    if request.method == "GET":
        form.weekdays.data = [day for day in range(7) if template.weekdays & (1 << day)]
    if form.validate_on_submit():
        return _save_template(team, template, form)
    if form.is_submitted():
        return _invalid("admin/schedule/template_form.html", form=form, team=team, template=template)
    return render_template("admin/schedule/template_form.html", form=form, team=team, template=template)
