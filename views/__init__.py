"""Blueprints, one module (or package) per area of the service."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """The page blueprints; app.py registers the feeds and the API beside them."""
    from . import (
        admin,
        admin_people,
        admin_schedule,
        auth,
        checkin,
        clinic,
        errors,
        health,
        official,
        public,
        roster,
        roster_copy,
        shift_changes,
        suggestions,
        trades,
        volunteer,
    )

    for module in (
        auth,
        public,
        clinic,
        suggestions,
        admin,
        admin_schedule,
        admin_people,
        roster,
        roster_copy,
        shift_changes,
        volunteer,
        checkin,
        official,
        trades,
        health,
    ):
        app.register_blueprint(module.bp)
    from . import admin_holidays, notifications, planner, qualifications

    app.register_blueprint(notifications.bp)

    app.register_blueprint(admin_holidays.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(qualifications.bp)
    errors.register(app)
