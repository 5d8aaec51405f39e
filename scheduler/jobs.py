"""The background jobs, run by APScheduler 3.11 in exactly one process.

`flask --app app scheduler run` waits for the leader lock (scheduler/leader.py), then runs the
jobs below until stopped; a second such process waits until the first ends. APScheduler's job
stores cannot be shared between processes, so the lock, not the job store, is what keeps a job
from running twice. Jobs have fixed ids, `coalesce=True` and `max_instances=1`, and each runs
inside its own application context.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app

from models import db, utcnow
from timeutil import LOCAL_TZ, local_today

from .leader import LeaderLock

log = logging.getLogger(__name__)

JOB_ROLL_HORIZON = "roll_horizon"
JOB_SEND_REMINDERS = "send_reminders"
JOB_SEND_NOTIFICATIONS = "send_notifications"
JOB_ALERT_UNDERSTAFFED = "alert_understaffed"
JOB_EXPIRE_OFFERS = "expire_waitlist_offers"
JOB_PURGE_RECOVERY = "purge_recovery_codes"
JOB_IDS = (
    JOB_ROLL_HORIZON,
    JOB_SEND_REMINDERS,
    JOB_SEND_NOTIFICATIONS,
    JOB_ALERT_UNDERSTAFFED,
    JOB_EXPIRE_OFFERS,
    JOB_PURGE_RECOVERY,
)


def roll_horizon(today: dt.date | None = None) -> dict:
    """Generate occurrences and shifts from today to today + SCHEDULE_HORIZON_DAYS (commits)."""
    from .occurrences import generate_occurrences
    from .shifts import generate_shifts

    today = today or local_today()
    until = today + dt.timedelta(days=current_app.config.get("SCHEDULE_HORIZON_DAYS", 90))
    occurrences = generate_occurrences(today, until)
    shifts = generate_shifts(today, until)
    db.session.commit()
    return {
        "until": until.isoformat(),
        "occurrences": occurrences.created,
        "shifts": shifts.created,
        "holiday_flags": [f"{day} {name}" for day, name in occurrences.flagged],
    }


def send_due_reminders(now: dt.datetime | None = None):
    from .reminders import send_due_reminders as send

    return send(now or utcnow())


def send_notifications(now: dt.datetime | None = None):
    from .notify_sender import send_due

    return send_due(now)


def alert_understaffed(now: dt.datetime | None = None):
    from .reminders import alert_understaffed as alert

    return alert(now or utcnow())


def expire_waitlist_offers(now: dt.datetime | None = None) -> dict:
    """Waiting-list offers past their time pass to the next in line (services/trades.py commits)."""
    from services.trades import expire_offers

    return expire_offers(now or utcnow())


def purge_recovery_codes(now: dt.datetime | None = None) -> dict:
    """ "Find my booking" codes: old ones deleted, no code text left in the outbox (services/recovery.py commits)."""
    from services.recovery import purge

    return purge(now or utcnow())


class JobRunner:
    """Runs one job function in a fresh application context, only while this process is the leader."""

    def __init__(self, app: Flask, lock: LeaderLock, on_lost: Callable[[], None]):
        self.app = app
        self.lock = lock
        self.on_lost = on_lost
        self._recovered = False
        self._recovering = threading.Lock()  # the jobs start together; recovery runs before any of them

    def __call__(self, job_id: str, func: Callable[[], object]) -> None:
        if not self.lock.still_held():
            log.error("scheduler lock lost; job %s not run, stopping", job_id)
            self.on_lost()
            return
        with self.app.app_context():
            try:
                self._recover_once()
                outcome = func()
                db.session.commit()
                log.info("job %s done: %s", job_id, outcome)
            except Exception:
                db.session.rollback()
                raise  # APScheduler logs it with the traceback and emits EVENT_JOB_ERROR
            finally:
                db.session.remove()

    def _recover_once(self) -> None:
        # First job as the leader: what a dead predecessor's sender left in flight (reminders
        # included: they travel the outbox) is sent now, not after the lease runs out.
        with self._recovering:
            if not self._recovered:
                from .notify_sender import recover_orphaned

                recover_orphaned()
                self._recovered = True


def add_jobs(scheduler: BaseScheduler, runner: JobRunner, run_now: bool = True) -> None:
    """Register the jobs with their fixed ids (registering again replaces, never duplicates)."""
    now = dt.datetime.now(LOCAL_TZ)
    first = now if run_now else None
    common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    scheduler.add_job(
        runner,
        "cron",
        hour=2,
        minute=30,
        id=JOB_ROLL_HORIZON,
        name="roll the horizon forward",
        args=[JOB_ROLL_HORIZON, roll_horizon],
        misfire_grace_time=6 * 3600,
        next_run_time=first,
        **common,
    )
    # (id, name, function, every so many minutes): a run missed by up to one interval still runs.
    # Offers can be as short as WAITLIST_OFFER_MIN_MINUTES: expiry is checked every few minutes.
    interval_jobs = [
        (JOB_SEND_REMINDERS, "send due reminders", send_due_reminders, 5),
        (JOB_SEND_NOTIFICATIONS, "send due notifications", send_notifications, 1),
        (JOB_ALERT_UNDERSTAFFED, "alert coordinators of understaffed shifts", alert_understaffed, 30),
        (JOB_PURGE_RECOVERY, "purge booking recovery codes", purge_recovery_codes, 60),
        (JOB_EXPIRE_OFFERS, "expire waiting-list offers", expire_waitlist_offers, 2),
    ]
    for job_id, name, function, minutes in interval_jobs:
        scheduler.add_job(
            runner,
            "interval",
            minutes=minutes,
            id=job_id,
            name=name,
            args=[job_id, function],
            misfire_grace_time=minutes * 60,
            next_run_time=first,
            **common,
        )


def _lock_for(app: Flask) -> LeaderLock:
    return LeaderLock(app.config["SQLALCHEMY_DATABASE_URI"], lock_dir=app.instance_path)


def run_forever(app: Flask, echo: Callable[[str], None] = print) -> None:
    """The `scheduler run` command: wait to be the leader, then run the jobs until stopped."""
    lock = _lock_for(app)
    lock.acquire(on_wait=lambda: echo("Another scheduler process holds the lock; waiting for it to end..."))
    echo("Scheduler lock acquired; running jobs: " + ", ".join(JOB_IDS))
    scheduler = BlockingScheduler(timezone=LOCAL_TZ)

    def lost() -> None:
        scheduler.shutdown(wait=False)

    add_jobs(scheduler, JobRunner(app, lock, lost))

    def stop(signum, frame):  # a deploy or `systemctl stop`: finish the running job, then leave
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown(wait=True)
    finally:
        lock.release()
    echo("Scheduler stopped.")


def start_in_process(app: Flask) -> BackgroundScheduler:
    """Development (`python app.py`): run the jobs in a background thread of the web process.

    The same leader lock applies, so a separate `scheduler run` (or a second `python app.py`)
    never runs the jobs twice: whoever comes second waits in its thread.
    """
    lock = _lock_for(app)
    scheduler = BackgroundScheduler(timezone=LOCAL_TZ, daemon=True)
    # The migration run before this configured logging at WARNING; job outcomes are worth seeing.
    logging.getLogger("scheduler").setLevel(logging.INFO)

    def lost() -> None:
        scheduler.shutdown(wait=False)

    def wait_then_start() -> None:
        lock.acquire(on_wait=lambda: log.info("another process runs the scheduler; this one waits"))
        add_jobs(scheduler, JobRunner(app, lock, lost))
        scheduler.start()
        log.info("scheduler jobs running in process: %s", ", ".join(JOB_IDS))

    threading.Thread(target=wait_then_start, name="scheduler-leader", daemon=True).start()
    return scheduler
