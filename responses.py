"""The one way a RuleViolation (services/errors.py) becomes an HTTP response.

Services raise `RuleViolation(message, code, status)` after rolling their unit of work back.
Pages show the message on the page the person was on, with the 4xx status; JSON callers get
the API's error body. "Not yours" (403) is the standard forbidden page on every page.
Raised and not caught, a violation still ends here (views/errors.py, api/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, jsonify


def violation_json(violation):
    """{"error": {"status", "code", "message"}} with the violation's status (the API's error shape)."""
    response = jsonify(error={"status": violation.status, "code": violation.code, "message": violation.message})
    response.status_code = violation.status
    response.headers["Cache-Control"] = "no-store"
    return response


def violation_page(violation, render: Callable[..., object], *, inline: bool = False):
    """Re-render the page with the reason and the violation's status.

    `render()` draws the page; with `inline=True` it receives `error=message` to show beside the
    form (public forms), otherwise the message is flashed (staff pages).
    """
    if violation.status == 403:
        abort(403)
    if inline:
        return render(error=violation.message), violation.status
    flash(violation.message, "error")
    return render(), violation.status
