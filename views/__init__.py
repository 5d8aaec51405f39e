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
        clinic,
        errors,
        health,
        public,
        roster,
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
        volunteer,
        trades,
        health,
    ):
        app.register_blueprint(module.bp)
    from . import admin_holidays

    app.register_blueprint(admin_holidays.bp)
    errors.register(app)
