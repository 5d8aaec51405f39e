"""Health check and operational endpoints (issue 7)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)
