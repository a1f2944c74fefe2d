"""Credits: grants, charges and refunds, each recorded in the ledger.

Every change is a conditional ``UPDATE`` (never read-then-write), so balances cannot go
negative under concurrency on SQLite or PostgreSQL. Callers own the transaction: these
functions flush, they do not commit, so a charge and the task it pays for commit together.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, User

# Balances live in 32-bit columns (2,147,483,647 at most). Grants stop at MAX_BALANCE, which
# leaves room for every refund (a refund never exceeds what was charged before it).
MAX_BALANCE = 1_000_000_000


class BalanceCapExceeded(ValueError):
    """A grant would take the balance past MAX_BALANCE; nothing was granted."""

    def __init__(self, amount: int) -> None:
        super().__init__(f"Granting {amount:,} credits would take the balance past the "
                         f"limit of {MAX_BALANCE:,}.")


class InsufficientCredits(Exception):
    """The balance does not cover the cost; nothing was charged."""

    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(f"This needs {needed} credits and you have {balance}.")
        self.needed = needed
        self.balance = balance


class RemovalTooLarge(InsufficientCredits):
    """Staff tried to remove more credits than the account holds; nothing changed."""

    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(needed, balance)
        self.args = (f"Cannot remove {needed} credits: the balance is only {balance}.",)


def _record(user_id: int, delta: int, kind: EntryKind, balance: int, **fields) -> CreditEntry:
    entry = CreditEntry(
        user_id=user_id, delta=delta, balance_after=balance, kind=kind.value, **fields
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _new_balance(statement) -> int | None:
    """Run a balance UPDATE; the balance it left (None: no row matched). RETURNING gives it
    in the same statement, and "fetch" brings a loaded user's ``credits`` up to date."""
    return db.session.execute(statement.returning(User.credits)
                              .execution_options(synchronize_session="fetch")).scalar()


def _take(user_id: int, amount: int) -> int:
    """Subtract credits only where the balance covers them (one conditional UPDATE); the
    new balance."""
    balance = _new_balance(update(User).where(User.id == user_id, User.credits >= amount)
                           .values(credits=User.credits - amount))
    if balance is None:
        balance = db.session.execute(select(User.credits).where(User.id == user_id)).scalar()
        raise InsufficientCredits(amount, balance or 0)
    return balance


def charge(user_id: int, amount: int, task_id: int | None = None) -> CreditEntry:
    """Take ``amount`` credits if the balance covers it, else raise InsufficientCredits."""
    if amount < 0:
        raise ValueError("a charge cannot be negative")
    balance = _take(user_id, amount)
    return _record(user_id, -amount, EntryKind.CHARGE, balance, task_id=task_id)


def credit(
    user_id: int,
    amount: int,
    kind: EntryKind = EntryKind.GRANT,
    *,
    task_id: int | None = None,
    actor_id: int | None = None,
    note: str | None = None,
) -> CreditEntry:
    """Add credits (a grant, signup bonus or refund) and record it."""
    if amount < 0:
        raise ValueError("use charge() or revoke() to take credits")
    if kind != EntryKind.REFUND and amount > MAX_BALANCE:
        raise BalanceCapExceeded(amount)
    where = [User.id == user_id]
    if kind != EntryKind.REFUND:
        where.append(User.credits <= MAX_BALANCE - amount)
    balance = _new_balance(update(User).where(*where).values(credits=User.credits + amount))
    if balance is None:
        raise BalanceCapExceeded(amount)
    return _record(user_id, amount, kind, balance, task_id=task_id, actor_id=actor_id,
                   note=note)


def revoke(user_id: int, amount: int, *, actor_id: int | None, note: str | None) -> CreditEntry:
    """Staff removal of credits; never below zero (RemovalTooLarge otherwise)."""
    if amount <= 0:
        raise ValueError("a removal must be positive")
    try:
        balance = _take(user_id, amount)
    except InsufficientCredits as error:
        raise RemovalTooLarge(amount, error.balance) from None
    return _record(user_id, -amount, EntryKind.REVOKE, balance, actor_id=actor_id, note=note)


def ledger_total(user_id: int) -> int:
    """The sum of a user's ledger, which must equal their balance."""
    total = db.session.execute(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(
            CreditEntry.user_id == user_id
        )
    ).scalar_one()
    return int(total)


def history(user_id: int, limit: int = 50) -> list[CreditEntry]:
    """The newest ledger rows of a user."""
    return list(
        db.session.scalars(
            select(CreditEntry)
            .where(CreditEntry.user_id == user_id)
            .order_by(CreditEntry.id.desc())
            .limit(limit)
        )
    )
