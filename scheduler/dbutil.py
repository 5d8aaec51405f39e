"""Small database helpers shared by the generators."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import sqlalchemy as sa

from models import db

T = TypeVar("T")


def insert_ignoring_conflicts(table: sa.Table, conflict_columns: Sequence[str]):
    """INSERT … ON CONFLICT (columns) DO NOTHING, so a concurrent generator's rows are skipped, not fatal."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the service supports SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database: {dialect}")
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
