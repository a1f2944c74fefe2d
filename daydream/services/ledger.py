"""Reading the credit ledger: pages with the running balance, and CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from daydream.extensions import db
from daydream.models import CreditEntry, Task

PAGE_SIZE = 25
CSV_COLUMNS = ["id", "time_utc", "kind", "change", "balance", "task", "by", "note"]


@dataclass
class LedgerPage:
    """One page of a user's ledger, newest first; ``balance_after`` is the running balance."""

    entries: list[CreditEntry]
    page: int
    pages: int
    total: int


def page(user_id: int, page_number: int = 1, page_size: int = PAGE_SIZE) -> LedgerPage:
    """The user's ledger, newest first, one page."""
    stmt = select(CreditEntry).where(CreditEntry.user_id == user_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page_number = min(max(page_number, 1), pages)
    # Each row names its task and who made it: two queries for the page, not two per row.
    rows = db.session.scalars(stmt.options(selectinload(CreditEntry.task),
                                           selectinload(CreditEntry.actor))
                              .order_by(CreditEntry.id.desc())
                              .offset((page_number - 1) * page_size).limit(page_size))
    return LedgerPage(list(rows), page_number, pages, total)


def csv_lines(user_id: int, batch: int = 500) -> Iterator[str]:
    """The whole ledger as CSV, oldest first, produced in batches (never all in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    last_id = 0
    while True:
        rows = db.session.execute(
            select(CreditEntry, Task.uuid).outerjoin(Task, CreditEntry.task_id == Task.id)
            .where(CreditEntry.user_id == user_id, CreditEntry.id > last_id)
            .order_by(CreditEntry.id).limit(batch)).all()
        for entry, task_uuid in rows:
            writer.writerow([
                entry.id, entry.created_at.isoformat(timespec="seconds"), entry.kind,
                entry.delta, entry.balance_after, task_uuid or "",
                entry.actor.email if entry.actor else "", _safe_cell(entry.note or ""),
            ])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < batch:
            return
        last_id = rows[-1][0].id


def _safe_cell(text: str) -> str:
    """Keep spreadsheets from running a note as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
