"""Documents signed by another CA than kyso's, built once per session (our own CA code is not
involved: tests/support/foreign_pki.py makes the hierarchy with cryptography, pyHanko signs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.attacks import HOSTILE, appearance_hijack, forged_early_timestamp
from tests.support.foreign_pki import (
    NOW,
    ForeignPki,
    add_annotation,
    add_page,
    break_byte_range,
    change_reason,
    fill_field,
    form_pdf,
    replace_page_content,
    timestamp_only,
)
from tests.support.pdfs import simple_pdf


@dataclass(frozen=True)
class Foreign:
    pki: ForeignPki
    files: dict[str, Path]


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Foreign:
    pki, stranger_ca = ForeignPki.create(), ForeignPki.create("Unknown Root CA")
    days = timedelta(days=1)
    signer = pki.issue(
        "Lê Văn Cường",
        not_before=NOW - 10 * days,
        not_after=NOW + 300 * days,
        uid="CCCD:001090001234",
    )
    tsa = pki.issue(
        "Foreign TSA", not_before=NOW - 1000 * days, not_after=NOW + 1000 * days, tsa=True
    )
    expired = pki.issue("Hết Hạn", not_before=NOW - 400 * days, not_after=NOW - 30 * days)
    revoked_before = pki.issue(
        "Thu Hồi Trước", not_before=NOW - 100 * days, not_after=NOW + 100 * days
    )
    revoked_after = pki.issue(
        "Thu Hồi Sau", not_before=NOW - 100 * days, not_after=NOW + 100 * days
    )
    pki.revoked[revoked_before.cert.serial_number] = NOW - 5 * days
    pki.revoked[revoked_after.cert.serial_number] = NOW - 1 * days
    stranger = stranger_ca.issue("Người Lạ", not_before=NOW - days, not_after=NOW + 100 * days)
    crl = pki.crl(NOW)
    base = simple_pdf()
    ltv = pki.sign(base, signer, tsa=tsa, at=NOW - days, revocation=[crl])

    def certified(level: int, pdf: bytes) -> bytes:
        return pki.sign(pdf, signer, tsa=tsa, at=NOW - days, revocation=[crl], certify=level)

    documents = {
        "ltv": ltv,
        "no_ltv": pki.sign(base, signer, tsa=tsa, at=NOW - days),
        "expired_timestamped_while_valid": pki.sign(
            base, expired, tsa=tsa, at=NOW - 60 * days, revocation=[crl]
        ),
        "revoked_before_signing": pki.sign(
            base, revoked_before, tsa=tsa, at=NOW - 2 * days, revocation=[crl]
        ),
        "revoked_after_signing": pki.sign(
            base, revoked_after, tsa=tsa, at=NOW - 2 * days, revocation=[crl]
        ),
        "unknown_root": stranger_ca.sign(base, stranger),
        "form_filled": fill_field(
            pki.sign(form_pdf(), signer, tsa=tsa, at=NOW - days, revocation=[crl]),
            "ho_ten",
            "Nguyễn Văn An",
        ),
        "annotated": add_annotation(ltv),
        "certified_p1_annotated": add_annotation(certified(1, base)),
        "certified_p2_form_filled": fill_field(certified(2, form_pdf()), "ho_ten", "Trần Văn Bình"),
        "certified_p2_annotated": add_annotation(certified(2, base)),
        "certified_p3_annotated": add_annotation(certified(3, base)),
        "page_content_replaced": replace_page_content(ltv),
        "page_added": add_page(ltv),
        "reason_changed": change_reason(ltv),
        "byte_range_broken": break_byte_range(ltv),
        "wrong_digest": _flip_signed_byte(ltv),
        "document_timestamp_alone": timestamp_only(base, pki, tsa, revocation=[crl]),
        "document_timestamp_then_content_replaced": replace_page_content(
            timestamp_only(base, pki, tsa, revocation=[crl])
        ),
        "appearance_hijack": appearance_hijack(ltv),
        "revoked_forged_early_timestamp": forged_early_timestamp(
            pki.sign(base, revoked_before, tsa=tsa, at=NOW - 2 * days, bytes_reserved=30_000),
            pki,
            crl,
        ),
        **{f"hostile_{name}": make(ltv) for name, make in HOSTILE.items()},
        "not_a_pdf": b"%PDF-1.7\nthis is not a PDF at all",
        "unsigned": base,
    }
    directory = tmp_path_factory.mktemp("foreign-documents")
    files = {}
    for name, data in documents.items():
        files[name] = directory / f"{name}.pdf"
        files[name].write_bytes(data)
    return Foreign(pki, files)


def _flip_signed_byte(pdf: bytes) -> bytes:
    """One byte of page content, well inside the first signed range, changed."""
    position = pdf.index(b"stream", 200) + 20
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]
