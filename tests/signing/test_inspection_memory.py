"""Inspecting an upload reads the dictionaries it must check, not the payload of every image:
a large scan is most of its file, and pyHanko reads (and keeps) a stream it is asked for
whole."""

from __future__ import annotations

import tracemalloc
import zlib
from pathlib import Path

import pytest

from signing.documents import inspect_pdf
from signing.errors import HostilePdf
from tests.support.pdfs import _minimal_pdf, write_large_pdf

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


def test_a_form_whose_subtype_is_a_reference_is_still_checked(tmp_path: Path) -> None:
    """Reading the dictionary alone must not let a form hide behind ``/Subtype 5 0 R``: its
    content is still inflated with the bound, and a bomb is refused."""
    bomb = zlib.compress(b"\0" * (80 * 1024 * 1024), 9)
    upload = tmp_path / "hidden-form.pdf"
    upload.write_bytes(_minimal_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /Fm0 4 0 R >> >> >>",
        b"<< /Type /XObject /Subtype 5 0 R /BBox [0 0 10 10] /Filter /FlateDecode "
        b"/Length %d >>\nstream\n" % len(bomb) + bomb + b"\nendstream",
        b"/Form",
    ]))  # fmt: skip
    with pytest.raises(HostilePdf, match="decompression bomb"):
        inspect_pdf(upload, deep=True)
