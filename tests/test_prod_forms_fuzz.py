"""Random input to every form that accepts POST: never a 500.

Generic on purpose: the routes come from app.url_map and the field names from the forms each page
renders, so forms added by any part of the service are fuzzed without listing them here.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from models import Assignment, Occurrence, Programme, ProgrammeKind, Role, Shift, db
from tests.conftest import base_config
from tests.factories import make_community, make_team, make_user, make_venue
from timeutil import local_to_utc, local_today

MAX_EXAMPLES = 25
# The JSON API has its own fuzzing against its OpenAPI document (test_prod_api_fuzz.py).
SKIPPED_PREFIXES = ("/api/", "/static/")


def post_rules() -> list[tuple[str, str]]:
    app = create_app(base_config("sqlite://"))
    rules = [
        (rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith(SKIPPED_PREFIXES)
    ]
    return sorted(rules)


def converter_strategy(converter: str):
    if converter in ("int", "id"):
        # mostly the seeded rows' ids; sometimes one the database's INTEGER cannot hold
        return st.one_of(
            st.integers(min_value=0, max_value=4).map(str),
            st.sampled_from([str(2**31), str(2**31 - 1), "99999999999999999999"]),
        )
    if converter == "float":
        return st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{abs(f):.2f}")
    if converter == "uuid":
        return st.uuids().map(str)
    # string, path, custom converters: short URL-safe text, sometimes one of the seeded slugs
    return st.one_of(
        st.sampled_from(["east", "t0001", "2031-01-12", "1"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12),
    )


def url_strategy(rule: str):
    parts = re.split(r"(<[^>]+>)", rule)
    strategies = []
    for part in parts:
        match = re.fullmatch(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?[a-z_]+>", part)
        strategies.append(converter_strategy(match.group(1) or "string") if match else st.just(part))
    return st.tuples(*strategies).map("".join)


def field_names(client, url: str) -> list[str]:
    """The names of the fields the page's forms send (its GET), if it has a page."""
    response = client.get(url)
    if response.status_code != 200 or "html" not in (response.content_type or ""):
        return []
    names = re.findall(r'<(?:input|select|textarea|button)[^>]*\bname="([^"]+)"', response.get_data(as_text=True))
    return sorted(set(names) - {"csrf_token"})


# Text that tends to break handlers: empty, long, markup, SQL-ish, other scripts, control characters,
# and values shaped like what fields expect (numbers, dates, times, emails).
VALUE = st.one_of(
    st.text(max_size=40),
    st.text(min_size=200, max_size=2000, alphabet=st.characters(codec="utf-8")),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "99999999999999999999",
            "1e308",
            "NaN",
            "2031-02-30",
            "2031-01-12",
            "24:61",
            "19:00",
            "true",
            "on",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00",
            "测试",
            "a@b",
            "admin@test.example",
            "../../etc/passwd",
            "%s%n",
            "{{7*7}}",
            # the service's bounds: ids beyond INTEGER, years outside 2000-2100, 10 kB
            str(2**31),
            str(2**31 - 1),
            "0001-01-01",
            "9999-12-31",
            "2100-12-31",
            "0001-01",
            "9999-12",
            "x" * 10_000,
        ]
    ),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
)


def form_data(names: list[str]):
    known = st.fixed_dictionaries({}, optional={name: VALUE for name in names}) if names else st.just({})
    extra = st.dictionaries(st.text(min_size=1, max_size=12), VALUE, max_size=3)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


def seed_people():
    """One of each role, and rows with ids 1..3 that the forms' URLs point at (teams, shifts, sessions)."""
    people = {role.value: make_user(role, email=f"{role.value}@test.example") for role in Role}
    community = make_community(slug="east")
    venue = make_venue(community=community)
    team = make_team(coordinator=people["coordinator"], members=[people["volunteer"]], code="t0001")
    make_team(coordinator=people["coordinator"], code="t0002")
    today = local_today()
    for n in range(3):
        start = local_to_utc(today + dt.timedelta(days=n + 2), dt.time(19))
        shift = Shift(
            team_id=team.id,
            local_date=today + dt.timedelta(days=n + 2),
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
            max_volunteers=3,
        )
        db.session.add(shift)
    db.session.flush()
    db.session.add(
        Assignment(
            shift_id=shift.id, volunteer_id=people["volunteer"].id, starts_at=shift.starts_at, ends_at=shift.ends_at
        )
    )
    shift.assigned_count = 1
    programme = Programme(slug="contact-days", kind=ProgrammeKind.CONTACT_DAY, name_zh="联系日", name_en="Contact day")
    start = local_to_utc(today + dt.timedelta(days=5), dt.time(9))
    db.session.add(
        Occurrence(
            programme=programme,
            community=community,
            venue=venue,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        )
    )
    db.session.commit()
    return people


def login_as(client, user) -> None:
    """Logged in without the login form: a server-side login row, and its identity in the cookie."""
    from services import sessions

    identity = sessions.start(db.session.get(type(user), user.id), remember=False)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = identity
        session["_fresh"] = True


POST_RULES = post_rules()


@pytest.mark.parametrize("who", ["anonymous", "volunteer", "coordinator", "staff", "official", "admin"])
@pytest.mark.parametrize("rule, endpoint", POST_RULES, ids=[endpoint for _, endpoint in POST_RULES])
def test_random_form_input_never_causes_a_server_error(app, web_app, rule, endpoint, who):
    people = seed_people()
    client = web_app.test_client()
    if who != "anonymous":
        login_as(client, people[who])
    names_cache: dict[str, list[str]] = {}

    @given(url=url_strategy(rule), data=st.data())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def post(url, data):
        if url not in names_cache:
            names_cache[url] = field_names(client, url)
        payload = data.draw(form_data(names_cache[url]))
        response = client.post(url, data=payload)
        assert response.status_code < 500, (url, payload, response.status_code)
        if who != "anonymous" and endpoint == "auth.logout":
            login_as(client, people[who])  # stay logged in for the next example

    post()
