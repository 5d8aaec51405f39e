"""Suggestions from contact days, each tracked to an answer (件件有回音、事事有反馈).

received -> assigned (to a bureau) -> answered -> closed. Residents follow a suggestion by its
tracking number, which shows the state and the answer, never who made it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from models import (
    Bureau,
    Occurrence,
    OccurrenceStatus,
    ProgrammeKind,
    Suggestion,
    SuggestionStatus,
    User,
    db,
    normalise_email,
    record,
    utcnow,
)

from . import resident_notices
from .codes import new_code, normalise_code
from .errors import RuleViolation
from .transactions import unit_of_work
from .validation import clean_text, normalise_phone

CONTENT_MAX = 2000
NAME_MAX = 100
CONTACT_MAX = 120
ANSWER_MAX = 4000
# A suggestion may be written down after the session, e.g. from the paper forms of the day.
LATE_DAYS = 90
OPEN_STATUSES = (SuggestionStatus.RECEIVED, SuggestionStatus.ASSIGNED)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

STATUS_LABELS = {
    SuggestionStatus.RECEIVED: _l("Received, waiting to be assigned"),
    SuggestionStatus.ASSIGNED: _l("Assigned to a bureau, being answered"),
    SuggestionStatus.ANSWERED: _l("Answered"),
    SuggestionStatus.CLOSED: _l("Answered and closed"),
}


def status_label(status: SuggestionStatus) -> str:
    return str(STATUS_LABELS[status])


@unit_of_work
def submit(
    occurrence_id: int | None,
    content: str,
    submitter_name: str = "",
    submitter_contact: str = "",
    recorded_by: User | None = None,
    now: dt.datetime | None = None,
    locale: str = "zh_CN",
) -> Suggestion:
    """Record a suggestion against a contact-day session and give it a tracking number.

    `locale`: the language of the page it was sent from; the answer's notice is written in it.
    """
    now = now or utcnow()
    content = clean_text(content, _("Your suggestion"), CONTENT_MAX, multiline=True)
    name = clean_text(submitter_name, _("Your name"), NAME_MAX, required=False)
    contact = _clean_contact(submitter_contact)
    occurrence = db.session.get(Occurrence, occurrence_id) if isinstance(occurrence_id, int) else None
    if occurrence is None or occurrence.programme.kind is not ProgrammeKind.CONTACT_DAY:
        raise RuleViolation(_("This contact-day session does not exist."), "no_session", 404)
    if occurrence.status is OccurrenceStatus.CANCELLED:
        raise RuleViolation(
            _("This contact-day session was cancelled. Please choose another session."), "session_cancelled", 409
        )
    if occurrence.ends_at < now - dt.timedelta(days=LATE_DAYS):
        raise RuleViolation(
            _(
                "Suggestions can be recorded up to %(days)d days after a session. "
                "Please choose a recent or an upcoming session.",
                days=LATE_DAYS,
            ),
            "session_too_old",
            409,
        )
    suggestion = Suggestion(
        tracking_number=_unused_tracking_number(),
        occurrence=occurrence,
        content=content,
        submitter_name=name,
        submitter_contact=contact,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
        recorded_by_id=getattr(recorded_by, "id", None),
        status=SuggestionStatus.RECEIVED,
    )
    db.session.add(suggestion)
    db.session.flush()
    record(recorded_by, "suggestion.submit", "suggestion", suggestion.id)
    return suggestion


def _clean_contact(value: str | None) -> str:
    text = clean_text(value, _("Phone or email"), CONTACT_MAX, required=False)
    if not text:
        return ""
    if "@" in text:
        if not _EMAIL.match(text):
            raise RuleViolation(_("Please enter a valid email address, or a phone number."), "email_format", 400)
        return normalise_email(text)
    return normalise_phone(text)


def _unused_tracking_number() -> str:
    while True:
        number = new_code()
        if db.session.scalar(sa.select(Suggestion.id).where(Suggestion.tracking_number == number)) is None:
            return number


def get(suggestion_id: int) -> Suggestion | None:
    return db.session.get(
        Suggestion,
        suggestion_id,
        options=[
            orm.joinedload(Suggestion.occurrence).joinedload(Occurrence.community),
            orm.joinedload(Suggestion.bureau),
        ],
    )


@unit_of_work
def assign(suggestion: Suggestion, bureau_id: int | None, by: User) -> Suggestion:
    if suggestion.status not in OPEN_STATUSES:
        raise RuleViolation(_("An answered suggestion can no longer be reassigned."), "already_answered", 409)
    bureau = db.session.get(Bureau, bureau_id) if isinstance(bureau_id, int) else None
    if bureau is None:
        raise RuleViolation(_("Please choose a bureau."), "no_bureau", 400)
    suggestion.bureau = bureau
    suggestion.status = SuggestionStatus.ASSIGNED
    record(by, "suggestion.assign", "suggestion", suggestion.id, bureau=bureau.slug)
    db.session.flush()
    return suggestion


@unit_of_work
def answer(suggestion: Suggestion, text: str, by: User, now: dt.datetime | None = None) -> Suggestion:
    """Answer (or correct the answer before closing). The first answer's time counts for the report."""
    now = now or utcnow()
    if suggestion.status is SuggestionStatus.CLOSED:
        raise RuleViolation(_("This suggestion is closed; its answer can no longer be changed."), "closed", 409)
    if suggestion.bureau_id is None:
        raise RuleViolation(_("Assign the suggestion to a bureau before answering it."), "not_assigned", 409)
    suggestion.answer = clean_text(text, _("Answer"), ANSWER_MAX, multiline=True)
    suggestion.status = SuggestionStatus.ANSWERED
    if suggestion.answered_at is None:
        suggestion.answered_at = now
    record(by, "suggestion.answer", "suggestion", suggestion.id)
    db.session.flush()
    resident_notices.suggestion_answered(suggestion)
    return suggestion


