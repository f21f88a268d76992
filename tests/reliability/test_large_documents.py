"""A 200 MB PDF (twice the size where pyHanko once corrupted files, 100,000,000 bytes) signs
at B-T through the API, streamed both ways, and validates: in our verification, in pyHanko's
validator and in poppler's pdfsig, covering the whole file."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.e2e.signing_helpers import PIN, make_signers
from tests.support.pdfs import write_large_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer, require_tool

SIZE = 200 * 1000 * 1000


def _validate(path: Path, root: asn1_x509.Certificate) -> tuple[bool, bool, bool, bool]:
    with path.open("rb") as stream:
        reader = PdfFileReader(stream)
        (signature,) = reader.embedded_regular_signatures
        status = validate_pdf_signature(
            signature, ValidationContext(trust_roots=[root], allow_fetching=False)
        )
        timestamp = status.timestamp_validity
        return (status.intact, status.valid, status.trusted,
                bool(timestamp and timestamp.valid and timestamp.trusted))  # fmt: skip


def test_a_200_mb_pdf_signs_and_validates(
    server: KysoServer, pki: PkiFiles, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, 1)
    source, signed = tmp_path / "large.pdf", tmp_path / "large-signed.pdf"
    write_large_pdf(source, SIZE)
    assert source.stat().st_size > 2 * 100_000_000 - 1_000_000
    headers = {"Authorization": f"Bearer {signer.account.access_token}"}
    with source.open("rb") as document, httpx.stream(
        "POST", f"{server.url}/v1/signatures", headers=headers, timeout=600,
        files={"file": ("large.pdf", document, "application/pdf")},
        data={"pin": PIN, "level": "B-T", "invisible": "true"},
    ) as answer, signed.open("wb") as out:  # fmt: skip
        assert answer.status_code == 200, answer.read()[:300]
        for chunk in answer.iter_bytes(4 * 1024 * 1024):
            out.write(chunk)
    assert signed.stat().st_size > source.stat().st_size

    root = asn1_x509.Certificate.load(pem.unarmor(pki.root.read_bytes())[2])
    with ThreadPoolExecutor(1) as aside:  # (an event loop may run in this thread)
        assert aside.submit(_validate, signed, root).result() == (True, True, True, True)
    pdfsig = subprocess.run([require_tool("pdfsig"), str(signed)], capture_output=True,
                            text=True, check=False, timeout=300).stdout  # fmt: skip
    assert "Signature is Valid." in pdfsig
    assert "Total document signed" in pdfsig
    with signed.open("rb") as document:
        verified = httpx.post(f"{server.url}/v1/verifications", headers=headers, timeout=600,
                              files={"file": ("large-signed.pdf", document, "application/pdf")})  # fmt: skip
    assert verified.status_code == 200, verified.text[:300]
    assert verified.json()["indication"] == "TOTAL_PASSED", verified.json()
