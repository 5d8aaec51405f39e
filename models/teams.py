"""Patrol teams and who belongs to them."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import BilingualNameMixin, TimestampMixin, db, str_enum


class TeamKind(enum.Enum):
    PUBLIC_SECURITY = "public_security"  # 治安义工
    ANTI_PICKPOCKET = "anti_pickpocket"  # 反扒志愿者
    JOINT_PATROL = "joint_patrol"  # 保安联防巡逻队
    OTHER = "other"


class PatrolTeam(BilingualNameMixin, TimestampMixin, db.Model):
    __tablename__ = "patrol_teams"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    # The team's group-chat robot (apprise URL, e.g. wecombot://…, dingtalk://…); never shown to other teams.
    chat_webhook: orm.Mapped[str] = orm.mapped_column(sa.String(500), default="", server_default="")
    # The language its chat messages are written in (zh_CN or en): a group reads one language.
    chat_locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN", server_default="zh_CN")
    code: orm.Mapped[str] = orm.mapped_column(sa.String(32), unique=True)
    kind: orm.Mapped[TeamKind] = orm.mapped_column(str_enum(TeamKind, "team_kind"))
    subdistrict_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("subdistricts.id"), index=True)
    # Patrols are led by the police; the station is shown to members only.
    police_station_zh: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    police_station_en: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    is_sample: orm.Mapped[bool] = orm.mapped_column(default=False)
    # Team setting: a take on the open trade board waits for a coordinator's approval.
    trade_approval_required: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false())

    subdistrict: orm.Mapped[Subdistrict | None] = orm.relationship()  # noqa: F821
    memberships: orm.Mapped[list[TeamMembership]] = orm.relationship(
        back_populates="team", cascade="all, delete-orphan"
    )


class MembershipRole(enum.Enum):
    MEMBER = "member"
    COORDINATOR = "coordinator"


class TeamMembership(TimestampMixin, db.Model):
    __tablename__ = "team_memberships"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "user_id"),
        # A member number tells apart two members with the same name (T001-007), stable for life.
        sa.UniqueConstraint("team_id", "member_number", name="uq_team_memberships_member_number"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    team_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: orm.Mapped[MembershipRole] = orm.mapped_column(
        str_enum(MembershipRole, "membership_role"), default=MembershipRole.MEMBER
    )

    member_number: orm.Mapped[int | None] = orm.mapped_column()
    # A team leader (set by the coordinator) shows a shift's check-in code and checks people in.
    is_leader: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false())

    team: orm.Mapped[PatrolTeam] = orm.relationship(back_populates="memberships")
    user: orm.Mapped[User] = orm.relationship(back_populates="memberships")  # noqa: F821

    @property
    def member_label(self) -> str:
        return member_label(self.team.code, self.member_number)


def member_label(team_code: str, number: int | None) -> str:
    """The member number as shown on every list: team code and a 3-digit number (T001-007)."""
    return f"{team_code}-{number:03d}" if number else ""


def next_member_number(connection, team_id: int) -> int:
    return (
        connection.scalar(
            sa.select(sa.func.coalesce(sa.func.max(TeamMembership.member_number), 0)).where(
                TeamMembership.team_id == team_id
            )
        )
        + 1
    )


@sa.event.listens_for(TeamMembership, "before_insert")
def _number_new_member(mapper, connection, target: TeamMembership) -> None:
    """A new membership gets the number after its team's highest (numbers never change once given).

    Several rows of one team in one flush are numbered from a per-flush counter; two joins of one
    team in concurrent transactions collide on the unique constraint and the unit of work retries.
    """
    if target.member_number is not None:
        return
    team_id = target.team_id if target.team_id is not None else target.team.id
    session = orm.object_session(target)
    pending = session.info.setdefault("member_numbers", {}) if session is not None else {}
    number = max(next_member_number(connection, team_id), pending.get(team_id, 0) + 1)
    pending[team_id] = number
    target.member_number = number


@sa.event.listens_for(orm.Session, "after_flush")
def _forget_member_numbers(session, flush_context) -> None:
    session.info.pop("member_numbers", None)
