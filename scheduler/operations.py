"""Schedule operations: what an admin or court clerk does to the schedule, one unit of work each.

The admin pages (views/admin_schedule.py) only parse forms and show results; every rule, the
audit record and the fill -> record -> reconcile -> commit sequence of a change live here.
Each function commits its change or rolls it back and raises RuleViolation
(services/transactions.py). The building blocks below (occurrences, hearings, shifts) leave
the commit to these operations, so jobs and the CLI can compose them in their own transactions.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from models import (
    HearingNotice,
    HolidayOverride,
    Occurrence,
    OverrideKind,
    PatrolTeam,
    Series,
    SeriesSite,
    ShiftTemplate,
    User,
    db,
    record,
)
from services.errors import RuleViolation
from services.transactions import unit_of_work

from . import hearings, occurrences
from .occurrences import OccurrenceResult
from .shifts import TemplateChangeReport, apply_template_change


def _apply(item, values: dict) -> None:
    for name, value in values.items():
        setattr(item, name, value)


# --- series and sites -----------------------------------------------------------------------


@unit_of_work
def create_series(actor: User, values: dict) -> Series:
    """A new series (no sites yet, so nothing to generate)."""
    series = Series()
    _apply(series, values)
    db.session.add(series)
    db.session.flush()
    record(actor, "series.create", "series", series.id, name=series.name_zh)
    return series


@unit_of_work
def update_series(actor: User, series: Series, values: dict) -> OccurrenceResult:
    """Change a series and bring its future occurrences in line."""
    _apply(series, values)
    record(actor, "series.update", "series", series.id)
    return occurrences.reconcile_series(series, actor)


def site_conflict(series: Series, site: SeriesSite, venue_id: int, community_id: int | None) -> bool:
    """Whether the series already meets at this venue for this community (another site)."""
    community = SeriesSite.community_id.is_(None) if not community_id else SeriesSite.community_id == community_id
    return (
        db.session.scalar(
            sa.select(SeriesSite.id).where(
                SeriesSite.series_id == series.id,
                SeriesSite.venue_id == venue_id,
                community,
                SeriesSite.id != (site.id or 0),
            )
        )
        is not None
    )


@unit_of_work
def save_site(actor: User, series: Series, site: SeriesSite, values: dict, official_ids) -> OccurrenceResult:
    """Create or change one site of a series, then reconcile the series.

    RuleViolation "duplicate_site" (409) when another site of the series has the same venue and community.
    """
    if site_conflict(series, site, values["venue_id"], values.get("community_id")):
        raise RuleViolation(_("This series already meets at this venue for this community."), "duplicate_site", 409)
    action = "series_site.create" if site.id is None else "series_site.update"
    _apply(site, values)
    chosen = set(official_ids or [])
    site.officials = list(db.session.scalars(sa.select(User).where(User.id.in_(chosen)))) if chosen else []
    if site.id is None:
        series.sites.append(site)
        db.session.add(site)
    db.session.flush()
    record(actor, action, "series_site", site.id, series_id=series.id)
    return occurrences.reconcile_series(series, actor)


# --- one occurrence -------------------------------------------------------------------------


@unit_of_work
def move_occurrence(
    actor: User, occurrence: Occurrence, day: dt.date, start: dt.time, end: dt.time, note: str = ""
) -> Occurrence:
    return occurrences.move_occurrence(occurrence, day, start, end, actor, note=note)


@unit_of_work
def cancel_occurrence(actor: User, occurrence: Occurrence, reason: str = "") -> Occurrence:
    return occurrences.cancel_occurrence(occurrence, actor, reason=reason)


@unit_of_work
def add_hearing_notice(actor: User, occurrence: Occurrence, **fields) -> HearingNotice:
    return hearings.add_hearing_notice(occurrence, actor=actor, **fields)


@unit_of_work
def cancel_hearing_notice(actor: User, notice: HearingNotice) -> HearingNotice:
    return hearings.cancel_hearing_notice(notice, actor)


# --- holiday calendar -----------------------------------------------------------------------


@unit_of_work
def add_holiday_override(actor: User, day: dt.date, kind: OverrideKind, reason: str) -> OccurrenceResult:
    """Declare a day a holiday or a working day by hand, then reconcile every series.

    RuleViolation "duplicate_override" (409) when the day already has one.
    """
    if db.session.scalar(sa.select(HolidayOverride.id).where(HolidayOverride.day == day)):
        raise RuleViolation(_("This date already has an override; remove it first."), "duplicate_override", 409)
    override = HolidayOverride(day=day, kind=kind, reason=reason, created_by_id=actor.id)
    db.session.add(override)
    db.session.flush()
    record(
        actor,
        "holiday_override.add",
        "holiday_override",
        override.id,
        day=day.isoformat(),
        kind=override.kind.value,
        reason=override.reason,
    )
    return occurrences.reconcile_all(actor)


@unit_of_work
def remove_holiday_override(actor: User, override: HolidayOverride) -> OccurrenceResult:
    record(
        actor,
        "holiday_override.remove",
        "holiday_override",
        override.id,
        day=override.day.isoformat(),
        kind=override.kind.value,
        reason=override.reason,
    )
    db.session.delete(override)
    db.session.flush()
    return occurrences.reconcile_all(actor)


# --- shift templates ------------------------------------------------------------------------


@unit_of_work
def save_template(actor: User, team: PatrolTeam, template: ShiftTemplate, values: dict) -> TemplateChangeReport:
    """Create or change a team's shift template and make its future shifts follow it."""
    action = "shift_template.create" if template.id is None else "shift_template.update"
    _apply(template, values)
    if template.id is None:
        db.session.add(template)
    db.session.flush()
    record(actor, action, "shift_template", template.id, team_id=team.id)
    return apply_template_change(template, actor)
