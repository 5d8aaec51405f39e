"""CSV imports of patrol teams and volunteers: every row is checked first, every bad row is
reported with its line number, and only a file without errors is written, in one transaction.

teams.csv       code, name_zh, name_en, kind, subdistrict, police_station_zh, police_station_en
volunteers.csv  email, name, name_en, phone, teams, role, weekly_hours_limit, language, channels, member_number

The first line names the columns (English names as above, or the Chinese ones in ALIASES);
`teams` lists team codes separated by ";" (or "," or spaces); `role` is volunteer (default)
or coordinator; `language` zh_CN (default) or en; `channels` of notifications: email and/or sms
(";"-separated; sms needs a phone). Rows whose key (team code, email) already exists update that row, and team
memberships are added, never removed. New accounts get no usable password: an admin sets one.

`member_number` (T001-007, as every list and the roster CSV show it) names an existing member, so
that two people of one name are told apart: a row with a number updates that member (its email
and teams may then be left empty). A number nobody has, or one that belongs to someone else than
the row's email (or, without an email, the row's name), is refused on that row.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

from models import (
    MembershipRole,
    PatrolTeam,
    Role,
    Subdistrict,
    TeamKind,
    TeamMembership,
    User,
    db,
    normalise_email,
    record,
)

from .transactions import unit_of_work

MAX_ROWS = 20000
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
PHONE_RE = re.compile(r"^[0-9+()\- ]{3,32}$")
# A member number as member_label writes it: the team code, "-", the number (T001-007).
MEMBER_NUMBER_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,31})-([0-9]{1,6})$")

TEAM_COLUMNS = ["code", "name_zh", "name_en", "kind", "subdistrict", "police_station_zh", "police_station_en"]
VOLUNTEER_COLUMNS = [
    "email",
    "name",
    "name_en",
    "phone",
    "teams",
    "role",
    "weekly_hours_limit",
    "language",
    "channels",
    "member_number",
]
LANGUAGE_WORDS = {"zh_cn": "zh_CN", "zh": "zh_CN", "中文": "zh_CN", "en": "en", "english": "en", "英文": "en"}
CHANNEL_WORDS = {"email": "email", "邮件": "email", "sms": "sms", "短信": "sms"}
REQUIRED = {"teams": {"code", "name_zh", "kind"}, "volunteers": {"email", "name", "teams"}}

# Column names a Chinese spreadsheet is likely to use.
ALIASES = {
    "队伍编号": "code",
    "编号": "code",
    "中文名称": "name_zh",
    "队名": "name_zh",
    "英文名称": "name_en",
    "类型": "kind",
    "街道": "subdistrict",
    "派出所": "police_station_zh",
    "派出所英文": "police_station_en",
    "邮箱": "email",
    "电子邮箱": "email",
    "姓名": "name",
    "英文名": "name_en",
    "拼音": "name_en",
    "电话": "phone",
    "手机": "phone",
    "队伍": "teams",
    "所属队伍": "teams",
    "角色": "role",
    "每周时长上限": "weekly_hours_limit",
    "语言": "language",
    "通知方式": "channels",
    "队员编号": "member_number",
    "member_no": "member_number",
    "member no.": "member_number",
}
KIND_WORDS = {
    "public_security": TeamKind.PUBLIC_SECURITY,
    "治安义工": TeamKind.PUBLIC_SECURITY,
    "anti_pickpocket": TeamKind.ANTI_PICKPOCKET,
    "反扒志愿者": TeamKind.ANTI_PICKPOCKET,
    "joint_patrol": TeamKind.JOINT_PATROL,
    "保安联防巡逻队": TeamKind.JOINT_PATROL,
    "other": TeamKind.OTHER,
    "其他": TeamKind.OTHER,
}
ROLE_WORDS = {
    "": None,
    "volunteer": Role.VOLUNTEER,
    "志愿者": Role.VOLUNTEER,
    "member": Role.VOLUNTEER,
    "coordinator": Role.COORDINATOR,
    "协调员": Role.COORDINATOR,
}


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    memberships: int = 0

    def summary(self) -> str:
        if self.kind == "teams":
            return _(
                "Teams imported: %(created)s new, %(updated)s updated.", created=self.created, updated=self.updated
            )
        return _(
            "Volunteers imported: %(created)s new, %(updated)s updated, %(memberships)s team memberships added.",
            created=self.created,
            updated=self.updated,
            memberships=self.memberships,
        )


@dataclass
class ImportFailed(Exception):
    """Nothing was written. `errors` are (line number, message); line 1 is the header."""

    errors: list[tuple[int, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(format_error(line, message) for line, message in self.errors)


def format_error(line: int, message: str) -> str:
    return _("line %(line)s: %(message)s", line=line, message=message) if line else message


def decode(data: bytes) -> str:
    """UTF-8 (with or without the byte-order mark Excel writes), else GB18030 (Chinese Excel)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([(0, _("The file is neither UTF-8 nor GB18030 text; save it as CSV (UTF-8)."))])


