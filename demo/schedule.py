"""Demo data: occurrences, shifts and sample hearing notices.

Occurrences from the series' start (2026-01-01) to today + 90 days, shifts from a week ago to
today + 90 days, and a few public hearing notices with invented case numbers that say "sample"
(示例). Everything goes through the real generators, so loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import HearingNotice, Occurrence, OccurrenceStatus, Programme, ProgrammeKind, db
from timeutil import local_today, to_local

SERIES_START = dt.date(2026, 1, 1)
HORIZON_DAYS = 90
SHIFT_HISTORY_DAYS = 7

# (cause zh, cause en, bilingual): common civil and commercial causes heard at weekends.
SAMPLE_CAUSES = [
    ("买卖合同纠纷", "Sale contract dispute", False),
    ("劳动争议", "Labour dispute", True),
    ("民间借贷纠纷", "Private lending dispute", False),
    ("物业服务合同纠纷", "Property management contract dispute", False),
    ("房屋租赁合同纠纷", "House lease contract dispute", True),
    ("机动车交通事故责任纠纷", "Motor vehicle accident liability dispute", False),
]


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
    from scheduler.occurrences import generate_occurrences
    from scheduler.shifts import generate_shifts

    today = local_today()
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    occurrences = generate_occurrences(SERIES_START, horizon)
    summary.count("occurrences", occurrences.created)
    shifts = generate_shifts(today - dt.timedelta(days=SHIFT_HISTORY_DAYS), horizon)
    summary.count("patrol shifts", shifts.created)
    db.session.flush()
    summary.count("sample hearing notices", _load_hearing_notices(today))


def _load_hearing_notices(today: dt.date) -> int:
    """Two sample hearings in each of the next six holiday-court sessions (morning courtroom)."""
    sessions = db.session.scalars(
        sa.select(Occurrence)
        .join(Programme)
        .where(
            Programme.kind == ProgrammeKind.HOLIDAY_COURT,
            Occurrence.status == OccurrenceStatus.SCHEDULED,
            Occurrence.rule_date >= today,
        )
        .order_by(Occurrence.starts_at, Occurrence.id)
        .limit(6)
    ).all()
    existing = set(
        db.session.scalars(sa.select(HearingNotice.case_number).where(HearingNotice.case_number.like("%示例%")))
    )
    rows, number = [], 0
    for session in sessions:
        start = to_local(session.starts_at)
        for slot in range(2):
            number += 1
            cause_zh, cause_en, bilingual = SAMPLE_CAUSES[(number - 1) % len(SAMPLE_CAUSES)]
            # Numbered by position, so a second load finds the same numbers and adds nothing.
            case_number = f"（{start.year}）苏0591民初示例{number:03d}号"
            if case_number in existing:
                continue
            begins = session.starts_at + dt.timedelta(hours=slot)
            rows.append(
                {
                    "occurrence_id": session.id,
                    "case_number": case_number,
                    "cause_zh": f"{cause_zh}（示例）",
                    "cause_en": f"{cause_en} (sample)",
                    "courtroom_id": session.venue_id,
                    "starts_at": begins,
                    "ends_at": min(begins + dt.timedelta(hours=1), session.ends_at),
                    "bilingual": bilingual or session.bilingual,
                }
            )
    if rows:
        db.session.execute(sa.insert(HearingNotice), rows)
    return len(rows)
