"""Move or cancel one patrol shift (a coordinator of its team, or an admin): services/shift_changes.py.

The page shows, before anything is confirmed, how many volunteers will be told. Each form carries
the count the coordinator saw; if volunteers came or went meanwhile, the page shows the new count
again (409) instead of acting on a number nobody confirmed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField, TimeField, ValidationError
from wtforms.validators import InputRequired, Length

from access import roles_required
from inputs import DateField
from models import Role, Shift, ShiftStatus, db
from responses import violation_page
from services import shift_changes
from services.assignments import can_manage_team
from services.errors import RuleViolation
from timeutil import span_utc, to_local

bp = Blueprint("shift_changes", __name__, url_prefix="/roster")


class ShiftMoveForm(FlaskForm):
    day = DateField(_l("New date"), validators=[InputRequired()])
    start = TimeField(_l("Starts at (local time)"), validators=[InputRequired()])
    end = TimeField(_l("Ends at (local time; earlier than the start: the next day)"), validators=[InputRequired()])
    expected = HiddenField(validators=[InputRequired(), Length(max=6)])
    move = SubmitField(_l("Move the shift and tell them"))

    def validate_end(self, field):
        if field.data is not None and field.data == self.start.data:
            raise ValidationError(_l("The end time must differ from the start time."))


class ShiftCancelForm(FlaskForm):
    expected = HiddenField(validators=[InputRequired(), Length(max=6)])
    cancel = SubmitField(_l("Cancel the shift and tell them"))


@bp.route("/shift/<id:shift_id>/change", methods=["GET", "POST"])
@roles_required(Role.COORDINATOR)
def change(shift_id: int):
    shift = db.get_or_404(Shift, shift_id)
    if not can_manage_team(current_user, shift.team_id):
        abort(403)
    if shift.status is not ShiftStatus.SCHEDULED:
        flash(_("This shift is cancelled."), "info")
        return redirect(url_for("roster.shift", shift_id=shift.id), code=303)
    count = shift_changes.volunteers_told(shift.id)
    start, end = to_local(shift.starts_at), to_local(shift.ends_at)
    # The shift's own date and times until the coordinator sends others.
    move_form = ShiftMoveForm(prefix="move", day=start.date(), start=start.time(), end=end.time())
    cancel_form = ShiftCancelForm(prefix="cancel")

    def page(error: str | None = None, status: int = 200):
        move_form.expected.data = cancel_form.expected.data = count
        return render_template(
            "roster/shift_change.html",
            shift=shift,
            team=shift.team,
            count=count,
            move_form=move_form,
            cancel_form=cancel_form,
            error=error,
        ), status

    if request.method == "GET":
        return page()
    moving = "move-move" in request.form
    form = move_form if moving else cancel_form
    if not (moving or "cancel-cancel" in request.form) or not form.validate_on_submit():
        return page(status=400)
    if form.expected.data != str(count):
        return page(_("The number of volunteers on this shift changed meanwhile. Please check it again."), 409)
    try:
        if moving:
            starts_at, ends_at = span_utc(move_form.day.data, move_form.start.data, move_form.end.data)
            shift_changes.move_shift(current_user, shift.id, starts_at, ends_at)
            message = ngettext(
                "Shift moved. %(num)d volunteer is being told.",
                "Shift moved. %(num)d volunteers are being told.",
                count,
            )
        else:
            shift_changes.cancel_shift(current_user, shift.id)
            message = ngettext(
                "Shift cancelled. %(num)d volunteer is being told.",
                "Shift cancelled. %(num)d volunteers are being told.",
                count,
            )
    except RuleViolation as violation:
        return violation_page(violation, lambda error=None: page(error)[0], inline=True)
    flash(message, "success")
    return redirect(url_for("roster.shift", shift_id=shift.id), code=303)
