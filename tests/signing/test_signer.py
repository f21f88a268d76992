"""The key-store signer's CMS: the signing-certificate attribute is pyHanko's own, byte for byte,
and pyHanko's validator accepts what it signs (it checks that attribute against the certificate)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

from signing.signer import KeyStoreSigner
from tests.signing.conftest import asn1
from tests.support.local_ca import LocalCa


def test_the_signing_certificate_attribute_is_pyhankos_own(signer: KeyStoreSigner) -> None:
    assert signer.signing_cert is not None
    expected = simple_cms_attribute(
        "signing_certificate_v2", as_signing_certificate_v2(signer.signing_cert)
    ).dump()
    attributes = asyncio.run(
        signer.signed_attrs(
            hashlib.sha256(b"document").digest(),
            "sha256",
            attr_settings=PdfCMSSignedAttributes(),
            is_pdf_sig=True,
        )
    )
    found = [a.dump() for a in attributes if a["type"].native == "signing_certificate_v2"]
    assert found == [expected]
    assert {a["type"].native for a in attributes} >= {"content_type", "message_digest"}


def test_pyhanko_validates_what_it_signs(
    signer: KeyStoreSigner, local_ca: LocalCa, tmp_path: Path
) -> None:
    page = io.BytesIO()
    drawing = canvas.Canvas(page)
    drawing.drawString(72, 720, "Đơn đề nghị")
    drawing.save()
    signed = io.BytesIO()
    for _ in range(2):  # the second signature's attribute comes from the cache
        writer = IncrementalPdfFileWriter(io.BytesIO(signed.getvalue() or page.getvalue()))
        signed = io.BytesIO()
        meta = signers.PdfSignatureMetadata(
            field_name=f"Sig{len(signed.getvalue())}{_}",
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
        )
        signers.sign_pdf(writer, meta, signer=signer, output=signed, bytes_reserved=8192)
    reader = PdfFileReader(signed)
    context = ValidationContext(trust_roots=[asn1(local_ca.authority.root)], allow_fetching=False,
                                revocation_mode="soft-fail")  # fmt: skip
    assert len(reader.embedded_signatures) == 2
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, context)
        assert status.intact
        assert status.valid
        assert status.trusted
