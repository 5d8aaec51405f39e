"""CSV imports (command line and upload page): all rows or none, every bad line named."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import AuditLog, MembershipRole, PatrolTeam, Role, Subdistrict, TeamMembership, User, db
from tests.factories import make_team, make_user

TEAMS_OK = """code,name_zh,name_en,kind,subdistrict,police_station_zh,police_station_en
T201,娄葑治安义工第1队,"Loufeng public-security volunteers, team 1",public_security,loufeng,娄葑派出所,Loufeng Police Station
T202,斜塘反扒第1队,Xietang anti-pickpocket team 1,反扒志愿者,斜塘街道,,
"""

TEAMS_BAD = """code,name_zh,name_en,kind,subdistrict
T301,好队,Good team,public_security,loufeng
T 302,坏编号,Bad code,public_security,loufeng
T303,,No Chinese name,public_security,
T304,未知类型,Unknown kind,cavalry,
T305,未知街道,Unknown subdistrict,other,atlantis
T301,重复,Duplicate,other,
"""


@pytest.fixture
def subdistrict(app):
    sub = Subdistrict(slug="loufeng", name_zh="娄葑街道", name_en="Loufeng Subdistrict")
    db.session.add_all([sub, Subdistrict(slug="xietang", name_zh="斜塘街道", name_en="Xietang Subdistrict")])
    db.session.commit()
    return sub


@pytest.fixture
def english(app):
    with force_locale("en"):
        yield


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_teams_from_the_command_line(runner, tmp_path, subdistrict, english):
    result = runner.invoke(args=["import", "teams", write(tmp_path, "teams.csv", TEAMS_OK)])
    assert result.exit_code == 0, result.output
    assert "2 new, 0 updated" in result.output
    team = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == "T201"))
    assert team.name_en == "Loufeng public-security volunteers, team 1"
    assert team.subdistrict_id == subdistrict.id and team.police_station_zh == "娄葑派出所"
    second = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == "T202"))
    assert second.kind.value == "anti_pickpocket" and second.subdistrict.slug == "xietang"

    # Importing the same file again updates and creates nothing new.
    result = runner.invoke(args=["import", "teams", write(tmp_path, "teams.csv", TEAMS_OK)])
    assert "0 new, 2 updated" in result.output
    assert db.session.scalar(sa.select(sa.func.count(PatrolTeam.id))) == 2


def test_a_teams_file_with_bad_rows_imports_nothing_and_names_every_bad_line(runner, tmp_path, subdistrict, english):
    result = runner.invoke(args=["import", "teams", write(tmp_path, "bad.csv", TEAMS_BAD)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if "bad.csv: line" in line]
    assert [line.split("line ")[1].split(":")[0] for line in lines] == ["3", "4", "5", "6", "7"]
    assert "code “T 302” must be" in result.output
    assert "name_zh is empty" in result.output
    assert "kind “cavalry” is not one of" in result.output
    assert "subdistrict “atlantis” is unknown" in result.output
    assert "code T301 is also on line 2" in result.output
    assert "5 bad rows: nothing imported" in result.output
    assert db.session.scalar(sa.select(sa.func.count(PatrolTeam.id))) == 0  # not even the good line 2
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == 0


def test_import_volunteers_creates_people_and_memberships(runner, tmp_path, app, english):
    make_team(code="T201")
    make_team(code="T202")
    existing = make_user(Role.VOLUNTEER, email="old@test.example", name="老志愿者")
    db.session.commit()
    text = (
        "email,name,name_en,phone,teams,role,weekly_hours_limit\n"
        "Wang.Fang@Test.Example,王芳,Wang Fang,13900001111,T201;T202,,12\n"
        "lead@test.example,李队长,Li Lead,,T201,coordinator,\n"
        "old@test.example,老志愿者,Old Hand,,t202,,\n"
    )
    result = runner.invoke(args=["import", "volunteers", write(tmp_path, "v.csv", text)])
    assert result.exit_code == 0, result.output
    assert "2 new, 1 updated, 4 team memberships added" in result.output
    wang = db.session.scalar(sa.select(User).where(User.email == "wang.fang@test.example"))
    assert wang.role is Role.VOLUNTEER and wang.weekly_hours_limit == 12 and wang.phone == "13900001111"
    assert not wang.check_password("")  # no usable password until an admin sets one
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@test.example"))
    membership = db.session.scalar(sa.select(TeamMembership).where(TeamMembership.user_id == lead.id))
    assert lead.role is Role.COORDINATOR and membership.role is MembershipRole.COORDINATOR
    db.session.refresh(existing)
    assert existing.name_en == "Old Hand"
    assert db.session.scalar(sa.select(sa.func.count(TeamMembership.id))) == 4


def test_a_volunteers_file_with_bad_rows_imports_nothing(runner, tmp_path, app, english):
    make_team(code="T201")
    make_user(Role.ADMIN, email="boss@test.example")
    db.session.commit()
    text = (
        "email,name,teams,role,weekly_hours_limit,phone\n"
        "good@test.example,好人,T201,,,\n"
        "not-an-email,坏邮箱,T201,,,\n"
        "nobody@test.example,,T201,,,\n"
        "ghost@test.example,无队,T999,,,\n"
        "chief@test.example,角色,T201,sheriff,,\n"
        "limit@test.example,上限,T201,,200,\n"
        "boss@test.example,管理员,T201,,,\n"
        "GOOD@test.example,重复,T201,,,\n"
        "phone@test.example,电话,T201,,,call me\n"
    )
    result = runner.invoke(args=["import", "volunteers", write(tmp_path, "v.csv", text)])
    assert result.exit_code != 0
    bad = [line.split("line ")[1].split(":")[0] for line in result.output.splitlines() if ": line " in line]
    assert bad == ["3", "4", "5", "6", "7", "8", "9", "10"]
    for fragment in (
        "“not-an-email” is not an email address",
        "name is empty",
        "unknown team codes: T999",
        "role “sheriff” is not volunteer or coordinator",
        "from 1 to 168",
        "already belongs to an account of another kind (admin)",
        "also on line 2",
        "phone “call me” is not a phone number",
    ):
        assert fragment in result.output, fragment
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1  # only the admin


def test_header_problems_and_encodings(runner, tmp_path, subdistrict, english):
    result = runner.invoke(args=["import", "teams", write(tmp_path, "h.csv", "code,colour\nT1,red\n")])
    assert result.exit_code != 0
    assert "line 1: missing columns: kind, name_zh" in result.output
    assert "unknown columns: colour" in result.output
    result = runner.invoke(args=["import", "teams", write(tmp_path, "e.csv", "")])
    assert "The file is empty." in result.output
    # Chinese Excel: GB18030 and Chinese column names.
    text = "队伍编号,队名,英文名称,类型,街道\nT401,娄葑保安联防第1队,Loufeng joint patrol 1,保安联防巡逻队,娄葑\n"
    result = runner.invoke(args=["import", "teams", write(tmp_path, "gbk.csv", text, "gb18030")])
    assert result.exit_code == 0, result.output
    team = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == "T401"))
    assert team.name_zh == "娄葑保安联防第1队" and team.subdistrict_id == subdistrict.id
    # Excel's UTF-8 with a byte-order mark.
    result = runner.invoke(args=["import", "teams", write(tmp_path, "bom.csv", "\ufeff" + TEAMS_OK)])
    assert result.exit_code == 0, result.output


def test_upload_page_for_admins(client, auth, app, subdistrict):
    make_user(Role.ADMIN, email="admin@test.example")
    make_user(Role.COORDINATOR, email="coord@test.example")
    db.session.commit()
    auth.login("coord@test.example")
    assert client.get("/admin/people/import").status_code == 403
    auth.logout()
    auth.login("admin@test.example")
    assert client.get("/admin/people/import?lang=en").status_code == 200

    response = client.post(
        "/admin/people/import?lang=en",
        data={"kind": "teams", "file": (io.BytesIO(TEAMS_BAD.encode()), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported: 5 problems" in page
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in page
    assert db.session.scalar(sa.select(sa.func.count(PatrolTeam.id))) == 0

    response = client.post(
        "/admin/people/import?lang=en",
        data={"kind": "teams", "file": (io.BytesIO(TEAMS_OK.encode()), "teams.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert "2 new, 0 updated" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "import.teams")) == "import.teams"

    page = client.get("/admin/people/teams?lang=en").get_data(as_text=True)
    assert "T201" in page and "T202" in page


def test_admin_sets_a_password_for_an_imported_account(client, auth, app):
    make_user(Role.ADMIN, email="admin@test.example")
    user = make_user(Role.VOLUNTEER, email="new@test.example")
    db.session.commit()
    auth.login("admin@test.example")
    assert "new@test.example" in client.get("/admin/people/users?q=NEW").get_data(as_text=True)
    assert client.post(f"/admin/people/users/{user.id}/password", data={"password": "short"}).status_code == 400
    response = client.post(f"/admin/people/users/{user.id}/password", data={"password": "a long new secret"})
    assert response.status_code == 303
    auth.logout()
    assert auth.login("new@test.example", "a long new secret").status_code == 302


def test_export_roster_command(runner, app, tmp_path):
    import datetime as dt

    from tests.factories import make_assignment, make_shift
    from timeutil import LOCAL_TZ

    volunteer = make_user(Role.VOLUNTEER, name="王芳")
    team = make_team(code="T017", members=[volunteer])
    shift = make_shift(team, dt.datetime(2026, 12, 8, 19, tzinfo=LOCAL_TZ), hours=3, area_zh="金鸡湖步道")
    make_assignment(shift, volunteer)
    db.session.commit()
    out = tmp_path / "roster.csv"
    result = runner.invoke(args=["export", "roster", "--team", "T017", "--month", "2026-12", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert (
        text.splitlines()[1]
        == f"2026-12-08,19:00,22:00,T017,金鸡湖步道,2,6,1,T017-001,王芳,{volunteer.name_en},unknown,0.00"
    )
    result = runner.invoke(args=["export", "roster", "--team", "NOPE", "--month", "2026-12"])
    assert result.exit_code != 0 and "no team with code NOPE" in result.output
    result = runner.invoke(args=["export", "roster", "--team", "T017", "--month", "12/2026"])
    assert result.exit_code != 0
