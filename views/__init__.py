"""Blueprints, one module (or package) per area of the service."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from api import bp as api_bp
    from feeds.views import bp as feeds_bp

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
        volunteer,
    )

    for module in (auth, public, clinic, suggestions, admin, admin_schedule, admin_people, roster, volunteer, health):
        app.register_blueprint(module.bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(api_bp)
    errors.register(app)
