"""Health check for load balancers and monitoring: is this worker able to reach the database?"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify

from extensions import limiter
from models import db
from ops import discard_transaction

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        discard_transaction()
        log.warning("health check: database unreachable: %s", type(error).__name__)
        response = jsonify(status="unavailable", database="unreachable")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
