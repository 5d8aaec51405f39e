"""Logins that end: each login is a LoginSession row, named by the identity Flask-Login keeps in the
session cookie and the remember-me cookie ("<user id>:<key>").

- Logout deletes the row: a copy of either cookie saved before opens nothing afterwards.
- A change of a user's password, role or active flag deletes all their rows but the one making
  the change (a flush hook, so every code path is covered: admin pages, imports, the CLI).
- Rows expire: a remember-me login after REMEMBER_COOKIE_DURATION, any other after a week.

The state is in the database, so this holds across worker processes and hosts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy import orm

from models import LoginSession, User, db, utcnow
from services.transactions import unit_of_work

SESSION_LIFETIME = dt.timedelta(days=7)
_IDENTITY = re.compile(r"([0-9]{1,10}):([A-Za-z0-9_-]{32})")
# Changing one of these ends the user's other logins.
_SECURITY_ATTRIBUTES = ("password_hash", "role", "active")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@unit_of_work
def start(user: User, remember: bool) -> str:
    """A new login for `user`; sets and returns the identity to hand to Flask-Login's login_user."""
    now = utcnow()
    # Expired rows of this user go when they log in again: the table stays the size of live logins.
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    lifetime = (
        current_app.config.get("REMEMBER_COOKIE_DURATION", dt.timedelta(days=365)) if remember else SESSION_LIFETIME
    )
    if isinstance(lifetime, int):
        lifetime = dt.timedelta(seconds=lifetime)
    key = secrets.token_urlsafe(24)  # 192 bits, 32 characters
    row = LoginSession(user_id=user.id, key_sha256=_digest(key), created_at=now, expires_at=now + lifetime)
    db.session.add(row)
    db.session.flush()
    user.login_identity = f"{user.id}:{key}"
    if has_request_context():
        g.login_session_id = row.id
    return user.login_identity


def load(identity: str) -> User | None:
    """The user of a live login, or None (unknown, ended, expired, or the account deactivated)."""
    match = _IDENTITY.fullmatch(identity or "")
    if not match:
        return None
    found = db.session.execute(
        sa.select(User, LoginSession.id)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == int(match[1]),
            LoginSession.key_sha256 == _digest(match[2]),
            LoginSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).first()
    if found is None:
        return None
    user, session_id = found
    user.login_identity = identity
    if has_request_context():
        g.login_session_id = session_id
    return user


@unit_of_work
def end(identity: str | None) -> None:
    """End one login (logout)."""
    match = _IDENTITY.fullmatch(identity or "")
    if match:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.key_sha256 == _digest(match[2])))


def end_all(user_id: int, keep: int | None = None) -> None:
    query = sa.delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    db.session.execute(query)


def _end_others_on_security_change(session: orm.Session, flush_context, instances) -> None:
    for user in list(session.dirty):
        if not isinstance(user, User) or user.id is None:
            continue
        state = sa.inspect(user)
        if any(state.attrs[name].history.has_changes() for name in _SECURITY_ATTRIBUTES):
            own = getattr(g, "login_session_id", None) if has_request_context() else None
            # Only the login making the change survives, and only if it is this user's own.
            keep = own if own is not None and getattr(user, "login_identity", None) else None
            session.execute(
                sa.delete(LoginSession).where(
                    LoginSession.user_id == user.id, *(() if keep is None else (LoginSession.id != keep,))
                )
            )


def init_app(app) -> None:
    from extensions import login_manager

    login_manager.user_loader(load)
    if not sa.event.contains(orm.Session, "before_flush", _end_others_on_security_change):
        sa.event.listen(orm.Session, "before_flush", _end_others_on_security_change)
