"""Legal-clinic bookings by residents (issue 6)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clinic", __name__, url_prefix="/legal-clinic/book")
