"""Generation tasks and the images they produce."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import new_uuid, utcnow


class TaskState(enum.StrEnum):
    """The task state machine: queued → running → done | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def unfinished(cls) -> tuple[str, str]:
        """States that still hold a queue place."""
        return (cls.QUEUED.value, cls.RUNNING.value)


class Task(db.Model):
    """One request for images: its parameters, its cost, its progress and outcome."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sessionid: Mapped[str | None] = mapped_column(String(42), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="txt2img")
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    samples: Mapped[int] = mapped_column(Integer, default=1)
    steps: Mapped[int] = mapped_column(Integer)
    guidance: Mapped[float] = mapped_column(Float)
    scheduler: Mapped[str] = mapped_column(String(40))
    strength: Mapped[float | None] = mapped_column(Float)
    init_image: Mapped[str | None] = mapped_column(String(255))
    # No default: the real seed is chosen at submission and stored (never a silent 0).
    seed: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=TaskState.QUEUED.value, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="web")
    # How often a worker started this task; reconcile gives up on a task that keeps dying.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship(
        "User", backref=backref("tasks", cascade="all, delete-orphan", passive_deletes=True)
    )
    images = relationship(
        "Image", back_populates="task", order_by="Image.index", cascade="all, delete-orphan"
    )

    @property
    def is_finished(self) -> bool:
        """Whether the task has reached a final state."""
        return self.state not in TaskState.unfinished()

    @property
    def seconds_taken(self) -> float | None:
        """Wall time from start to finish, when known."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Image(db.Model):
    """One generated PNG (with its thumbnail) belonging to a task."""

    __tablename__ = "image"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(String(255))
    thumb_path: Mapped[str] = mapped_column(String(255))
    seed: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    task = relationship("Task", back_populates="images")
