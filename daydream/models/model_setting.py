"""The operator's settings for a library model, overlaid on what the scan of the folder found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from daydream.extensions import db
from daydream.models.base import utcnow


class ModelSetting(db.Model):
    """One model's display name, size, price factor, enabled flag and default mark.

    A NULL column keeps what the scan (and ``models.toml``) says; the database is shared by
    every web process and worker, so a staff change applies everywhere without a restart.
    """

    __tablename__ = "model_setting"
    __table_args__ = (
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
        CheckConstraint("width IS NULL OR width > 0", name="width_positive"),
        CheckConstraint("height IS NULL OR height > 0", name="height_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    # At most one row is the default; set and cleared together in one transaction.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
