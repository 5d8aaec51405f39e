"""Where things happen: subdistricts, communities and venues."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy import orm

from i18n import localized

from .base import BilingualNameMixin, TimestampMixin, db, str_enum


class Subdistrict(BilingualNameMixin, db.Model):
    __tablename__ = "subdistricts"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)

    communities: orm.Mapped[list[Community]] = orm.relationship(back_populates="subdistrict", order_by="Community.slug")


class Community(BilingualNameMixin, TimestampMixin, db.Model):
    __tablename__ = "communities"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    subdistrict_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("subdistricts.id"), index=True)
    # Demo rows carry this flag so every page can say the names are sample data.
    is_sample: orm.Mapped[bool] = orm.mapped_column(default=False)
    # Everything a resident might type to find this community (its names, their pinyin, its areas),
    # normalised once when saved (services/search.py) so a search is one LIKE per word.
    search_key: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")

    subdistrict: orm.Mapped[Subdistrict] = orm.relationship(back_populates="communities")
    venues: orm.Mapped[list[Venue]] = orm.relationship(back_populates="community")
    areas: orm.Mapped[list[CommunityArea]] = orm.relationship(
        back_populates="community",
        cascade="all, delete-orphan",
        order_by="(CommunityArea.position, CommunityArea.id)",
    )


class AreaKind(enum.Enum):
    STREET = "street"  # 路、街
    COMPOUND = "compound"  # 小区、花园、公寓
    LANDMARK = "landmark"  # 湖、地铁站、学校、商场


class CommunityArea(BilingualNameMixin, db.Model):
    """A street, residential compound or landmark a community serves: what residents know."""

    __tablename__ = "community_areas"
    __table_args__ = (sa.UniqueConstraint("community_id", "name_zh"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    community_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    kind: orm.Mapped[AreaKind] = orm.mapped_column(str_enum(AreaKind, "area_kind"))
    position: orm.Mapped[int] = orm.mapped_column(default=0)
    search_key: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")

    community: orm.Mapped[Community] = orm.relationship(back_populates="areas")


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
    # WGS-84, as phones' maps expect (feeds publish them as GEO). Unknown: both None.
    latitude: orm.Mapped[float | None] = orm.mapped_column(sa.Float)
    longitude: orm.Mapped[float | None] = orm.mapped_column(sa.Float)

    community: orm.Mapped[Community | None] = orm.relationship(back_populates="venues")
    subdistrict: orm.Mapped[Subdistrict | None] = orm.relationship()

    @property
    def address(self) -> str:
        return localized(self, "address")
