"""Demo data: clinic slots for upcoming clinic sessions, sample bookings and suggestions.

Sample rows are found again by their fixed reference codes and tracking numbers, so loading
twice adds nothing. Works with no sessions at all (suggestions then name no session).
"""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from sqlalchemy import orm

from models import (
    AreaKind,
    Bureau,
    ClinicBooking,
    ClinicSlot,
    Community,
    CommunityArea,
    Occurrence,
    OccurrenceStatus,
    Programme,
    ProgrammeKind,
    Suggestion,
    SuggestionStatus,
    db,
    utcnow,
)
from services import clinic, search
from services.codes import ALPHABET, LENGTH
from services.errors import RuleViolation

SEED = 20260606
SLOT_DAYS_AHEAD = 120  # beyond the scheduler's default 90-day horizon: every generated session

SAMPLE_BOOKINGS = [  # (name, phone, topic, language): sample people, not real residents
    ("王女士（示例）", "13900001001", "劳动合同到期后未续签，能否要求补偿？", "zh_CN"),
    ("李先生（示例）", "13900001002", "房屋租赁押金不退怎么办？", "zh_CN"),
    ("Ms. Anna Schmidt (sample)", "+4915100001003", "Question about an employment contract in English.", "en"),
    ("陈先生（示例）", "13900001004", "", "zh_CN"),
    ("Mr. Tan Wei Ming (sample)", "+6590001005", "Tenancy deposit not returned by landlord.", "en"),
    ("赵女士（示例）", "13900001006", "邻里纠纷如何调解？", "zh_CN"),
]

# (content, submitter name, contact, status, days ago received, days to answer, bureau slug, answer)
SAMPLE_SUGGESTIONS = [
    (
        "建议在地铁站出口增设非机动车停放点。（示例）",
        "周先生（示例）",
        "13900002001",
        SuggestionStatus.CLOSED,
        60,
        9,
        "transport",
        "已在两个出口增设停放点，并安排人员引导停放。（示例答复）",
    ),
    (
        "小区周边夜间施工噪声较大，希望加强管理。（示例）",
        "",
        "",
        SuggestionStatus.CLOSED,
        48,
        20,
        "environment",
        "已约谈施工单位，夜间22:00后禁止高噪声作业。（示例答复）",
    ),
    (
        "Please add English signs at the neighbourhood centre. (sample)",
        "Mr. John Smith (sample)",
        "john.smith@example.com",
        SuggestionStatus.ANSWERED,
        35,
        12,
        "social-affairs",
        "Bilingual signs will be installed in the neighbourhood centre next month. (sample answer)",
    ),
    (
        "希望增加社区老年食堂的供餐时段。（示例）",
        "吴女士（示例）",
        "13900002004",
        SuggestionStatus.ANSWERED,
        20,
        6,
        "social-affairs",
        "社区老年食堂自下月起增加晚餐供应。（示例答复）",
    ),
    ("学校门口上下学时段交通拥堵。（示例）", "", "", SuggestionStatus.ASSIGNED, 40, None, "transport", ""),
    (
        "公园健身器材损坏，建议维修。（示例）",
        "郑先生（示例）",
        "13900002006",
        SuggestionStatus.ASSIGNED,
        18,
        None,
        "urban-management",
        "",
    ),
    ("希望开设外籍居民中文学习班。（示例）", "", "", SuggestionStatus.ASSIGNED, 9, None, "education", ""),
    (
        "Street lights on the lakeside path are often off at night. (sample)",
        "",
        "",
        SuggestionStatus.RECEIVED,
        4,
        None,
        None,
        "",
    ),
    (
        "建议在小区增设快递集中收发点。（示例）",
        "孙女士（示例）",
        "13900002009",
        SuggestionStatus.RECEIVED,
        2,
        None,
        None,
        "",
    ),
    ("社区卫生服务站周末能否开放？（示例）", "", "", SuggestionStatus.RECEIVED, 33, None, None, ""),
]


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
    now = utcnow()
    rng = random.Random(SEED)  # fixed seed: the same sample codes on every machine and every run
    _load_areas(summary)
    _load_slots(summary, now)
    _load_bookings(summary, rng, now)
    _load_suggestions(summary, rng, now)


def _load_areas(summary) -> None:
    """Streets, compounds and landmarks of every sample community, so residents find it by them."""
    from . import names

    communities = {c.slug: c for c in db.session.scalars(sa.select(Community).where(Community.is_sample.is_(True)))}
    present = set(db.session.execute(sa.select(CommunityArea.community_id, CommunityArea.name_zh)).all())
    rows = []
    for slug, zh, pinyin in names.COMMUNITIES:
        community = communities.get(slug)
        if community is None:
            continue
        areas = names.AREAS_BY_COMMUNITY.get(slug) or [
            (kind, name_zh.format(zh=zh), name_en.format(en=pinyin)) for kind, name_zh, name_en in names.GENERIC_AREAS
        ]
        for position, (kind, name_zh, name_en) in enumerate(areas):
            if (community.id, name_zh) not in present:
                rows.append(
                    {
                        "community_id": community.id,
                        "kind": AreaKind(kind),
                        "name_zh": name_zh,
                        "name_en": name_en,
                        "position": position,
                        "search_key": search.key_for(name_zh, name_en),
                    }
                )
    if rows:
        db.session.execute(sa.insert(CommunityArea), rows)
        summary.count("community areas", len(rows))
    # Bulk inserts skip the ORM hook: compute the community keys once here, with their areas.
    stale = list(
        db.session.scalars(
            sa.select(Community)
            .where(Community.id.in_([c.id for c in communities.values()]))
            .options(orm.selectinload(Community.areas))
            .execution_options(populate_existing=True)
        )
    )
    search.refresh_keys(db.session, stale)


