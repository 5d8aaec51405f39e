"""Contact-day suggestions and their tracked answers (issue 6)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("suggestions", __name__, url_prefix="/suggestions")
