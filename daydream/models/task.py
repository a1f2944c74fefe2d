"""Generation tasks and the images they produce."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
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
    __table_args__ = (
        # The time estimate reads the latest finished tasks on every page that shows a wait.
        sa.Index("ix_task_state_finished_at", "state", "finished_at"),
        # A person's current or unfinished tasks (A1111 progress, the per-person bound).
        sa.Index("ix_task_user_id_state", "user_id", "state"),
        # The admin dashboard's counts and charts read the last day or weeks of tasks.
        sa.Index("ix_task_created_at", "created_at"),
    )

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
    # Inpainting: the mask (white = repaint) and how it is applied.
    mask: Mapped[str | None] = mapped_column(String(255))
    mask_blur: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    inpainting_fill: Mapped[str] = mapped_column(
        String(16), default="original", server_default="original")
    inpaint_full_res: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa.false())
    inpaint_full_res_padding: Mapped[int] = mapped_column(
        Integer, default=32, server_default="32")
    # Batches run one after another (A1111's n_iter); images = samples × n_iter.
    n_iter: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Hires fix: a second, larger img2img pass over the first pass's result.
    enable_hr: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa.false())
    hr_scale: Mapped[float] = mapped_column(Float, default=2.0, server_default="2")
    hr_upscaler: Mapped[str] = mapped_column(String(16), default="Latent",
                                             server_default="Latent")
    hr_second_pass_steps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hr_resize_x: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hr_resize_y: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No default: the real seed is chosen at submission and stored (never a silent 0).
    seed: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[int] = mapped_column(Integer, default=0)
    # Credits given back (all of a failure; the unused steps of a cancel, by default).
    refunded: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=TaskState.QUEUED.value, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="web")
    # The model that made the images (set by the worker), for the library's model filter.
    model: Mapped[str | None] = mapped_column(String(200))
    # How often a worker started this task; reconcile gives up on a task that keeps dying.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who runs it and when that worker last said so: a running task is taken back only when
    # its worker's heartbeat is gone, never because another worker started.
    worker_id: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A stop asked for while running; kept in the row so it survives the worker's death.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
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
    def results(self) -> list[Image]:
        """The task's images. Only a done task has any (they are stored in the transaction
        that marks it done), so the others answer without a query."""
        return self.images if self.state == TaskState.DONE.value else []

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
    __table_args__ = (
        # The gallery walks the shared images newest first, however many private ones there are.
        sa.Index("ix_image_public_id", "public", "id"),
        # A person's library, newest first, without visiting anybody else's images.
        sa.Index("ix_image_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    # The task's owner, copied in at insert (``_owner_from_task``): the library lists and
    # counts a person's images by it instead of joining every task.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(String(255))
    thumb_path: Mapped[str] = mapped_column(String(255))
    seed: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    favourite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Gallery curation: staff hide or feature; owners may keep their prompt private.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    prompt_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of imported files, so the same picture is not imported twice.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    task = relationship("Task", back_populates="images")


@sa.event.listens_for(Image, "before_insert")
def _owner_from_task(mapper, connection, image: Image) -> None:
    """An image belongs to whoever owns its task: fill ``user_id`` when it was not given."""
    if image.user_id is None:
        image.user_id = connection.scalar(
            sa.select(Task.user_id).where(Task.id == image.task_id))
