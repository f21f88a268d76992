"""Where a signing request's PDFs are kept, with their page pictures: the drafts' store
under ``<data dir>/signing-requests/<folder>/<draft>/``, one folder per request. The REST
route keeps them; the citizen's page shows and signs them."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from api.settings import Settings
from api.web.drafts import Draft, DraftStore
from identity.signing_requests import Document

__all__ = ["RequestDocuments"]


class RequestDocuments:
    def __init__(self, settings: Settings) -> None:
        self.store = DraftStore(settings.data_dir / "signing-requests",
                                max_pages=settings.max_pages)  # fmt: skip

    def keep(self, uploads: list[tuple[BinaryIO, str]]) -> list[Document]:
        """Every upload kept (each refused as signing would refuse it: then none is kept)."""
        folder = secrets.token_urlsafe(18)
        try:
            return [
                {"folder": folder, "draft": self.store.keep(folder, stream, name).id,
                 "filename": Path(name or "document.pdf").name[:255]}
                for stream, name in uploads
            ]  # fmt: skip
        except BaseException:
            self.discard(folder)
            raise

    def discard(self, folder: str) -> None:
        shutil.rmtree(self.store.root / folder, ignore_errors=True)

    def drafts(self, documents: list[Document]) -> list[Draft]:
        return [self.store.get(d["folder"], d["draft"]) for d in documents]

    def paths(self, documents: list[Document]) -> list[Path]:
        return [self.store.document(d["folder"], d["draft"]) for d in documents]

    def picture(self, document: Document, page: int) -> bytes:
        return self.store.picture(document["folder"], document["draft"], page)
