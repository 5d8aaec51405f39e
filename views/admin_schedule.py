"""Admin pages for series, shift templates, holiday overrides, moving and cancelling occurrences (issue 3)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("schedule_admin", __name__, url_prefix="/admin/schedule")
