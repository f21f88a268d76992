"""A PDF a citizen uploaded to sign, kept while they place the stamp and enter the PIN, with
pictures of its pages. Checked by signing's own inspection before anything draws it; the
pictures are drawn at upload in a bounded child process (``signing.page_pictures``). Deleted when
signed, when the citizen keeps too many, and by the housekeeping an hour after upload."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from signing.documents import inspect_or_repair
from signing.errors import NotAPdf, SignatureNotFound
from signing.page_pictures import PagePicture, draw_pages

__all__ = ["MAX_DRAFTS", "PREVIEW_WIDTH", "Draft", "DraftStore"]

PREVIEW_WIDTH = 640
"""Pixels across a page picture."""
MAX_PREVIEW_PAGES = 12
"""Pages pictured: the first eleven and the last."""
MAX_DRAFTS = 5
"""Documents a citizen may have waiting at once; a sixth upload replaces the oldest."""
LIFETIME_SECONDS = 3600
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Draft:
    id: str
    filename: str
    size: int
    page_count: int
    pictures: dict[int, PagePicture]
    """The pictured pages (none when pdfium could not draw the document)."""

    @property
    def pictured(self) -> list[int]:
        return sorted(self.pictures)


class DraftStore:
    """Drafts under ``root/<user id>/<draft id>/`` (mode 0700)."""

    def __init__(self, root: Path, *, max_pages: int) -> None:
        self.root = root
        self.max_pages = max_pages

    def _folder(self, user_id: str, draft_id: str) -> Path:
        if not _ID.match(draft_id) or not _ID.match(user_id):
            raise SignatureNotFound("no such document waiting to be signed")
        return self.root / user_id / draft_id

    def keep(self, user_id: str, stream: BinaryIO, filename: str) -> Draft:
        """Store an upload and draw its pages; a document signing would refuse is refused
        here, with signing's own error, and nothing is kept."""
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
            size = pdf.stat().st_size
            first = tuple(range(1, MAX_PREVIEW_PAGES))  # and the last, always inspected
            facts, readable = inspect_or_repair(pdf, folder / "repaired.pdf", pages=first,
                                                max_pages=self.max_pages, deep=True)  # fmt: skip
            count = facts.page_count
            pdf = readable  # a damaged upload is pictured as it will be signed
            shown = {*range(1, min(count, MAX_PREVIEW_PAGES - 1) + 1), count}
            boxes = {n: facts.page_boxes[n] for n in sorted(shown)}
            pictures = draw_pages(pdf, folder, boxes, PREVIEW_WIDTH)
            (folder / "draft.json").write_text(
                json.dumps(
                    {
                        "filename": Path(filename or "document.pdf").name[:255],
                        "size": size,
                        "page_count": count,
                        "pictures": [p.__dict__ for p in pictures],
                        "created": time.time(),
                    }
                )
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._keep_newest(user_id, draft_id)
        return self.get(user_id, draft_id)

    def _created(self, folder: Path) -> float:
        """When the draft was uploaded; for one still being drawn (no ``draft.json`` yet),
        when its folder last changed: a draft in progress is young, never purged as old."""
        try:
            return float(json.loads((folder / "draft.json").read_text())["created"])
        except (OSError, ValueError, KeyError, TypeError):
            try:
                return folder.stat().st_mtime
            except OSError:
                return 0.0

    def _keep_newest(self, user_id: str, kept: str) -> None:
        folders = sorted(
            (f for f in (self.root / user_id).iterdir() if f.name != kept),
            key=self._created,
            reverse=True,
        )
        for stale in folders[MAX_DRAFTS - 1 :]:
            shutil.rmtree(stale, ignore_errors=True)

    def get(self, user_id: str, draft_id: str) -> Draft:
        folder = self._folder(user_id, draft_id)
        try:
            meta = json.loads((folder / "draft.json").read_text())
            pictures = {
                int(p["number"]): PagePicture(
                    int(p["number"]), (p["box"][0], p["box"][1], p["box"][2], p["box"][3]),
                    int(p["rotation"]), int(p["width"]), int(p["height"]),
                    float(p.get("user_unit", 1.0)),
                )
                for p in meta["pictures"]
            }  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            raise SignatureNotFound(
                "this document is no longer waiting to be signed: upload it again"
            ) from None
        return Draft(draft_id, meta["filename"], meta["size"], meta["page_count"], pictures)

    def document(self, user_id: str, draft_id: str) -> Path:
        self.get(user_id, draft_id)
        return self._folder(user_id, draft_id) / "document.pdf"

    def picture(self, user_id: str, draft_id: str, page: int) -> bytes:
        """The PNG of a pictured page."""
        if page not in self.get(user_id, draft_id).pictures:
            raise SignatureNotFound("that page is not pictured")
        return (self._folder(user_id, draft_id) / f"page-{page}.png").read_bytes()

    def discard(self, user_id: str, draft_id: str) -> None:
        shutil.rmtree(self._folder(user_id, draft_id), ignore_errors=True)

    def purge(self, now: float | None = None) -> int:
        """Delete drafts uploaded more than an hour ago (and emptied folders)."""
        cutoff = (now or time.time()) - LIFETIME_SECONDS
        removed = 0
        if not self.root.exists():
            return 0
        for owner in self.root.iterdir():
            for folder in owner.iterdir() if owner.is_dir() else ():
                if self._created(folder) < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            if owner.is_dir() and not any(owner.iterdir()):
                owner.rmdir()
        return removed
