"""Where things happen: subdistricts, communities and venues."""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy import orm

from .base import BilingualNameMixin, TimestampMixin, db, str_enum


class Subdistrict(BilingualNameMixin, db.Model):
    __tablename__ = "subdistricts"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)

    communities: orm.Mapped[list[Community]] = orm.relationship(
        back_populates="subdistrict", order_by="Community.slug"
    )


class Community(BilingualNameMixin, TimestampMixin, db.Model):
    __tablename__ = "communities"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    subdistrict_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("subdistricts.id"), index=True)
    # Demo rows carry this flag so every page can say the names are sample data.
    is_sample: orm.Mapped[bool] = orm.mapped_column(default=False)

    subdistrict: orm.Mapped[Subdistrict] = orm.relationship(back_populates="communities")
    venues: orm.Mapped[list[Venue]] = orm.relationship(back_populates="community")


class VenueKind(enum.Enum):
    LIAISON_CENTRE = "liaison_centre"  # 民众联络所
    NEIGHBOURHOOD_CENTRE = "neighbourhood_centre"  # 邻里中心
    COURTROOM = "courtroom"
    CLINIC_ROOM = "clinic_room"
    OTHER = "other"


class Venue(BilingualNameMixin, TimestampMixin, db.Model):
    __tablename__ = "venues"
    __table_args__ = (sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    kind: orm.Mapped[VenueKind] = orm.mapped_column(str_enum(VenueKind, "venue_kind"))
    address_zh: orm.Mapped[str] = orm.mapped_column(sa.String(300), default="")
    address_en: orm.Mapped[str] = orm.mapped_column(sa.String(300), default="")
    capacity: orm.Mapped[int] = orm.mapped_column(default=0)
    community_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("communities.id"), index=True)
    subdistrict_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("subdistricts.id"), index=True)
    is_sample: orm.Mapped[bool] = orm.mapped_column(default=False)

    community: orm.Mapped[Community | None] = orm.relationship(back_populates="venues")
    subdistrict: orm.Mapped[Subdistrict | None] = orm.relationship()

    @property
    def address(self) -> str:
        from i18n import pick

        return pick(self.address_zh, self.address_en)
