"""Copy last week's or last month's roster pattern onto the next period: preview, then apply."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SubmitField

from access import roles_required
from inputs import DateField
from models import PatrolTeam, Role, db
from responses import violation_page
from services import roster_copy
from services.assignments import can_manage_team
from services.errors import RuleViolation
from timeutil import local_today

bp = Blueprint("roster_copy", __name__, url_prefix="/roster")


class CopyForm(FlaskForm):
    kind = SelectField(
        _l("Copy"), choices=[SelectChoice("week", _l("a week")), SelectChoice("month", _l("a month"))], default="week"
    )
    day = DateField(_l("A day in the period to copy"))
    preview = SubmitField(_l("Preview"))
    apply = SubmitField(_l("Copy onto the next period"))


@bp.route("/team/<code>/copy", methods=["GET", "POST"])
@roles_required(Role.COORDINATOR)
def copy(code: str):
    team = db.first_or_404(sa.select(PatrolTeam).where(PatrolTeam.code == code))
    if not can_manage_team(current_user, team.id):
        abort(403)
    form = CopyForm()
    if request.method == "GET" and form.day.data is None:
        form.day.data = local_today()
    result = None

    def render():
        return render_template("roster/copy.html", team=team, form=form, result=result)

    if request.method == "POST":
        if not form.validate():
            return render(), 400
        try:
            result = roster_copy.copy_period(
                current_user, team.id, form.kind.data, form.day.data, apply=bool(form.apply.data)
            )
        except RuleViolation as exc:
            return violation_page(exc, render)
        roster_copy.load_for_display(result)
        if result.applied:
            flash(_("%(n)s places copied.", n=len(result.done)), "success")
    return render()
