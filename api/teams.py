"""Authenticated endpoints: a coordinator lists and assigns their teams' shifts, by the rules of the web pages.

The rules live in services.assignments; these views only translate HTTP to service calls and back.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import orm

from models import Assignment, AssignmentStatus, PatrolTeam, Shift, TeamMembership, db, member_label
from services import notify_settings
from services.assignments import assign, can_manage_team, unassign
from services.assignments import in_transaction as roster_unit_of_work
from services.errors import RuleViolation
from services.memberships import member_labels

from . import bp
from .common import MAX_ID, ApiError, check_id, date_range, local_iso, paginated
from .tokens import token_required


def _private(response, status: int = 200):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def assignment_json(assignment: Assignment, numbers: dict[int, str]) -> dict:
    return {
        "id": assignment.id,
        "shift_id": assignment.shift_id,
        "volunteer_id": assignment.volunteer_id,
        "volunteer_name": assignment.volunteer.display_name,
        # Two members may share a name; the number (T001-007) tells them apart.
        "member_number": numbers.get(assignment.volunteer_id, ""),
        "status": assignment.status.value,
        "attendance": assignment.attendance.value,
    }


def shift_json(shift: Shift, assignments: list[Assignment], numbers: dict[int, str]) -> dict:
    return {
        "id": shift.id,
        "team_id": shift.team_id,
        "local_date": shift.local_date.isoformat(),
        "starts_at": local_iso(shift.starts_at),
        "ends_at": local_iso(shift.ends_at),
        "area": shift.area,
        "min_volunteers": shift.min_volunteers,
        "max_volunteers": shift.max_volunteers,
        "assigned_count": shift.assigned_count,
        "status": shift.status.value,
        "assignments": [assignment_json(a, numbers) for a in assignments],
    }


@bp.route("/me")
@token_required
def me():
    user = g.api_user
    rows = db.session.execute(
        sa.select(PatrolTeam, TeamMembership.role, TeamMembership.member_number)
        .join(TeamMembership, TeamMembership.team_id == PatrolTeam.id)
        .where(TeamMembership.user_id == user.id)
        .order_by(PatrolTeam.code)
    ).all()
    return _private(
        jsonify(
            id=user.id,
            email=user.email,
            name=user.display_name,
            role=user.role.value,
            language=user.locale,
            channels={"email": user.notify_email, "sms": user.notify_sms},
            phone=user.phone,
            teams=[
                {
                    "id": team.id,
                    "code": team.code,
                    "name": team.name,
                    "role": role.value,
                    "member_number": member_label(team.code, number),
                }
                for team, role, number in rows
            ],
        )
    )


@bp.route("/me", methods=["PATCH"])
@token_required
def update_me():
    """Change my language and notification channels: {"language": "en", "channels": {"email": true, "sms": false}}."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or set(data) - {"language", "channels", "phone"}:
        raise ApiError(400, "bad_request", _("Send a JSON object with language, channels and/or phone."))
    channels = data.get("channels", {})
    if (
        not isinstance(channels, dict)
        or set(channels) - {"email", "sms"}
        or any(not isinstance(v, bool) for v in channels.values())
    ):
        raise ApiError(400, "bad_request", _("channels must be an object with true/false for email and sms."))
    language, phone = data.get("language"), data.get("phone")
    # A key sent as null is not "unchanged": the document types both as strings.
    if any(key in data and not isinstance(data[key], str) for key in ("language", "phone")):
        raise ApiError(400, "bad_request", _("language and phone must be text."))
    if phone is not None and len(phone) > 32:
        raise ApiError(400, "bad_request", _("The phone number is too long."))
    try:
        notify_settings.update_preferences(
            g.api_user,
            locale=language,
            phone=phone,
            notify_email=channels.get("email"),
            notify_sms=channels.get("sms"),
        )
    except RuleViolation as refused:
        raise ApiError(refused.status, refused.code, refused.message) from refused
    return me()


def _require_manager(team_id: int) -> PatrolTeam:
    team = db.session.get(PatrolTeam, check_id(team_id))
    if team is None:
        raise ApiError(404, "not_found", _("There is no such team."))
    if not can_manage_team(g.api_user, team.id):
        raise ApiError(403, "not_your_team", _("You can only manage the shifts of your own teams."))
    return team


@bp.route("/teams/<id:team_id>/shifts")
@token_required
def team_shifts(team_id: int):
    """A team's shifts by local date (`from`, `to` inclusive; from today by default), with who is on each."""
    from timeutil import local_today

    team = _require_manager(team_id)
    start, end = date_range(default_from=local_today())
    query = sa.select(Shift).where(Shift.team_id == team.id)
    if start is not None:
        query = query.where(Shift.local_date >= start)
    if end is not None:
        query = query.where(Shift.local_date <= end)
    query = query.order_by(Shift.starts_at, Shift.id)

    page = paginated(query, lambda shift: shift)
    shifts = page["items"]
    active: dict[int, list[Assignment]] = {shift.id: [] for shift in shifts}
    if shifts:
        for assignment in db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.shift_id.in_(active), Assignment.status == AssignmentStatus.ASSIGNED)
            .options(orm.joinedload(Assignment.volunteer))
            .order_by(Assignment.id)
        ):
            active[assignment.shift_id].append(assignment)
    numbers = member_labels(team.id) if shifts else {}
    page["items"] = [shift_json(shift, active[shift.id], numbers) for shift in shifts]
    return _private(jsonify(page))


def _volunteer_id_from_body() -> int:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", _('Send a JSON object such as {"volunteer_id": 12}.'))
    unknown = sorted(set(data) - {"volunteer_id"})
    if unknown:
        raise ApiError(400, "invalid_body", _("Unknown field: %(names)s.", names=", ".join(unknown)))
    value = data.get("volunteer_id")
    # bool is an int in Python, and 12.0 is an integer in JSON Schema.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ApiError(400, "invalid_body", _("volunteer_id must be the id of a volunteer."))
    return value


@bp.route("/shifts/<id:shift_id>/assignments", methods=["POST"])
@token_required
def create_assignment(shift_id: int):
    check_id(shift_id)
    volunteer_id = _volunteer_id_from_body()

    def book_and_describe() -> dict:
        # Described inside the booking's unit of work, before its commit expires what the booking
        # loaded (the shift, the volunteer): one small query here instead of four reloads after it.
        assignment = assign(g.api_user, shift_id, volunteer_id)
        number, code = db.session.execute(
            sa.select(TeamMembership.member_number, PatrolTeam.code)
            .join(PatrolTeam, PatrolTeam.id == TeamMembership.team_id)
            .join(Shift, Shift.team_id == TeamMembership.team_id)
            .where(Shift.id == shift_id, TeamMembership.user_id == volunteer_id)
        ).one()
        return assignment_json(assignment, {volunteer_id: member_label(code, number)})

    # The roster's unit of work commits once, after the description (a nested one joins it); a
    # RuleViolation becomes the error body (api/__init__.py).
    return _private(jsonify(roster_unit_of_work(book_and_describe)), 201)


@bp.route("/assignments/<id:assignment_id>", methods=["DELETE"])
@token_required
def delete_assignment(assignment_id: int):
    check_id(assignment_id)
    unassign(g.api_user, assignment_id)
    return _private(Response(status=204), 204)
