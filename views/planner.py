"""The roster planner's pages for a coordinator's own teams: plan a range, review the draft
(per person, per shift, what could not be filled and why), edit it, publish or discard it.
All-teams runs are CLI only (`flask roster plan --all-teams`): they take up to a minute."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired

import inputs
from access import roles_required
from inputs import DateField
from models import PatrolTeam, Plan, Role, db
from responses import violation_page
from services import assignments as service
from services import planner
from services import roster as queries
from services.errors import RuleViolation
from timeutil import local_today

bp = Blueprint("planner", __name__, url_prefix="/roster")

managers = roles_required(Role.COORDINATOR)


class PlanForm(FlaskForm):
    first = DateField(_l("From"), validators=[DataRequired()])
    last = DateField(_l("To (inclusive)"), validators=[DataRequired()])
    fill_to_max = BooleanField(_l("After the minimums, fill towards each shift's maximum"))
    submit = SubmitField(_l("Make a draft plan"))


def _team_or_403(code: str) -> PatrolTeam:
    team = db.first_or_404(sa.select(PatrolTeam).where(PatrolTeam.code == code))
    if not service.can_manage_team(current_user, team.id):
        abort(403)
    return team


def _plan_or_error(plan_id: int) -> Plan:
    try:
        return planner.get_plan(current_user, plan_id)
    except RuleViolation as exc:
        abort(exc.status)


@bp.route("/team/<code>/plan", methods=["GET", "POST"])
@managers
def plan_new(code: str):
    team = _team_or_403(code)
    form = PlanForm()
    if request.method == "GET":
        today = local_today()
        form.first.data = today + dt.timedelta(days=7 - today.weekday())
        form.last.data = form.first.data + dt.timedelta(days=27)
    drafts = db.session.scalars(sa.select(Plan).where(Plan.team_id == team.id).order_by(Plan.id.desc()).limit(10)).all()

    def page():
        return render_template("roster/plan_new.html", team=team, form=form, drafts=drafts)

    if form.validate_on_submit():
        try:
            plan = planner.make_plan(
                current_user, team.id, form.first.data, form.last.data, fill_to_max=form.fill_to_max.data
            )
        except RuleViolation as exc:
            return violation_page(exc, page)
        return redirect(url_for(".plan_review", plan_id=plan.id))
    return page(), (400 if request.method == "POST" else 200)


@bp.route("/plan/<id:plan_id>")
@managers
def plan_review(plan_id: int):
    return _review_page(_plan_or_error(plan_id))


def _review_page(plan: Plan):
    team = db.session.get(PatrolTeam, plan.team_id) if plan.team_id else None
    members = queries.team_members(plan.team_id) if plan.team_id else []
    return render_template(
        "roster/plan_review.html", plan=plan, team=team, review=planner.review(plan), members=members
    )


def _post(plan_id: int, action, done: str):
    plan = _plan_or_error(plan_id)
    try:
        action(plan)
    except RuleViolation as exc:
        return violation_page(exc, lambda: _review_page(db.session.get(Plan, plan_id)))
    flash(done, "success")
    return redirect(url_for(".plan_review", plan_id=plan_id))


@bp.post("/plan/<id:plan_id>/remove")
@managers
def plan_remove(plan_id: int):
    entry_id = inputs.id_field("entry")
    return _post(plan_id, lambda p: planner.remove_entry(current_user, p.id, entry_id), _("Taken off the draft."))


@bp.post("/plan/<id:plan_id>/add")
@managers
def plan_add(plan_id: int):
    shift_id, volunteer_id = inputs.id_field("shift"), inputs.id_field("volunteer")
    return _post(
        plan_id, lambda p: planner.add_entry(current_user, p.id, shift_id, volunteer_id), _("Added to the draft.")
    )


@bp.post("/plan/<id:plan_id>/publish")
@managers
def plan_publish(plan_id: int):
    return _post(plan_id, lambda p: planner.publish(current_user, p.id), _("The plan is published."))


@bp.post("/plan/<id:plan_id>/discard")
@managers
def plan_discard(plan_id: int):
    return _post(plan_id, lambda p: planner.discard(current_user, p.id), _("The draft is discarded."))
