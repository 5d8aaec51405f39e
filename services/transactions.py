"""The one transaction convention: a service function that changes data commits its own unit of work.

Views, the JSON API and the feed views never commit. They call a service; the service either
commits the whole change or rolls it back and raises (a RuleViolation for a rule that says no).
A unit of work called from inside another joins it: only the outermost one commits.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError

from models import db

from .errors import RuleViolation

T = TypeVar("T")
ATTEMPTS = 3
_inside = contextvars.ContextVar("inside_unit_of_work", default=False)


def _transient(exc: OperationalError) -> bool:
    """A lock wait that gave up (SQLite) or a deadlock/serialisation failure (PostgreSQL): retry."""
    text = str(getattr(exc, "orig", exc)).lower()
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return "database is locked" in text or code in {"40001", "40P01"}


def _conflict(exc: IntegrityError) -> RuleViolation:
    return RuleViolation(_("The change conflicts with other data; please reload and try again."), "conflict")


def in_transaction(work: Callable[[], T], integrity: Callable[[IntegrityError], RuleViolation] = _conflict) -> T:
    """Run `work` and commit; roll back on any failure so nothing is half done.

    A database refusal (a race the checks could not see) becomes the RuleViolation `integrity`
    names; a transient lock failure is retried. Inside another unit of work, `work` just runs.
    """
    if _inside.get():
        return work()
    token = _inside.set(True)
    try:
        return _run(work, integrity)
    finally:
        _inside.reset(token)


def _run(work: Callable[[], T], integrity: Callable[[IntegrityError], RuleViolation]) -> T:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except RuleViolation:
            db.session.rollback()
            raise
        except IntegrityError as exc:
            db.session.rollback()
            raise integrity(exc) from exc
        except OperationalError as exc:
            db.session.rollback()
            if attempt == ATTEMPTS or not _transient(exc):
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def unit_of_work(function: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of `in_transaction` for a service function."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs) -> T:
        return in_transaction(lambda: function(*args, **kwargs))

    return wrapped
