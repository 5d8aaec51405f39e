"""One definition per rule, one transaction convention, no writes on GET (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from i18n import current_language, localized, pick
from models import (
    PASSWORD_MIN_LENGTH,
    AuditLog,
    ClinicSlot,
    Occurrence,
    ProgrammeKind,
    Role,
    SeriesSite,
    Shift,
    ShiftStatus,
    db,
    normalise_email,
    password_acceptable,
)
from scheduler import operations
from scheduler.occurrences import generate_occurrences
from services.assignments import can_manage_team, coordinated_teams
from services.errors import RuleViolation
from services.transactions import in_transaction, unit_of_work
from tests.factories import make_community, make_shift, make_team, make_user, make_venue
from tests.schedule_builders import contact_day_series, court_series
from timeutil import local_to_utc, local_today

# --- language ---------------------------------------------------------------------------------


def test_current_language_follows_force_locale_outside_a_request(app):
    assert current_language() == "zh_CN"
    with force_locale("en"):
        assert current_language() == "en"
        assert pick("巡逻", "Patrol") == "Patrol"
    assert current_language() == "zh_CN"


def test_localized_reads_models_and_rows_and_falls_back():
    row = SimpleNamespace(title_zh="联系日", title_en="")
    assert localized(row, "title", "en") == "联系日"  # no English: the Chinese text, never blank
    assert localized(SimpleNamespace(name_zh="", name_en="Hall"), "name", "zh_CN") == "Hall"
    assert localized(SimpleNamespace(name_zh="礼堂", name_en="Hall"), "name", "en") == "Hall"


def test_reminder_texts_follow_the_recipients_language(app):
    """Names in a reminder come from the same accessor (no `name_en if en else name_zh` copies)."""
    team = make_team(name_zh="湖东巡逻队", name_en="Hudong patrol")
    with force_locale("en"):
        assert team.name == "Hudong patrol"
    with force_locale("zh_CN"):
        assert team.name == "湖东巡逻队"


# --- one definition per rule -----------------------------------------------------------------


def test_email_and_password_rules():
    assert normalise_email("  Wang.Fang@Example.COM ") == "wang.fang@example.com"
    assert normalise_email(None) == ""
    assert not password_acceptable("x" * (PASSWORD_MIN_LENGTH - 1))
    assert password_acceptable("x" * PASSWORD_MIN_LENGTH)


def test_understaffed_is_the_same_in_python_and_sql(app):
    team = make_team()
    start = local_to_utc(local_today() + dt.timedelta(days=2), dt.time(19))
    short = make_shift(team, start, min_volunteers=2, max_volunteers=4, assigned_count=1)
    full = make_shift(team, start + dt.timedelta(hours=4), min_volunteers=2, max_volunteers=4, assigned_count=2)
    cancelled = make_shift(
        team, start + dt.timedelta(hours=8), min_volunteers=2, max_volunteers=4, status=ShiftStatus.CANCELLED
    )
    db.session.commit()
    assert [short.understaffed, full.understaffed, cancelled.understaffed] == [True, False, False]
    assert set(db.session.scalars(sa.select(Shift.id).where(Shift.understaffed))) == {short.id}


def test_coordinated_teams_admin_all_coordinator_own(app):
    coordinator = make_user(Role.COORDINATOR)
    mine, other = make_team(coordinator=coordinator), make_team()
    admin = make_user(Role.ADMIN)
    db.session.commit()
    assert set(db.session.scalars(coordinated_teams(coordinator))) == {mine}
    assert set(db.session.scalars(coordinated_teams(admin))) >= {mine, other}
    assert can_manage_team(coordinator, mine.id) and not can_manage_team(coordinator, other.id)
    assert can_manage_team(admin, other.id)


# --- transactions ----------------------------------------------------------------------------


def test_a_unit_of_work_commits_and_a_refusal_rolls_back(app):
    @unit_of_work
    def add(name: str, refuse: bool = False):
        make_community(slug=name)
        if refuse:
            raise RuleViolation("no", "refused", 409)

    add("kept")
    with pytest.raises(RuleViolation) as refused:
        add("dropped", refuse=True)
    assert refused.value.code == "refused"
    db.session.expire_all()
    from models import Community

    assert set(db.session.scalars(sa.select(Community.slug))) == {"kept"}


def test_a_nested_unit_of_work_commits_only_once(app, monkeypatch):
    commits = []
    real_commit = db.session.commit

    def counting_commit():
        commits.append(1)
        real_commit()

    monkeypatch.setattr(db.session, "commit", counting_commit)

    @unit_of_work
    def inner():
        make_community(slug="inner")

    in_transaction(lambda: (inner(), make_community(slug="outer")))
    assert len(commits) == 1


# --- schedule operations ---------------------------------------------------------------------


def test_duplicate_site_is_refused_by_the_operation_and_nothing_is_written(app):
    admin = make_user(Role.ADMIN)
    series = contact_day_series(sites=1, starts_on=local_today())
    db.session.commit()
    site = series.sites[0]
    before = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))
    values = {
        "community_id": site.community_id,
        "venue_id": site.venue_id,
        "local_start": dt.time(9),
        "local_end": dt.time(11),
        "capacity": None,
        "bilingual": False,
        "active": True,
    }
    with pytest.raises(RuleViolation) as refused:
        operations.save_site(admin, series, SeriesSite(), values, [])
    assert refused.value.code == "duplicate_site"
    assert db.session.scalar(sa.select(sa.func.count(SeriesSite.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == before
    other = make_community()
    values |= {"community_id": other.id, "venue_id": make_venue(community=other).id}
    db.session.commit()
    result = operations.save_site(admin, series, SeriesSite(), values, [])
    assert result.created > 0
    db.session.rollback()  # committed by the operation: a rollback here loses nothing
    assert db.session.scalar(sa.select(sa.func.count(SeriesSite.id))) == 2


# --- no writes on GET ------------------------------------------------------------------------


def test_clinic_slots_exist_once_sessions_are_generated_and_the_page_only_reads(app, client):
    series = court_series(ProgrammeKind.LEGAL_CLINIC, rooms=1, starts_on=local_today())
    generate_occurrences(local_today() + dt.timedelta(days=1), local_today() + dt.timedelta(days=14))
    db.session.commit()
    session = db.session.scalar(
        sa.select(Occurrence).where(Occurrence.series_id == series.id).order_by(Occurrence.starts_at)
    )
    slots = db.session.scalar(sa.select(sa.func.count(ClinicSlot.id)).where(ClinicSlot.occurrence_id == session.id))
    assert slots > 0
    assert client.get(f"/legal-clinic/book/{session.id}").status_code == 200
    assert (
        db.session.scalar(sa.select(sa.func.count(ClinicSlot.id)).where(ClinicSlot.occurrence_id == session.id))
        == slots
    )
