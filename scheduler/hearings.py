"""Public hearing notices of the holiday court: case number, cause of action, courtroom and time.

A notice is published to everyone (pages and the holiday-court feed), so it has no field for a
party, and the free text is checked for the personal data people most often paste by mistake.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import gettext as _

from models import HearingNotice, Occurrence, OccurrenceStatus, ProgrammeKind, db, record, utcnow
from services.errors import RuleViolation
from timeutil import local_to_utc, to_local

# A Chinese case number: the year in brackets, then court, type and number, e.g. （2026）苏0591民初1234号.
CASE_NUMBER = re.compile(r"^（\d{4}）\S{2,50}号$")
PERSONAL_DATA = [
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),  # mainland mobile number
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\w)"),  # resident identity card number
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # email address
]


# Party names: a cause of action names the dispute (买卖合同纠纷), never who is in it. People write
# parties as "X诉Y" (X sues Y), after a party role (原告张三, 被告：某公司), or in English "X v. Y".
# Words where 诉 is no party's claim (上诉, 起诉, 反诉, 诉讼, 诉前, 之诉...) are left alone.
_CJK_OR_WORD = r"[\u4e00-\u9fff\w]"
PARTY_NAMES = [
    re.compile(
        rf"{_CJK_OR_WORD}*(?<![上起反申投控公自撤应败胜告之])(?<={_CJK_OR_WORD})诉(?![讼前求状权])"
        rf"{_CJK_OR_WORD}"
    ),
    # a party role, then a name (but 第三人撤销之诉, 被执行人异议... are causes)
    re.compile(
        r"(?:原告|被告|上诉人|被上诉人|申请人|被申请人|第三人|当事人|申请执行人|被执行人)"
        r"[:：\s]*(?!撤销|异议|之)[\u4e00-\u9fffA-Za-z]"
    ),
    re.compile(r"\b[A-Za-z][\w.&'-]*\s+(?:v\.?|vs\.?|Vs\.?|V\.|VS\.?)\s+[A-Z]"),
    re.compile(
        r"\b(?i:plaintiff|defendant|appellant|appellee|respondent|claimant|applicant)s?\b"
        r"[\s:,]+(?:Mr\.?\s+|Ms\.?\s+|Mrs\.?\s+)?[A-Z]"
    ),
]


def names_a_party(text: str) -> bool:
    return any(pattern.search(text or "") for pattern in PARTY_NAMES)


def normalise_case_number(value: str) -> str:
    """Court papers bracket the year with full-width parentheses; people often type ASCII ones."""
    return (value or "").strip().replace("(", "（").replace(")", "）")


def check_public_text(*texts: str) -> None:
    for text in texts:
        if any(pattern.search(text or "") for pattern in PERSONAL_DATA):
            raise RuleViolation(
                _("A hearing notice is public: leave out phone numbers, identity numbers and email addresses."),
                "personal_data",
                400,
            )
        if names_a_party(text):
            raise RuleViolation(
                _(
                    "A hearing notice is public: give the cause of action only (e.g. 买卖合同纠纷), "
                    "without the names of the parties."
                ),
                "party_name",
                400,
            )


def add_hearing_notice(
    occurrence: Occurrence,
    *,
    case_number: str,
    cause_zh: str,
    cause_en: str,
    local_start: dt.time,
    local_end: dt.time,
    actor,
    courtroom_id: int | None = None,
    bilingual: bool = False,
) -> HearingNotice:
    """List a hearing in a holiday-court session; its time must lie within the session."""
    if occurrence.programme.kind is not ProgrammeKind.HOLIDAY_COURT:
        raise RuleViolation(_("Hearing notices belong to holiday-court sessions."), "not_court", 400)
    if occurrence.status is not OccurrenceStatus.SCHEDULED:
        raise RuleViolation(_("This session is cancelled."), "cancelled", 409)
    number = normalise_case_number(case_number)
    if not CASE_NUMBER.match(number) or len(number) > 64:
        raise RuleViolation(
            _("Write the case number as on court papers, e.g. (2026)苏0591民初1234号."), "bad_case_number", 400
        )
    if not (cause_zh or "").strip():
        raise RuleViolation(_("The cause of action is required."), "no_cause", 400)
    check_public_text(cause_zh, cause_en)
    day = to_local(occurrence.starts_at).date()
    starts_at, ends_at = local_to_utc(day, local_start), local_to_utc(day, local_end)
    if ends_at <= starts_at or starts_at < occurrence.starts_at or ends_at > occurrence.ends_at:
        raise RuleViolation(_("The hearing must lie within the session's hours."), "outside_session", 400)
    if db.session.scalar(sa.select(HearingNotice.id).where(HearingNotice.case_number == number)):
        raise RuleViolation(_("A notice for this case number already exists."), "duplicate_case", 409)
    notice = HearingNotice(
        occurrence=occurrence,
        case_number=number,
        cause_zh=cause_zh.strip(),
        cause_en=(cause_en or "").strip(),
        courtroom_id=courtroom_id or occurrence.venue_id,
        starts_at=starts_at,
        ends_at=ends_at,
        bilingual=bilingual or occurrence.bilingual,
    )
    db.session.add(notice)
    db.session.flush()
    record(actor, "hearing_notice.add", "hearing_notice", notice.id, case_number=number)
    return notice


def cancel_hearing_notice(notice: HearingNotice, actor) -> HearingNotice:
    if notice.status is OccurrenceStatus.CANCELLED:
        raise RuleViolation(_("This hearing notice is already cancelled."), "already_cancelled", 409)
    notice.status = OccurrenceStatus.CANCELLED
    notice.sequence = (notice.sequence or 0) + 1
    notice.last_modified = utcnow()
    record(actor, "hearing_notice.cancel", "hearing_notice", notice.id, case_number=notice.case_number)
    db.session.flush()
    return notice
