"""Changes to who is told how: a person's language and channels, a team's chat robot, an admin's retry."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from models import OutboxMessage, OutboxStatus, PatrolTeam, Role, User, db, record

from . import notify
from .assignments import can_manage_team, forbidden, not_found
from .errors import RuleViolation
from .transactions import unit_of_work

LANGUAGES = ("zh_CN", "en")
PER_PAGE = 50
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,31}$")


@unit_of_work
def update_preferences(
    user: User,
    *,
    locale: str | None = None,
    notify_email: bool | None = None,
    notify_sms: bool | None = None,
    phone: str | None = None,
) -> User:
    """A person's own language and channel choices; SMS needs a phone number."""
    user = db.session.get(User, user.id)
    if locale is not None:
        if locale not in LANGUAGES:
            raise RuleViolation(_("Choose Chinese or English."), "bad_language", 400)
        user.locale = locale
    if phone is not None:
        phone = phone.strip()
        if phone and not PHONE_RE.match(phone):
            raise RuleViolation(_("This is not a phone number."), "bad_phone", 400)
        user.phone = phone
    if notify_email is not None:
        user.notify_email = notify_email
    if notify_sms is not None:
        user.notify_sms = notify_sms
    if user.notify_sms and not user.phone:
        raise RuleViolation(_("Give a phone number to receive text messages."), "phone_required", 400)
    record(user, "user.preferences", "user", user.id, locale=user.locale, email=user.notify_email, sms=user.notify_sms)
    return user


@unit_of_work
def set_team_webhook(actor: User, team_id: int, url: str, *, locale: str | None = None, validate=None) -> PatrolTeam:
    """A coordinator of the team (or an admin) sets or clears its group-chat robot URL and its language.

    `locale` (zh_CN or en; None keeps it): the language the team's chat messages are written in.

    `validate` (a callable) checks the URL; the view passes scheduler.channels.valid_chat_url
    (services may not import the scheduler layer).
    """
    team = db.session.get(PatrolTeam, team_id)
    if team is None:
        raise not_found(_("This team does not exist."))
    if not can_manage_team(actor, team_id):
        raise forbidden()
    url = url.strip()
    if url and (len(url) > 500 or (validate is not None and not validate(url))):
        raise RuleViolation(
            _("This is not a group robot address we can use (WeCom, DingTalk or Feishu robot URL)."),
            "bad_webhook",
            400,
        )
    if locale is not None:
        if locale not in LANGUAGES:
            raise RuleViolation(_("Choose Chinese or English."), "bad_language", 400)
        team.chat_locale = locale
    team.chat_webhook = url
    record(actor, "team.chat_webhook", "patrol_team", team.id, set=bool(url), locale=team.chat_locale)
    return team


@unit_of_work
def retry(actor: User, message_id: int) -> OutboxMessage:
    if actor.role is not Role.ADMIN:
        raise forbidden()
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise not_found(_("This notification does not exist."))
    if any((message.context or {}).get(key) == notify.CLEARED for key in notify.secret_keys(message.kind)):
        raise RuleViolation(
            _("This message held a one-time code that is no longer kept, so it cannot be sent again."),
            "secret_cleared",
            409,
        )
    if not notify.retry(message_id):
        raise RuleViolation(_("This notification has already been sent."), "already_sent", 409)
    record(actor, "notification.retry", "outbox_message", message_id)
    return message


def listing(status: OutboxStatus | None, page: int, per_page: int = PER_PAGE):
    """One page of the outbox, newest first: (rows, total). Two queries whatever the page size."""
    where = [] if status is None else [OutboxMessage.status == status]
    total = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(*where)) or 0
    rows = db.session.scalars(
        sa.select(OutboxMessage)
        .where(*where)
        .order_by(OutboxMessage.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total
