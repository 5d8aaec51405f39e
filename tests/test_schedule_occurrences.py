"""Contact days, court and clinic sessions: generated from the rules, moved and cancelled by hand."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import (
    AuditLog,
    HearingNotice,
    HolidayOverride,
    HolidayPolicy,
    Occurrence,
    OccurrenceStatus,
    OverrideKind,
    ProgrammeKind,
    Role,
    db,
    occurrence_officials,
)
from scheduler import holiday_calendar as cal
from scheduler.hearings import add_hearing_notice
from scheduler.occurrences import cancel_occurrence, generate_occurrences, move_occurrence, reconcile_series
from services.errors import RuleViolation
from tests.factories import make_user
from tests.schedule_builders import contact_day_series, court_series
from timeutil import LOCAL_TZ, to_local

D = dt.date
CONTACT_DAYS_2026 = [
    D(2026, 1, 11),
    D(2026, 2, 8),
    D(2026, 3, 8),
    D(2026, 4, 12),
    D(2026, 5, 10),
    D(2026, 6, 14),
    D(2026, 7, 12),
    D(2026, 8, 9),
    D(2026, 9, 13),
    D(2026, 10, 11),
    D(2026, 11, 8),
    D(2026, 12, 13),
]
CONTACT_DAYS_2027 = [
    D(2027, 1, 10),
    D(2027, 2, 14),
    D(2027, 3, 14),
    D(2027, 4, 11),
    D(2027, 5, 9),
    D(2027, 6, 13),
    D(2027, 7, 11),
    D(2027, 8, 8),
    D(2027, 9, 12),
    D(2027, 10, 10),
    D(2027, 11, 14),
    D(2027, 12, 12),
]


def occurrences(series) -> list[Occurrence]:
    return list(
        db.session.scalars(
            sa.select(Occurrence)
            .where(Occurrence.series_id == series.id)
            .order_by(Occurrence.rule_date, Occurrence.site_id)
        )
    )


def local_span(occurrence):
    return to_local(occurrence.starts_at), to_local(occurrence.ends_at)


@pytest.mark.parametrize("year, expected", [(2026, CONTACT_DAYS_2026), (2027, CONTACT_DAYS_2027)])
def test_the_twelve_contact_days_of_a_year(app, year, expected):
    official = make_user(Role.OFFICIAL)
    series = contact_day_series(sites=3, officials=[official])
    result = generate_occurrences(D(year, 1, 1), D(year, 12, 31))
    assert result.created == 36
    found = occurrences(series)
    assert sorted({o.rule_date for o in found}) == expected
    for o in found:
        start, end = local_span(o)
        assert start.date() == o.rule_date and start.time() == dt.time(9, 0) and end.time() == dt.time(11, 30)
        assert o.status is OccurrenceStatus.SCHEDULED and o.sequence == 0 and not o.on_public_holiday
        assert o.community_id and o.venue_id and o.officials == [official]
        assert o.title_en.startswith("Contact day: ")


def test_generation_is_idempotent_and_uids_are_unique(app):
    series = contact_day_series(sites=2)
    court_series()
    first = generate_occurrences(D(2026, 1, 1), D(2026, 6, 30))
    uids = {o.uid for o in db.session.scalars(sa.select(Occurrence))}
    second = generate_occurrences(D(2026, 1, 1), D(2026, 6, 30))
    assert first.created > 0 and second.created == 0 and second.skipped == first.created
    assert {o.uid for o in db.session.scalars(sa.select(Occurrence))} == uids and len(uids) == first.created
    # Extending the range only adds the new dates.
    third = generate_occurrences(D(2026, 1, 1), D(2026, 7, 31))
    july_court_days = len(cal.court_days(D(2026, 7, 1), D(2026, 7, 31)))
    assert third.created == 2 + 2 * july_court_days and len(occurrences(series)) == 14


class TestSpringFestival2024:
    """2024-02-11, a second Sunday, is a day of the Spring Festival break; 2024-02-18 is a make-up working day."""

    def generate(self, policy):
        series = contact_day_series(sites=2, policy=policy)
        result = generate_occurrences(D(2024, 2, 1), D(2024, 2, 29))
        found = occurrences(series)
        assert len(found) == 2 and {o.rule_date for o in found} == {D(2024, 2, 11)}
        assert result.flagged == [(D(2024, 2, 11), "春节")]  # shown to the admin, once per date
        assert all(o.on_public_holiday and o.holiday_name == "春节" for o in found)
        return found

    def test_keep(self, app):
        for o in self.generate(HolidayPolicy.KEEP):
            assert local_span(o)[0] == dt.datetime(2024, 2, 11, 9, 0, tzinfo=LOCAL_TZ)
            assert o.status is OccurrenceStatus.SCHEDULED and o.note_en == ""

    def test_next_sunday_goes_to_the_next_ordinary_sunday(self, app):
        for o in self.generate(HolidayPolicy.NEXT_SUNDAY):
            # Not 2024-02-18: people work that Sunday (make-up working day).
            assert local_span(o)[0] == dt.datetime(2024, 2, 25, 9, 0, tzinfo=LOCAL_TZ)
            assert o.status is OccurrenceStatus.SCHEDULED and not o.moved_by_hand
            assert "2024-02-11" in o.note_en and "Spring Festival" in o.note_en

    def test_skip_publishes_it_as_cancelled(self, app):
        for o in self.generate(HolidayPolicy.SKIP):
            assert o.status is OccurrenceStatus.CANCELLED
            assert o.note_en.startswith("Not held") and "2024-02-11" in o.note_en


def test_court_and_clinic_sessions_on_court_days_only(app):
    court = court_series(ProgrammeKind.HOLIDAY_COURT, rooms=2)
    clinic = court_series(ProgrammeKind.LEGAL_CLINIC, rooms=1)
    generate_occurrences(D(2026, 9, 15), D(2026, 10, 15))
    expected = cal.court_days(D(2026, 9, 15), D(2026, 10, 15))
    for series, rooms in ((court, 2), (clinic, 1)):
        found = occurrences(series)
        assert len(found) == len(expected) * rooms
        assert sorted({o.rule_date for o in found}) == expected
    dates = {o.rule_date for o in occurrences(court)}
    assert D(2026, 9, 20) not in dates and D(2026, 10, 10) not in dates
    assert {D(2026, 10, 1), D(2026, 10, 7), D(2026, 9, 19)} <= dates
    national_day = [o for o in occurrences(court) if o.rule_date == D(2026, 10, 1)]
    assert all(o.on_public_holiday and o.holiday_name == "国庆节" for o in national_day)
    assert [o.bilingual for o in national_day] == [True, False] and national_day[0].capacity == 40


def test_a_broken_rule_does_not_stop_the_other_series(app):
    broken = contact_day_series(sites=1)
    broken.rrule = "FREQ=SECONDLY"  # the forms refuse this; data from elsewhere might not
    good = contact_day_series(sites=1)
    result = generate_occurrences(D(2026, 1, 1), D(2026, 3, 31))
    assert result.broken_series == [broken.id] and len(occurrences(good)) == 3 and occurrences(broken) == []


def test_series_dates_bound_generation(app):
    series = contact_day_series(sites=1, starts_on=D(2026, 3, 1), ends_on=D(2026, 5, 31))
    generate_occurrences(D(2026, 1, 1), D(2026, 12, 31))
    assert [o.rule_date for o in occurrences(series)] == [D(2026, 3, 8), D(2026, 4, 12), D(2026, 5, 10)]


def future_occurrence(series_sites=1):
    series = contact_day_series(sites=series_sites, starts_on=D(2030, 1, 1))
    generate_occurrences(D(2030, 1, 1), D(2030, 1, 31))
    return series, occurrences(series)[0]


def test_move_keeps_identity_and_raises_sequence(app):
    admin = make_user(Role.ADMIN)
    _, occurrence = future_occurrence()
    uid, before = occurrence.uid, occurrence.last_modified
    move_occurrence(occurrence, D(2030, 1, 20), dt.time(14, 0), dt.time(16, 0), admin, note="改在下午")
    db.session.commit()
    db.session.expire_all()
    assert occurrence.uid == uid and occurrence.sequence == 1 and occurrence.last_modified > before
    assert local_span(occurrence) == (
        dt.datetime(2030, 1, 20, 14, 0, tzinfo=LOCAL_TZ),
        dt.datetime(2030, 1, 20, 16, 0, tzinfo=LOCAL_TZ),
    )
    assert occurrence.rule_date == D(2030, 1, 13) and occurrence.moved_by_hand and occurrence.note_zh == "改在下午"
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "occurrence.move"))
    assert entry.actor_id == admin.id and entry.entity_id == str(occurrence.id) and entry.detail["uid"] == uid
    # Generating again neither duplicates nor resets it.
    assert generate_occurrences(D(2030, 1, 1), D(2030, 1, 31)).created == 0
    assert to_local(occurrence.starts_at).date() == D(2030, 1, 20)


def test_cancel_keeps_identity_and_raises_sequence(app):
    admin = make_user(Role.ADMIN)
    _, occurrence = future_occurrence()
    uid = occurrence.uid
    cancel_occurrence(occurrence, admin, reason="Typhoon warning (sample)")
    db.session.commit()
    assert occurrence.uid == uid and occurrence.status is OccurrenceStatus.CANCELLED and occurrence.sequence == 1
    assert occurrence.note_en == "Typhoon warning (sample)"
    assert (
        db.session.scalar(sa.select(AuditLog.action).where(AuditLog.entity_id == str(occurrence.id)))
        == "occurrence.cancel"
    )
    with pytest.raises(RuleViolation) as refused:
        cancel_occurrence(occurrence, admin)
    assert refused.value.status == 409
    # Moving a cancelled occurrence holds it again, still the same event.
    move_occurrence(occurrence, D(2030, 1, 27), dt.time(9, 0), dt.time(11, 0), admin)
    assert occurrence.status is OccurrenceStatus.SCHEDULED and occurrence.sequence == 2 and occurrence.uid == uid


def test_move_refuses_bad_times(app):
    admin = make_user(Role.ADMIN)
    _, occurrence = future_occurrence()
    with pytest.raises(RuleViolation) as backwards:
        move_occurrence(occurrence, D(2030, 1, 20), dt.time(16, 0), dt.time(14, 0), admin)
    with pytest.raises(RuleViolation) as past:
        move_occurrence(occurrence, D(2020, 1, 20), dt.time(9, 0), dt.time(10, 0), admin)
    assert backwards.value.status == past.value.status == 400
    assert occurrence.sequence == 0


def test_series_edit_updates_future_occurrences_but_not_hand_moved_ones(app):
    admin = make_user(Role.ADMIN)
    series = contact_day_series(sites=1, starts_on=D(2030, 1, 1))
    generate_occurrences(D(2030, 1, 1), D(2030, 3, 31))
    january, february, march = occurrences(series)
    move_occurrence(january, D(2030, 1, 19), dt.time(9, 0), dt.time(11, 0), admin)
    site = series.sites[0]
    site.local_start, site.local_end = dt.time(14, 0), dt.time(16, 0)
    result = reconcile_series(series, admin, from_day=D(2030, 1, 1), until=D(2030, 3, 31))
    assert result.updated == 2 and result.created == 0
    assert to_local(january.starts_at).hour == 9 and january.sequence == 1
    assert to_local(february.starts_at).hour == 14 and february.sequence == 1
    # A rule change cancels the dates that left the rule (never deletes) and creates the new ones.
    series.rrule = "FREQ=MONTHLY;BYDAY=3SU"
    result = reconcile_series(series, admin, from_day=D(2030, 1, 1), until=D(2030, 3, 31))
    assert result.cancelled == 2 and result.created == 3
    assert february.status is OccurrenceStatus.CANCELLED and february.sequence == 2 and march.sequence == 2
    assert january.status is OccurrenceStatus.SCHEDULED  # moved by hand: left alone
    # Nothing left to do: a second reconciliation changes nothing.
    again = reconcile_series(series, admin, from_day=D(2030, 1, 1), until=D(2030, 3, 31))
    assert (again.created, again.updated, again.cancelled, again.reinstated) == (0, 0, 0, 0)


def test_a_holiday_override_reaches_existing_sessions(app):
    admin = make_user(Role.ADMIN)
    series = court_series(rooms=1, starts_on=D(2030, 1, 1))
    generate_occurrences(D(2030, 3, 1), D(2030, 3, 31))
    saturday = next(o for o in occurrences(series) if o.rule_date == D(2030, 3, 16))
    db.session.add(HolidayOverride(day=D(2030, 3, 16), kind=OverrideKind.WORKDAY, reason="Sample make-up day"))
    db.session.add(HolidayOverride(day=D(2030, 3, 13), kind=OverrideKind.HOLIDAY, reason="Sample extra holiday"))
    db.session.flush()
    result = reconcile_series(series, admin, from_day=D(2030, 3, 1), until=D(2030, 3, 31))
    assert result.cancelled == 1 and result.created == 1
    assert saturday.status is OccurrenceStatus.CANCELLED and saturday.sequence == 1
    wednesday = next(o for o in occurrences(series) if o.rule_date == D(2030, 3, 13))
    assert wednesday.on_public_holiday and wednesday.holiday_name == "Sample extra holiday"


def test_officials_are_copied_to_each_occurrence(app):
    officials = [make_user(Role.OFFICIAL) for _ in range(2)]
    contact_day_series(sites=2, officials=officials)
    generate_occurrences(D(2026, 1, 1), D(2026, 3, 31))
    links = db.session.execute(sa.select(sa.func.count()).select_from(occurrence_officials)).scalar()
    assert links == 2 * 3 * 2


def test_hearing_notice_is_public_data_only(app):
    staff = make_user(Role.STAFF)
    series = court_series(rooms=1, starts_on=D(2030, 1, 1))
    generate_occurrences(D(2030, 1, 5), D(2030, 1, 5))
    session = occurrences(series)[0]
    notice = add_hearing_notice(
        session,
        case_number="（2030）苏0591民初1号",
        cause_zh="买卖合同纠纷",
        cause_en="Sale contract dispute",
        local_start=dt.time(9, 30),
        local_end=dt.time(10, 30),
        actor=staff,
    )
    assert notice.case_number == "（2030）苏0591民初1号" and notice.courtroom_id == session.venue_id
    assert notice.bilingual  # the session is bilingual
    columns = set(HearingNotice.__table__.columns.keys())
    assert not columns & {"party", "parties", "plaintiff", "defendant", "name", "phone"}
    bad = [
        ({"case_number": "1234"}, "bad_case_number"),
        ({"cause_zh": "张三诉李四 13912345678"}, "personal_data"),
        ({"cause_en": "ID 32050119800101123X"}, "personal_data"),
        ({"local_start": dt.time(8, 0)}, "outside_session"),
        ({"case_number": "(2030)苏0591民初1号"}, "duplicate_case"),
    ]
    for change, code in bad:
        values = {
            "case_number": "(2030)苏0591民初2号",
            "cause_zh": "劳动争议",
            "cause_en": "",
            "local_start": dt.time(10, 30),
            "local_end": dt.time(11, 0),
        } | change
        with pytest.raises(RuleViolation) as refused:
            add_hearing_notice(session, actor=staff, **values)
        assert refused.value.code == code, change


def test_moving_a_court_session_moves_its_hearings(app):
    admin = make_user(Role.ADMIN)
    series = court_series(rooms=1, starts_on=D(2030, 1, 1))
    generate_occurrences(D(2030, 1, 5), D(2030, 1, 5))
    session = occurrences(series)[0]
    notice = add_hearing_notice(
        session,
        case_number="(2030)苏0591民初3号",
        cause_zh="劳动争议",
        cause_en="",
        local_start=dt.time(10, 0),
        local_end=dt.time(11, 0),
        actor=admin,
    )
    move_occurrence(session, D(2030, 1, 6), dt.time(9, 0), dt.time(12, 0), admin)
    assert to_local(notice.starts_at) == dt.datetime(2030, 1, 6, 10, 0, tzinfo=LOCAL_TZ) and notice.sequence == 1
    cancel_occurrence(session, admin)
    assert notice.status is OccurrenceStatus.CANCELLED and notice.sequence == 2


# --- properties --------------------------------------------------------------------------------

policies = st.sampled_from(list(HolidayPolicy))
starts = st.dates(min_value=D(2023, 1, 1), max_value=D(2028, 12, 31))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, start=starts, length=st.integers(min_value=0, max_value=500))
def test_property_no_occurrence_breaks_its_rule_and_generation_is_idempotent(app, policy, start, length):
    until = start + dt.timedelta(days=length)
    series = contact_day_series(sites=2, policy=policy, starts_on=D(2023, 1, 1))
    court = court_series(rooms=1, starts_on=D(2023, 1, 1))
    try:
        first = generate_occurrences(start, until)
        found = occurrences(series)
        calendar = cal.calendar_for(start, until + dt.timedelta(weeks=6))
        second_sundays = [
            day for day in calendar.days() if start <= day <= until and day.weekday() == 6 and 8 <= day.day <= 14
        ]
        # Exactly one occurrence per site and second Sunday in the range, none elsewhere.
        assert sorted(o.rule_date for o in found) == sorted(second_sundays * 2)
        for o in found:
            start_local = to_local(o.starts_at)
            holiday = calendar.is_public_holiday(o.rule_date)
            assert o.on_public_holiday == holiday
            if not holiday or policy is HolidayPolicy.KEEP:
                assert start_local.date() == o.rule_date and o.status is OccurrenceStatus.SCHEDULED
            elif policy is HolidayPolicy.SKIP:
                assert o.status is OccurrenceStatus.CANCELLED
            else:
                moved = start_local.date()
                assert moved.weekday() == 6 and moved > o.rule_date
                assert not calendar.is_public_holiday(moved) and not calendar.is_makeup_workday(moved)
                assert (moved - o.rule_date).days <= 35
            assert start_local.time() == dt.time(9, 0) and o.ends_at > o.starts_at
        court_found = occurrences(court)
        assert [o.rule_date for o in court_found] == cal.court_days(start, until)
        assert all(calendar.is_court_day(o.rule_date) for o in court_found)
        # A second run creates nothing and changes nothing.
        snapshot = [(o.uid, o.starts_at, o.status, o.sequence) for o in occurrences(series) + occurrences(court)]
        second = generate_occurrences(start, until)
        assert second.created == 0 and second.skipped == first.created
        assert [
            (o.uid, o.starts_at, o.status, o.sequence) for o in occurrences(series) + occurrences(court)
        ] == snapshot
    finally:
        db.session.rollback()
