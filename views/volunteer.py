"""A volunteer's own pages. Built out by the roster work (issue 5)."""
from __future__ import annotations

from flask import Blueprint, render_template

from models import Role

from .access import roles_required

bp = Blueprint("volunteer", __name__, url_prefix="/me")


@bp.route("/")
@roles_required(Role.VOLUNTEER, Role.COORDINATOR)
def index():
    return render_template("volunteer/index.html")
