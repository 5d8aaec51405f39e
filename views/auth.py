"""Log in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from extensions import limiter
from models import PASSWORD_MAX_LENGTH, Role, User, db, normalise_email
from services import sessions

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    remember = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Log in"))


def home_for(user: User) -> str:
    """Where each role lands after logging in."""
    if user.role is Role.ADMIN:
        return url_for("admin.index")
    if user.role is Role.COORDINATOR:
        return url_for("roster.index")
    if user.role is Role.VOLUNTEER:
        return url_for("volunteer.index")
    return url_for("public.index")


def _safe_next(target: str | None) -> str | None:
    """Only a local path may follow a login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None or not user.active or not user.check_password(form.password.data):
            flash(_("Wrong email or password."), "error")
            return render_template("auth/login.html", form=form), 401
        sessions.start(user, remember=form.remember.data)
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")) or home_for(user))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Server-side first: a copy of the session or remember-me cookie must open nothing afterwards.
    sessions.end(session.get("_user_id"))
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("public.index"))
