"""The signed file's SHA-256 carried on from the upload's, checked against a whole-file hash."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from api.file_digests import file_sha256, receive, signed_sha256


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 1024 * 1024 + 17])
def test_an_appended_update_is_hashed_from_the_uploads_digest(tmp_path: Path, size: int) -> None:
    original = os.urandom(size)
    received = receive(io.BytesIO(original), tmp_path / "upload.pdf")
    assert received.size == size
    assert received.sha256 == _sha256(original)
    assert (tmp_path / "upload.pdf").read_bytes() == original
    update = os.urandom(9000)
    (tmp_path / "signed.pdf").write_bytes(original + update)
    assert signed_sha256(received, tmp_path / "signed.pdf") == _sha256(original + update)
    assert received.sha256 == _sha256(original)  # the upload's own digest is left as it was


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda data: data[:-10] + b"X" * 10 + os.urandom(500),  # the seam changed
        lambda data: data[:100],  # shorter than the upload
    ],
    ids=["seam", "shorter"],
)
def test_a_rewritten_seam_or_a_shorter_file_is_hashed_whole(
    tmp_path: Path, rewrite: object
) -> None:
    original = b"%PDF-1.4\n" + os.urandom(20_000)
    received = receive(io.BytesIO(original), tmp_path / "upload.pdf")
    signed = rewrite(original)  # type: ignore[operator]
    (tmp_path / "signed.pdf").write_bytes(signed)
    digest = signed_sha256(received, tmp_path / "signed.pdf")
    assert digest == _sha256(signed) == file_sha256(tmp_path / "signed.pdf")
