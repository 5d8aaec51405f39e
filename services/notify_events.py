"""Who is told of a change, and what they read: the built-in notification kinds and their emitters.

Emitters (`shift_assigned`, `shift_removed`, …) are called by the services that make the change,
inside their unit of work; each calls `notify.enqueue` once. Renderers run at send time under the
recipient's locale (services/notify.py), so every message exists in zh_CN and en.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from models import MembershipRole, PatrolTeam, TeamMembership, User, db, utcnow
from timeutil import to_local

from . import notify
from .notify import Recipient, Rendered, enqueue, ical_context, iso

LATE_DROP = dt.timedelta(hours=48)


# --- rendering helpers -------------------------------------------------------------------------


def _lang_field(context: dict, name: str) -> str:
    english = str(get_locale() or "zh_CN").startswith("en")
    return (context.get(f"{name}_en") if english else None) or context.get(f"{name}_zh") or context.get(name, "")


def _when(context: dict) -> str:
    start = to_local(dt.datetime.fromisoformat(context["start"]))
    end = to_local(dt.datetime.fromisoformat(context["end"]))
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}" + (" (+1)" if end.date() != start.date() else "")


def _link(path: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}{path}" if base else path


def message(subject: str, greeting_name: str, intro: str, details: list[str], link_label: str = "", path: str = ""):
    """Plain text and HTML (no style attributes: the CSP test scans templates) of one message."""
    hello = _("Hello %(name)s,", name=greeting_name) if greeting_name else _("Hello,")
    text = [hello, "", intro, *[f"  {d}" for d in details if d]]
    html = [f"<p>{escape(hello)}</p>", f"<p>{escape(intro)}</p>", "<ul>"]
    html += [f"<li>{escape(d)}</li>" for d in details if d]
    html.append("</ul>")
    if path:
        url = _link(path)
        text += ["", f"{link_label}: {url}"]
        html.append(f'<p><a href="{escape(url)}">{escape(link_label)}</a></p>')
    return Rendered(
        subject=subject,
        text="\n".join(text),
        html=str(Markup("<!doctype html><html><body>") + Markup("\n".join(html)) + Markup("</body></html>")),
        sms=f"{subject} {' '.join(d for d in details if d)}",
    )


def _shift_details(c: dict) -> list[str]:
    return [_lang_field(c, "team"), _when(c), _lang_field(c, "area")]


# --- context builders --------------------------------------------------------------------------


def shift_context(shift, *, method: str = "REQUEST", sequence: int | None = None) -> dict:
    """`sequence`: the SEQUENCE the shift will have (when taken before a Core UPDATE raises it)."""
    team = shift.team
    return {
        "shift_id": shift.id,
        "team_zh": team.name_zh,
        "team_en": getattr(team, "name_en", "") or team.name_zh,
        "area_zh": shift.area_zh,
        "area_en": shift.area_en or shift.area_zh,
        "start": iso(shift.starts_at),
        "end": iso(shift.ends_at),
        "ical": ical_context(
            shift.uid,
            shift.sequence or 0 if sequence is None else sequence,
            shift.starts_at,
            shift.ends_at,
            method=method,
            location=shift.area_zh,
        ),
    }


def occurrence_context(occurrence, *, method: str = "REQUEST") -> dict:
    place = occurrence.community or occurrence.venue
    return {
        "occurrence_id": occurrence.id,
        "place_zh": place.name_zh if place is not None else "",
        "place_en": (getattr(place, "name_en", "") or place.name_zh) if place is not None else "",
        "start": iso(occurrence.starts_at),
        "end": iso(occurrence.ends_at),
        "ical": ical_context(
            occurrence.uid,
            occurrence.sequence or 0,
            occurrence.starts_at,
            occurrence.ends_at,
            method=method,
            location=place.name_zh if place is not None else "",
        ),
    }


def team_coordinators(team_id: int) -> list[Recipient]:
    """The coordinators of a team and its chat robot: two small queries for the whole event."""
    users = db.session.scalars(
        sa.select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(
            TeamMembership.team_id == team_id,
            TeamMembership.role == MembershipRole.COORDINATOR,
            User.active.is_(True),
        )
    ).all()
    return [Recipient.user(u) for u in users]


def team_chat(team_id: int) -> Recipient | None:
    """The team's group robot, written to in the team's chat language (one small query, or none
    when the booking has the team loaded already)."""
    loaded = db.session.identity_map.get(db.session.identity_key(PatrolTeam, team_id))
    if loaded is not None and "chat_webhook" in loaded.__dict__ and "chat_locale" in loaded.__dict__:
        return Recipient.team_chat(loaded)
    row = db.session.execute(
        sa.select(
            PatrolTeam.id, PatrolTeam.name_zh, PatrolTeam.name_en, PatrolTeam.chat_webhook, PatrolTeam.chat_locale
        ).where(PatrolTeam.id == team_id)
    ).first()
    if row is None or not row.chat_webhook:
        return None
    return Recipient.team_chat(row)


# --- what each kind says: one table ------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One kind's message: `message(subject, greeting, intro, details, link, path)` from templates.

    `subject` and `intro` are lazy msgids filled with `params(context)` at send time (under the
    recipient's locale), or functions of the context for the few that choose between texts.
    """

    description: str
    subject: LazyString | Callable[[dict], str]
    intro: LazyString | Callable[[dict], str]
    details: Callable[[dict], list[str]] = _shift_details
    link: LazyString | None = None
    path: str | Callable[[dict], str] = ""
    params: Callable[[dict], dict] = field(default=lambda c: {"when": _when(c)})
    greet: bool = True  # False: a group (team chat) is greeted by no name
    secret: tuple[str, ...] = ()

    def text(self, template, context: dict, params: dict) -> str:
        if not isinstance(template, LazyString):
            return template(context)
        text = str(template)
        return text % params if "%(" in text else text

    def render(self, c: dict, r: Recipient) -> Rendered:
        params = self.params(c)
        return message(
            self.text(self.subject, c, params),
            r.name if self.greet else "",
            self.text(self.intro, c, params),
            self.details(c),
            str(self.link) if self.link is not None else "",
            self.path(c) if callable(self.path) else self.path,
        )


