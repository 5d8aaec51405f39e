"""The background jobs: fixed ids, one leader process, the horizon rolled forward, the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

import demo
from models import HearingNotice, Occurrence, Shift, db
from scheduler import jobs
from scheduler.leader import LeaderLock
from tests.factories import make_team
from tests.schedule_builders import contact_day_series, shift_template
from tests.test_schedule_reminders import Process
from timeutil import local_today


def test_jobs_have_fixed_ids_and_run_one_at_a_time(app, database_url):
    scheduler = BackgroundScheduler()
    runner = jobs.JobRunner(app, LeaderLock(database_url, lock_dir=app.instance_path), lambda: None)
    jobs.add_jobs(scheduler, runner)
    scheduler.start(paused=True)
    try:
        jobs.add_jobs(scheduler, runner)  # registering again replaces, never duplicates
        registered = scheduler.get_jobs()
        assert sorted(job.id for job in registered) == sorted(jobs.JOB_IDS)
        assert all(job.coalesce and job.max_instances == 1 for job in registered)
    finally:
        scheduler.shutdown(wait=False)


def test_roll_horizon_generates_90_days_ahead(app):
    contact_day_series(sites=1, starts_on=dt.date(2020, 1, 1))
    shift_template(team=make_team(), valid_from=dt.date(2020, 1, 1))
    db.session.commit()
    today = dt.date(2026, 11, 26)
    outcome = jobs.roll_horizon(today)
    assert outcome["until"] == "2027-02-24" and outcome["shifts"] == 91
    assert [o.rule_date for o in db.session.scalars(sa.select(Occurrence).order_by(Occurrence.rule_date))] == [
        dt.date(2026, 12, 13),
        dt.date(2027, 1, 10),
        dt.date(2027, 2, 14),
    ]
    assert db.session.scalar(sa.select(sa.func.max(Shift.local_date))) == dt.date(2027, 2, 24)
    # The next day adds the one new day and nothing else.
    assert jobs.roll_horizon(today + dt.timedelta(days=1))["shifts"] == 1


def test_a_job_does_not_run_without_the_lock(app, database_url):
    lock = LeaderLock(database_url, lock_dir=app.instance_path)
    lost = []
    ran = []
    jobs.JobRunner(app, lock, lambda: lost.append(True))("test", lambda: ran.append(True))
    assert lost == [True] and ran == []


def test_leader_lock_admits_one_holder(app, database_url):
    first = LeaderLock(database_url, lock_dir=app.instance_path)
    second = LeaderLock(database_url, lock_dir=app.instance_path)
    try:
        assert first.acquire(timeout=5)
        assert not second.try_acquire()
        waited = []
        assert not second.acquire(timeout=0.5, poll=0.1, on_wait=lambda: waited.append(True))
        assert waited == [True]
        assert first.still_held()
        first.release()
        assert second.acquire(timeout=5, poll=0.1) and second.still_held()
    finally:
        first.release()
        second.release()


@pytest.mark.slow
def test_a_second_scheduler_process_waits_for_the_first(app, database_url):
    db.session.remove()
    first = Process(database_url)
    second = None
    try:
        assert first.wait_for("Scheduler lock acquired"), "".join(first.seen)
        second = Process(database_url)
        assert second.wait_for("waiting for it to end"), "".join(second.seen)
        assert not second.wait_for("Scheduler lock acquired", timeout=3)
        first.stop()  # the leader goes away (a deploy, a crash): the waiting one takes over
        assert second.wait_for("Scheduler lock acquired", timeout=30), "".join(second.seen)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_schedule_generate_command(app, runner):
    contact_day_series(sites=2, starts_on=dt.date(2020, 1, 1))
    team = make_team(code="T900")
    shift_template(team=team, valid_from=dt.date(2020, 1, 1))
    shift_template(team=make_team(), valid_from=dt.date(2020, 1, 1))
    db.session.commit()
    result = runner.invoke(args=["schedule", "generate", "--from", "2027-01-01", "--until", "2027-01-31"])
    assert result.exit_code == 0, result.output
    assert "Occurrences 2027-01-01..2027-01-31: 2 created" in result.output
    assert "Patrol shifts 2027-01-01..2027-01-31: 62 created" in result.output
    again = runner.invoke(args=["schedule", "generate", "--from", "2027-01-01", "--until", "2027-01-31"])
    assert "0 created, 62 already there" in again.output
    only = runner.invoke(
        args=["schedule", "generate", "--from", "2027-01-01", "--until", "2027-02-01", "--team", "T900"]
    )
    assert "Patrol shifts 2027-01-01..2027-02-01: 1 created" in only.output


@pytest.mark.parametrize(
    "args",
    [
        ["--until", "2027-13-01"],
        ["--until", "yesterday"],
        ["--from", "2027-02-01", "--until", "2027-01-01"],
        ["--until", "2027-01-01", "--team", "NOPE"],
        [],
    ],
)
def test_schedule_generate_refuses_bad_input(app, runner, args):
    result = runner.invoke(args=["schedule", "generate", *args])
    assert result.exit_code == 2 and "Error" in result.output


def test_demo_schedule_is_alive_and_loads_once(app):
    demo.load()
    today = local_today()
    counts = {
        "occurrences": db.session.scalar(sa.select(sa.func.count(Occurrence.id))),
        "shifts": db.session.scalar(sa.select(sa.func.count(Shift.id))),
        "notices": db.session.scalar(sa.select(sa.func.count(HearingNotice.id))),
    }
    assert counts["shifts"] == 240 * 98  # today - 7 to today + 90
    assert db.session.scalar(sa.select(sa.func.min(Occurrence.rule_date))) == dt.date(2026, 1, 1)  # court, New Year
    assert db.session.scalar(sa.select(sa.func.max(Shift.local_date))) == today + dt.timedelta(days=90)
    assert counts["notices"] == 12
    assert all(
        "示例" in n.case_number and "(sample)" in n.cause_en for n in db.session.scalars(sa.select(HearingNotice))
    )
    demo.load()
    assert counts == {
        "occurrences": db.session.scalar(sa.select(sa.func.count(Occurrence.id))),
        "shifts": db.session.scalar(sa.select(sa.func.count(Shift.id))),
        "notices": db.session.scalar(sa.select(sa.func.count(HearingNotice.id))),
    }
