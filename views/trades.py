"""Pages of the waiting lists and the team's trade board (services/trades.py does the work)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import orm

import inputs
from access import roles_required
from models import Assignment, AssignmentStatus, PatrolTeam, Role, Shift, db, utcnow
from services import assignments as service
from services import trades
from services.errors import RuleViolation

bp = Blueprint("trades", __name__, url_prefix="/me")

members = roles_required(Role.VOLUNTEER, Role.COORDINATOR, Role.ADMIN)
_int_field = inputs.id_field


def _post(action, target: str):
    """Run a posted action: redirect with a note, 403 for a refusal of access, else re-render with the reason."""
    try:
        message = action()
    except RuleViolation as exc:
        if exc.status == 403:
            abort(403)
        return exc
    flash(message, "success")
    return redirect(target, code=303)


def _waitlist_action(action: str) -> str:
    if action == "join":
        trades.join_waitlist(current_user, _int_field("shift_id"))
        return _("You are on the waiting list.")
    if action == "leave":
        trades.leave_waitlist(current_user, _int_field("entry_id"))
        return _("You have left the waiting list.")
    if action in ("accept", "decline"):
        trades.answer_offer(current_user, _int_field("entry_id"), action == "accept")
        return _("The shift is yours.") if action == "accept" else _("You have turned the place down.")
    abort(400, description=_("Unknown action."))


@bp.route("/waitlists", methods=["GET", "POST"])
@members
def waitlists():
    error, status = None, 200
    if request.method == "POST":
        outcome = _post(lambda: _waitlist_action(request.form.get("action", "")), url_for(".waitlists"))
        if not isinstance(outcome, RuleViolation):
            return outcome
        error, status = outcome.message, outcome.status
    return render_template(
        "volunteer/waitlists.html",
        entries=trades.my_waitlists(current_user.id),
        full=trades.full_shifts(current_user),
        now=utcnow(),
        error=error,
    ), status


def _team(code: str) -> PatrolTeam:
    return db.first_or_404(sa.select(PatrolTeam).where(PatrolTeam.code == code))


def _board_action(action: str, team: PatrolTeam) -> str:
    if action == "offer":
        trades.offer_trade(current_user, _int_field("assignment_id"))
        return _("Your shift is on the trade board; it stays yours until someone takes it.")
    if action == "take":
        offer = trades.take_trade(current_user, _int_field("offer_id"))
        if offer.status.value == "pending":
            return _("Taken; the coordinator must approve before the shift moves to you.")
        return _("The shift is yours.")
    if action == "withdraw":
        trades.withdraw_trade(current_user, _int_field("offer_id"))
        return _("Offer withdrawn.")
    if action in ("approve", "reject"):
        trades.decide_trade(current_user, _int_field("offer_id"), action == "approve")
        return _("Trade approved.") if action == "approve" else _("Trade declined; the shift is back on the board.")
    if action == "approval":
        required = request.form.get("required") == "1"
        trades.set_approval(current_user, team.id, required)
        return _("Trades now need your approval.") if required else _("Trades no longer need approval.")
    abort(400, description=_("Unknown action."))


@bp.route("/trades/<code>", methods=["GET", "POST"])
@members
def board(code: str):
    team = _team(code)
    error, status = None, 200
    if request.method == "POST":
        outcome = _post(lambda: _board_action(request.form.get("action", ""), team), url_for(".board", code=code))
        if not isinstance(outcome, RuleViolation):
            return outcome
        error, status = outcome.message, outcome.status
    try:
        offers, pager = trades.board(current_user, team, inputs.page_arg())
    except RuleViolation as exc:
        abort(exc.status)
    mine = db.session.scalars(
        sa.select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.volunteer_id == current_user.id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Shift.team_id == team.id,
            Shift.starts_at > utcnow(),
        )
        .options(orm.contains_eager(Assignment.shift))
        .order_by(Shift.starts_at)
        .limit(30)
    ).all()
    return render_template(
        "volunteer/trade_board.html",
        team=team,
        offers=offers,
        page=pager,
        mine=mine,
        manager=service.can_manage_team(current_user, team.id),
        error=error,
    ), status


@bp.route("/trades/<code>/waitlists")
@members
def team_waitlists(code: str):
    team = _team(code)
    try:
        entries = trades.team_waitlists(current_user, team)
    except RuleViolation as exc:
        abort(exc.status)
    return render_template("roster/waitlists.html", team=team, entries=entries)
