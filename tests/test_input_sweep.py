"""Every rule of the URL map, every method, every role, with hostile values: never a 5xx.

Hostile values go into the path (ids of 2**31 and more, negative, zero; 10 kB strings, NUL bytes),
the query string (pages, months, dates of the years 0001 and 9999, Feb 30, ids out of range) and
the posted form fields (the fields each page's forms send, plus the ids the views read directly).
The routes come from app.url_map, so a route added later is swept without listing it here.

PostgreSQL is where an id beyond INTEGER or a NUL byte is an error instead of "no match": run with
TEST_DATABASE_URL for the claim that matters (the test prints how many requests it made).
"""

from __future__ import annotations

import collections
import json
import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import got_request_exception, request

import demo
from api.openapi import query_parameters
from api.tokens import issue_token
from inputs import IdConverter
from models import (
    ClinicSlot,
    FeedKind,
    FeedToken,
    HearingNotice,
    HolidayOverride,
    Occurrence,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Role,
    Series,
    SeriesSite,
    Shift,
    ShiftTemplate,
    Suggestion,
    User,
    db,
)
from tests.test_prod_forms_fuzz import login_as

ROLES = ("anonymous", "volunteer", "coordinator", "staff", "official", "admin")
OVER = str(2**31)  # one past PostgreSQL's INTEGER
TOP = str(2**31 - 1)
HUGE = "99999999999999999999"
LONG = "x" * 10_000  # 10 kB
NUL = "a\x00b"

# Path values per converter; the real value of the argument is swept too (with the query and form values).
PATH_VALUES = {
    "id": [OVER, TOP, HUGE, "-1", "0"],
    "string": [LONG, NUL, OVER, "9999-12-31", "%"],
}

ID_PARAMS = ("bureau", "shift_id", "team", "team_id", "volunteer_id", "community_id", "programme", "id")
DATE_PARAMS = ("start", "first", "last", "from", "to", "day", "date")
TEXT_PARAMS = (
    "q",
    "community",
    "subdistrict",
    "status",
    "when",
    "sort",
    "days",
    "show",
    "lang",
    "number",
    "reference",
    "next",
    "kind",
)
# Hostile themes: (ids, pages, dates, months, years, text).
THEMES = {
    "over": (OVER, HUGE, "9999-12-31", "9999-12", "9999", HUGE),
    "top": (TOP, "10001", "2100-12-31", "2100-12", "2101", TOP),
    "low": ("-1", "-1", "0001-01-01", "0001-01", "0001", "-1"),
    "low_edge": ("0", "0", "2000-01-01", "2000-01", "1999", "0"),
    "impossible": (HUGE, "abc", "2031-02-30", "2031-13", "0", ""),
    "long": (LONG, LONG, LONG, LONG, LONG, LONG),
    "nul": (NUL, NUL, NUL, NUL, NUL, NUL),
    # Blank-looking: Optional() stops a field's validation on it and clears SelectField's own
    # "not a valid choice" error, so a view that trusted the field met " " (a 500 found this way).
    "blank": (" ", " ", " ", " ", " ", " "),
}
FORM_ID_FIELDS = (
    "shift_id",
    "volunteer_id",
    "assignment_id",
    "swap_id",
    "to_user_id",
    "slot",
    "id",
    "bureau",
    "programme_id",
    "venue_id",
    "community_id",
    "officials",
    "volunteer",
    "weekday",
    "hours",
)
DATE_FIELD = re.compile(r"(^|_)(day|date|first|last|on|from|until)$")
# Form actions the views dispatch on (the page shows a form only when there is something to act on).
KNOWN_ACTIONS = (
    "assign",
    "unassign",
    "present",
    "no_show",
    "drop",
    "swap",
    "accept",
    "decline",
    "cancel_swap",
    "limit",
    "remove",
)


