"""The database handle and the column types every model shares."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import orm

from i18n import localized

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uid() -> str:
    """A random, permanent identifier for calendar events (reveals nothing about anyone)."""
    return str(uuid.uuid4())


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always returns aware UTC values.

    SQLite drops tzinfo, so a naive value read back is UTC by construction; naive
    values are refused on the way in because their zone would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column stored as its values (VARCHAR + CHECK), readable in SQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class BilingualNameMixin:
    """Places and things named in both languages; `name` picks the reader's language."""

    name_zh: orm.Mapped[str] = orm.mapped_column(sa.String(200), nullable=False)
    name_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), nullable=False)

    @property
    def name(self) -> str:
        return localized(self, "name")


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite enforces foreign keys only when asked, per connection; wait rather than fail on a lock."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
