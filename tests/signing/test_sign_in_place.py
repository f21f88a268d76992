"""Signing in place: the signature is appended to the caller's own copy of the upload (no second
copy of the document is written) and the destination names that same file; when signing fails
after the update was begun, the copy is cut back to the upload's bytes, so a retry (or the
repaired copy's signing) starts from the document as it came."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from api.settings import Settings
from signing.documents import inspect_pdf
from signing.errors import TimestampUnavailable
from signing.known_prefix import KnownPrefix
from signing.pades import Level, SignatureOptions, sign_document
from signing.signer import KeyStoreSigner
from tests.signing.conftest import asn1
from tests.support.local_ca import LocalCa
from tests.support.pdfs import simple_pdf


class _DeadTsa(TimeStamper):
    """A time-stamping authority that never answers (asked after the update is written)."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        raise TimestampRequestError("no answer")


def _sign(source: Path, destination: Path, signer: KeyStoreSigner, level: Level,
          timestamper: TimeStamper | None = None,
          prefix: KnownPrefix | None = None) -> None:  # fmt: skip
    sign_document(source, destination, options=SignatureOptions(level=level, signer_name="Ngọc"),
                  signer=signer, timestamper=timestamper, material=None,
                  font=Settings().stamp_font, now=datetime.now(UTC), facts=inspect_pdf(source),
                  in_place=True, prefix=prefix)  # fmt: skip


def _judged(signed: Path, local_ca: LocalCa) -> tuple[bool, bool]:
    reader = PdfFileReader(signed.open("rb"))
    (embedded,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1(local_ca.authority.root)],
                                allow_fetching=False, revocation_mode="soft-fail")  # fmt: skip
    status = validate_pdf_signature(embedded, context)
    return status.intact, status.valid


def test_the_signature_is_appended_to_the_upload_itself(
    signer: KeyStoreSigner, local_ca: LocalCa, tmp_path: Path
) -> None:
    original = simple_pdf(pages=2)
    upload, signed = tmp_path / "upload.pdf", tmp_path / "signed.pdf"
    upload.write_bytes(original)
    _sign(upload, signed, signer, Level.B_B)
    assert os.path.samefile(upload, signed)  # one file, two names: nothing was copied
    assert os.stat(signed).st_nlink == 2
    data = signed.read_bytes()
    assert data.startswith(original)
    assert len(data) > len(original)
    reader = PdfFileReader(signed.open("rb"))
    (embedded,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1(local_ca.authority.root)],
                                allow_fetching=False, revocation_mode="soft-fail")  # fmt: skip
    status = validate_pdf_signature(embedded, context)
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE"


def test_a_failure_after_the_update_began_gives_the_upload_back(
    signer: KeyStoreSigner, tmp_path: Path
) -> None:
    original = simple_pdf()
    upload, signed = tmp_path / "upload.pdf", tmp_path / "signed.pdf"
    upload.write_bytes(original)
    with pytest.raises(TimestampUnavailable):
        _sign(upload, signed, signer, Level.B_T, timestamper=_DeadTsa())
    assert hashlib.sha256(upload.read_bytes()).digest() == hashlib.sha256(original).digest()
    assert not signed.exists()
    _sign(upload, signed, signer, Level.B_B)  # and it signs from there
    assert signed.read_bytes().startswith(original)


def test_the_signatures_digest_goes_on_from_the_uploads_own(
    signer: KeyStoreSigner, local_ca: LocalCa, tmp_path: Path
) -> None:
    """The digest of the upload's bytes, taken as they arrived, is where the signature's
    document digest starts: the file is not hashed a second time. A prefix that is not the
    file's makes the signature fail, so the prefix is what was used."""
    original = simple_pdf(pages=2)
    for name, prefix_bytes, intact in (("right", original, True),
                                       ("wrong", b"x" * len(original), False)):  # fmt: skip
        upload, signed = tmp_path / f"{name}.pdf", tmp_path / f"{name}-signed.pdf"
        upload.write_bytes(original)
        prefix = KnownPrefix(hashlib.sha256(prefix_bytes), len(original))
        _sign(upload, signed, signer, Level.B_B, prefix=prefix)
        assert _judged(signed, local_ca) == (intact, True), name  # (digest matches, CMS valid)
