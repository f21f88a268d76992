"""A PDF is described as what it is: restricted but openable without a password, locked by a
password, or restricted in a form kyso cannot keep; never "needs a password" when readers
open it without one."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from api.web.words import explain
from signing.documents import open_reader
from signing.errors import EncryptedPdf, UnsupportedProtection
from tests.support.real_world import acrobat9_restricted_pdf, owner_restricted_pdf, password_pdf


def test_a_restricted_pdf_readers_open_is_never_said_to_need_a_password(tmp_path: Path) -> None:
    data = acrobat9_restricted_pdf(tmp_path)
    path = tmp_path / "r5.pdf"
    path.write_bytes(data)
    shown = subprocess.run(["qpdf", "--show-encryption", str(path)], capture_output=True,
                           text=True)  # fmt: skip
    assert "R = 5" in shown.stdout, shown.stdout  # opened by qpdf with no password
    with pytest.raises(UnsupportedProtection) as refused:
        open_reader(io.BytesIO(data))
    assert "opens without a password" in refused.value.detail
    words = explain(refused.value.code, refused.value.detail, "vi")
    assert "mở được không cần mật khẩu" in words
    assert "cần mật khẩu (hoặc chứng thư) mới mở được" not in words


def test_a_pdf_that_needs_a_password_is_still_said_to(tmp_path: Path) -> None:
    with pytest.raises(EncryptedPdf, match="needs a password"):
        open_reader(io.BytesIO(password_pdf(tmp_path)))


def test_a_restricted_pdf_that_allows_form_filling_opens(tmp_path: Path) -> None:
    reader = open_reader(io.BytesIO(owner_restricted_pdf(tmp_path, signing_allowed=True)))
    assert reader.encrypted
