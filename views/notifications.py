"""Notification pages: /settings (anyone logged in), a team's chat robot, and the admin's outbox list."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp

from access import admin_required
from inputs import page_arg
from models import OutboxStatus, PatrolTeam, db
from scheduler.channels import valid_chat_url
from services import notify_settings
from services.assignments import can_manage_team
from services.errors import RuleViolation
from services.roster import Page

bp = Blueprint("notifications", __name__)


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language of messages"), choices=[("zh_CN", "中文"), ("en", "English")])
    phone = StringField(
        _l("Mobile phone"),
        validators=[Optional(), Length(max=32), Regexp(r"^\+?[0-9 \-]{5,32}$", message=_l("Digits only."))],
    )
    notify_email = BooleanField(_l("Email"))
    notify_sms = BooleanField(_l("Text message (SMS)"))
    submit = SubmitField(_l("Save"))


class WebhookForm(FlaskForm):
    url = StringField(_l("Group robot URL"), validators=[Optional(), Length(max=500)])
    # Optional: a client that sends only the URL keeps the team's language.
    locale = SelectField(
        _l("Language of the group's messages"),
        choices=[("zh_CN", "中文"), ("en", "English")],
        validators=[Optional()],
    )
    submit = SubmitField(_l("Save"))


class RetryForm(FlaskForm):
    submit = SubmitField(_l("Retry"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = PreferencesForm(obj=current_user)
    if form.validate_on_submit():
        try:
            notify_settings.update_preferences(
                current_user,
                locale=form.locale.data,
                phone=form.phone.data or "",
                notify_email=form.notify_email.data,
                notify_sms=form.notify_sms.data,
            )
        except RuleViolation as refused:
            flash(refused.message, "error")
            return render_template("notifications/settings.html", form=form), refused.status
        flash(_("Saved."), "success")
        return redirect(url_for("notifications.settings"))
    status = 400 if form.errors else 200
    return render_template("notifications/settings.html", form=form), status


@bp.route("/roster/teams/<id:team_id>/chat", methods=["GET", "POST"])
@login_required
def team_chat(team_id: int):
    team = db.session.get(PatrolTeam, team_id) or abort(404)
    if not can_manage_team(current_user, team.id):
        abort(403)
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            notify_settings.set_team_webhook(
                current_user,
                team.id,
                form.url.data or "",
                locale=form.locale.data if request.form.get("locale") else None,
                validate=valid_chat_url,
            )
        except RuleViolation as refused:
            form.url.errors = [refused.message]
            return render_template("notifications/team_chat.html", team=team, form=form), refused.status
        flash(_("Saved."), "success")
        return redirect(url_for("notifications.team_chat", team_id=team.id))
    if request.method == "GET":
        form.url.data = team.chat_webhook
        form.locale.data = team.chat_locale
    return render_template("notifications/team_chat.html", team=team, form=form), 400 if form.errors else 200


STATUSES = {s.value: s for s in OutboxStatus}


@bp.route("/admin/notifications")
@admin_required
def outbox():
    raw = request.args.get("status", "")
    status = STATUSES.get(raw)
    if raw and status is None:
        abort(400)
    page = page_arg()
    rows, total = notify_settings.listing(status, page)
    return render_template(
        "notifications/outbox.html",
        rows=rows,
        page=Page(page, notify_settings.PER_PAGE, total),
        status=raw,
        statuses=list(STATUSES),
        retry_form=RetryForm(),
    )


@bp.route("/admin/notifications/<id:message_id>/retry", methods=["POST"])
@admin_required
def retry(message_id: int):
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        notify_settings.retry(current_user, message_id)
    except RuleViolation as refused:
        flash(refused.message, "error")
        return redirect(url_for("notifications.outbox")), 303
    flash(_("The notification will be sent again in the next minute."), "success")
    return redirect(url_for("notifications.outbox", status=request.args.get("status", "")[:10])), 303