def register_notices(table: dict[str, Notice]) -> None:
    """Register every kind of a table with the pipeline (services/notify.py)."""
    for kind, notice in table.items():
        notify.register(kind, notice.render, notice.description, secret=notice.secret)


def _names(key: str, *, lang: bool = False) -> Callable[[dict], dict]:
    """Template parameters: the shift's time and a person's name from the context."""
    if lang:
        return lambda c: {"when": _when(c), "name": _lang_field(c, key)}
    return lambda c: {"when": _when(c), "name": c.get(key, "")}


def _occ_details(c: dict) -> list[str]:
    return [_lang_field(c, "place"), _when(c)]


def _roster_change(c: dict) -> str:
    """The change, in the reader's language (the context holds a code)."""
    what = c.get("what", "")
    return {"signup": _("signed up")}.get(what, what)


def _contact_day_reminder_details(c: dict) -> list[str]:
    venue = ", ".join(part for part in (_lang_field(c, "venue"), _lang_field(c, "address")) if part)
    return [_lang_field(c, "place"), _when(c), venue, _lang_field(c, "note")]


def _digest_subject(c: dict) -> str:
    return ngettext(
        "%(num)d patrol shift below its minimum in the next 48 hours",
        "%(num)d patrol shifts below their minimum in the next 48 hours",
        len(c.get("shifts", [])),
    )


def _digest_details(c: dict) -> list[str]:
    return [
        f"{_when(s)}  {_lang_field(s, 'team')}  "
        + _("%(assigned)d of at least %(minimum)d", assigned=s.get("assigned", 0), minimum=s.get("minimum", 0))
        for s in c.get("shifts", [])
    ]


MY_SHIFTS = {"link": _l("My shifts"), "path": "/me/"}
ROSTER = {"link": _l("Roster"), "path": "/roster/"}

