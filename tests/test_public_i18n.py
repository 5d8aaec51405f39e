"""Every public page reads wholly in the reader's language: no Chinese interface text on English
pages, no English interface text on Chinese pages (place names come from the database in both)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app import create_app
from extensions import babel
from models import HearingNotice, ProgrammeKind, Role, VenueKind, db
from services import clinic, suggestions
from tests import public_builders as pb
from tests.conftest import base_config
from tests.factories import make_community, make_subdistrict, make_user, make_venue
from timeutil import span_utc

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CODE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z0-9]{10}(?![A-Za-z0-9])"
)  # reference codes and tracking numbers are language-neutral
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TEXT_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "label"}


class InterfaceText(HTMLParser):
    """Visible text and spoken attributes, outside elements marked as another language."""

    def __init__(self, other_language: str):
        super().__init__(convert_charrefs=True)
        self.other = other_language
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # A textarea holds what the person typed, echoed back: not interface text.
        skip = tag in ("script", "style", "textarea") or (attrs.get("lang") or "").lower().startswith(self.other)
        if not skip and not self._hidden():
            self.chunks += [v for k, v in attrs.items() if k in TEXT_ATTRIBUTES and v]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.chunks.append(attrs["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.chunks.append(data.strip())


def interface_text(html: str, other_language: str) -> list[str]:
    parser = InterfaceText(other_language)
    parser.feed(html)
    return parser.chunks


@pytest.fixture(scope="module")
def translations_dir() -> Path:
    """The shipped, compiled catalogues (tests/test_translations.py checks they are complete and current)."""
    return ROOT / "translations"


@pytest.fixture
def site(app, database_url, translations_dir):
    """A served app with the merged catalogue, and one of everything a resident may see."""
    sub = make_subdistrict(slug="loufeng")
    sub.name_zh, sub.name_en = "娄葑街道", "Loufeng Subdistrict"
    community = make_community(sub, slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    venue = make_venue(
        community=community,
        name_zh="金湖民众联络所",
        name_en="Jinhu Liaison Centre",
        address_zh="金湖邻里中心二楼",
        address_en="2F, Jinhu Neighbourhood Centre",
    )
    official = pb.official()
    contact = pb.contact_day(
        community, venue=venue, officials=[official], note_zh="请带身份证。", note_en="Please bring an ID card."
    )
    day = pb.next_weekend_day()
    courtroom = make_venue(
        VenueKind.COURTROOM,
        name_zh="第一法庭",
        name_en="Courtroom 1",
        address_zh="苏州工业园区人民法院",
        address_en="SIP People's Court",
    )
    court = pb.session(ProgrammeKind.HOLIDAY_COURT, day, dt.time(9), dt.time(12), venue=courtroom, bilingual=True)
    starts, ends = span_utc(day, dt.time(9, 30), dt.time(10, 30))
    db.session.add(
        HearingNotice(
            occurrence=court,
            case_number="(2026) 0591-1234",
            cause_zh="劳动争议",
            cause_en="Labour dispute",
            courtroom=courtroom,
            starts_at=starts,
            ends_at=ends,
            bilingual=True,
        )
    )
    session = pb.clinic_session(
        day,
        venue=make_venue(
            VenueKind.CLINIC_ROOM,
            name_zh="娄葑假日法律诊所",
            name_en="Loufeng Holiday Legal Clinic",
            address_zh="娄葑邻里中心一楼",
            address_en="1F, Loufeng Centre",
        ),
    )
    slot = clinic.ensure_slots(session)[0]
    suggestion = suggestions.submit(contact.id, "建议 / suggestion", "周先生", "13812345678")
    staff = make_user(Role.STAFF, email="staff@test.example", name="工作人员", name_en="Staff Member")
    bureau = pb.bureau()
    suggestions.assign(suggestion, bureau.id, staff)
    suggestions.answer(suggestion, "答复 / answer", staff)
    db.session.commit()
    served = create_app(base_config(database_url, BABEL_TRANSLATION_DIRECTORIES=str(translations_dir)))
    # Flask-Babel caches loaded catalogues per process, not per app: start and end with a clean cache.
    babel.domain_instance.cache.clear()
    yield {
        "app": served,
        "contact": contact.id,
        "court": court.id,
        "clinic": session.id,
        "slot": slot.id,
        "number": suggestion.tracking_number,
        "suggestion": suggestion.id,
    }
    babel.domain_instance.cache.clear()
    with served.app_context():
        db.engine.dispose()


def pages(site) -> list[tuple[str, str, dict | None]]:
    """(method, url, form) of every public page, and of the pages that show messages."""
    return [
        ("GET", "/", None),
        ("GET", "/?community=jinhu", None),
        ("GET", "/contact-days", None),
        ("GET", "/contact-days?view=month", None),
        ("GET", "/contact-days?view=month&month=bad", None),
        ("GET", "/holiday-court", None),
        ("GET", "/legal-clinic", None),
        ("GET", f"/sessions/{site['contact']}", None),
        ("GET", f"/sessions/{site['court']}", None),
        ("GET", f"/sessions/{site['clinic']}", None),
        ("GET", "/communities", None),
        ("GET", "/communities/jinhu", None),
        ("GET", "/search?q=jinhu", None),
        ("GET", "/search?q=" + "x" * 101, None),
        ("GET", f"/legal-clinic/book/{site['clinic']}", None),
        (
            "POST",
            f"/legal-clinic/book/{site['clinic']}",
            {"slot": site["slot"], "name": "", "phone": "123", "language": "xx", "topic": "<script>"},
        ),
        (
            "POST",
            f"/legal-clinic/book/{site['clinic']}",
            {"slot": site["slot"], "name": "张三", "phone": "123", "language": "zh_CN"},
        ),
        ("GET", "/legal-clinic/book/cancel", None),
        ("POST", "/legal-clinic/book/cancel", {"reference": "ABCDEFGHJK", "phone": "13812345678"}),
        ("GET", "/suggestions/", None),
        ("GET", f"/suggestions/track?number={site['number']}", None),
        ("GET", "/suggestions/track?number=NOTHING", None),
        ("GET", f"/suggestions/new/{site['contact']}", None),
        ("POST", f"/suggestions/new/{site['contact']}", {"content": "长" * 2001, "contact": "me@"}),
        ("GET", "/no-such-page", None),
    ]


STAFF_PAGES = ["/legal-clinic/book/manage", "/suggestions/manage", "/suggestions/manage/report"]


def _fetch_all(site, lang: str):
    client = site["app"].test_client()
    client.get(f"/?lang={lang}")  # the remembered choice carries every following request
    for method, url, data in pages(site):
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500, url
        yield url, response.get_data(as_text=True)
    client.post("/login", data={"email": "staff@test.example", "password": "correct horse battery"})
    for url in STAFF_PAGES + [
        f"/legal-clinic/book/manage/{site['clinic']}",
        f"/suggestions/manage/{site['suggestion']}",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        yield url, response.get_data(as_text=True)


def test_english_pages_contain_no_chinese_interface_text(site):
    for url, html in _fetch_all(site, "en"):
        assert '<html lang="en">' in html, url
        chinese = [chunk for chunk in interface_text(html, "zh") if CJK.search(chunk)]
        # Data a resident typed stays as typed; everything else must be English.
        chinese = [c for c in chinese if c not in ("建议 / suggestion", "答复 / answer", "周先生")]
        assert chinese == [], f"{url}: {chinese}"


def test_chinese_pages_contain_no_english_interface_text(site):
    # Inside what the resident and staff typed ("建议 / suggestion"), the tag the markup message names,
    # and product and file-format names, which Chinese text writes in Latin letters too.
    allowed = {"suggestion", "answer", "script", "Google", "Outlook", "Thunderbird", "Nextcloud", "ics"}
    for url, html in _fetch_all(site, "zh"):
        assert '<html lang="zh-CN">' in html, url
        words = {
            word for chunk in interface_text(html, "en") for word in LATIN_WORD.findall(CODE.sub("", chunk))
        } - allowed
        assert words == set(), f"{url}: {sorted(words)}"


def test_dates_are_written_in_words_in_each_language(site):
    client = site["app"].test_client()
    english = client.get("/contact-days?lang=en").get_data(as_text=True)
    chinese = client.get("/contact-days?lang=zh").get_data(as_text=True)
    assert re.search(
        r">(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} [A-Z][a-z]+( \d{4})?<", english
    )
    assert re.search(r">(\d{4}年)?\d{1,2}月\d{1,2}日星期[一二三四五六日]<", chinese)


def test_the_chinese_catalogue_keeps_placeholders_and_is_chinese():
    """Every Chinese entry is translated, not fuzzy, keeps its placeholders and is written in Chinese."""
    with (ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        # A plural entry (ngettext) has a tuple of ids and, in Chinese, one form: check each form.
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(forms) or message.fuzzy:
            problems.append(f"empty or fuzzy: {msgid!r}")
        for form in forms:
            if sorted(re.findall(r"%\((\w+)\)", msgid)) != sorted(re.findall(r"%\((\w+)\)", form or "")):
                problems.append(f"placeholders differ: {msgid!r}")
            if (
                msgid != "%(field)s may not contain HTML or script tags such as <script>; plain text only."
                and not CJK.search(form or "")
            ):
                problems.append(f"not Chinese: {msgid!r}")
    assert problems == []
