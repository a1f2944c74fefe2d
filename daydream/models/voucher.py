"""Voucher codes staff hand out for credits, and who redeemed them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import utcnow


class Voucher(db.Model):
    """A code worth ``amount`` credits, usable ``max_uses`` times (once per person)."""

    __tablename__ = "voucher"
    __table_args__ = (CheckConstraint("uses <= max_uses", name="uses_within_limit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hex SHA-256 of the normalised code: a leaked table gives away no usable code.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The last characters, so staff can tell codes apart in lists.
    hint: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(Integer)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    created_by = relationship("User")

    @property
    def uses_left(self) -> int:
        """How many more people may redeem it."""
        return max(0, self.max_uses - self.uses)


class VoucherRedemption(db.Model):
    """One person redeeming one voucher; the pair is unique."""

    __tablename__ = "voucher_redemption"
    __table_args__ = (UniqueConstraint("voucher_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(
        ForeignKey("voucher.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user = relationship("User")
