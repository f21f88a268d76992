"""Drafts waiting to be signed: one still being drawn is never purged, by the citizen's other
uploads or by the housekeeping (under load, drawing the pages takes a while)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from api.web.drafts import LIFETIME_SECONDS, MAX_DRAFTS, DraftStore
from tests.support.pdfs import simple_pdf

USER = "u" * 20


def _in_progress(store: DraftStore, name: str = "p" * 24) -> Path:
    """A draft whose pages are being drawn: its document is there, ``draft.json`` is not."""
    folder = store.root / USER / name
    folder.mkdir(parents=True, mode=0o700)
    (folder / "document.pdf").write_bytes(simple_pdf())
    return folder


def _finished(store: DraftStore, name: str, created: float) -> Path:
    folder = _in_progress(store, name)
    meta = {"filename": "a.pdf", "size": 1, "page_count": 1, "pictures": [], "created": created}
    (folder / "draft.json").write_text(json.dumps(meta))
    return folder


def test_a_draft_being_drawn_survives_the_citizens_other_uploads(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts", max_pages=50)
    older = [_finished(store, f"{n:0>24}", time.time() - 600 + n) for n in range(MAX_DRAFTS)]
    drawing = _in_progress(store)
    newest = store.keep(USER, io.BytesIO(simple_pdf()), "new.pdf")
    kept = {p.name for p in (tmp_path / "drafts" / USER).iterdir()}
    assert drawing.name in kept
    assert newest.id in kept
    assert older[0].name not in kept  # the oldest finished one made room
    assert len(kept) == MAX_DRAFTS


def test_housekeeping_purges_old_drafts_but_not_one_in_progress(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts", max_pages=50)
    old = _finished(store, "o" * 24, time.time() - 2 * LIFETIME_SECONDS)
    drawing = _in_progress(store)
    assert store.purge() == 1
    assert drawing.is_dir()
    assert not old.exists()
    assert store.purge(now=time.time() + 2 * LIFETIME_SECONDS) == 1  # abandoned by then
    assert not drawing.exists()
