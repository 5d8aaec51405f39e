"""Who is told of a change, and what they read: the built-in notification kinds and their emitters.

Emitters (`shift_assigned`, `shift_removed`, …) are called by the services that make the change,
inside their unit of work; each calls `notify.enqueue` once. Renderers run at send time under the
recipient's locale (services/notify.py), so every message exists in zh_CN and en.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from models import MembershipRole, PatrolTeam, TeamMembership, User, db, utcnow
from timeutil import to_local

from . import notify
from .notify import Recipient, Rendered, enqueue, event, ical_context, iso

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
    """The team's group robot, written to in the team's chat language (one small query)."""
    row = db.session.execute(
        sa.select(
            PatrolTeam.id, PatrolTeam.name_zh, PatrolTeam.name_en, PatrolTeam.chat_webhook, PatrolTeam.chat_locale
        ).where(PatrolTeam.id == team_id)
    ).first()
    if row is None or not row.chat_webhook:
        return None
    return Recipient.team_chat(row)


# --- volunteers --------------------------------------------------------------------------------


@event("volunteer_assigned", "a coordinator put a volunteer on a shift (iMIP REQUEST)")
def _render_assigned(c: dict, r: Recipient) -> Rendered:
    return message(
        _("New patrol shift: %(when)s", when=_when(c)),
        r.name,
        _("You have been put on this patrol shift:"),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("signup_confirmed", "a volunteer signed up for a shift (iMIP REQUEST)")
def _render_signup(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Sign-up confirmed: %(when)s", when=_when(c)),
        r.name,
        _("You are signed up for this patrol shift:"),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("volunteer_removed", "a volunteer was taken off a shift (iMIP CANCEL)")
def _render_removed(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Removed from patrol shift: %(when)s", when=_when(c)),
        r.name,
        _("You are no longer on this patrol shift:"),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("shift_moved", "a shift's time changed (iMIP REQUEST, higher SEQUENCE)")
def _render_moved(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Patrol shift moved: %(when)s", when=_when(c)),
        r.name,
        _("The time of your patrol shift has changed. New time:"),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("shift_cancelled", "a shift was cancelled (iMIP CANCEL)")
def _render_cancelled(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Patrol shift cancelled: %(when)s", when=_when(c)),
        r.name,
        _("This patrol shift has been cancelled:"),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("swap_requested", "a teammate asks the recipient to take a shift")
def _render_swap_requested(c: dict, r: Recipient) -> Rendered:
    return message(
        _("%(name)s asks you to take a shift", name=c.get("from_name", "")),
        r.name,
        _("%(name)s asks you to take over this patrol shift:", name=c.get("from_name", "")),
        _shift_details(c),
        _("Answer the request"),
        "/me/",
    )


@event("swap_accepted", "the teammate took the shift (iMIP CANCEL for the asker)")
def _render_swap_accepted(c: dict, r: Recipient) -> Rendered:
    return message(
        _("%(name)s took your shift", name=c.get("to_name", "")),
        r.name,
        _("%(name)s accepted your swap request; this shift is no longer yours:", name=c.get("to_name", "")),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("swap_declined", "the teammate declined")
def _render_swap_declined(c: dict, r: Recipient) -> Rendered:
    return message(
        _("%(name)s declined your swap request", name=c.get("to_name", "")),
        r.name,
        _("%(name)s cannot take this shift; it is still yours:", name=c.get("to_name", "")),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


# --- coordinators and team chat ----------------------------------------------------------------


@event("late_drop", "a volunteer dropped a shift starting within 48 hours (coordinators, team chat)")
def _render_late_drop(c: dict, r: Recipient) -> Rendered:
    return message(
        _("%(name)s dropped a shift starting soon", name=_lang_field(c, "volunteer_name")),
        r.name,
        _("%(name)s is no longer on this shift, which starts within 48 hours:", name=_lang_field(c, "volunteer_name")),
        _shift_details(c),
        _("Roster"),
        "/roster/",
    )


@event("shift_understaffed", "a shift fell below its minimum (coordinators, team chat)")
def _render_understaffed(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Shift below its minimum: %(when)s", when=_when(c)),
        r.name,
        _(
            "This shift has %(assigned)d of at least %(minimum)d volunteers:",
            assigned=c.get("assigned", 0),
            minimum=c.get("minimum", 0),
        ),
        _shift_details(c),
        _("Roster"),
        "/roster/",
    )


def _roster_change(c: dict) -> str:
    """The change, in the reader's language (the context holds a code)."""
    what = c.get("what", "")
    return {"signup": _("signed up")}.get(what, what)


