"""Admin pages for users, teams and CSV imports (issue 5)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("people_admin", __name__, url_prefix="/admin/people")
