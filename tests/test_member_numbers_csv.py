"""Member numbers in the CSV files and the API: the roster export carries them, the volunteers'
import accepts them to name an existing member (two 刘雪琴 told apart) and refuses, per row, a
number nobody has or one that belongs to someone else."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from api.tokens import issue_token
from models import AuditLog, Role, TeamMembership, User, db
from services import exports
from services.imports import ImportFailed, import_volunteers
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ


@pytest.fixture
def twins(app):
    """Team T001: coordinator T001-001, two 刘雪琴 (T001-002, T001-003), 王芳 T001-004; team T002 with one member."""
    coordinator = make_user(Role.COORDINATOR, email="coord@twins.example")
    first = make_user(Role.VOLUNTEER, email="liu1@twins.example", name="刘雪琴", name_en="Liu Xueqin")
    second = make_user(Role.VOLUNTEER, email="liu2@twins.example", name="刘雪琴", name_en="Liu Xueqin")
    wang = make_user(Role.VOLUNTEER, email="wang@twins.example", name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[first, second, wang], code="T001")
    other = make_team(members=[make_user(Role.VOLUNTEER, email="zhao@twins.example", name="赵磊")], code="T002")
    db.session.commit()
    numbers = {
        email: label
        for email, label in db.session.execute(
            sa.select(User.email, TeamMembership.member_number).join(TeamMembership, TeamMembership.user_id == User.id)
        )
    }
    assert numbers["liu1@twins.example"] == 2 and numbers["liu2@twins.example"] == 3
    return type(
        "Twins", (), dict(team=team, other=other, coordinator=coordinator, first=first, second=second, wang=wang)
    )


@pytest.fixture
def english(app):
    with force_locale("en"):
        yield


def problems_of(text: str) -> dict[int, str]:
    with pytest.raises(ImportFailed) as failed:
        import_volunteers(text)
    return dict(failed.value.errors)


def test_a_member_number_names_one_of_two_people_of_one_name(twins, english):
    # Neither email nor teams: the number alone says who, even though both are 刘雪琴.
    text = "member_number,name,phone,language\nT001-003,刘雪琴,13900000003,en\nT001-002,Liu Xueqin,13900000002,\n"
    result = import_volunteers(text)
    assert (result.created, result.updated, result.memberships) == (0, 2, 0)
    db.session.expire_all()
    first, second = db.session.get(User, twins.first.id), db.session.get(User, twins.second.id)
    assert (first.phone, first.locale) == ("13900000002", "zh_CN")
    assert (second.phone, second.locale) == ("13900000003", "en")
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 5  # nobody new


def test_with_email_the_number_must_be_that_persons(twins, english):
    text = "email,name,teams,member_number\nliu2@twins.example,刘雪琴,T002,T001-003\n"
    result = import_volunteers(text)
    assert (result.updated, result.memberships) == (1, 1)  # and joins T002
    assert db.session.scalar(
        sa.select(TeamMembership.id).where(
            TeamMembership.user_id == twins.second.id, TeamMembership.team_id == twins.other.id
        )
    )
    # An email may rename; the number still says who it is.
    import_volunteers("email,name,teams,member_number\nliu2@twins.example,刘雪芹,,T001-003\n")
    db.session.expire_all()
    assert db.session.get(User, twins.second.id).name == "刘雪芹"
    # A row without a number and without teams is still refused (a new member needs a team).
    assert "teams is empty" in problems_of("email,name,teams,member_number\nnew@twins.example,新人,,\n")[2]


def test_unknown_and_mismatched_numbers_are_refused_row_by_row(twins, english):
    text = (
        "email,name,teams,member_number\n"
        "liu1@twins.example,刘雪琴,,T001-002\n"  # 2: fine
        ",刘雪琴,,T001-099\n"  # 3: nobody has it
        ",刘雪琴,,T999-002\n"  # 4: no such team
        ",刘雪琴,,7\n"  # 5: not a number of the form T001-007
        "coord@twins.example,刘雪琴,,T001-002\n"  # 6: T001-002 is liu1, not the coordinator
        ",刘雪琴,,T001-004\n"  # 7: T001-004 is 王芳
        ",刘雪琴,,T001-003\n"  # 8: fine
        ",Liu Xueqin,,T001-003\n"  # 9: the same member again
        "nobody@twins.example,刘雪琴,,T001-003\n"  # 10: the number's member has another email
        ",刘雪琴,,\n"  # 11: neither email nor number
    )
    problems = problems_of(text)
    assert sorted(problems) == [3, 4, 5, 6, 7, 9, 10, 11]
    assert problems[3] == "member number T001-099 is unknown: team T001 has no member with it"
    assert problems[4] == "member number T999-002: there is no team T999"
    assert problems[5] == "member number “7” must look like T001-007"
    assert problems[6] == "member number T001-002 is 刘雪琴 (liu1@twins.example), not coord@twins.example"
    assert problems[7] == "member number T001-004 is 王芳, not 刘雪琴"
    assert problems[9] == "member number T001-003 is also on line 8"
    assert problems[10] == "member number T001-003 is 刘雪琴 (liu2@twins.example), not nobody@twins.example"
    assert "is not an email address" in problems[11]
    # Nothing was written.
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "import.volunteers")) == 0


def test_another_teams_number_needs_that_teams_member(twins, english):
    # T002-001 is 赵磊: a 刘雪琴 row with it is refused, 赵磊's own row is fine.
    problems = problems_of("member_number,name\nT002-001,刘雪琴\n")
    assert problems == {2: "member number T002-001 is 赵磊, not 刘雪琴"}
    assert import_volunteers("member_number,name\nT002-001,赵磊\n").updated == 1


def test_the_header_needs_email_or_member_number(twins, english):
    with pytest.raises(ImportFailed) as failed:
        import_volunteers("name,teams\n刘雪琴,T001\n")
    assert failed.value.errors == [(1, "missing columns: email")]


def test_chinese_column_name_and_messages(twins, client, auth, app):
    make_user(Role.ADMIN, email="admin@twins.example")
    db.session.commit()
    auth.login("admin@twins.example")
    text = "队员编号,姓名,手机\nT001-003,刘雪琴,13900000009\nT001-099,刘雪琴,\n"
    response = client.post(
        "/admin/people/import?lang=zh_CN",
        data={"kind": "volunteers", "file": (io.BytesIO(text.encode("gb18030")), "v.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "队员编号 T001-099 不存在" in page
    text = "队员编号,姓名,手机\nT001-003,刘雪琴,13900000009\n"
    response = client.post(
        "/admin/people/import?lang=zh_CN",
        data={"kind": "volunteers", "file": (io.BytesIO(text.encode("utf-8")), "v.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, twins.second.id).phone == "13900000009"
    assert db.session.get(User, twins.first.id).phone in ("", None)
    assert "member_number" in client.get("/admin/people/import?lang=en").get_data(as_text=True)


def test_the_roster_export_carries_the_numbers_the_import_reads(twins, english):
    shift = make_shift(twins.team, dt.datetime(2026, 12, 8, 19, tzinfo=LOCAL_TZ), hours=3)
    make_assignment(shift, twins.first)
    make_assignment(shift, twins.second)
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(exports.roster_csv(twins.team, 2026, 12).lstrip("\ufeff"))))
    assert [(r["member_number"], r["volunteer"]) for r in rows] == [("T001-002", "刘雪琴"), ("T001-003", "刘雪琴")]
    # The exported number and name, given back to the import, reach the same person.
    second = rows[1]
    import_volunteers(f"member_number,name,phone\n{second['member_number']},{second['volunteer']},13911112222\n")
    db.session.expire_all()
    assert db.session.get(User, twins.second.id).phone == "13911112222"


def test_api_me_lists_my_member_number_per_team(twins, client):
    token = issue_token(twins.second)
    db.session.commit()
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(t["code"], t["member_number"]) for t in body["teams"]] == [("T001", "T001-003")]
