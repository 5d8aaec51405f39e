"""Which years of China's holiday calendar are known, and which are still a guess.

The State Council publishes each year's arrangement (days off and make-up working days) late in
the previous year. The `holidays` package knows a year's statutory days long before; it knows the
make-up working days only once the arrangement is published, so that is the package's mark of a
known year (for 2027 with holidays 0.109: statutory days, but `weekend_workdays` empty). A year is
*confirmed* when the package has its make-up working days, or an admin imported or confirmed it
(`HolidayYear`). Until then the court and clinic days of that year are provisional: the real
arrangement may turn one into a working day or add a day off.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import HolidayYear, ProgrammeKind, db, utcnow

from .holiday_calendar import _china

# Programmes whose dates follow the holiday calendar (contact days follow their own rule).
CALENDAR_KINDS = (ProgrammeKind.HOLIDAY_COURT, ProgrammeKind.LEGAL_CLINIC)


def package_knows(year: int) -> bool:
    """Does the `holidays` package have this year's make-up working days (the published arrangement)?"""
    # weekend_workdays also carries other years' days (fixed tables): only this year's count.
    return any(day.year == year for day in _china(year).weekend_workdays)


def admin_confirmed_years() -> set[int]:
    return set(db.session.scalars(sa.select(HolidayYear.year)))


class ConfirmedYears:
    """Answers "is this year confirmed?" with the table read once (one per feed build or page)."""

    def __init__(self) -> None:
        self._admin = admin_confirmed_years()
        self._known: dict[int, bool] = {}

    def __call__(self, year: int) -> bool:
        found = self._known.get(year)
        if found is None:
            found = self._known[year] = year in self._admin or package_knows(year)
        return found

    def provisional(self, kind, day: dt.date) -> bool:
        """Is a session of programme `kind` on `day` provisional (its year's arrangement unknown)?"""
        return ProgrammeKind(kind) in CALENDAR_KINDS and not self(day.year)


def is_confirmed(year: int) -> bool:
    return ConfirmedYears()(year)


def unconfirmed_years(first: int, last: int) -> list[int]:
    known = ConfirmedYears()
    return [year for year in range(first, last + 1) if not known(year)]


def confirm(year: int, actor=None, source: str = "") -> HolidayYear:
    """Mark a year confirmed (the caller commits). Confirming again updates the source."""
    row = db.session.get(HolidayYear, year)
    if row is None:
        row = HolidayYear(year=year)
        db.session.add(row)
    row.source = source[:200]
    row.confirmed_at = utcnow()
    row.confirmed_by_id = getattr(actor, "id", None)
    return row
