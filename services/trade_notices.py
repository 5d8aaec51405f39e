"""What the waiting list and the trade board tell people, through the notification outbox
(services/notify.py). Each emitter enqueues in the caller's unit of work; the event key makes
each notice exactly once (an offer id, a trade id plus what happened)."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from .notify import Recipient, enqueue
from .notify_events import Notice, _when, register_notices, shift_context, team_coordinators


def _ctx(shift, path: str, **extra) -> dict:
    context = shift_context(shift)
    context.pop("ical", None)  # a notice about a shift, not a calendar change
    context["path"] = path
    context.update(extra)
    return context


def _decided(approved: LazyString, declined: LazyString):
    return lambda c: str(approved if c.get("approved") else declined) % {"when": _when(c)}


NOTICES: dict[str, Notice] = {
    "waitlist_offer_expired": Notice(
        "a held waiting-list place was not accepted in time and passed on",
        _l("Offer expired: %(when)s"),
        _l("The place held for you on this shift was not accepted in time and has passed to the next in line:"),
    ),
    "trade_taken": Notice(
        "a teammate took a shift offered on the trade board",
        _l("Your shift was taken: %(when)s"),
        _l("%(name)s took over this shift from you; you are no longer on it:"),
        link=_l("My shifts"),
        path="/me/",
        params=lambda c: {"when": _when(c), "name": c.get("taker", "")},
    ),
    "trade_approval_needed": Notice(
        "a take on the trade board waits for the coordinator's approval",
        _l("Approval needed: a shift trade on %(when)s"),
        _l("%(taker)s wants to take this shift from %(giver)s:"),
        link=_l("Trade board"),
        path=lambda c: c.get("path", "/me/"),
        params=lambda c: {"when": _when(c), "taker": c.get("taker", ""), "giver": c.get("giver", "")},
    ),
    "trade_decided": Notice(
        "the coordinator approved or declined a trade",
        _decided(_l("Trade approved: %(when)s"), _l("Trade declined: %(when)s")),
        lambda c: str(
            _l("The coordinator approved the trade of this shift.")
            if c.get("approved")
            else _l("The coordinator declined the trade of this shift; it is back on the board.")
        ),
        link=_l("My shifts"),
        path="/me/",
    ),
}
register_notices(NOTICES)


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