def query_variants(allowed: frozenset[str] | None) -> list[dict]:
    variants = []
    for ids, pages, dates, months, years, text in THEMES.values():
        values = {"page": pages, "per_page": pages, "month": months, "year": years}
        values.update({name: ids for name in ID_PARAMS})
        values.update({name: dates for name in DATE_PARAMS})
        values.update({name: text for name in TEXT_PARAMS})
        if allowed is not None:  # the API refuses undocumented parameters before reading any
            values = {k: v for k, v in values.items() if k in allowed}
        for view in ("month", "week", None):
            variants.append({**values, **({"view": view} if view else {})})
    return variants


def form_variants(names: set[str], actions: set[str]) -> list[dict]:
    variants = []
    for ids, _pages, dates, months, _years, text in THEMES.values():
        data = {}
        for name in names:
            if name in FORM_ID_FIELDS or name.endswith("_id") or name.startswith("limit-"):
                data[name] = ids
            elif DATE_FIELD.search(name):
                data[name] = dates
            elif name == "month":
                data[name] = months
            else:
                data[name] = text
        for action in sorted(actions) or [None]:
            variants.append({**data, **({"action": action} if action else {})})
    return variants


def page_fields(client, url: str) -> tuple[set[str], set[str]]:
    """The field names of the page's forms, and the values its forms send as `action`."""
    response = client.get(url)
    if response.status_code != 200 or "html" not in (response.content_type or ""):
        return set(), set()
    html = response.get_data(as_text=True)
    names = set(re.findall(r'<(?:input|select|textarea|button)[^>]*\bname="([^"]+)"', html)) - {"csrf_token"}
    actions = set(re.findall(r'name="action"[^>]*\bvalue="([^"]+)"', html))
    actions |= set(re.findall(r'value="([^"]+)"[^>]*\bname="action"', html))
    return names, actions


def real_values() -> dict[str, str]:
    """A real value for each path argument, from the demo data (the first of each kind)."""

    def first(model, *where):
        return str(db.session.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1)))

    def occurrence(kind):
        return first(Occurrence, Occurrence.programme_id.in_(sa.select(Programme.id).where(Programme.kind == kind)))

    team = db.session.scalar(sa.select(PatrolTeam).order_by(PatrolTeam.code).limit(1))
    return {
        "team_id": str(team.id),
        "code": team.code,
        "shift_id": first(Shift, Shift.team_id == team.id),
        "series_id": first(Series),
        "site_id": first(SeriesSite),
        "notice_id": first(HearingNotice),
        "override_id": first(HolidayOverride),
        "template_id": first(ShiftTemplate),
        "user_id": first(User, User.role == Role.VOLUNTEER),
        "suggestion_id": first(Suggestion),
        "token_id": first(FeedToken),
        "assignment_id": "1",
        "slot_occurrence": str(db.session.scalar(sa.select(ClinicSlot.occurrence_id).limit(1))),
        "contact_day": occurrence(ProgrammeKind.CONTACT_DAY),
        "court": occurrence(ProgrammeKind.HOLIDAY_COURT),
        "slug": db.session.scalar(sa.text("SELECT slug FROM communities ORDER BY id LIMIT 1")),
        "token": db.session.scalar(sa.select(FeedToken.token).where(FeedToken.kind == FeedKind.TEAM).limit(1)),
        "uid": db.session.scalar(sa.select(Occurrence.uid).limit(1)),
    }


def real_value(rule: str, name: str, real: dict) -> str:
    if name == "occurrence_id":
        if "legal-clinic" in rule:
            return real["slot_occurrence"]
        return real["court"] if "hearings" in rule else real["contact_day"]
    return real.get(name, "1")


def build_url(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: quote(values[m[1]], safe=""), rule)


def path_arguments(rule) -> dict[str, str]:
    converters = {}
    for name, converter in rule._converters.items():
        converters[name] = "id" if isinstance(converter, IdConverter) else "string"
    return converters


