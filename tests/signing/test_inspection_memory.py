"""Inspecting an upload reads the dictionaries it must check, not the payload of every image:
a large scan is most of its file, and pyHanko reads (and keeps) a stream it is asked for
whole."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from signing.documents import inspect_pdf
from tests.support.pdfs import write_large_pdf

_SIZE = 24 * 1024 * 1024


def test_inspecting_a_large_scan_leaves_its_image_on_disk(tmp_path: Path) -> None:
    upload = tmp_path / "scan.pdf"
    write_large_pdf(upload, _SIZE)
    tracemalloc.start()
    try:
        facts = inspect_pdf(upload, deep=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert facts.page_count == 1
    assert peak < _SIZE // 8, f"inspection held {peak / 2**20:.1f} MiB of a 24 MiB scan"
