"""Patrol shifts from the teams' templates: bulk generation for a date range, and template changes.

A shift belongs to the evening it starts on (`local_date`), also when it ends after midnight.
Generation only ever inserts: a (template, date) that exists is skipped whatever its state, so a
second run creates nothing and a shift with volunteers is never deleted or changed by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from models import Assignment, PatrolTeam, Shift, ShiftStatus, ShiftTemplate, db, new_uid, record, utcnow
from timeutil import local_today, span_utc

from .dbutil import chunked, insert_ignoring_conflicts

# Templates per chunk: one query for existing keys and one bulk insert per chunk
# (60 templates x 365 days = about 22,000 rows).
TEMPLATES_PER_CHUNK = 60
INSERT_BATCH = 5000


@dataclass
class ShiftResult:
    created: int = 0
    skipped: int = 0  # (template, date) already had a shift


def _templates_query(start: dt.date, until: dt.date, team_ids=None, template_ids=None):
    query = (
        sa.select(ShiftTemplate)
        .join(PatrolTeam, PatrolTeam.id == ShiftTemplate.team_id)
        .where(
            ShiftTemplate.active.is_(True),
            PatrolTeam.active.is_(True),
            ShiftTemplate.valid_from <= until,
            sa.or_(ShiftTemplate.valid_until.is_(None), ShiftTemplate.valid_until >= start),
        )
        .order_by(ShiftTemplate.id)
    )
    if team_ids is not None:
        query = query.where(ShiftTemplate.team_id.in_(list(team_ids)))
    if template_ids is not None:
        query = query.where(ShiftTemplate.id.in_(list(template_ids)))
    return query


def count_templates(start: dt.date, until: dt.date, team_ids=None) -> int:
    """How many templates `generate_shifts` will walk (the length of a progress bar)."""
    query = _templates_query(start, until, team_ids).with_only_columns(sa.func.count(ShiftTemplate.id))
    return db.session.scalar(query.order_by(None)) or 0


def _days(start: dt.date, until: dt.date):
    day = start
    while day <= until:
        yield day
        day += dt.timedelta(days=1)


def generate_shifts(
    start: dt.date, until: dt.date, team_ids=None, progress: Callable[[int], None] | None = None, template_ids=None
) -> ShiftResult:
    """Create the missing shifts of all active templates (or those of `team_ids`) for [start, until].

    Reads the existing (template, date) keys once per chunk of templates and inserts in bulk;
    `progress(n)` is called with the number of templates done after each chunk. The caller commits.
    """
    result = ShiftResult()
    if until < start:
        return result
    templates = list(db.session.scalars(_templates_query(start, until, team_ids, template_ids)))
    table = Shift.__table__
    # A plain executemany (no RETURNING: on psycopg that turns into slow multi-row VALUES); the
    # rowcount of an executemany INSERT is kept only when asked for.
    statement = insert_ignoring_conflicts(table, ["template_id", "local_date"]).execution_options(
        preserve_rowcount=True
    )
    spans: dict[tuple, tuple[dt.datetime, dt.datetime]] = {}  # teams share a few spans: convert each once
    weekdays_in_range = [(day, 1 << day.weekday()) for day in _days(start, until)]
    for chunk in chunked(templates, TEMPLATES_PER_CHUNK):
        existing = {
            tuple(row)
            for row in db.session.execute(
                sa.select(Shift.template_id, Shift.local_date).where(
                    Shift.template_id.in_([t.id for t in chunk]), Shift.local_date.between(start, until)
                )
            )
        }
        now = utcnow()
        rows = []
        for template in chunk:
            first = template.valid_from
            last = template.valid_until or until
            common = {
                "team_id": template.team_id,
                "template_id": template.id,
                "area_zh": template.area_zh,
                "area_en": template.area_en,
                "min_volunteers": template.min_volunteers,
                "max_volunteers": template.max_volunteers,
                "assigned_count": 0,
                "status": ShiftStatus.SCHEDULED,
                "sequence": 0,
                "last_modified": now,
                "created_at": now,
                "updated_at": now,
            }
            for day, bit in weekdays_in_range:
                if not template.weekdays & bit or day < first or day > last:
                    continue
                if (template.id, day) in existing:
                    result.skipped += 1
                    continue
                key = (day, template.local_start, template.local_end)
                span = spans.get(key)
                if span is None:
                    span = spans[key] = span_utc(*key)
                rows.append(common | {"uid": new_uid(), "local_date": day, "starts_at": span[0], "ends_at": span[1]})
        for batch in chunked(rows, INSERT_BATCH):
            inserted = db.session.execute(statement, batch).rowcount
            result.created += inserted
            result.skipped += len(batch) - inserted  # inserted meanwhile by a concurrent run
        if progress is not None:
            progress(len(chunk))
    return result


def _touch(shift: Shift) -> None:
    shift.sequence = (shift.sequence or 0) + 1
    shift.last_modified = utcnow()


@dataclass
class StaffedShift:
    """A shift with volunteers that no longer matches its template; left for the coordinator."""

    shift: Shift
    differences: list[str]  # "day", "times", "area", "volunteers"


@dataclass
class TemplateChangeReport:
    updated: int = 0
    removed: int = 0  # unstaffed shifts on days the template no longer covers
    created: int = 0
    staffed: list[StaffedShift] = field(default_factory=list)


def _template_covers(template: ShiftTemplate, day: dt.date) -> bool:
    return (
        template.active
        and template.team.active
        and template.runs_on(day)
        and template.valid_from <= day
        and (template.valid_until is None or day <= template.valid_until)
    )


def _differences(shift: Shift, template: ShiftTemplate) -> tuple[list[str], dict]:
    starts_at, ends_at = span_utc(shift.local_date, template.local_start, template.local_end)
    wanted = {
        "times": {"starts_at": starts_at, "ends_at": ends_at},
        "area": {"area_zh": template.area_zh, "area_en": template.area_en},
        "volunteers": {"min_volunteers": template.min_volunteers, "max_volunteers": template.max_volunteers},
    }
    differ = [name for name, values in wanted.items() if any(getattr(shift, k) != v for k, v in values.items())]
    return differ, {k: v for name in differ for k, v in wanted[name].items()}


def apply_template_change(template: ShiftTemplate, actor, until: dt.date | None = None) -> TemplateChangeReport:
    """Make the future shifts of an edited template follow it, except those that have volunteers.

    Unstaffed future shifts get the new times, area and limits (SEQUENCE up); on days the template
    no longer covers they are cancelled when they have any assignment history and deleted otherwise.
    Staffed shifts are never changed: they are returned in the report for the coordinator.
    Then the shifts for newly covered days are generated up to `until` (default: the horizon).
    The caller commits.
    """
    from flask import current_app

    db.session.flush()
    now = utcnow()
    report = TemplateChangeReport()
    shifts = list(
        db.session.scalars(
            sa.select(Shift)
            .where(Shift.template_id == template.id, Shift.starts_at > now, Shift.status == ShiftStatus.SCHEDULED)
            .order_by(Shift.local_date)
        )
    )
    leaving = [s for s in shifts if not _template_covers(template, s.local_date) and s.assigned_count == 0]
    with_history = (
        set(
            db.session.scalars(
                sa.select(Assignment.shift_id).where(Assignment.shift_id.in_([s.id for s in leaving])).distinct()
            )
        )
        if leaving
        else set()
    )
    for shift in shifts:
        covered = _template_covers(template, shift.local_date)
        differ, values = _differences(shift, template) if covered else (["day"], {})
        if not differ:
            continue
        if shift.assigned_count > 0:
            report.staffed.append(StaffedShift(shift, differ))
            continue
        if not covered:
            if shift.id in with_history:
                shift.status = ShiftStatus.CANCELLED
                _touch(shift)
            else:
                db.session.delete(shift)
            report.removed += 1
            continue
        for key, value in values.items():
            setattr(shift, key, value)
        _touch(shift)
        report.updated += 1
    db.session.flush()
    start = local_today()
    until = until or start + dt.timedelta(days=current_app.config.get("SCHEDULE_HORIZON_DAYS", 90))
    report.created = generate_shifts(start, until, template_ids=[template.id]).created
    record(
        actor,
        "shift_template.apply",
        "shift_template",
        template.id,
        updated=report.updated,
        removed=report.removed,
        created=report.created,
        staffed_unchanged=[item.shift.id for item in report.staffed],
    )
    return report
