"""The database itself refuses data that would break the schedule, whatever the form does."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from models import (
    Assignment,
    FeedKind,
    FeedToken,
    MembershipRole,
    Occurrence,
    Programme,
    ProgrammeKind,
    Role,
    Shift,
    ShiftTemplate,
    TeamMembership,
    User,
    Venue,
    VenueKind,
    db,
)
from tests.factories import aware, make_team, make_user


def _programme() -> Programme:
    programme = Programme(slug="p", kind=ProgrammeKind.CONTACT_DAY, name_zh="联系日", name_en="Contact day")
    db.session.add(programme)
    db.session.flush()
    return programme


def _refused(*objects) -> None:
    db.session.add_all(objects)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_shift_ending_before_it_starts_is_refused(app):
    team = make_team()
    db.session.commit()
    _refused(
        Shift(
            team_id=team.id,
            local_date=dt.date(2026, 3, 1),
            starts_at=aware(2026, 3, 1, 12),
            ends_at=aware(2026, 3, 1, 11),
        )
    )


def test_shift_over_capacity_is_refused(app):
    team = make_team()
    db.session.commit()
    _refused(
        Shift(
            team_id=team.id,
            local_date=dt.date(2026, 3, 1),
            starts_at=aware(2026, 3, 1, 11),
            ends_at=aware(2026, 3, 1, 14),
            max_volunteers=3,
            min_volunteers=1,
            assigned_count=4,
        )
    )


def test_shift_maximum_below_minimum_is_refused(app):
    team = make_team()
    db.session.commit()
    _refused(
        Shift(
            team_id=team.id,
            local_date=dt.date(2026, 3, 1),
            starts_at=aware(2026, 3, 1, 11),
            ends_at=aware(2026, 3, 1, 14),
            min_volunteers=5,
            max_volunteers=2,
        )
    )


def test_negative_venue_capacity_is_refused(app):
    _refused(Venue(slug="v", kind=VenueKind.COURTROOM, name_zh="法庭", name_en="Court", capacity=-1))


def test_duplicate_membership_is_refused(app):
    user = make_user()
    team = make_team(members=[user])
    db.session.commit()
    _refused(TeamMembership(team_id=team.id, user_id=user.id, role=MembershipRole.COORDINATOR))


def test_duplicate_email_is_refused(app):
    make_user(email="same@test.example")
    db.session.commit()
    _refused(User(email="same@test.example", name="x", role=Role.VOLUNTEER, password_hash="x"))


def test_uppercase_email_is_refused(app):
    _refused(User(email="Upper@test.example", name="x", role=Role.VOLUNTEER, password_hash="x"))


def test_unknown_enum_value_is_refused_by_the_database(app):
    make_user(email="enum@test.example")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE users SET role = 'emperor' WHERE email = 'enum@test.example'"))
    db.session.rollback()


def test_template_with_zero_length_or_no_weekday_is_refused(app):
    team = make_team()
    db.session.commit()
    _refused(
        ShiftTemplate(
            team_id=team.id,
            name="x",
            weekdays=0,
            local_start=dt.time(9),
            local_end=dt.time(12),
            valid_from=dt.date(2026, 1, 1),
        )
    )
    _refused(
        ShiftTemplate(
            team_id=team.id, name="x", local_start=dt.time(9), local_end=dt.time(9), valid_from=dt.date(2026, 1, 1)
        )
    )


def test_night_template_crossing_midnight_is_allowed(app):
    team = make_team()
    template = ShiftTemplate(
        team_id=team.id, name="night", local_start=dt.time(22), local_end=dt.time(2), valid_from=dt.date(2026, 1, 1)
    )
    db.session.add(template)
    db.session.commit()
    assert template.crosses_midnight


def test_one_active_assignment_per_volunteer_and_shift(app):
    volunteer = make_user()
    team = make_team(members=[volunteer])
    shift = Shift(
        team_id=team.id, local_date=dt.date(2026, 3, 1), starts_at=aware(2026, 3, 1, 11), ends_at=aware(2026, 3, 1, 14)
    )
    db.session.add(shift)
    db.session.flush()
    first = Assignment(shift_id=shift.id, volunteer_id=volunteer.id, starts_at=shift.starts_at, ends_at=shift.ends_at)
    db.session.add(first)
    db.session.commit()
    _refused(Assignment(shift_id=shift.id, volunteer_id=volunteer.id, starts_at=shift.starts_at, ends_at=shift.ends_at))
    # A dropped assignment is history and does not block signing up again.
    db.session.execute(sa.update(Assignment).values(status="dropped"))
    db.session.add(
        Assignment(shift_id=shift.id, volunteer_id=volunteer.id, starts_at=shift.starts_at, ends_at=shift.ends_at)
    )
    db.session.commit()


def test_occurrence_ending_before_start_is_refused(app):
    programme = _programme()
    db.session.commit()
    _refused(Occurrence(programme_id=programme.id, starts_at=aware(2026, 3, 8, 2), ends_at=aware(2026, 3, 8, 1)))


def test_feed_token_owner_must_match_kind(app):
    team = make_team()
    db.session.commit()
    _refused(FeedToken(kind=FeedKind.VOLUNTEER, team_id=team.id))


def test_foreign_keys_are_enforced(app):
    _refused(TeamMembership(team_id=999999, user_id=999999))


def test_naive_datetimes_are_refused(app):
    programme = _programme()
    db.session.add(
        Occurrence(
            programme_id=programme.id,
            starts_at=dt.datetime(2026, 3, 8, 1),  # noqa: DTZ001 (naive on purpose)
            ends_at=dt.datetime(2026, 3, 8, 3),  # noqa: DTZ001
        )
    )
    with pytest.raises(StatementError):
        db.session.flush()
    db.session.rollback()


def test_datetimes_come_back_aware_utc(app):
    programme = _programme()
    local = dt.datetime(2026, 3, 8, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    occurrence = Occurrence(programme_id=programme.id, starts_at=local, ends_at=local + dt.timedelta(hours=2))
    db.session.add(occurrence)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(Occurrence, occurrence.id)
    assert loaded.starts_at == aware(2026, 3, 8, 1)
    assert loaded.starts_at.utcoffset() == dt.timedelta(0)
    assert len(loaded.uid) >= 32
