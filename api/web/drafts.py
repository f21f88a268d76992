"""A PDF a citizen uploaded to sign, kept while they place the stamp and enter the PIN, with
pictures of its pages. Checked by signing's own inspection before any picture is drawn;
deleted when signed, and by the housekeeping an hour after upload."""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pypdfium2

from signing.documents import inspect_pdf
from signing.errors import NotAPdf, SignatureNotFound

__all__ = ["PREVIEW_WIDTH", "Draft", "DraftStore"]

PREVIEW_WIDTH = 640
"""Pixels across a page picture."""
MAX_PREVIEW_PAGES = 12
"""Pages pictured: the first eleven and the last."""
LIFETIME_SECONDS = 3600
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Draft:
    id: str
    filename: str
    size: int
    page_count: int
    pages: dict[int, tuple[float, float, float, float]]
    """1-based page number -> media box in PDF points, for the pictured pages."""

    @property
    def pictured(self) -> list[int]:
        return sorted(self.pages)


class DraftStore:
    """Drafts under ``root/<user id>/<draft id>/`` (mode 0700)."""

    def __init__(self, root: Path, *, max_pages: int) -> None:
        self.root = root
        self.max_pages = max_pages

    def _folder(self, user_id: str, draft_id: str) -> Path:
        if not _ID.match(draft_id):
            raise SignatureNotFound("no such document waiting to be signed")
        return self.root / user_id / draft_id

    def keep(self, user_id: str, stream: BinaryIO, filename: str) -> Draft:
        """Store an upload and describe it; a document signing would refuse is refused here,
        with signing's own error, and nothing is kept."""
        draft_id = secrets.token_urlsafe(18)
        folder = self._folder(user_id, draft_id)
        folder.mkdir(parents=True, mode=0o700)
        try:
            pdf = folder / "document.pdf"
            with pdf.open("wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
            with pdf.open("rb") as head:
                if b"%PDF-" not in head.read(1024):
                    raise NotAPdf("the file is not a PDF document")
            facts = inspect_pdf(pdf, max_pages=self.max_pages, deep=True)
            count = facts.page_count
            shown = sorted({*range(1, min(count, MAX_PREVIEW_PAGES - 1) + 1), count})
            boxes = inspect_pdf(pdf, pages=tuple(shown), max_pages=self.max_pages).page_sizes
            draft = Draft(
                id=draft_id,
                filename=Path(filename or "document.pdf").name[:255],
                size=pdf.stat().st_size,
                page_count=count,
                pages={n: boxes[n] for n in shown if n in boxes},
            )
            (folder / "draft.json").write_text(
                json.dumps(
                    {
                        "filename": draft.filename,
                        "size": draft.size,
                        "page_count": count,
                        "pages": {str(n): list(box) for n, box in draft.pages.items()},
                        "created": time.time(),
                    }
                )
            )
            return draft
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def get(self, user_id: str, draft_id: str) -> Draft:
        folder = self._folder(user_id, draft_id)
        try:
            meta = json.loads((folder / "draft.json").read_text())
        except (OSError, ValueError):
            raise SignatureNotFound(
                "this document is no longer waiting to be signed: upload it again"
            ) from None
        return Draft(
            id=draft_id,
            filename=meta["filename"],
            size=meta["size"],
            page_count=meta["page_count"],
            pages={int(n): (box[0], box[1], box[2], box[3]) for n, box in meta["pages"].items()},
        )

    def document(self, user_id: str, draft_id: str) -> Path:
        self.get(user_id, draft_id)
        return self._folder(user_id, draft_id) / "document.pdf"

    def picture(self, user_id: str, draft_id: str, page: int) -> bytes:
        """A PNG of one pictured page, drawn once."""
        draft = self.get(user_id, draft_id)
        if page not in draft.pages:
            raise SignatureNotFound("that page is not pictured")
        folder = self._folder(user_id, draft_id)
        cached = folder / f"page-{page}.png"
        if cached.exists():
            return cached.read_bytes()
        document = pypdfium2.PdfDocument(str(folder / "document.pdf"))
        try:
            sheet = document[page - 1]
            scale = PREVIEW_WIDTH / max(sheet.get_width(), 1.0)
            image = sheet.render(scale=min(scale, 4.0), rotation=0).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
        finally:
            document.close()
        cached.write_bytes(out.getvalue())
        return out.getvalue()

    def discard(self, user_id: str, draft_id: str) -> None:
        shutil.rmtree(self._folder(user_id, draft_id), ignore_errors=True)

    def purge(self, now: float | None = None) -> int:
        """Delete drafts older than an hour: the number deleted."""
        cutoff = (now or time.time()) - LIFETIME_SECONDS
        removed = 0
        if not self.root.exists():
            return 0
        for folder in self.root.glob("*/*"):
            try:
                stale = folder.stat().st_mtime < cutoff
            except OSError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
