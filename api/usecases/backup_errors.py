"""Refusals of backup and restore, each with a stable code; their words never hold a secret."""

from __future__ import annotations

from kernel.errors import KysoError

__all__ = [
    "BackupDamaged",
    "BackupError",
    "BackupFromAnotherMasterKey",
    "BackupNotRestorable",
    "DatabaseToolError",
    "NewerSchema",
    "RestoreTargetNotEmpty",
]


class BackupError(KysoError):
    """Base of backup and restore refusals: ``code`` is stable, ``detail`` is for people."""

    code = "backup.error"


class BackupDamaged(BackupError):
    """Not a kyso backup, or one whose bytes changed since it was sealed."""

    code = "backup.damaged"


class BackupFromAnotherMasterKey(BackupError):
    """Sealed under another master key than the one given: the keys inside would not open."""

    code = "backup.other_master_key"


class NewerSchema(BackupError):
    """Made by a kyso whose database schema this one does not know."""

    code = "backup.newer_schema"


class BackupNotRestorable(BackupError):
    """The backup checks, but what it holds does not (a broken audit chain, a missing key,
    counts that differ from its manifest, another backend)."""

    code = "backup.not_restorable"


class RestoreTargetNotEmpty(BackupError):
    """A restore goes into an empty data directory and an empty database only."""

    code = "restore.target_not_empty"


class DatabaseToolError(BackupError):
    """pg_dump or pg_restore is missing, too old for the server, or failed."""

    code = "backup.database_tool"
