"""Finding a community from what residents know: its name, its streets, compounds and landmarks,
typed in Chinese, English or pinyin (with or without tone marks).

Each community and each area keeps a `search_key`, computed when it is saved: the names in
both languages and the pinyin of the Chinese ones, lower-cased, without tone marks, spaces or
punctuation, one segment per name, segments separated by "|". A query is normalised the same
way, so a search is one LIKE per word on one column, and ranking runs only over the matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from pypinyin import Style, lazy_pinyin
from sqlalchemy import orm

SEPARATOR = "|"
MAX_RESULTS = 50
# Letters with a tone digit after each syllable, as in "du2 shu4": the digits are tones, not numbers.
_TONE_DIGITS = re.compile(r"^(?:[a-zü]+[1-5]?\s*)+$")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")


def _strip_marks(text: str) -> str:
    """ "dú shū" -> "du shu", "lǜ" -> "lu": tone marks and diaereses are dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFKC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def compact(text: str) -> str:
    """Lower case, no tone marks, no spaces or punctuation: "Dú-shū Lake" -> "dushulake"."""
    return _NOT_WORD.sub("", _strip_marks(text).casefold())


def _pinyin_variants(text: str) -> list[str]:
    """The toneless pinyin of the Chinese characters in `text`, run together ("独墅湖" -> "dushuhu").

    ü is written both as "v" (what pinyin keyboards take) and as "u" (what people type)."""
    if not _HAN.search(text):
        return []
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore", v_to_u=False)
    joined = compact("".join(syllables))
    variants = [joined]
    if "v" in joined:
        variants.append(joined.replace("v", "u"))
    return variants


def key_for(*names: str) -> str:
    """The search key of a set of names: each name compacted, plus the pinyin of Chinese names."""
    segments: list[str] = []
    for name in names:
        if not name:
            continue
        for segment in [compact(name), *_pinyin_variants(name)]:
            if segment and segment not in segments:
                segments.append(segment)
    return SEPARATOR + SEPARATOR.join(segments) + SEPARATOR if segments else ""


def query_words(q: str) -> list[str]:
    """What to look for: the whole query compacted, and its words when there are several.

    Tone digits in pinyin ("du2 shu1") are dropped; a query of only punctuation finds nothing."""
    text = _strip_marks(q).casefold().strip()
    if _TONE_DIGITS.match(text):
        text = re.sub(r"[1-5]", "", text)
    words = [compact(w) for w in text.split()]
    return [w for w in words if w]


def _area_names(area) -> tuple[str, str]:
    return area.name_zh, area.name_en


def community_key(community) -> str:
    """A community's own names, its slug and all its areas' names: everything it can be found by."""
    names = [community.name_zh, community.name_en, community.slug]
    # The generic word "社区"/"Community" is part of every name; the bare names are what people type.
    names += [
        re.sub(r"社区$", "", community.name_zh or ""),
        re.sub(r"\s*community$", "", community.name_en or "", flags=re.I),
    ]
    for area in community.areas:
        names += _area_names(area)
    return key_for(*names)


def refresh_keys(session: orm.Session, communities) -> None:
    """Recompute the keys of these communities and their areas (after a bulk load, or a migration)."""
    for community in communities:
        for area in community.areas:
            area.search_key = key_for(*_area_names(area))
        community.search_key = community_key(community)
    session.flush()


def _before_flush(session: orm.Session, flush_context, instances) -> None:
    """Keep keys in step with names on every ORM save (admin edits, imports, tests)."""
    from models import Community, CommunityArea

    with session.no_autoflush:
        _refresh_touched(session, Community, CommunityArea)


def _refresh_touched(session: orm.Session, Community, CommunityArea) -> None:
    touched: set = set()
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, CommunityArea):
            obj.search_key = key_for(*_area_names(obj))
            community = obj.community
            if community is None and obj.community_id is not None:
                community = session.get(Community, obj.community_id)
            if community is not None:
                touched.add(community)
        elif isinstance(obj, Community):
            touched.add(obj)
    for obj in session.deleted:
        if isinstance(obj, CommunityArea) and obj.community is not None and obj.community not in session.deleted:
            touched.add(obj.community)
    for community in touched:
        community.search_key = community_key(community)


def install(session_class=orm.Session) -> None:
    """Register the before-flush hook once (called from models import time is too early for Flask)."""
    if not sa.event.contains(session_class, "before_flush", _before_flush):
        sa.event.listen(session_class, "before_flush", _before_flush)


# ---------------------------------------------------------------- ranking


@dataclass
class Hit:
    community: object
    rank: int
    area: object | None  # the area that matched, shown to the reader as the reason


def _segments(key: str) -> list[str]:
    return [s for s in (key or "").split(SEPARATOR) if s]


def _score(segments: list[str], whole: str, words: list[str]) -> int | None:
    """0 exact name, 1 name starts with the query, 2 name contains it, 3 the words are spread
    over several names; None when this key does not match at all."""
    if whole in segments:
        return 0
    if any(s.startswith(whole) for s in segments):
        return 1
    if any(whole in s for s in segments):
        return 2
    if len(words) > 1 and all(any(w in s for s in segments) for w in words):
        return 3
    return None


def rank(communities, q: str) -> list[Hit]:
    """Order matched communities: their own name first, then through an area; better match first."""
    words = query_words(q)
    if not words:
        return []
    whole = "".join(words)
    hits = []
    for community in communities:
        own = _score(
            _segments(
                key_for(
                    community.name_zh, community.name_en, community.slug, re.sub(r"社区$", "", community.name_zh or "")
                )
            ),
            whole,
            words,
        )
        best_area, best_area_score = None, None
        for area in community.areas:
            score = _score(_segments(area.search_key or key_for(*_area_names(area))), whole, words)
            if score is not None and (best_area_score is None or score < best_area_score):
                best_area, best_area_score = area, score
        if own is not None:
            hits.append(Hit(community, own, None))
        elif best_area is not None:
            hits.append(Hit(community, 10 + best_area_score, best_area))
        else:  # the words are spread over the community's name and an area ("xinghai street")
            hits.append(Hit(community, 20, None))
    hits.sort(key=lambda h: (h.rank, h.community.name_en.casefold(), h.community.id))
    return hits


def find_communities(q: str, limit: int = MAX_RESULTS) -> list[Hit]:
    """Communities matching `q`, best first. One query for the candidates, one for their areas."""
    from models import Community, db

    words = query_words(q)
    if not words:
        return []
    whole = "".join(words)
    conditions = [Community.search_key.contains(whole, autoescape=True)]
    if len(words) > 1:
        conditions.append(sa.and_(*(Community.search_key.contains(w, autoescape=True) for w in words)))
    candidates = db.session.scalars(
        sa.select(Community)
        .where(sa.or_(*conditions))
        .options(orm.joinedload(Community.subdistrict), orm.selectinload(Community.areas))
        .order_by(Community.id)
        .limit(limit * 4)  # ranking may reorder; a generous bound keeps it one cheap query
    ).all()
    return rank(candidates, q)[:limit]


def register_cli(app) -> None:
    """`flask --app app search reindex`: recompute every key (after changing how keys are made)."""
    import click
    from flask.cli import AppGroup

    group = AppGroup("search", help="Community search keys.")

    @group.command("reindex")
    def reindex() -> None:
        from models import Community, db

        communities = list(db.session.scalars(sa.select(Community).options(orm.selectinload(Community.areas))))
        refresh_keys(db.session, communities)
        db.session.commit()
        click.echo(f"{len(communities)} communities reindexed.")

    app.cli.add_command(group)
