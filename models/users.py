"""People who log in, and how they authenticate."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import orm
from werkzeug.security import check_password_hash, generate_password_hash

from i18n import current_language, localized

from .base import TimestampMixin, UTCDateTime, db, str_enum


class Role(enum.Enum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"
    OFFICIAL = "official"
    STAFF = "staff"  # court and legal-clinic staff, suggestion handlers


# The password policy, one place for the admin form and the CLI.
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200


def normalise_email(value: str | None) -> str:
    """How an address is stored and looked up: trimmed, lower case (the email_lowercase CHECK)."""
    return (value or "").strip().lower()


def password_acceptable(password: str) -> bool:
    return PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), unique=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    name_en: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")
    phone: orm.Mapped[str] = orm.mapped_column(sa.String(32), default="")
    password_hash: orm.Mapped[str] = orm.mapped_column(sa.String(256))
    role: orm.Mapped[Role] = orm.mapped_column(str_enum(Role, "user_role"), index=True)
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    # Officials: their title and bureau, shown where they are expected.
    title_zh: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    title_en: orm.Mapped[str] = orm.mapped_column(sa.String(120), default="")
    bureau_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("bureaus.id"), index=True)
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="zh_CN")
    # Channel choices for notifications (services/notify.py); email on unless turned off.
    notify_email: orm.Mapped[bool] = orm.mapped_column(default=True, server_default=sa.true())
    notify_sms: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false())
    weekly_hours_limit: orm.Mapped[int | None] = orm.mapped_column()
    is_sample: orm.Mapped[bool] = orm.mapped_column(default=False)

    memberships: orm.Mapped[list[TeamMembership]] = orm.relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )
    bureau: orm.Mapped[Bureau | None] = orm.relationship()  # noqa: F821

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login's identity, kept in the session and the remember-me cookie: the user's id and
        the key of one LoginSession, so that ending that row ends the cookie (services/sessions.py)."""
        return getattr(self, "login_identity", None) or ""

    def has_role(self, *roles: Role) -> bool:
        return self.role is Role.ADMIN or self.role in roles

    @property
    def display_name(self) -> str:
        if current_language() == "en" and self.name_en:
            return self.name_en
        return self.name

    @property
    def title(self) -> str:
        return localized(self, "title")


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    label: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    last_used_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    revoked_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    user: orm.Mapped[User] = orm.relationship()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(db.Model):
    """One login (a browser's session and its remember-me cookie), server-side so that it can end:
    logout deletes it; a password, role or active change deletes all of the user's others.
    Only the SHA-256 of its key is stored; the key itself is in the signed cookie."""

    __tablename__ = "login_sessions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    expires_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
