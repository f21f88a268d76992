"""A fuzz target on the upload parsing path (hypothesis): PDFs mutated byte by byte (flips,
insertions, deletions, splices, truncation) go through what every upload meets first:
signing's inspection (``inspect_pdf``, deep) and verification (``verify_pdf``). Each must
answer with a result or one of signing's own refusals; anything else is a crash.

CI runs a few hundred examples; by hand, e.g.
``KYSO_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/reliability/test_fuzz_upload.py``.
A crash found becomes an entry of ``REGRESSIONS`` below."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.documents import inspect_pdf
from signing.errors import SigningError
from signing.verification import VerificationSettings, verify_pdf
from tests.support.pdfs import (
    application_form_pdf,
    page_geometry_pdf,
    simple_pdf,
    with_empty_field,
)

EXAMPLES = int(os.environ.get("KYSO_FUZZ_EXAMPLES", "500"))
SEEDS = [
    simple_pdf(pages=2),
    application_form_pdf(),
    with_empty_field(),
    page_geometry_pdf(tree="/MediaBox [0 0 612 792]", page="/Rotate 90"),
]


def _startxref_at_an_ordinary_object() -> bytes:
    """Found by this fuzzer: startxref pointing at an object that is not an xref stream made
    pyHanko fail an assertion (AssertionError, a 500) instead of a parse error."""
    pdf = simple_pdf()
    head, _, _ = pdf.rpartition(b"startxref")
    return head + b"startxref\n%d\n%%%%EOF\n" % pdf.index(b"2 0 obj")


REGRESSIONS: list[bytes] = [_startxref_at_an_ordinary_object()]
"""Inputs a fuzzing run once crashed on, kept so that they never do again."""


@st.composite
def mutated_pdfs(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(("flip", "insert", "delete", "splice", "truncate", "digit")))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "splice":
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other) - 1))
            data[at:at] = other[start : start + draw(st.integers(1, 512))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "digit":  # numbers are where parsers trust most: offsets, lengths, counts
            digits = [i for i in range(len(data)) if 48 <= data[i] <= 57]
            if digits:
                data[draw(st.sampled_from(digits))] = draw(st.sampled_from(b"0123456789-"))
    return bytes(data)


def _parse(data: bytes, folder: Path) -> None:
    path = folder / "upload.pdf"
    path.write_bytes(data)
    with contextlib.suppress(SigningError):  # a refusal with a code: an upload path's 4xx
        inspect_pdf(path, deep=True, max_pages=50)
    report = verify_pdf(path, VerificationSettings(trust_roots=[]))
    assert report.indication in ("TOTAL_FAILED", "INDETERMINATE")


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=mutated_pdfs())
def test_mutated_uploads_are_answered_never_crash(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _parse(data, Path(folder))


@pytest.mark.parametrize("data", REGRESSIONS)
def test_inputs_that_once_crashed_do_not(data: bytes, tmp_path: Path) -> None:
    _parse(data, tmp_path)
