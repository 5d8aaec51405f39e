"""Admin pages for patrol teams, users and their CSV imports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, SelectChoice, SelectField, SubmitField
from wtforms.validators import DataRequired, Length

import inputs
from access import admin_required
from models import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    MembershipRole,
    PatrolTeam,
    TeamMembership,
    User,
    db,
)
from services import accounts
from services.imports import ImportFailed, format_error, import_file

bp = Blueprint("people_admin", __name__, url_prefix="/admin/people")

MAX_UPLOAD = 2 * 1024 * 1024


class ImportForm(FlaskForm):
    kind = SelectField(
        _l("What the file contains"),
        choices=[
            SelectChoice("teams", _l("Patrol teams")),
            SelectChoice("volunteers", _l("Volunteers and coordinators")),
        ],
    )
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    submit = SubmitField(_l("Check and import"))


class PasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)]
    )
    submit = SubmitField(_l("Set password"))


def _page() -> int:
    return inputs.page_arg()


@bp.route("/")
@admin_required
def index():
    return redirect(url_for(".teams"))


@bp.route("/teams")
@admin_required
def teams():
    members = (
        sa.select(
            TeamMembership.team_id,
            sa.func.count().label("members"),
            sa.func.sum(sa.case((TeamMembership.role == MembershipRole.COORDINATOR, 1), else_=0)).label("coords"),
        )
        .group_by(TeamMembership.team_id)
        .subquery()
    )
    page = db.paginate(sa.select(PatrolTeam).order_by(PatrolTeam.code), page=_page(), per_page=50, error_out=False)
    ids = [t.id for t in page.items]
    counts = (
        {
            row.team_id: (row.members, row.coords)
            for row in db.session.execute(sa.select(members).where(members.c.team_id.in_(ids)))
        }
        if ids
        else {}
    )
    return render_template("admin/people/teams.html", page=page, counts=counts)


@bp.route("/users")
@admin_required
def users():
    q = request.args.get("q", "").strip()
    query = sa.select(User).order_by(User.email)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            sa.or_(
                User.email.like(like),
                sa.func.lower(User.name).like(like),
                sa.func.lower(User.name_en).like(like),
                User.phone.like(f"%{q}%"),
            )
        )
    page = db.paginate(query, page=_page(), per_page=50, error_out=False)
    return render_template("admin/people/users.html", page=page, q=q)


@bp.route("/users/<id:user_id>/password", methods=["GET", "POST"])
@admin_required
def set_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        accounts.set_password(current_user, user, form.password.data)
        flash(_("New password set for %(email)s.", email=user.email), "success")
        return redirect(url_for(".users", q=user.email), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/people/password.html", form=form, user=user), status


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_csv():
    form = ImportForm()
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        data = form.file.data.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            errors = [_("The file is larger than 2 MB; split it.")]
        else:
            try:
                result = import_file(form.kind.data, data, actor=current_user)
            except ImportFailed as failed:
                errors = [format_error(line, message) for line, message in failed.errors]
            else:
                flash(result.summary(), "success")
                return redirect(url_for(".import_csv"), code=303)
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/people/import.html", form=form, errors=errors), status
