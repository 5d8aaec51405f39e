"""Edges found in the review (issue 10, findings 9 and 10): week exports, cancelled sessions,
team links after someone leaves, party names in hearing notices."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from feeds import tokens
from models import FeedToken, HearingNotice, Occurrence, OccurrenceStatus, Role, Suggestion, User, db
from scheduler.hearings import names_a_party
from scheduler.occurrences import generate_occurrences
from services import memberships
from tests.factories import make_assignment, make_shift, make_team, make_user
from tests.public_builders import contact_day
from tests.schedule_builders import court_series
from timeutil import local_to_utc


def text(response) -> str:
    return response.get_data(as_text=True)


def test_week_view_export_and_print_cover_exactly_the_week_shown_across_two_months(app, client, auth):
    coordinator = make_user(Role.COORDINATOR, email="c@test.example")
    volunteer = make_user(Role.VOLUNTEER, name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[volunteer], code="TA")
    # The week of Monday 30 November to Sunday 6 December 2026, and one day either side.
    shifts = {
        day: make_shift(team, local_to_utc(day, dt.time(19)))
        for day in (dt.date(2026, 11, 29), dt.date(2026, 11, 30), dt.date(2026, 12, 6), dt.date(2026, 12, 7))
    }
    make_assignment(shifts[dt.date(2026, 12, 6)], volunteer)
    db.session.commit()
    auth.login("c@test.example")
    page = text(client.get("/roster/team/TA?start=2026-12-02&lang=en"))
    export = re.search(r'href="([^"]*export\.csv[^"]*)"', page)[1].replace("&amp;", "&")
    printable = re.search(r'href="([^"]*/print[^"]*)"', page)[1].replace("&amp;", "&")
    assert "week=2026-11-30" in export and "week=2026-11-30" in printable
    assert "month=" not in export and "month=" not in printable

    response = client.get(export)
    assert response.status_code == 200
    assert "roster-TA-2026-11-30_2026-12-06.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert [(r["date"], r["volunteer"]) for r in rows] == [("2026-11-30", ""), ("2026-12-06", "王芳")]

    printed = text(client.get(printable + "&lang=en"))
    assert "30 Nov 2026" in printed and "6 Dec 2026" in printed and "Wang Fang" in printed
    assert "29 Nov" not in printed and "7 Dec" not in printed
    # the month view keeps its month links
    month_page = text(client.get("/roster/team/TA?view=month&month=2026-12&lang=en"))
    assert "export.csv?month=2026-12" in month_page


def test_a_cancelled_contact_day_refuses_suggestions_with_a_message(app, client):
    occurrence = contact_day(day=dt.date(2030, 1, 13), status=OccurrenceStatus.CANCELLED)
    db.session.commit()
    page = client.get(f"/suggestions/new/{occurrence.id}?lang=en")
    assert page.status_code == 409
    assert "was cancelled" in text(page) and 'method="post"' not in text(page)
    posted = client.post(
        f"/suggestions/new/{occurrence.id}?lang=en", data={"content": "路灯坏了，请修理。", "name": "", "contact": ""}
    )
    assert posted.status_code == 409 and "was cancelled" in text(posted)
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == 0
    # a scheduled one still takes them
    open_one = contact_day(day=dt.date(2030, 2, 10))
    db.session.commit()
    assert client.get(f"/suggestions/new/{open_one.id}").status_code == 200


def _live_team_token(team_id: int) -> str:
    return db.session.scalar(
        sa.select(FeedToken.token).where(FeedToken.team_id == team_id, FeedToken.revoked_at.is_(None))
    )


def test_leaving_a_team_reissues_its_link_and_tells_the_coordinators(app, client, auth):
    coordinator = make_user(Role.COORDINATOR, email="c@test.example")
    leaver = make_user(Role.VOLUNTEER)
    stayer = make_user(Role.VOLUNTEER)
    team = make_team(coordinator=coordinator, members=[leaver, stayer])
    other = make_team(coordinator=coordinator, members=[stayer])
    tokens.get_or_issue(team=team)
    tokens.get_or_issue(team=other)
    db.session.commit()
    old, other_token = _live_team_token(team.id), _live_team_token(other.id)
    assert client.get(f"/feeds/t/{old}.ics").status_code == 200

    memberships.leave(team.id, leaver.id, actor=coordinator)
    db.session.commit()
    new = _live_team_token(team.id)
    assert new and new != old
    assert client.get(f"/feeds/t/{old}.ics").status_code == 404  # what the leaver knew opens nothing
    assert client.get(f"/feeds/t/{new}.ics").status_code == 200
    assert _live_team_token(other.id) == other_token  # other teams keep their link

    auth.login("c@test.example")
    page = text(client.get(f"/feeds/teams/{team.id}?lang=en"))
    assert "replaced" in page and "someone left the team" in page and new in page
    assert "someone left" not in text(client.get(f"/feeds/teams/{other.id}?lang=en"))


def test_deactivating_a_member_reissues_the_links_of_their_teams(app, client):
    coordinator = make_user(Role.COORDINATOR)
    member = make_user(Role.VOLUNTEER)
    team = make_team(coordinator=coordinator, members=[member])
    tokens.get_or_issue(team=team)
    db.session.commit()
    old = _live_team_token(team.id)
    db.session.get(User, member.id).active = False
    db.session.commit()
    assert _live_team_token(team.id) not in (None, old)
    assert client.get(f"/feeds/t/{old}.ics").status_code == 404


def test_leaving_a_team_one_is_not_in_is_refused(app):
    from services.errors import RuleViolation

    team = make_team()
    stranger = make_user(Role.VOLUNTEER)
    with pytest.raises(RuleViolation) as refused:
        memberships.leave(team.id, stranger.id, actor=None)
    assert refused.value.status == 404


@pytest.mark.parametrize(
    "cause",
    [
        "张三诉李四",
        "张三诉李四买卖合同纠纷",
        "王某诉苏州某公司劳动争议",
        "原告张三",
        "被告：李四",
        "上诉人王五",
        "申请执行人赵六",
        "Zhang San v. Li Si",
        "Smith vs Jones",
        "ACME vs. Beta Ltd",
        "Defendant: Li Si",
        "plaintiff Zhang",
    ],
)
def test_causes_that_name_parties_are_recognised(cause):
    assert names_a_party(cause)


@pytest.mark.parametrize(
    "cause",
    [
        "买卖合同纠纷",
        "劳动争议",
        "第三人撤销之诉",
        "案外人执行异议之诉",
        "申请诉前财产保全",
        "诉讼费用纠纷",
        "上诉案件",
        "被执行人异议",
        "Sale contract dispute",
        "Motor vehicle accident liability dispute",
        "Level V contract",
        "Defendant",
        "买卖合同纠纷（示例）",
    ],
)
def test_ordinary_causes_are_accepted(cause):
    assert not names_a_party(cause)


def test_a_hearing_notice_naming_parties_is_refused_with_a_message(app, client, auth):
    user = make_user(Role.STAFF, email="court@test.example")
    series = court_series(rooms=1, starts_on=dt.date(2030, 1, 1))
    generate_occurrences(dt.date(2030, 1, 5), dt.date(2030, 1, 5))
    db.session.commit()
    session = db.session.scalar(sa.select(Occurrence).where(Occurrence.series_id == series.id))
    auth.login(user.email)
    for cause_zh, cause_en in (("张三诉李四", ""), ("劳动争议", "Zhang San v. Li Si"), ("被告李四", "")):
        refused = client.post(
            f"/admin/schedule/occurrences/{session.id}/hearings?lang=en",
            data={
                "case_number": "(2030)苏0591民初9号",
                "cause_zh": cause_zh,
                "cause_en": cause_en,
                "start": "10:30",
                "end": "11:00",
            },
        )
        assert refused.status_code == 400, cause_zh
        assert "without the names of the parties" in text(refused)
    assert db.session.scalar(sa.select(sa.func.count(HearingNotice.id))) == 0
