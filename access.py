"""Reusable access checks: who may do what.

A top-level module (not part of `views`) so that pages, feeds and the API can all use it
without importing one another's packages.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from models import Role


def roles_required(*roles: Role):
    """Logged-in users with one of `roles` (admins always) pass; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = roles_required(Role.ADMIN)