@event("roster_changed", "a team's roster changed (team chat)")
def _render_roster_changed(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Roster change: %(what)s", what=_roster_change(c)),
        "",
        _("%(who)s: %(what)s", who=_lang_field(c, "volunteer_name"), what=_roster_change(c)),
        _shift_details(c),
        _("Roster"),
        "/roster/",
    )


# --- officials ---------------------------------------------------------------------------------


def _occ_details(c: dict) -> list[str]:
    return [_lang_field(c, "place"), _when(c)]


@event("contact_day_assigned", "an official is expected at a contact day (iMIP REQUEST)")
def _render_cd_assigned(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Contact day: %(when)s", when=_when(c)), r.name, _("You are expected at this contact day:"), _occ_details(c)
    )


@event("contact_day_moved", "a contact day's time changed (iMIP REQUEST, higher SEQUENCE)")
def _render_cd_moved(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Contact day moved: %(when)s", when=_when(c)),
        r.name,
        _("The time of this contact day has changed. New time:"),
        _occ_details(c),
    )


@event("contact_day_cancelled", "a contact day was cancelled (iMIP CANCEL)")
def _render_cd_cancelled(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Contact day cancelled: %(when)s", when=_when(c)),
        r.name,
        _("This contact day has been cancelled:"),
        _occ_details(c),
    )


@event("waitlist_offer", "a place on a waitlisted shift is offered (emitted by the trade/waitlist service)")
def _render_waitlist_offer(c: dict, r: Recipient) -> Rendered:
    return message(
        _("A place is free: %(when)s", when=_when(c)),
        r.name,
        _("A place on this shift is free and offered to you:"),
        _shift_details(c),
        _("Take it"),
        c.get("path", "/me/"),
    )


# --- reminders (queued by scheduler/reminders.py) ------------------------------------------------


@event("shift_reminder", "a volunteer's shift starts within SHIFT_REMINDER_HOURS")
def _render_shift_reminder(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Patrol shift reminder: %(when)s", when=_when(c)),
        r.name,
        _("You are on a patrol shift soon:"),
        _shift_details(c),
        _("If you cannot come, drop the shift or ask a teammate to swap"),
        "/me/",
    )


@event("contact_day_reminder", "an official's contact day starts within CONTACT_DAY_REMINDER_HOURS")
def _render_contact_day_reminder(c: dict, r: Recipient) -> Rendered:
    place = _lang_field(c, "place")
    venue = ", ".join(part for part in (_lang_field(c, "venue"), _lang_field(c, "address")) if part)
    return message(
        _("Contact day %(when)s: %(place)s", when=_when(c), place=place),
        r.name,
        _("You are expected at this contact day session:"),
        [place, _when(c), venue, _lang_field(c, "note")],
    )


@event("understaffed_alert", "a coordinator's digest of their teams' shifts below minimum in the next 48 hours")
def _render_understaffed_digest(c: dict, r: Recipient) -> Rendered:
    shifts = c.get("shifts", [])
    return message(
        ngettext(
            "%(num)d patrol shift below its minimum in the next 48 hours",
            "%(num)d patrol shifts below their minimum in the next 48 hours",
            len(shifts),
        ),
        r.name,
        _("These shifts of your teams have fewer volunteers than their minimum:"),
        [
            f"{_when(s)}  {_lang_field(s, 'team')}  "
            + _("%(assigned)d of at least %(minimum)d", assigned=s.get("assigned", 0), minimum=s.get("minimum", 0))
            for s in shifts
        ],
        _("Assign volunteers in the roster"),
        "/roster/",
    )


# --- emitters (call inside the change's unit of work) ------------------------------------------


def _volunteer_names(volunteer) -> dict:
    """Both names: the message is rendered later, in the reader's language (`_lang_field`)."""
    return {"volunteer_name_zh": volunteer.name, "volunteer_name_en": volunteer.name_en or volunteer.name}


def shift_assigned(assignment, shift, volunteer, *, self_service: bool, context: dict | None = None) -> None:
    """`context`: shift_context taken before the booking's UPDATE expired the shift (saves a SELECT)."""
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
