"""The data model: users, tasks, images, the credit ledger, API keys."""

from daydream.models.apikey import ApiKey
from daydream.models.ledger import CreditEntry, EntryKind
from daydream.models.task import Image, Task, TaskState
from daydream.models.user import Role, User

__all__ = ["ApiKey", "CreditEntry", "EntryKind", "Image", "Role", "Task", "TaskState", "User"]