@pytest.fixture
def demo_world(app):
    demo.load()
    people = {
        role.value: db.session.scalar(sa.select(User.id).where(User.email == email)) for role, email in demo.DEMO_LOGINS
    }
    team = db.session.scalar(sa.select(PatrolTeam).order_by(PatrolTeam.code).limit(1))
    db.session.add(FeedToken(kind=FeedKind.TEAM, team_id=team.id))
    tokens = {role: issue_token(db.session.get(User, user_id), "sweep") for role, user_id in people.items()}
    db.session.commit()
    return people, tokens, real_values()


def login(client, user_id: int) -> None:
    login_as(client, db.session.get(User, user_id))


def test_every_id_in_a_path_uses_the_bounded_converter(web_app):
    """No `<int:...>` left: an unbounded int converter lets 2**31 reach the database."""
    unbounded = [
        rule.rule
        for rule in web_app.url_map.iter_rules()
        for converter in rule._converters.values()
        if type(converter).__name__ in ("IntegerConverter", "NumberConverter", "FloatConverter")
    ]
    assert unbounded == []
    ids = [rule.rule for rule in web_app.url_map.iter_rules() if "<id:" in rule.rule]
    assert len(ids) >= 30, ids


def test_the_url_map_with_hostile_values_never_answers_5xx(web_app, demo_world, capsys):
    people, tokens, real = demo_world
    failures: list[tuple] = []
    errors: list[str] = []
    web_app.config["PROPAGATE_EXCEPTIONS"] = False  # count the 500s instead of stopping at the first

    def record(sender, exception, **extra):
        errors.append(f"{request.method} {request.path}: {type(exception).__name__}: {str(exception)[:200]}")

    got_request_exception.connect(record, web_app)
    count = collections.Counter()
    rules = sorted((r for r in web_app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
    for role in ROLES:
        client = web_app.test_client()
        if role != "anonymous":
            login(client, people[role])
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role != "anonymous" else {}
        fields_cache: dict[str, tuple[set[str], set[str]]] = {}

        def call(method: str, url: str, client=client, headers=headers, role=role, **kw):
            response = client.open(url, method=method, headers=headers, **kw)
            count["requests"] += 1
            if response.status_code >= 500:
                failures.append((role, method, url[:200], str(kw)[:300], response.status_code))
            if url.startswith("/logout") and role != "anonymous":
                login(client, people[role])  # stay logged in for the next request
            return response

        for rule in rules:
            arguments = path_arguments(rule)
            real_args = {name: real_value(rule.rule, name, real) for name in arguments}
            url = build_url(rule.rule, real_args)
            is_api = rule.rule.startswith("/api/")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                # the path: each argument hostile in turn
                for name, kind in arguments.items():
                    for value in PATH_VALUES[kind]:
                        call(method, build_url(rule.rule, {**real_args, name: value}))
                if method == "GET":
                    allowed = query_parameters(rule.rule, method) if is_api else None
                    for args in query_variants(allowed):
                        call(method, url, query_string=args)
                elif is_api:
                    for body in (
                        f'{{"volunteer_id": {OVER}}}',
                        '{"volunteer_id": -1}',
                        "[" * 1000 + "]" * 1000,
                        '{"volunteer_id": ' + "[" * 100_000 + "]" * 100_000 + "}",
                        "{" * 1000,
                        json.dumps({"volunteer_id": LONG}),
                    ):
                        call(method, url, data=body, content_type="application/json")
                else:
                    if url not in fields_cache:
                        names, actions = page_fields(client, url)
                        if rule.rule.startswith(("/roster", "/me")):
                            actions |= set(KNOWN_ACTIONS)
                        fields_cache[url] = (names | set(FORM_ID_FIELDS), actions)
                    names, actions = fields_cache[url]
                    for data in form_variants(names, actions):
                        call(method, url, data=data, query_string={"month": THEMES["over"][3]})
    print(
        f"\nURL-map sweep on {db.engine.dialect.name}: {count['requests']} requests, "
        f"{len(failures)} responses >= 500, {len(rules)} rules, {len(ROLES)} roles"
    )
    got_request_exception.disconnect(record, web_app)
    for line in sorted(set(errors)):
        print(line)
    assert failures == [], (failures[:20], sorted(set(errors))[:40])
