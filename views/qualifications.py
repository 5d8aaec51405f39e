"""Qualifications: admins keep the list; a coordinator (of the volunteer's team) or an admin
grants and revokes them; a coordinator sets what each of their shift templates requires."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

import inputs
from access import roles_required
from inputs import DateField
from models import (
    PatrolTeam,
    Qualification,
    Role,
    ShiftTemplate,
    TeamMembership,
    User,
    VolunteerQualification,
    db,
    normalise_email,
)
from responses import violation_page
from services import assignments as service
from services import qualifications
from services.errors import RuleViolation

bp = Blueprint("qualifications", __name__, url_prefix="/roster/qualifications")

managers = roles_required(Role.COORDINATOR)


class CreateForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Add the qualification"))


class GrantForm(FlaskForm):
    email = StringField(_l("Volunteer's email"), validators=[DataRequired(), Length(max=254)])
    qualification = SelectField(_l("Qualification"), choices=[])
    expires_on = DateField(_l("Valid until (empty: no expiry)"), validators=[Optional()])
    submit = SubmitField(_l("Grant"))


class RequireForm(FlaskForm):
    template = SelectField(_l("Shift template"), choices=[])
    qualification = SelectField(_l("Qualification"), choices=[])
    count = IntegerField(_l("At least (0 removes)"), default=1, validators=[NumberRange(0, 20)])
    submit = SubmitField(_l("Set the requirement"))


def _forms():
    choices = [(str(q.id), q.name) for q in qualifications.all_qualifications()]
    create, grant, require = CreateForm(prefix="c"), GrantForm(prefix="g"), RequireForm(prefix="r")
    grant.qualification.choices = choices
    require.qualification.choices = choices
    teams = service.coordinated_teams(current_user).with_only_columns(PatrolTeam.id)
    require.template.choices = [
        (str(t.id), f"{code} · {t.name}")
        for t, code in db.session.execute(
            sa.select(ShiftTemplate, PatrolTeam.code)
            .join(PatrolTeam, PatrolTeam.id == ShiftTemplate.team_id)
            .where(ShiftTemplate.team_id.in_(teams), ShiftTemplate.active.is_(True))
            .order_by(PatrolTeam.code, ShiftTemplate.local_start)
            .limit(500)
        )
    ]
    return create, grant, require


def _holders():
    """Who holds what, among the people of the teams the viewer manages (admins: everyone), first 500."""
    query = (
        sa.select(VolunteerQualification, User, Qualification)
        .join(User, User.id == VolunteerQualification.user_id)
        .join(Qualification, Qualification.id == VolunteerQualification.qualification_id)
        .order_by(Qualification.code, User.name, User.id)
        .limit(500)
    )
    if current_user.role is not Role.ADMIN:
        teams = service.coordinated_teams(current_user).with_only_columns(PatrolTeam.id)
        query = query.where(User.id.in_(sa.select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))))
    return db.session.execute(query).all()


def _page(create, grant, require, status=200):
    return (
        render_template(
            "roster/qualifications.html",
            create=create,
            grant=grant,
            require=require,
            items=qualifications.all_qualifications(),
            holders=_holders(),
            is_admin=current_user.role is Role.ADMIN,
        ),
        status,
    )


@bp.route("/", methods=["GET", "POST"])
@managers
def index():
    create, grant, require = _forms()
    action = request.form.get("action") if request.method == "POST" else None
    try:
        if action == "create" and create.validate_on_submit():
            qualifications.create_qualification(
                current_user, create.code.data, create.name_zh.data, create.name_en.data
            )
        elif action == "grant" and grant.validate_on_submit():
            user = db.session.scalar(sa.select(User).where(User.email == normalise_email(grant.email.data)))
            if user is None:
                raise RuleViolation(_("No volunteer has this email address."), "not_found", 404)
            qualification_id = inputs.parse_id(grant.qualification.data)
            if qualification_id is None:
                raise RuleViolation(_("Choose the qualification."), "bad_input", 400)
            qualifications.grant(current_user, user.id, qualification_id, grant.expires_on.data)
        elif action == "revoke":
            qualifications.revoke(current_user, inputs.id_field("user"), inputs.id_field("qualification"))
        elif action == "require" and require.validate_on_submit():
            template_id, qualification_id = (
                inputs.parse_id(require.template.data),
                inputs.parse_id(require.qualification.data),
            )
            if template_id is None or qualification_id is None:
                raise RuleViolation(_("Choose the shift template and the qualification."), "bad_input", 400)
            qualifications.set_requirement(current_user, template_id, qualification_id, require.count.data)
        elif request.method == "POST":
            return _page(create, grant, require, 400)
        else:
            return _page(create, grant, require)
    except RuleViolation as exc:
        return violation_page(exc, lambda: _page(create, grant, require)[0])
    flash(_("Saved."), "success")
    return redirect(url_for(".index"))
