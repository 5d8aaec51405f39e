"""Patrol shifts: materialised from templates in bulk, idempotent, never touching staffed shifts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import AssignmentStatus, AuditLog, Role, Shift, ShiftStatus, db
from scheduler.shifts import apply_template_change, generate_shifts
from tests.conftest import count_queries
from tests.factories import make_team, make_user
from tests.schedule_builders import shift_template, staff
from timeutil import LOCAL_TZ, local_today, to_local

D = dt.date
MON, TUE, WED, THU, FRI, SAT, SUN = (1 << n for n in range(7))


def shifts_of(template) -> list[Shift]:
    return list(db.session.scalars(sa.select(Shift).where(Shift.template_id == template.id).order_by(Shift.local_date)))


def test_a_night_shift_lasts_four_hours_and_belongs_to_the_evening(app):
    template = shift_template(start=dt.time(22, 0), end=dt.time(2, 0))
    generate_shifts(D(2026, 3, 14), D(2026, 3, 14))
    [shift] = shifts_of(template)
    assert shift.local_date == D(2026, 3, 14)
    assert shift.duration == dt.timedelta(hours=4)
    assert to_local(shift.starts_at) == dt.datetime(2026, 3, 14, 22, 0, tzinfo=LOCAL_TZ)
    assert to_local(shift.ends_at) == dt.datetime(2026, 3, 15, 2, 0, tzinfo=LOCAL_TZ)
    assert shift.starts_at == dt.datetime(2026, 3, 14, 14, 0, tzinfo=dt.UTC)


def test_weekdays_and_validity_decide_the_dates(app):
    template = shift_template(weekdays=SAT | SUN, valid_from=D(2026, 3, 7), valid_until=D(2026, 3, 22))
    result = generate_shifts(D(2026, 3, 1), D(2026, 3, 31))
    assert result.created == 6
    assert [s.local_date for s in shifts_of(template)] == [
        D(2026, 3, 7),
        D(2026, 3, 8),
        D(2026, 3, 14),
        D(2026, 3, 15),
        D(2026, 3, 21),
        D(2026, 3, 22),
    ]
    shift = shifts_of(template)[0]
    assert (shift.min_volunteers, shift.max_volunteers, shift.area_en) == (2, 6, "East shore of Jinji Lake")
    assert shift.status is ShiftStatus.SCHEDULED and shift.sequence == 0 and shift.assigned_count == 0


def test_inactive_templates_and_teams_generate_nothing(app):
    shift_template(active=False)
    shift_template(team=make_team(active=False))
    assert generate_shifts(D(2026, 3, 1), D(2026, 3, 31)).created == 0


def test_second_run_creates_nothing_and_leaves_staffed_shifts_alone(app):
    template = shift_template()
    first = generate_shifts(D(2026, 3, 1), D(2026, 3, 31))
    assert first.created == 31
    staffed = shifts_of(template)[3]
    staff(staffed)
    db.session.commit()
    snapshot = [(s.id, s.uid, s.starts_at, s.sequence, s.assigned_count) for s in shifts_of(template)]
    second = generate_shifts(D(2026, 3, 1), D(2026, 3, 31))
    assert second.created == 0 and second.skipped == 31
    assert [(s.id, s.uid, s.starts_at, s.sequence, s.assigned_count) for s in shifts_of(template)] == snapshot


def test_bulk_generation_reads_keys_once_per_chunk(app):
    """120 teams x 2 templates for 30 days: a handful of statements, never one per shift."""
    teams = [make_team() for _ in range(120)]
    for team in teams:
        shift_template(team=team, start=dt.time(19, 0), end=dt.time(22, 0))
        shift_template(team=team, start=dt.time(22, 0), end=dt.time(2, 0))
    db.session.commit()
    with count_queries(db.engine) as queries:
        result = generate_shifts(D(2026, 4, 1), D(2026, 4, 30))
    assert result.created == 240 * 30
    assert queries() <= 12  # templates + (existing keys + insert batches) per chunk of 60 templates
    with count_queries(db.engine) as queries:
        assert generate_shifts(D(2026, 4, 1), D(2026, 4, 30)).created == 0
    assert queries() <= 6


def test_progress_is_reported_per_template(app):
    for _ in range(3):
        shift_template()
    seen = []
    generate_shifts(D(2026, 4, 1), D(2026, 4, 2), progress=seen.append)
    assert sum(seen) == 3


def future_template(**kw):
    start = local_today() + dt.timedelta(days=2)
    template = shift_template(valid_from=start, **kw)
    generate_shifts(start, start + dt.timedelta(days=13))
    return template, shifts_of(template)


def test_template_change_updates_unstaffed_future_shifts_and_reports_staffed_ones(app):
    admin = make_user(Role.ADMIN)
    template, shifts = future_template()
    staffed = shifts[1]
    staff(staffed)
    before = (staffed.starts_at, staffed.ends_at, staffed.sequence)
    template.local_start, template.local_end = dt.time(20, 0), dt.time(23, 30)
    template.area_en = "West shore (sample)"
    report = apply_template_change(template, admin, until=shifts[-1].local_date)
    db.session.commit()
    assert report.updated == len(shifts) - 1 and report.removed == 0 and report.created == 0
    assert [item.shift.id for item in report.staffed] == [staffed.id]
    assert report.staffed[0].differences == ["times", "area"]
    assert (staffed.starts_at, staffed.ends_at, staffed.sequence) == before
    for shift in shifts:
        if shift is not staffed:
            assert to_local(shift.starts_at).time() == dt.time(20, 0) and shift.sequence == 1
            assert shift.area_en == "West shore (sample)" and shift.duration == dt.timedelta(hours=3, minutes=30)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "shift_template.apply"))
    assert entry.detail["staffed_unchanged"] == [staffed.id]


def test_template_change_of_weekdays_removes_only_unstaffed_shifts(app):
    admin = make_user(Role.ADMIN)
    template, shifts = future_template()
    weekend = [s for s in shifts if s.local_date.weekday() >= 5]
    staffed = weekend[0]
    staff(staffed)
    template.weekdays = MON | TUE | WED | THU | FRI
    report = apply_template_change(template, admin, until=shifts[-1].local_date)
    db.session.commit()
    assert report.removed == len(weekend) - 1 and [i.shift.id for i in report.staffed] == [staffed.id]
    assert report.staffed[0].differences == ["day"]
    remaining = shifts_of(template)
    assert staffed in remaining and staffed.status is ShiftStatus.SCHEDULED
    assert all(s.local_date.weekday() < 5 for s in remaining if s is not staffed)
    # Adding the weekend back creates the missing days again; the staffed one is still the same shift.
    template.weekdays = 0b1111111
    report = apply_template_change(template, admin, until=shifts[-1].local_date)
    assert report.created == len(weekend) - 1 and len(shifts_of(template)) == len(shifts)


def test_template_change_cancels_an_unstaffed_shift_with_history(app):
    admin = make_user(Role.ADMIN)
    template, shifts = future_template(weekdays=0b1111111)
    shift = next(s for s in shifts if s.local_date.weekday() == 5)
    assignment = staff(shift)
    assignment.status = AssignmentStatus.DROPPED
    shift.assigned_count = 0
    template.weekdays = MON
    apply_template_change(template, admin, until=shifts[-1].local_date)
    assert shift.status is ShiftStatus.CANCELLED and shift.sequence == 1  # kept for its history


# --- properties --------------------------------------------------------------------------------

times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(
        st.tuples(st.integers(1, 127), times, times, st.integers(0, 40), st.one_of(st.none(), st.integers(0, 60))),
        min_size=1,
        max_size=4,
    ),
    start=st.dates(min_value=D(2025, 1, 1), max_value=D(2028, 12, 31)),
    length=st.integers(0, 60),
    staffed_every=st.integers(2, 7),
)
def test_property_generation_is_idempotent_and_follows_the_templates(app, specs, start, length, staffed_every):
    until = start + dt.timedelta(days=length)
    try:
        templates = []
        for weekdays, begin, end, offset, valid_days in specs:
            if end == begin:
                end = (dt.datetime.combine(start, begin) + dt.timedelta(minutes=30)).time()
            valid_from = start + dt.timedelta(days=offset - 20)
            valid_until = valid_from + dt.timedelta(days=valid_days) if valid_days is not None else None
            templates.append(
                shift_template(weekdays=weekdays, start=begin, end=end, valid_from=valid_from, valid_until=valid_until)
            )
        first = generate_shifts(start, until)
        expected = 0
        for template in templates:
            found = shifts_of(template)
            days = [start + dt.timedelta(days=n) for n in range(length + 1)]
            wanted = [
                d
                for d in days
                if template.runs_on(d)
                and template.valid_from <= d
                and (template.valid_until is None or d <= template.valid_until)
            ]
            assert [s.local_date for s in found] == wanted
            expected += len(wanted)
            for shift in found:
                local_start, local_end = to_local(shift.starts_at), to_local(shift.ends_at)
                assert local_start.date() == shift.local_date and local_start.time() == template.local_start
                assert local_end.time() == template.local_end
                assert dt.timedelta(0) < shift.duration < dt.timedelta(hours=24)
                assert (local_end.date() > shift.local_date) == (template.local_end <= template.local_start)
        assert first.created == expected
        every = list(db.session.scalars(sa.select(Shift).order_by(Shift.id)))
        for shift in every[::staffed_every]:
            staff(shift)
        snapshot = [(s.id, s.uid, s.starts_at, s.ends_at, s.sequence, s.assigned_count) for s in every]
        second = generate_shifts(start, until)
        assert second.created == 0 and second.skipped == expected
        after = list(db.session.scalars(sa.select(Shift).order_by(Shift.id)))
        assert [(s.id, s.uid, s.starts_at, s.ends_at, s.sequence, s.assigned_count) for s in after] == snapshot
    finally:
        db.session.rollback()
