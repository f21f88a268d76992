"""Signed documents kept for re-download during their retention period."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session

__all__ = ["DocumentStore"]


class DocumentStore:
    """Files named by signature id under one directory (shared by every server process)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, signature_id: str) -> Path:
        if not signature_id.replace("-", "").isalnum():
            raise ValueError("invalid signature id")
        return self.directory / f"{signature_id}.pdf"

    def keep(self, session: Session, signature_id: str, signed: Path) -> Path:
        """Move the signed file into the store; it goes again if the transaction rolls back."""
        target = self.path(signature_id)
        shutil.move(signed, target)
        os.chmod(target, 0o600)

        def remove_on_rollback(_session: Session, _transaction: object) -> None:
            target.unlink(missing_ok=True)

        event.listen(session, "after_soft_rollback", remove_on_rollback, once=True)
        return target

    def delete(self, signature_id: str) -> None:
        self.path(signature_id).unlink(missing_ok=True)
