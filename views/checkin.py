"""Check-in pages: the shift's code as a QR for the leader, the volunteer's confirmation page behind
it, the volunteer's personal QR, and the leader's confirmation page behind that.

A scanned URL only opens a page (GET never writes); the check-in is the POST of its button (CSRF).
"""

from __future__ import annotations

import functools

import segno
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SubmitField

import inputs
from models import PatrolTeam, Shift, ShiftStatus, User, db
from responses import violation_page
from services import checkin as service
from services.assignments import can_manage_team
from services.errors import RuleViolation
from timeutil import to_local

bp = Blueprint("checkin", __name__, url_prefix="/checkin")


class ConfirmForm(FlaskForm):
    submit = SubmitField()


@functools.lru_cache(maxsize=256)
def _qr(address: str, label: str) -> str:
    code = segno.make_qr(address, error="m")  # never a Micro QR: phone cameras cannot read those
    svg = code.svg_inline(scale=5, border=4, dark="#000", light="#fff", title=label, svgclass="qr checkin-qr")
    return svg.replace("<svg ", '<svg role="img" ', 1)


def qr_svg(address: str, label: str) -> Markup:
    return Markup(_qr(address, label))


def _shift_or_404(shift_id: int) -> Shift:
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.status is not ShiftStatus.SCHEDULED:
        abort(404)
    return shift


@bp.route("/shift/<id:shift_id>", methods=["GET", "POST"])
@login_required
def sheet(shift_id: int):
    """The leader's / coordinator's page: the shift's QR, who is on it, and a check-in button each."""
    shift = _shift_or_404(shift_id)
    if not service.leads_team(current_user, shift.team_id):
        abort(403)
    form = ConfirmForm()

    def render():
        url = url_for("checkin.scan", shift_id=shift.id, code=service.shift_code(shift), _external=True)
        opens, closes = service.window(shift)
        return render_template(
            "checkin/sheet.html",
            shift=shift,
            rows=service.shift_sheet(shift),
            qr=qr_svg(url, _("Check-in code of this shift")),
            url=url,
            opens=to_local(opens),
            closes=to_local(closes),
            form=form,
        )

    if form.validate_on_submit():
        try:
            assignment = service.check_in_by_leader(current_user, inputs.id_field("assignment_id"))
        except RuleViolation as exc:
            return violation_page(exc, render)
        flash(_("%(name)s is checked in.", name=assignment.volunteer.name), "success")
        return redirect(url_for("checkin.sheet", shift_id=shift.id))
    return render()


@bp.route("/s/<id:shift_id>/<code>", methods=["GET", "POST"])
@login_required
def scan(shift_id: int, code: str):
    """What the shift's QR opens on the volunteer's phone: a confirmation, then the check-in."""
    shift = _shift_or_404(shift_id)
    if not service.valid_shift_code(shift, code):
        abort(404)
    form = ConfirmForm()

    def render():
        return render_template("checkin/confirm.html", shift=shift, person=current_user, form=form, done=None)

    if form.validate_on_submit():
        try:
            assignment = service.check_in_self(current_user, shift.id, code)
        except RuleViolation as exc:
            return violation_page(exc, render)
        return render_template("checkin/confirm.html", shift=shift, person=current_user, form=form, done=assignment)
    return render()


@bp.route("/me")
@login_required
def personal():
    """The volunteer's personal code, for a leader to scan."""
    url = url_for("checkin.person", user_id=current_user.id, code=service.person_code(current_user.id), _external=True)
    return render_template("checkin/personal.html", qr=qr_svg(url, _("My personal check-in code")), url=url)


@bp.route("/p/<id:user_id>/<code>", methods=["GET", "POST"])
@login_required
def person(user_id: int, code: str):
    """What a personal QR opens on the leader's phone: check that person into the leader's current shift."""
    volunteer = db.session.get(User, user_id)
    if volunteer is None or not service.valid_person_code(user_id, code):
        abort(404)
    if not service.led_team_ids(current_user) and not service.can_manage_any(current_user):
        abort(403)
    form = ConfirmForm()
    current = service.current_assignment_for(current_user, user_id, service.utcnow())

    def render():
        shift = current.shift if current else None
        return render_template("checkin/confirm.html", shift=shift, person=volunteer, form=form, done=None, leader=True)

    if form.validate_on_submit():
        try:
            assignment = service.check_in_person(current_user, user_id, code)
        except RuleViolation as exc:
            return violation_page(exc, render)
        return render_template(
            "checkin/confirm.html", shift=assignment.shift, person=volunteer, form=form, done=assignment, leader=True
        )
    return render()


@bp.route("/team/<code>/members", methods=["GET", "POST"])
@login_required
def members(code: str):
    """The coordinator's list of members with their numbers; names team leaders."""
    team = db.first_or_404(sa.select(PatrolTeam).where(PatrolTeam.code == code))
    if not can_manage_team(current_user, team.id):
        abort(403)
    form = ConfirmForm()

    def render():
        return render_template("checkin/members.html", team=team, members=service.team_members(team.id), form=form)

    if form.validate_on_submit():
        try:
            service.set_leader(current_user, team.id, inputs.id_field("user_id"), request.form.get("leader") == "1")
        except RuleViolation as exc:
            return violation_page(exc, render)
        flash(_("Saved."), "success")
        return redirect(url_for("checkin.members", code=team.code))
    return render()
