"""What the waiting list and the trade board tell people, through the notification outbox
(services/notify.py). Each emitter enqueues in the caller's unit of work; the event key makes
each notice exactly once (an offer id, a trade id plus what happened)."""

from __future__ import annotations

from flask_babel import gettext as _

from .notify import Recipient, Rendered, enqueue, event
from .notify_events import _shift_details, _when, message, shift_context, team_coordinators


def _ctx(shift, path: str, **extra) -> dict:
    context = shift_context(shift)
    context.pop("ical", None)  # a notice about a shift, not a calendar change
    context["path"] = path
    context.update(extra)
    return context


@event("waitlist_offer_expired", "a held waiting-list place was not accepted in time and passed on")
def _render_offer_expired(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Offer expired: %(when)s", when=_when(c)),
        r.name,
        _("The place held for you on this shift was not accepted in time and has passed to the next in line:"),
        _shift_details(c),
    )


@event("trade_taken", "a teammate took a shift offered on the trade board")
def _render_trade_taken(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Your shift was taken: %(when)s", when=_when(c)),
        r.name,
        _("%(name)s took over this shift from you; you are no longer on it:", name=c.get("taker", "")),
        _shift_details(c),
        _("My shifts"),
        "/me/",
    )


@event("trade_approval_needed", "a take on the trade board waits for the coordinator's approval")
def _render_trade_approval(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Approval needed: a shift trade on %(when)s", when=_when(c)),
        r.name,
        _("%(taker)s wants to take this shift from %(giver)s:", taker=c.get("taker", ""), giver=c.get("giver", "")),
        _shift_details(c),
        _("Trade board"),
        c.get("path", "/me/"),
    )


@event("trade_decided", "the coordinator approved or declined a trade")
def _render_trade_decided(c: dict, r: Recipient) -> Rendered:
    subject = (
        _("Trade approved: %(when)s", when=_when(c))
        if c.get("approved")
        else _("Trade declined: %(when)s", when=_when(c))
    )
    intro = (
        _("The coordinator approved the trade of this shift.")
        if c.get("approved")
        else _("The coordinator declined the trade of this shift; it is back on the board.")
    )
    return message(subject, r.name, intro, _shift_details(c), _("My shifts"), "/me/")


# --- emitters ------------------------------------------------------------------------------------


def waitlist_offered(entry, shift, volunteer) -> None:
    enqueue(
        "waitlist_offer",
        f"waitlist_offer:{entry.id}",
        [Recipient.user(volunteer)],
        _ctx(shift, "/me/waitlists", expires=entry.offer_expires_at.isoformat()),
    )


def offer_expired(entry, shift, volunteer) -> None:
    enqueue("waitlist_offer_expired", f"waitlist_expired:{entry.id}", [Recipient.user(volunteer)], _ctx(shift, "/me/"))


def trade_taken(offer, shift, giver, taker) -> None:
    enqueue(
        "trade_taken", f"trade_taken:{offer.id}", [Recipient.user(giver)], _ctx(shift, "/me/", taker=taker.display_name)
    )


def approval_needed(offer, shift, giver, taker) -> None:
    enqueue(
        "trade_approval_needed",
        f"trade_approval:{offer.id}:{taker.id}:{offer.taken_at.isoformat()}",
        team_coordinators(shift.team_id),
        _ctx(shift, f"/me/trades/{shift.team.code}", taker=taker.display_name, giver=giver.display_name),
    )


def trade_decided(offer, shift, giver, taker, approved: bool) -> None:
    enqueue(
        "trade_decided",
        f"trade_decided:{offer.id}:{taker.id}:{offer.decided_at.isoformat()}",
        [Recipient.user(giver), Recipient.user(taker)],
        _ctx(shift, "/me/", approved=approved),
    )