NOTICES: dict[str, Notice] = {
    # volunteers
    "volunteer_assigned": Notice(
        "a coordinator put a volunteer on a shift (iMIP REQUEST)",
        _l("New patrol shift: %(when)s"),
        _l("You have been put on this patrol shift:"),
        **MY_SHIFTS,
    ),
    "signup_confirmed": Notice(
        "a volunteer signed up for a shift (iMIP REQUEST)",
        _l("Sign-up confirmed: %(when)s"),
        _l("You are signed up for this patrol shift:"),
        **MY_SHIFTS,
    ),
    "volunteer_removed": Notice(
        "a volunteer was taken off a shift (iMIP CANCEL)",
        _l("Removed from patrol shift: %(when)s"),
        _l("You are no longer on this patrol shift:"),
        **MY_SHIFTS,
    ),
    "shift_moved": Notice(
        "a shift's time changed (iMIP REQUEST, higher SEQUENCE)",
        _l("Patrol shift moved: %(when)s"),
        _l("The time of your patrol shift has changed. New time:"),
        **MY_SHIFTS,
    ),
    "shift_cancelled": Notice(
        "a shift was cancelled (iMIP CANCEL)",
        _l("Patrol shift cancelled: %(when)s"),
        _l("This patrol shift has been cancelled:"),
        **MY_SHIFTS,
    ),
    "swap_requested": Notice(
        "a teammate asks the recipient to take a shift",
        _l("%(name)s asks you to take a shift"),
        _l("%(name)s asks you to take over this patrol shift:"),
        link=_l("Answer the request"),
        path="/me/",
        params=_names("from_name"),
    ),
    "swap_accepted": Notice(
        "the teammate took the shift (iMIP CANCEL for the asker)",
        _l("%(name)s took your shift"),
        _l("%(name)s accepted your swap request; this shift is no longer yours:"),
        params=_names("to_name"),
        **MY_SHIFTS,
    ),
    "swap_declined": Notice(
        "the teammate declined",
        _l("%(name)s declined your swap request"),
        _l("%(name)s cannot take this shift; it is still yours:"),
        params=_names("to_name"),
        **MY_SHIFTS,
    ),
    "waitlist_offer": Notice(
        "a place on a waitlisted shift is offered (emitted by the trade/waitlist service)",
        _l("A place is free: %(when)s"),
        _l("A place on this shift is free and offered to you:"),
        link=_l("Take it"),
        path=lambda c: c.get("path", "/me/"),
    ),
    "shift_reminder": Notice(
        "a volunteer's shift starts within SHIFT_REMINDER_HOURS",
        _l("Patrol shift reminder: %(when)s"),
        _l("You are on a patrol shift soon:"),
        link=_l("If you cannot come, drop the shift or ask a teammate to swap"),
        path="/me/",
    ),
    # coordinators and team chat
    "late_drop": Notice(
        "a volunteer dropped a shift starting within 48 hours (coordinators, team chat)",
        _l("%(name)s dropped a shift starting soon"),
        _l("%(name)s is no longer on this shift, which starts within 48 hours:"),
        params=_names("volunteer_name", lang=True),
        **ROSTER,
    ),
    "shift_understaffed": Notice(
        "a shift fell below its minimum (coordinators, team chat)",
        _l("Shift below its minimum: %(when)s"),
        _l("This shift has %(assigned)d of at least %(minimum)d volunteers:"),
        params=lambda c: {"when": _when(c), "assigned": c.get("assigned", 0), "minimum": c.get("minimum", 0)},
        **ROSTER,
    ),
    "roster_changed": Notice(
        "a team's roster changed (team chat)",
        _l("Roster change: %(what)s"),
        _l("%(who)s: %(what)s"),
        params=lambda c: {"what": _roster_change(c), "who": _lang_field(c, "volunteer_name")},
        greet=False,
        **ROSTER,
    ),
    "understaffed_alert": Notice(
        "a coordinator's digest of their teams' shifts below minimum in the next 48 hours",
        _digest_subject,
        _l("These shifts of your teams have fewer volunteers than their minimum:"),
        details=_digest_details,
        link=_l("Assign volunteers in the roster"),
        path="/roster/",
        params=lambda c: {},
    ),
    # officials
    "contact_day_assigned": Notice(
        "an official is expected at a contact day (iMIP REQUEST)",
        _l("Contact day: %(when)s"),
        _l("You are expected at this contact day:"),
        details=_occ_details,
    ),
    "contact_day_moved": Notice(
        "a contact day's time changed (iMIP REQUEST, higher SEQUENCE)",
        _l("Contact day moved: %(when)s"),
        _l("The time of this contact day has changed. New time:"),
        details=_occ_details,
    ),
    "contact_day_cancelled": Notice(
        "a contact day was cancelled (iMIP CANCEL)",
        _l("Contact day cancelled: %(when)s"),
        _l("This contact day has been cancelled:"),
        details=_occ_details,
    ),
    "contact_day_reminder": Notice(
        "an official's contact day starts within CONTACT_DAY_REMINDER_HOURS",
        _l("Contact day %(when)s: %(place)s"),
        _l("You are expected at this contact day session:"),
        details=_contact_day_reminder_details,
        params=lambda c: {"when": _when(c), "place": _lang_field(c, "place")},
    ),
}
register_notices(NOTICES)


