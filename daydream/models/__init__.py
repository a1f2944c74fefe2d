"""The data model: users, tasks, images, the credit ledger, API keys, idempotency keys,
login sessions, vouchers, the audit log, account archives, model settings."""

from daydream.models.apikey import ApiKey
from daydream.models.archive import Archive, ArchiveState
from daydream.models.audit import AuditEntry
from daydream.models.idempotency import IdempotencyKey
from daydream.models.ledger import CreditEntry, EntryKind
from daydream.models.login import LoginSession
from daydream.models.model_setting import ModelSetting
from daydream.models.task import Image, Task, TaskState
from daydream.models.user import Role, User
from daydream.models.voucher import Voucher, VoucherRedemption

__all__ = ["ApiKey", "Archive", "ArchiveState", "AuditEntry", "CreditEntry", "EntryKind",
           "IdempotencyKey", "Image", "LoginSession", "ModelSetting", "Role", "Task",
           "TaskState", "User", "Voucher", "VoucherRedemption"]
