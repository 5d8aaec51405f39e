"""Concurrent sign-ups on real connections: the maximum and the no-overlap rule hold.

On PostgreSQL every thread has its own connection and transaction (READ COMMITTED); a
barrier inside the rule check makes all of them pass the checks before any of them books,
the worst interleaving. On SQLite the same test shows that writers queue instead of failing.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app import create_app
from models import Assignment, AssignmentStatus, Role, Shift, User, db
from services import assignments as service
from services.errors import RuleViolation
from tests.conftest import base_config, is_postgres
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ

THREADS = 20


@pytest.fixture
def worker_app(database_url, app):
    """A second app whose pool has a connection for every thread."""
    options = {"pool_size": THREADS + 2, "max_overflow": 0} if is_postgres() else {}
    worker = create_app(base_config(database_url, SQLALCHEMY_ENGINE_OPTIONS=options))
    yield worker
    with worker.app_context():
        db.engine.dispose()


def run_concurrently(worker_app, calls, monkeypatch=None):
    """Run each call in its own thread and app context (its own session and connection).

    With `monkeypatch` on PostgreSQL, every thread waits after its rule checks until all have
    checked, so they all try to book at the same moment.
    """
    start = threading.Barrier(len(calls), timeout=30)
    if monkeypatch is not None and is_postgres():
        # Hold every thread after its checks until all have checked: then they all book at once.
        checked = threading.Barrier(len(calls), timeout=30)
        original = service._check_bookable

        def check_then_wait(*args, **kwargs):
            original(*args, **kwargs)
            checked.wait()

        monkeypatch.setattr(service, "_check_bookable", check_then_wait)
    results: list[object] = [None] * len(calls)

    def worker(index, call):
        with worker_app.app_context(), force_locale("en"):
            try:
                start.wait()
                results[index] = call()
            except RuleViolation as exc:
                results[index] = exc
            except threading.BrokenBarrierError as exc:  # a thread refused before the checks finished
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_twenty_concurrent_sign_ups_for_the_last_three_places(app, worker_app, monkeypatch):
    coordinator = make_user(Role.COORDINATOR)
    early = [make_user(Role.VOLUNTEER) for _ in range(3)]
    racers = [make_user(Role.VOLUNTEER) for _ in range(THREADS)]
    team = make_team(coordinator=coordinator, members=early + racers)
    starts = dt.datetime.now(LOCAL_TZ).replace(microsecond=0) + dt.timedelta(days=3)
    shift = make_shift(team, starts, min_volunteers=2, max_volunteers=6)
    for volunteer in early:
        make_assignment(shift, volunteer)
    db.session.commit()
    shift_id, racer_ids = shift.id, [v.id for v in racers]

    def sign_up(volunteer_id):
        return lambda: service.sign_up(db.session.get(User, volunteer_id), shift_id)

    results = run_concurrently(worker_app, [sign_up(v) for v in racer_ids], monkeypatch)

    booked = [r for r in results if isinstance(r, Assignment)]
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(booked) == 3, results
    assert len(refused) == THREADS - 3, results
    assert {r.code for r in refused} == {"shift_full"}
    assert all("full" in r.message for r in refused)
    db.session.expire_all()
    assert db.session.get(Shift, shift_id).assigned_count == 6
    active = db.session.scalar(
        sa.select(sa.func.count(Assignment.id)).where(
            Assignment.shift_id == shift_id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    )
    assert active == 6


def test_one_volunteer_booked_concurrently_into_overlapping_shifts_of_many_teams(app, worker_app):
    volunteer = make_user(Role.VOLUNTEER, name="王芳")
    admin = make_user(Role.ADMIN)
    starts = dt.datetime.now(LOCAL_TZ).replace(microsecond=0) + dt.timedelta(days=4)
    shift_ids = []
    for n in range(8):
        team = make_team(members=[volunteer])
        shift_ids.append(make_shift(team, starts + dt.timedelta(minutes=15 * n), hours=3).id)
    db.session.commit()
    volunteer_id, admin_id = volunteer.id, admin.id

    def assign(shift_id):
        return lambda: service.assign(db.session.get(User, admin_id), shift_id, volunteer_id)

    # No barrier after the checks here: the user-row lock makes the others wait before them.
    results = run_concurrently(worker_app, [assign(s) for s in shift_ids])

    assert sum(isinstance(r, Assignment) for r in results) == 1, results
    assert {r.code for r in results if isinstance(r, RuleViolation)} == {"overlap"}
    db.session.expire_all()
    active = db.session.scalar(
        sa.select(sa.func.count(Assignment.id)).where(
            Assignment.volunteer_id == volunteer_id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    )
    assert active == 1