def _code(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(LENGTH))


def _clinic_sessions(now: dt.datetime) -> list[Occurrence]:
    return list(
        db.session.scalars(
            sa.select(Occurrence)
            .join(Programme)
            .where(
                Programme.kind == ProgrammeKind.LEGAL_CLINIC,
                Occurrence.status == OccurrenceStatus.SCHEDULED,
                Occurrence.starts_at > now,
                Occurrence.starts_at < now + dt.timedelta(days=SLOT_DAYS_AHEAD),
            )
            .order_by(Occurrence.starts_at, Occurrence.id)
        )
    )


def _load_slots(summary, now: dt.datetime) -> None:
    sessions = _clinic_sessions(now)
    if not sessions:
        return
    existing = set(
        db.session.execute(
            sa.select(ClinicSlot.occurrence_id, ClinicSlot.starts_at).where(
                ClinicSlot.occurrence_id.in_([o.id for o in sessions])
            )
        ).all()
    )
    rows = [
        {"occurrence_id": o.id, "starts_at": start, "ends_at": end, "capacity": capacity, "booked_count": 0}
        for o in sessions
        for start, end, capacity in clinic.slot_plan(o)
        if (o.id, start) not in existing
    ]
    if rows:
        db.session.execute(sa.insert(ClinicSlot), rows)
        summary.count("clinic slots", len(rows))


def _load_bookings(summary, rng: random.Random, now: dt.datetime) -> None:
    references = [_code(rng) for _ in SAMPLE_BOOKINGS]
    present = set(db.session.scalars(sa.select(ClinicBooking.reference).where(ClinicBooking.reference.in_(references))))
    sessions = [o for o in _clinic_sessions(now) if o.bilingual][:3]
    if not sessions:
        return
    added = 0
    for index, ((name, phone, topic, language), reference) in enumerate(zip(SAMPLE_BOOKINGS, references)):
        if reference in present:
            continue
        occurrence = sessions[index % len(sessions)]
        slots = [s for s in clinic.ensure_slots(occurrence) if s.starts_at > now]
        if not slots:
            continue
        try:
            booking = clinic.book(slots[index % len(slots)].id, name, phone, topic, language, now=now)
        except RuleViolation:
            continue  # that slot is full or the phone already booked there: a sample less
        booking.reference = reference
        added += 1
    if added:
        db.session.flush()
        summary.count("clinic bookings", added)


def _load_suggestions(summary, rng: random.Random, now: dt.datetime) -> None:
    numbers = [_code(rng) for _ in SAMPLE_SUGGESTIONS]
    present = set(
        db.session.scalars(sa.select(Suggestion.tracking_number).where(Suggestion.tracking_number.in_(numbers)))
    )
    if len(present) == len(numbers):
        return
    bureaus = dict(db.session.execute(sa.select(Bureau.slug, Bureau.id)).all())
    # Recent sessions first (suggestions come from sessions that took place), else upcoming ones.
    contact = (
        sa.select(Occurrence.id)
        .join(Programme)
        .where(Programme.kind == ProgrammeKind.CONTACT_DAY, Occurrence.status == OccurrenceStatus.SCHEDULED)
    )
    session_ids = list(
        db.session.scalars(
            contact.where(Occurrence.starts_at <= now).order_by(Occurrence.starts_at.desc(), Occurrence.id).limit(20)
        )
    ) or list(db.session.scalars(contact.order_by(Occurrence.starts_at, Occurrence.id).limit(20)))
    rows = []
    for index, (item, number) in enumerate(zip(SAMPLE_SUGGESTIONS, numbers)):
        if number in present:
            continue
        content, name, contact_info, status, days_ago, days_to_answer, bureau, answer = item
        received = now - dt.timedelta(days=days_ago, hours=index)
        answered_at = received + dt.timedelta(days=days_to_answer) if days_to_answer is not None else None
        rows.append(
            {
                "tracking_number": number,
                "occurrence_id": session_ids[index % len(session_ids)] if session_ids else None,
                "content": content,
                "submitter_name": name,
                "submitter_contact": contact_info,
                "bureau_id": bureaus.get(bureau) if bureau else None,
                "status": status,
                "answer": answer,
                "answered_at": answered_at,
                "closed_at": answered_at + dt.timedelta(days=2) if status is SuggestionStatus.CLOSED else None,
                "created_at": received,
                "updated_at": answered_at or received,
            }
        )
    if rows:
        db.session.execute(sa.insert(Suggestion), rows)
        summary.count("suggestions", len(rows))
