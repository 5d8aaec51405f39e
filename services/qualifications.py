"""Qualifications (team leader, first aid, ...): the admin's list, who holds one (with an optional
expiry), and what each shift template requires.

Where the rule lives: the assignment service refuses a booking that would leave too few places
for the holders a shift still needs (`assignments._check_qualifications`, code
"qualification_required"; its docstring states the rule); a shift whose requirement is not met
is flagged on the roster like an understaffed one (`missing_for_shifts`), and the planner
(services/planner.py) keeps the same rule as a hard constraint and meets requirements with the
same top priority as minimums.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from flask_babel import gettext as _

from models import (
    Qualification,
    Role,
    Shift,
    ShiftTemplate,
    TeamMembership,
    TemplateRequirement,
    User,
    VolunteerQualification,
    db,
    record,
)

from . import assignments as service
from .errors import RuleViolation

CODE_MAX = 32
NAME_MAX = 100


def _require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise service.forbidden(_("Only an admin can change the list of qualifications."))


def all_qualifications() -> list[Qualification]:
    return list(db.session.scalars(sa.select(Qualification).order_by(Qualification.code)))


def create_qualification(actor: User, code: str, name_zh: str, name_en: str = "") -> Qualification:
    _require_admin(actor)
    code, name_zh, name_en = (code or "").strip().lower(), (name_zh or "").strip(), (name_en or "").strip()
    if not code or len(code) > CODE_MAX or not code.replace("-", "").replace("_", "").isalnum():
        raise RuleViolation(_("Give a short code of letters, digits, - or _."), "bad_input", 400)
    if not name_zh or len(name_zh) > NAME_MAX or len(name_en) > NAME_MAX:
        raise RuleViolation(
            _("Give a Chinese name (and an English one if you like), at most 100 characters."), "bad_input", 400
        )

    def work():
        if db.session.scalar(sa.select(Qualification.id).where(Qualification.code == code)) is not None:
            raise RuleViolation(_("A qualification with this code exists already."), "duplicate")
        row = Qualification(code=code, name_zh=name_zh, name_en=name_en)
        db.session.add(row)
        db.session.flush()
        record(actor, "qualification.create", "qualification", row.id, code=code)
        return row

    return service.in_transaction(work)


def delete_qualification(actor: User, qualification_id: int) -> None:
    _require_admin(actor)

    def work():
        row = db.session.get(Qualification, qualification_id)
        if row is None:
            raise service.not_found(_("This qualification does not exist."))
        db.session.delete(row)
        record(actor, "qualification.delete", "qualification", qualification_id, code=row.code)

    service.in_transaction(work)


def can_grant(actor: User, user_id: int) -> bool:
    """Admins; or a coordinator of one of the volunteer's teams."""
    if actor.role is Role.ADMIN:
        return True
    team_ids = db.session.scalars(sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user_id)).all()
    return any(service.can_manage_team(actor, t) for t in team_ids)


def grant(
    actor: User, user_id: int, qualification_id: int, expires_on: dt.date | None = None
) -> VolunteerQualification:
    """Record that a volunteer holds a qualification (until `expires_on`, inclusive). Granting again updates the expiry."""

    def work():
        if db.session.get(User, user_id) is None:
            raise service.not_found(_("This person does not exist."))
        if db.session.get(Qualification, qualification_id) is None:
            raise service.not_found(_("This qualification does not exist."))
        if not can_grant(actor, user_id):
            raise service.forbidden()
        row = db.session.scalar(
            sa.select(VolunteerQualification).where(
                VolunteerQualification.user_id == user_id, VolunteerQualification.qualification_id == qualification_id
            )
        )
        if row is None:
            row = VolunteerQualification(user_id=user_id, qualification_id=qualification_id)
            db.session.add(row)
        row.expires_on = expires_on
        row.granted_by_id = actor.id
        db.session.flush()
        record(
            actor,
            "qualification.grant",
            "user",
            user_id,
            qualification_id=qualification_id,
            expires_on=expires_on.isoformat() if expires_on else None,
        )
        return row

    return service.in_transaction(work)


def revoke(actor: User, user_id: int, qualification_id: int) -> None:
    def work():
        if not can_grant(actor, user_id):
            raise service.forbidden()
        row = db.session.scalar(
            sa.select(VolunteerQualification).where(
                VolunteerQualification.user_id == user_id, VolunteerQualification.qualification_id == qualification_id
            )
        )
        if row is None:
            raise service.not_found(_("This volunteer does not hold this qualification."))
        db.session.delete(row)
        record(actor, "qualification.revoke", "user", user_id, qualification_id=qualification_id)

    service.in_transaction(work)


def set_requirement(actor: User, template_id: int, qualification_id: int, count: int) -> None:
    """Every shift of the template needs at least `count` holders (0 removes the requirement)."""
    if not 0 <= count <= 20:
        raise RuleViolation(_("Choose between 0 and 20."), "bad_input", 400)

    def work():
        template = db.session.get(ShiftTemplate, template_id)
        if template is None:
            raise service.not_found(_("This shift template does not exist."))
        if not service.can_manage_team(actor, template.team_id):
            raise service.forbidden()
        if db.session.get(Qualification, qualification_id) is None:
            raise service.not_found(_("This qualification does not exist."))
        row = db.session.scalar(
            sa.select(TemplateRequirement).where(
                TemplateRequirement.template_id == template_id, TemplateRequirement.qualification_id == qualification_id
            )
        )
        if count == 0:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(TemplateRequirement(template_id=template_id, qualification_id=qualification_id, count=count))
        else:
            row.count = count
        record(
            actor,
            "qualification.require",
            "shift_template",
            template_id,
            qualification_id=qualification_id,
            count=count,
        )

    service.in_transaction(work)


def missing_for_shifts(shifts: list[Shift], on: dict[int, set[int]]) -> dict[int, list[tuple[Qualification, int]]]:
    """For each shift (with who is on it), the required qualifications it lacks and how many holders.

    One query when no template has requirements (the common case), two otherwise.
    """
    template_ids = {s.template_id for s in shifts if s.template_id is not None}
    if not template_ids:
        return {}
    requirements = db.session.execute(
        sa.select(TemplateRequirement.template_id, TemplateRequirement.count, Qualification)
        .join(Qualification, Qualification.id == TemplateRequirement.qualification_id)
        .where(TemplateRequirement.template_id.in_(template_ids))
    ).all()
    if not requirements:
        return {}
    by_template: dict[int, list[tuple[int, Qualification]]] = defaultdict(list)
    for template_id, count, qualification in requirements:
        by_template[template_id].append((count, qualification))
    people = {v for ids in on.values() for v in ids}
    held: dict[tuple[int, int], dt.date | None] = {}
    if people:
        for user_id, qualification_id, expires_on in db.session.execute(
            sa.select(
                VolunteerQualification.user_id,
                VolunteerQualification.qualification_id,
                VolunteerQualification.expires_on,
            ).where(VolunteerQualification.user_id.in_(people))
        ):
            held[(user_id, qualification_id)] = expires_on
    out: dict[int, list[tuple[Qualification, int]]] = {}
    for s in shifts:
        for count, qualification in by_template.get(s.template_id, []):
            holders = sum(
                1
                for v in on.get(s.id, ())
                if (v, qualification.id) in held
                and (held[(v, qualification.id)] is None or s.local_date <= held[(v, qualification.id)])
            )
            if holders < count:
                out.setdefault(s.id, []).append((qualification, count - holders))
    return out