@unit_of_work
def close(suggestion: Suggestion, by: User, now: dt.datetime | None = None) -> Suggestion:
    if suggestion.status is not SuggestionStatus.ANSWERED:
        raise RuleViolation(_("Only an answered suggestion can be closed."), "not_answered", 409)
    suggestion.status = SuggestionStatus.CLOSED
    suggestion.closed_at = now or utcnow()
    record(by, "suggestion.close", "suggestion", suggestion.id)
    db.session.flush()
    return suggestion


@dataclass(frozen=True)
class PublicSuggestion:
    """What anyone holding the tracking number may see: no name, no contact, not the text."""

    tracking_number: str
    status: SuggestionStatus
    status_label: str
    received_at: dt.datetime
    session: Occurrence | None
    bureau: Bureau | None
    answer: str
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None


def track(tracking_number: str) -> PublicSuggestion:
    number = normalise_code(tracking_number)
    suggestion = None
    if number:
        suggestion = db.session.scalar(
            sa.select(Suggestion)
            .where(Suggestion.tracking_number == number)
            .options(
                orm.joinedload(Suggestion.occurrence).joinedload(Occurrence.community),
                orm.joinedload(Suggestion.bureau),
            )
        )
    if suggestion is None:
        raise RuleViolation(
            _("No suggestion has this tracking number. Please check it and try again."), "not_found", 404
        )
    answered = suggestion.status in (SuggestionStatus.ANSWERED, SuggestionStatus.CLOSED)
    return PublicSuggestion(
        tracking_number=suggestion.tracking_number,
        status=suggestion.status,
        status_label=status_label(suggestion.status),
        received_at=suggestion.created_at,
        session=suggestion.occurrence,
        bureau=suggestion.bureau,
        answer=suggestion.answer if answered else "",
        answered_at=suggestion.answered_at if answered else None,
        closed_at=suggestion.closed_at,
    )


def staff_query(statuses=None, bureau_id: int | None = None) -> sa.Select:
    """Suggestions for handlers (of the given statuses), oldest first: the longest-waiting come first."""
    query = sa.select(Suggestion).options(
        orm.joinedload(Suggestion.bureau), orm.joinedload(Suggestion.occurrence).joinedload(Occurrence.community)
    )
    if statuses is not None:
        query = query.where(Suggestion.status.in_(list(statuses)))
    if bureau_id is not None:
        query = query.where(Suggestion.bureau_id == bureau_id)
    return query.order_by(Suggestion.created_at, Suggestion.id)


AGE_BUCKETS = (  # (upper bound in whole days, inclusive; label)
    (7, _l("up to 7 days")),
    (15, _l("8–15 days")),
    (30, _l("16–30 days")),
    (None, _l("over 30 days")),
)


@dataclass
class AnsweredShare:
    days: int
    answered_in_time: int
    judged: int

    @property
    def percent(self) -> float | None:
        return None if self.judged == 0 else 100.0 * self.answered_in_time / self.judged


@dataclass
class Report:
    rows: list[tuple[Bureau | None, list[int], int]]  # bureau (None: not assigned), open per age bucket, total
    bucket_totals: list[int]
    open_total: int
    received: int
    answered: int
    closed: int
    shares: list[AnsweredShare]


def report(now: dt.datetime | None = None) -> Report:
    """Open suggestions by age and bureau; the share answered within 15 and 30 days.

    A suggestion counts towards "answered within N days" once it can be judged: it has
    been answered, or it was received at least N days ago. Younger unanswered ones are
    left out rather than counted as late.
    """
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Suggestion.created_at, Suggestion.answered_at, Suggestion.status, Suggestion.bureau_id)
    ).all()
    bureaus = {b.id: b for b in db.session.scalars(sa.select(Bureau))}
    open_counts: dict[int | None, list[int]] = {}
    shares = [AnsweredShare(15, 0, 0), AnsweredShare(30, 0, 0)]
    answered = closed = 0
    for created_at, answered_at, status, bureau_id in rows:
        if status in OPEN_STATUSES:
            age = (now - created_at).days
            bucket = next(i for i, (limit, _label) in enumerate(AGE_BUCKETS) if limit is None or age <= limit)
            open_counts.setdefault(bureau_id, [0] * len(AGE_BUCKETS))[bucket] += 1
        else:
            answered += 1
            closed += status is SuggestionStatus.CLOSED
        for share in shares:
            window = dt.timedelta(days=share.days)
            if answered_at is not None and answered_at - created_at <= window:
                share.answered_in_time += 1
                share.judged += 1
            elif answered_at is not None or now - created_at >= window:
                share.judged += 1
    ordered = sorted(open_counts.items(), key=lambda kv: (kv[0] is not None, -sum(kv[1])))
    table = [(bureaus.get(bid) if bid is not None else None, counts, sum(counts)) for bid, counts in ordered]
    bucket_totals = [sum(counts[i] for _b, counts, _t in table) for i in range(len(AGE_BUCKETS))]
    return Report(
        rows=table,
        bucket_totals=bucket_totals,
        open_total=sum(bucket_totals),
        received=len(rows),
        answered=answered,
        closed=closed,
        shares=shares,
    )
