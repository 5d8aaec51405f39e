"""JSON API under /api/v1: public reads for residents, token-authenticated roster work for coordinators.

Modules: common (parsing, pagination, errors), tokens (bearer tokens), public, teams, openapi.
"""

from flask import Blueprint, request
from flask_babel import gettext as _

from extensions import csrf
from responses import violation_json
from services.errors import RuleViolation

from .common import LANGUAGES, ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens, not cookies: no browser sends them by itself, so there is nothing for CSRF to forge.
csrf.exempt(bp)


@bp.before_request
def check_query():
    """Only documented query parameters: a mistyped filter must not silently return everything."""
    from .openapi import query_parameters

    if request.url_rule is not None:
        unknown = sorted(set(request.args) - query_parameters(request.url_rule.rule, request.method))
        if unknown:
            raise ApiError(400, "unknown_parameter", _("Unknown parameter: %(names)s.", names=", ".join(unknown)))
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        raise ApiError(400, "invalid_parameter", _("lang must be one of: %(choices)s.", choices=", ".join(LANGUAGES)))


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    # Other errors reach the application's handlers (views/errors.py), which answer in the same shape.
    return error.response()


@bp.errorhandler(RuleViolation)
def rule_violation(violation: RuleViolation):
    # A service said no (and rolled its unit of work back): the same error body as ApiError.
    return violation_json(violation)


from . import openapi, public, teams  # noqa: E402,F401  (routes register themselves on bp)
