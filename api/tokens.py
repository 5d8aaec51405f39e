"""Personal API tokens: issued once, stored only as SHA-256, sent as `Authorization: Bearer <token>`."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import wraps

import click
import sqlalchemy as sa
from flask import g, request
from flask.cli import AppGroup
from flask_babel import gettext as _

from models import ApiToken, User, db, normalise_email, utcnow
from services.transactions import in_transaction, unit_of_work

from .common import ApiError

TOKEN_PREFIX = "sip_"
# Writing last_used_at on every call would turn each read into a write; once in a while tells enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


@unit_of_work
def issue_token(user: User, label: str = "") -> str:
    """Create a token for `user` and return it; only its digest is kept, so this is the one chance to see it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    db.session.add(
        ApiToken(user_id=user.id, token_sha256=ApiToken.digest(token), label=label[:100], created_at=utcnow())
    )
    return token


@unit_of_work
def revoke_tokens(user: User) -> int:
    """Revoke every active token of `user`; returns how many."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(_("Authentication is required: send a valid API token."))
    row = db.session.execute(
        sa.select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == ApiToken.digest(token.strip()))
    ).first()
    if row is None or row.ApiToken.revoked_at is not None or not row.User.active:
        raise _unauthorized(_("This API token is not valid or has been revoked."))
    api_token, user = row
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        # The one write a read may cause (tests/conftest.py allows it): a usage stamp, every few minutes.
        in_transaction(lambda: setattr(api_token, "last_used_at", now))
    return user


def token_required(view):
    """The view runs with g.api_user set to the token's owner; anything else gets a 401 error body."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.api_user = authenticate()
        return view(*args, **kwargs)

    wrapped.token_required = True  # read by the OpenAPI consistency test
    return wrapped


def register_cli(users_cli: AppGroup) -> None:
    @users_cli.command("api-token")
    @click.argument("email")
    @click.option("--label", default="", help="What the token is for, e.g. the script that uses it.")
    @click.option("--revoke", is_flag=True, help="Revoke every token of this user instead of issuing one.")
    def api_token(email: str, label: str, revoke: bool) -> None:
        """Issue an API token for EMAIL (printed once, never stored), or revoke all of theirs."""
        user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise click.ClickException(f"no user with email {email}")
        if revoke:
            count = revoke_tokens(user)
            click.echo(f"revoked {count} token(s) of {user.email}")
            return
        if not user.active:
            raise click.ClickException(f"{user.email} is not active")
        token = issue_token(user, label)
        click.echo(token)
        click.echo(f"API token for {user.email} ({user.role.value}); it is shown only now: store it safely.", err=True)
