"""Error pages that speak the reader's language and never leak a stack trace.

Under /api/ every error is the same JSON body: {"error": {"status", "code", "message"}}.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ops import discard_transaction
from responses import violation_json
from services.errors import RuleViolation

log = logging.getLogger(__name__)

# Machine-readable codes of the API's error bodies, by HTTP status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _default_message(code: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Authentication is required: send a valid API token."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many requests: please wait a minute before trying again."),
        500: _("Something went wrong on our side."),
        503: _("The service is briefly unavailable; please try again in a moment."),
    }
    return messages.get(code, "")


def json_error(status: int, message: str | None = None, code: str | None = None):
    body = {
        "status": status,
        "code": code or ERROR_CODES.get(status, "error"),
        "message": message or _default_message(status),
    }
    return jsonify(error=body), status


def _described(error) -> str | None:
    """The description given to abort(), but not Werkzeug's English default text."""
    description = getattr(error, "description", None)
    if not description or description == type(error).description:
        return None
    return str(description)


DATABASE_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)


def database_unavailable(error: BaseException | None = None):
    """503 with Retry-After, reached without one more database round trip.

    The request is made anonymous first: rendering any template asks Flask-Login for the current
    user, and its loader would query the unreachable database again (and fail inside this handler,
    which used to give gunicorn's bare "Internal Server Error" to everyone logged in).
    """
    from flask import g

    from extensions import login_manager

    g._login_user = login_manager.anonymous_user()
    discard_transaction()
    orig = getattr(error, "orig", None)
    log.warning(
        "database unavailable during %s %s: %s",
        request.method,
        request.path,
        type(orig if orig is not None else error).__name__,
    )
    if _wants_json():
        response, status = json_error(503)
    else:
        # A page of its own: base.html would ask the (unreachable) database who is logged in.
        response, status = render_template("errors/503.html"), 503
    return response, status, {"Retry-After": "5"}


def _render(code: int, template: str, error=None, **context):
    if _wants_json():
        return json_error(code, _described(error) if error is not None else None)
    try:
        return render_template(template, **context), code
    except DATABASE_ERRORS as failure:
        # The page's frame (who is logged in) needs the database, which is down: say so instead.
        return database_unavailable(failure)


def _bad_request(error):
    return _render(400, "errors/400.html", error, message=_described(error))


def _csrf_error(error):
    return _render(400, "errors/400.html", error, message=error.description, csrf=True)


def _forbidden(error):
    return _render(403, "errors/403.html", error)


def _not_found(error):
    return _render(404, "errors/404.html", error)


def _too_large(error):
    return _render(413, "errors/413.html")


def _too_many(error):
    return _render(429, "errors/429.html")


def _other_http_error(error):
    # 401, 405, 413, ...: JSON under /api/, Werkzeug's plain page elsewhere.
    if not _wants_json():
        return error
    response, status = json_error(error.code or 500, _described(error))
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


def _rule_violation(violation):
    # A view that did not catch it: the service already rolled back; say why, with its 4xx.
    if _wants_json():
        return violation_json(violation)
    if violation.status == 403:
        return _render(403, "errors/403.html")
    return render_template("errors/400.html", message=violation.message), violation.status


def _database_error(error):
    # The database went away (restart, failover, network): say so, and let the client retry.
    return database_unavailable(error)


def _server_error(error):
    original = getattr(error, "original_exception", None)
    if isinstance(original, DATABASE_ERRORS):
        return database_unavailable(original)
    # The failed request may have left the session mid-transaction.
    discard_transaction()
    return _render(500, "errors/500.html")


HANDLERS = (
    (400, _bad_request),
    (CSRFError, _csrf_error),
    (403, _forbidden),
    (404, _not_found),
    (413, _too_large),
    (429, _too_many),
    (HTTPException, _other_http_error),
    (RuleViolation, _rule_violation),
    (sa.exc.OperationalError, _database_error),
    (sa.exc.InterfaceError, _database_error),
    (500, _server_error),
)


def register(app: Flask) -> None:
    for key, handler in HANDLERS:
        app.register_error_handler(key, handler)
