"""The data model: users, tasks, images, the credit ledger."""

from daydream.models.ledger import CreditEntry, EntryKind
from daydream.models.task import Image, Task, TaskState
from daydream.models.user import Role, User

__all__ = ["CreditEntry", "EntryKind", "Image", "Role", "Task", "TaskState", "User"]