# --- emitters (call inside the change's unit of work) ------------------------------------------


def _volunteer_names(volunteer) -> dict:
    """Both names: the message is rendered later, in the reader's language (`_lang_field`)."""
    return {"volunteer_name_zh": volunteer.name, "volunteer_name_en": volunteer.name_en or volunteer.name}


def shift_assigned(assignment, shift, volunteer, *, self_service: bool, context: dict | None = None) -> None:
    """`context`: shift_context taken before the booking's UPDATE expired the shift (saves a SELECT)."""
    if not notify.enabled():
        return  # nothing to build either (the shift may be expired: no refresh SELECT for nothing)
    kind = "signup_confirmed" if self_service else "volunteer_assigned"
    context = context or shift_context(shift)
    enqueue(kind, f"{kind}:{assignment.id}", [Recipient.user(volunteer)], context)
    if not self_service:
        return
    chat = team_chat(shift.team_id)
    if chat is not None:
        enqueue(
            "roster_changed",
            f"roster:signup:{assignment.id}",
            [chat],
            context | _volunteer_names(volunteer) | {"what": "signup"},
        )


def shift_removed(assignment, shift, volunteer, *, dropped: bool) -> None:
    """The volunteer gets a CANCEL; a late drop tells the coordinators; a shift gone understaffed too."""
    context = shift_context(shift, method="CANCEL")
    enqueue("volunteer_removed", f"volunteer_removed:{assignment.id}", [Recipient.user(volunteer)], context)
    now = utcnow()
    coordinators: list[Recipient] | None = None
    chat = team_chat(shift.team_id)
    if dropped and now < shift.starts_at <= now + LATE_DROP:
        coordinators = team_coordinators(shift.team_id)
        enqueue(
            "late_drop",
            f"late_drop:{assignment.id}",
            [*coordinators, chat],
            context | _volunteer_names(volunteer) | {"ical": None},
        )
    if shift.starts_at > now and (shift.assigned_count or 0) < (shift.min_volunteers or 0):
        if coordinators is None:
            coordinators = team_coordinators(shift.team_id)
        enqueue(
            "shift_understaffed",
            f"understaffed:{shift.id}:{shift.sequence}",
            [*coordinators, chat],
            context | {"assigned": shift.assigned_count, "minimum": shift.min_volunteers, "ical": None},
        )


def shift_changed(shift, volunteers: list, *, cancelled: bool) -> None:
    """Every volunteer on a moved or cancelled shift: REQUEST with the new SEQUENCE, or CANCEL."""
    kind = "shift_cancelled" if cancelled else "shift_moved"
    context = shift_context(shift, method="CANCEL" if cancelled else "REQUEST")
    enqueue(kind, f"{kind}:{shift.id}:{shift.sequence}", [Recipient.user(v) for v in volunteers], context)


def swap_requested(swap, shift, from_user, to_user) -> None:
    enqueue(
        "swap_requested",
        f"swap_requested:{swap.id}",
        [Recipient.user(to_user)],
        shift_context(shift) | {"from_name": from_user.name, "ical": None},
    )


def swap_answered(swap, shift, from_user, to_user, *, accepted: bool, new_assignment=None) -> None:
    if not accepted:
        enqueue(
            "swap_declined",
            f"swap_declined:{swap.id}",
            [Recipient.user(from_user)],
            shift_context(shift) | {"to_name": to_user.name, "ical": None},
        )
        return
    enqueue(
        "swap_accepted",
        f"swap_accepted:{swap.id}",
        [Recipient.user(from_user)],
        shift_context(shift, method="CANCEL") | {"to_name": to_user.name},
    )
    if new_assignment is not None:
        enqueue(
            "volunteer_assigned",
            f"volunteer_assigned:{new_assignment.id}",
            [Recipient.user(to_user)],
            shift_context(shift),
        )


def contact_day(occurrence, officials: list, what: str) -> None:
    """`what`: assigned, moved or cancelled."""
    kind = f"contact_day_{what}"
    method = "CANCEL" if what == "cancelled" else "REQUEST"
    enqueue(
        kind,
        f"{kind}:{occurrence.id}:{occurrence.sequence}",
        [Recipient.user(o) for o in officials],
        occurrence_context(occurrence, method=method),
    )


__all__ = [
    "notify",
    "shift_assigned",
    "shift_removed",
    "shift_changed",
    "swap_requested",
    "swap_answered",
    "contact_day",
]