def _rows(text: str, kind: str) -> list[tuple[int, dict[str, str]]]:
    """Parsed rows with their line numbers; the header is checked for the required columns."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([(0, _("The file is empty."))]) from None
    except csv.Error as exc:
        raise ImportFailed([(1, str(exc))]) from None
    columns = _columns(header, kind)
    try:
        rows = _body_rows(reader, columns)
    except csv.Error as exc:
        raise ImportFailed([(reader.line_num, str(exc))]) from None
    if not rows:
        raise ImportFailed([(0, _("The file has a header but no rows."))])
    return rows


def _columns(header: list[str], kind: str) -> list[str]:
    """Column names from the header (aliases resolved); ImportFailed when some are missing or unknown."""
    known = TEAM_COLUMNS if kind == "teams" else VOLUNTEER_COLUMNS
    columns = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header]
    unknown = [c for c in columns if c and c not in known]
    required = REQUIRED[kind]
    if kind == "volunteers" and "member_number" in columns:
        required = required - {"email", "teams"}  # rows may name existing members by number instead
    missing = sorted(required - set(columns))
    errors = []
    if missing:
        errors.append((1, _("missing columns: %(columns)s", columns=", ".join(missing))))
    if unknown:
        errors.append(
            (
                1,
                _(
                    "unknown columns: %(columns)s (expected: %(expected)s)",
                    columns=", ".join(unknown),
                    expected=", ".join(known),
                ),
            )
        )
    if errors:
        raise ImportFailed(errors)
    return columns


def _body_rows(reader, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFailed([(reader.line_num, _("more than %(max)s rows; split the file.", max=MAX_ROWS))])
        row = {column: (values[i].strip() if i < len(values) else "") for i, column in enumerate(columns)}
        if len(values) > len(columns) and any(v.strip() for v in values[len(columns) :]):
            row["__extra__"] = "1"
        rows.append((reader.line_num, row))
    return rows


def _subdistricts() -> dict[str, int]:
    lookup = {}
    for sub in db.session.scalars(sa.select(Subdistrict)):
        for key in (sub.slug, sub.name_zh, sub.name_en, sub.name_zh.removesuffix("街道")):
            lookup[key.lower()] = sub.id
    return lookup


def _checked(rows, check) -> list[dict]:
    """Every row through `check(line, row, problems) -> values`; ImportFailed listing every bad line."""
    errors: list[tuple[int, str]] = []
    clean = []
    for line, row in rows:
        problems = [_("more values than columns")] if "__extra__" in row else []
        values = check(line, row, problems)
        if problems:
            errors.append((line, "; ".join(problems)))
        else:
            clean.append(values)
    if errors:
        raise ImportFailed(errors)
    return clean


def _too_long(problems: list, column: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.append(_("%(column)s is longer than %(max)s characters", column=column, max=limit))


# --- teams -----------------------------------------------------------------------------------


def import_teams(text: str, actor=None) -> ImportResult:
    rows = _rows(text, "teams")
    subdistricts = _subdistricts()
    seen: dict[str, int] = {}
    clean = _checked(rows, lambda line, row, problems: _team_values(line, row, problems, subdistricts, seen))
    return _save_teams(clean, actor)


def _team_values(line: int, row: dict, problems: list, subdistricts: dict, seen: dict) -> dict:
    code = row.get("code", "")
    if not CODE_RE.match(code):
        problems.append(_("code “%(code)s” must be 1–32 letters, digits, - or _", code=code))
    elif code.upper() in seen:
        problems.append(_("code %(code)s is also on line %(other)s", code=code, other=seen[code.upper()]))
    else:
        seen[code.upper()] = line
    name_zh = row.get("name_zh", "")
    if not name_zh:
        problems.append(_("name_zh is empty"))
    name_en = row.get("name_en", "") or name_zh
    _too_long(problems, "name_zh", name_zh, 200)
    _too_long(problems, "name_en", name_en, 200)
    kind = KIND_WORDS.get(row.get("kind", "").lower())
    if kind is None:
        problems.append(
            _(
                "kind “%(kind)s” is not one of %(choices)s",
                kind=row.get("kind", ""),
                choices="public_security, anti_pickpocket, joint_patrol, other",
            )
        )
    subdistrict_id = None
    if row.get("subdistrict"):
        subdistrict_id = subdistricts.get(row["subdistrict"].lower())
        if subdistrict_id is None:
            problems.append(_("subdistrict “%(name)s” is unknown", name=row["subdistrict"]))
    for column in ("police_station_zh", "police_station_en"):
        _too_long(problems, column, row.get(column, ""), 120)
    return dict(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        kind=kind,
        subdistrict_id=subdistrict_id,
        police_station_zh=row.get("police_station_zh", ""),
        police_station_en=row.get("police_station_en", ""),
    )


@unit_of_work
def _save_teams(clean: list[dict], actor) -> ImportResult:
    result = ImportResult("teams")
    existing = {
        t.code.upper(): t
        for t in db.session.scalars(
            sa.select(PatrolTeam).where(sa.func.upper(PatrolTeam.code).in_([c["code"].upper() for c in clean]))
        )
    }
    for values in clean:
        team = existing.get(values["code"].upper())
        if team is None:
            db.session.add(PatrolTeam(**values))
            result.created += 1
        else:
            for key, value in values.items():
                if key != "code" and (value or key in ("name_zh", "name_en", "kind")):
                    setattr(team, key, value)
            result.updated += 1
    record(actor, "import.teams", "patrol_team", None, created=result.created, updated=result.updated)
    return result


# --- volunteers ------------------------------------------------------------------------------


def import_volunteers(text: str, actor=None) -> ImportResult:
    rows = _rows(text, "volunteers")
    teams = {code.upper(): team_id for code, team_id in db.session.execute(sa.select(PatrolTeam.code, PatrolTeam.id))}
    users = {
        u.email: u
        for u in db.session.scalars(
            sa.select(User).where(User.email.in_([normalise_email(row.get("email")) for _line, row in rows]))
        )
    }
    numbered = _numbered_members(rows, teams)
    seen: dict[str, int] = {}
    clean = _checked(
        rows, lambda line, row, problems: _volunteer_values(line, row, problems, teams, users, seen, numbered)
    )
    return _save_volunteers(clean, users, actor)


def _numbered_members(rows, teams: dict) -> dict[tuple[int, int], User]:
    """The members the file names by number, by (team id, number); one query."""
    wanted = set()
    for _line, row in rows:
        match = MEMBER_NUMBER_RE.match(row.get("member_number", ""))
        if match and match.group(1).upper() in teams:
            wanted.add((teams[match.group(1).upper()], int(match.group(2))))
    if not wanted:
        return {}
    found = db.session.execute(
        sa.select(TeamMembership.team_id, TeamMembership.member_number, User)
        .join(User, User.id == TeamMembership.user_id)
        .where(
            TeamMembership.team_id.in_({team_id for team_id, _n in wanted}),
            TeamMembership.member_number.in_({n for _t, n in wanted}),
        )
    ).all()
    return {(team_id, number): user for team_id, number, user in found if (team_id, number) in wanted}


def _checked_member(line: int, row: dict, problems: list, teams: dict, numbered: dict, seen: dict) -> User | None:
    """The existing member a row names by number, or None (with the reason in `problems` if it names one badly)."""
    text = row.get("member_number", "")
    if not text:
        return None
    match = MEMBER_NUMBER_RE.match(text)
    if match is None:
        problems.append(_("member number “%(number)s” must look like T001-007", number=text))
        return None
    code, number = match.group(1), int(match.group(2))
    if code.upper() not in teams:
        problems.append(_("member number %(number)s: there is no team %(code)s", number=text, code=code))
        return None
    member = numbered.get((teams[code.upper()], number))
    if member is None:
        problems.append(
            _("member number %(number)s is unknown: team %(code)s has no member with it", number=text, code=code)
        )
        return None
    given_email = row.get("email", "")
    if given_email:
        before = len(problems)
        email = _checked_email(line, row, problems, seen)
        if len(problems) == before and email != member.email:
            problems.append(
                _(
                    "member number %(number)s is %(name)s (%(email)s), not %(given)s",
                    number=text,
                    name=member.name,
                    email=member.email,
                    given=email,
                )
            )
        return member
    name = row.get("name", "")
    if name and name not in (member.name, member.name_en):
        problems.append(
            _("member number %(number)s is %(name)s, not %(given)s", number=text, name=member.name, given=name)
        )
    if member.email in seen:
        problems.append(_("member number %(number)s is also on line %(other)s", number=text, other=seen[member.email]))
    seen.setdefault(member.email, line)
    return member


def _volunteer_values(
    line: int, row: dict, problems: list, teams: dict, users: dict, seen: dict, numbered: dict | None = None
) -> dict:
    member = _checked_member(line, row, problems, teams, numbered or {}, seen)
    if member is not None:
        email = member.email
        users.setdefault(email, member)  # the row updates that member
    elif row.get("member_number"):
        email = normalise_email(row.get("email"))  # the number's problem is reported; no second one
    else:
        email = _checked_email(line, row, problems, seen)
    name = row.get("name", "")
    if not name:
        problems.append(_("name is empty"))
    else:
        _too_long(problems, "name", name, 100)
    _too_long(problems, "name_en", row.get("name_en", ""), 100)
    phone = row.get("phone", "")
    if phone and not PHONE_RE.match(phone):
        problems.append(_("phone “%(phone)s” is not a phone number", phone=phone))
    codes = _checked_team_codes(row, problems, teams, numbered=bool(row.get("member_number")))
    role_word = row.get("role", "").lower()
    if role_word not in ROLE_WORDS:
        problems.append(_("role “%(role)s” is not volunteer or coordinator", role=row.get("role", "")))
    limit = _checked_hours_limit(row, problems)
    language, channels = _checked_notify(row, phone, problems)
    existing = users.get(email)
    if existing is not None and existing.role not in (Role.VOLUNTEER, Role.COORDINATOR):
        problems.append(
            _(
                "%(email)s already belongs to an account of another kind (%(role)s)",
                email=email,
                role=existing.role.value,
            )
        )
    return dict(
        email=email,
        name=name,
        name_en=row.get("name_en", ""),
        phone=phone,
        team_ids=[teams[c.upper()] for c in codes if c.upper() in teams],
        role=ROLE_WORDS.get(role_word),
        limit=limit,
        has_limit="weekly_hours_limit" in row,
        language=language,
        channels=channels,
    )


def _checked_notify(row: dict, phone: str, problems: list) -> tuple[str | None, set[str] | None]:
    """The `language` and `channels` columns; None where the file leaves them empty."""
    word = row.get("language", "").strip().lower()
    language = LANGUAGE_WORDS.get(word) if word else None
    if word and language is None:
        problems.append(_("language “%(value)s” must be zh_CN or en", value=row.get("language", "")))
    raw = [w for w in re.split(r"[;,\s]+", row.get("channels", "").strip().lower()) if w]
    channels = {CHANNEL_WORDS.get(w) for w in raw} if raw else None
    if channels is not None and None in channels:
        problems.append(_("channels “%(value)s” must be email and/or sms", value=row.get("channels", "")))
        channels = None
    if channels and "sms" in channels and not phone:
        problems.append(_("channels: sms needs a phone number"))
    return language, channels


def _checked_email(line: int, row: dict, problems: list, seen: dict) -> str:
    email = normalise_email(row.get("email"))
    try:
        email = normalise_email(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError:
        problems.append(_("“%(email)s” is not an email address", email=row.get("email", "")))
        return email
    if email in seen:
        problems.append(_("%(email)s is also on line %(other)s", email=email, other=seen[email]))
    seen.setdefault(email, line)
    return email


def _checked_team_codes(row: dict, problems: list, teams: dict, numbered: bool = False) -> list[str]:
    """Team codes of the row; a member named by number may leave them empty (memberships are kept)."""
    codes = [c for c in re.split(r"[;,\s]+", row.get("teams", "")) if c]
    if not codes and not numbered:
        problems.append(_("teams is empty"))
    unknown = [c for c in codes if c.upper() not in teams]
    if unknown:
        problems.append(_("unknown team codes: %(codes)s", codes=", ".join(unknown)))
    return codes


def _checked_hours_limit(row: dict, problems: list) -> int | None:
    value = row.get("weekly_hours_limit")
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 168:
        problems.append(_("weekly_hours_limit “%(value)s” must be a whole number of hours from 1 to 168", value=value))
        return None
    return int(value)


@unit_of_work
def _save_volunteers(clean: list[dict], users: dict, actor) -> ImportResult:
    result = ImportResult("volunteers")
    unusable = generate_password_hash(secrets.token_urlsafe(32))
    memberships = (
        {
            (m.team_id, m.user_id): m
            for m in db.session.scalars(
                sa.select(TeamMembership).where(TeamMembership.user_id.in_([u.id for u in users.values()]))
            )
        }
        if users
        else {}
    )
    for values in clean:
        user = users.get(values["email"])
        if user is None:
            user = User(
                email=values["email"],
                name=values["name"],
                name_en=values["name_en"],
                phone=values["phone"],
                role=values["role"] or Role.VOLUNTEER,
                password_hash=unusable,
                weekly_hours_limit=values["limit"],
                locale=values["language"] or "zh_CN",
                notify_email=True if values["channels"] is None else "email" in values["channels"],
                notify_sms=False if values["channels"] is None else "sms" in values["channels"],
            )
            db.session.add(user)
            db.session.flush()
            result.created += 1
        else:
            _update_volunteer(user, values)
            result.updated += 1
        result.memberships += _join_teams(user, values, memberships)
    record(
        actor,
        "import.volunteers",
        "user",
        None,
        created=result.created,
        updated=result.updated,
        memberships=result.memberships,
    )
    return result


def _update_volunteer(user: User, values: dict) -> None:
    """Fields the file leaves empty keep their value; the name is always the file's."""
    user.name = values["name"]
    if values["name_en"]:
        user.name_en = values["name_en"]
    if values["phone"]:
        user.phone = values["phone"]
    if values["role"] is not None:
        user.role = values["role"]
    if values["has_limit"]:
        user.weekly_hours_limit = values["limit"]
    if values.get("language"):
        user.locale = values["language"]
    if values.get("channels") is not None:
        user.notify_email = "email" in values["channels"]
        user.notify_sms = "sms" in values["channels"]


def _join_teams(user: User, values: dict, memberships: dict) -> int:
    """Add the missing memberships (returns how many); a stated role also updates existing ones."""
    added = 0
    member_role = MembershipRole.COORDINATOR if user.role is Role.COORDINATOR else MembershipRole.MEMBER
    for team_id in dict.fromkeys(values["team_ids"]):
        membership = memberships.get((team_id, user.id))
        if membership is None:
            membership = TeamMembership(team_id=team_id, user_id=user.id, role=member_role)
            db.session.add(membership)
            memberships[(team_id, user.id)] = membership
            added += 1
        elif values["role"] is not None:
            membership.role = member_role
    return added


def import_file(kind: str, data: bytes, actor=None) -> ImportResult:
    text = decode(data)
    if kind == "teams":
        return import_teams(text, actor)
    if kind == "volunteers":
        return import_volunteers(text, actor)
    raise ValueError(kind)
