"""Verification judges what each revision shows: changes that alter the signed view (the
shadow attacks, an overlay, replaced fonts, images and content streams) fail the signature
and name page and region; allowed changes beside the signed content pass with a warning.
Signatures made with PLAIN-ECDSA (BSI TR-03111) and RSASSA-PSS are checked; an algorithm
that cannot be checked is INDETERMINATE. Active content is listed, in JSON and in the PDF
report, in both languages."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import algos
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.verification import VerificationSettings, verify_pdf
from signing.verification_pdf import render_report_pdf
from tests.support.foreign_pki import NOW, ForeignPki, Issued, _key_info, fill_field, form_pdf
from tests.support.server import require_tool
from tests.support.shadow import (
    AMOUNT_LINE,
    SHADOW_ATTACKS,
    comment_beside,
    fill_drawn,
    javascript_pdf,
    lined_form,
    shadow_base,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass(frozen=True)
class Parties:
    pki: ForeignPki
    signer: Issued
    rsa_signer: Issued
    tsa: Issued
    crl: bytes

    def settings(self) -> VerificationSettings:
        return VerificationSettings([self.pki.root.asn1])

    def sign(self, pdf: bytes) -> bytes:
        return self.pki.sign(
            pdf, self.signer, tsa=self.tsa, at=NOW - timedelta(days=1), revocation=[self.crl]
        )


@pytest.fixture(scope="module")
def parties() -> Parties:
    pki = ForeignPki.create()
    days = timedelta(days=1)
    signer = pki.issue("Lê Văn Cường", not_before=NOW - 10 * days, not_after=NOW + 300 * days)
    tsa = pki.issue("TSA", not_before=NOW - 100 * days, not_after=NOW + 100 * days, tsa=True)
    # an RSA key: the TSA profile gives one; a signer certificate for it
    rsa_signer = pki.issue("RSA", not_before=NOW - 10 * days, not_after=NOW + 300 * days, tsa=True)
    return Parties(pki, signer, rsa_signer, tsa, pki.crl(NOW))


@pytest.fixture(scope="module")
def signed_base(parties: Parties) -> bytes:
    return parties.sign(shadow_base())


def _overlaps(region: list[float], box: tuple[float, float, float, float]) -> bool:
    return not (
        region[2] < box[0] or region[0] > box[2] or region[3] < box[1] or region[1] > box[3]
    )


def test_the_unchanged_shadow_document_passes(
    parties: Parties, signed_base: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "base.pdf"
    path.write_bytes(signed_base)
    report = verify_pdf(path, parties.settings())
    assert report.indication == "TOTAL_PASSED", report.reasons


@pytest.mark.parametrize("attack", list(SHADOW_ATTACKS))
def test_a_change_of_what_the_signed_page_shows_fails_naming_page_and_region(
    parties: Parties, signed_base: bytes, tmp_path: Path, attack: str
) -> None:
    make, where = SHADOW_ATTACKS[attack]
    path = tmp_path / f"{attack}.pdf"
    path.write_bytes(make(signed_base))
    report = verify_pdf(path, parties.settings())
    (signature,) = report.signatures
    assert (signature.indication, signature.subindication) == (
        "TOTAL_FAILED",
        "SIG_CONSTRAINTS_FAILURE",
    ), signature.reasons
    named = [c for c in signature.reason_codes if c["code"] == "signed_view_changed"]
    assert named, signature.reasons
    assert named[0]["page"] == 1
    assert named[0]["region"] is not None
    assert _overlaps(named[0]["region"], where), (named[0]["region"], where)
    assert any("page 1" in r for r in signature.reasons)


def test_a_comment_beside_the_signed_text_passes_with_a_warning(
    parties: Parties, signed_base: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "comment.pdf"
    path.write_bytes(comment_beside(signed_base))
    report = verify_pdf(path, parties.settings())
    (signature,) = report.signatures
    assert signature.indication == "TOTAL_PASSED", signature.reasons
    assert signature.modifications["level"] == "annotations"
    added = [w for w in signature.warning_codes if w["code"] == "added_beside"]
    assert added
    assert added[0]["page"] == 1
    assert _overlaps(added[0]["region"], (72, 200, 300, 224))


def test_allowed_form_filling_passes_with_a_warning(parties: Parties, tmp_path: Path) -> None:
    path = tmp_path / "filled.pdf"
    path.write_bytes(fill_field(parties.sign(form_pdf()), "ho_ten", "Nguyen Van An"))
    report = verify_pdf(path, parties.settings())
    (signature,) = report.signatures
    assert signature.indication == "TOTAL_PASSED", signature.reasons
    assert signature.modifications["level"] == "form_filling"
    assert any("form filling" in w for w in signature.warnings), signature.warnings


class _PlainEcdsaSigner(signers.SimpleSigner):
    """pyHanko's signer writing r and s side by side under the BSI PLAIN-ECDSA identifier."""

    def get_signature_mechanism_for_digest(
        self, digest_algorithm: str | None
    ) -> algos.SignedDigestAlgorithm:
        return algos.SignedDigestAlgorithm({"algorithm": "0.4.0.127.0.7.1.1.4.1.3"})

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(64)
        key = self._key
        der = key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _sign_with(signer: signers.Signer, pdf: bytes) -> bytes:
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
    return out.getvalue()


def test_a_plain_ecdsa_signature_is_checked(parties: Parties, tmp_path: Path) -> None:
    chain = SimpleCertificateStore.from_certs([parties.pki.root.asn1])
    plain = _PlainEcdsaSigner(
        signing_cert=parties.signer.asn1,
        signing_key=_key_info(parties.signer.key),
        cert_registry=chain,
    )
    plain._key = parties.signer.key  # type: ignore[attr-defined]
    path = tmp_path / "plain.pdf"
    path.write_bytes(_sign_with(plain, shadow_base()))
    report = verify_pdf(path, parties.settings())
    (signature,) = report.signatures
    assert signature.algorithms["signature"] == "ecdsa-plain-sha256"
    assert signature.subindication not in ("SIG_CRYPTO_FAILURE", "HASH_FAILURE", "GENERIC")
    assert not any(c["code"] in ("signature_mismatch", "content_changed")
                   for c in signature.reason_codes), signature.reasons  # fmt: skip
    assert signature.signer is not None


def test_a_wrong_plain_ecdsa_value_is_a_mismatch(parties: Parties, tmp_path: Path) -> None:
    class Wrong(_PlainEcdsaSigner):
        async def async_sign_raw(
            self, data: bytes, digest_algorithm: str, dry_run: bool = False
        ) -> bytes:
            good = await super().async_sign_raw(data, digest_algorithm, dry_run)
            return good[:-1] + bytes([good[-1] ^ 1])

    chain = SimpleCertificateStore.from_certs([parties.pki.root.asn1])
    wrong = Wrong(signing_cert=parties.signer.asn1, signing_key=_key_info(parties.signer.key),
                  cert_registry=chain)  # fmt: skip
    wrong._key = parties.signer.key  # type: ignore[attr-defined]
    path = tmp_path / "wrong.pdf"
    path.write_bytes(_sign_with(wrong, shadow_base()))
    (signature,) = verify_pdf(path, parties.settings()).signatures
    assert (signature.indication, signature.subindication) == ("TOTAL_FAILED", "SIG_CRYPTO_FAILURE")


def test_an_rsassa_pss_signature_is_checked(parties: Parties, tmp_path: Path) -> None:
    chain = SimpleCertificateStore.from_certs([parties.pki.root.asn1])
    pss = signers.SimpleSigner(
        signing_cert=parties.rsa_signer.asn1,
        signing_key=_key_info(parties.rsa_signer.key),
        cert_registry=chain,
        prefer_pss=True,
    )
    path = tmp_path / "pss.pdf"
    path.write_bytes(_sign_with(pss, shadow_base()))
    (signature,) = verify_pdf(path, parties.settings()).signatures
    assert signature.algorithms["signature"] == "rsassa_pss"
    assert not any(c["code"] in ("signature_mismatch", "content_changed")
                   for c in signature.reason_codes), signature.reasons  # fmt: skip


def test_an_algorithm_that_cannot_be_checked_is_indeterminate(
    parties: Parties, tmp_path: Path
) -> None:
    class Unknown(_PlainEcdsaSigner):
        def get_signature_mechanism_for_digest(
            self, digest_algorithm: str | None
        ) -> algos.SignedDigestAlgorithm:
            return algos.SignedDigestAlgorithm({"algorithm": "1.2.643.7.1.1.3.2"})  # GOST

    chain = SimpleCertificateStore.from_certs([parties.pki.root.asn1])
    unknown = Unknown(signing_cert=parties.signer.asn1,
                      signing_key=_key_info(parties.signer.key), cert_registry=chain)  # fmt: skip
    unknown._key = parties.signer.key  # type: ignore[attr-defined]
    path = tmp_path / "unknown.pdf"
    path.write_bytes(_sign_with(unknown, shadow_base()))
    (signature,) = verify_pdf(path, parties.settings()).signatures
    assert signature.indication == "INDETERMINATE", signature.reasons
    assert [c["code"] for c in signature.reason_codes] == ["algorithm_unsupported"]
    assert "cannot be checked" in signature.reasons[0]


def test_active_content_is_listed_in_the_json_and_pdf_reports(
    parties: Parties, tmp_path: Path
) -> None:
    path = tmp_path / "active.pdf"
    path.write_bytes(parties.sign(javascript_pdf()))
    report = verify_pdf(path, parties.settings())
    kinds = {item["kind"] for item in report.active_content}
    assert {"javascript", "submit_form", "launch", "embedded_file", "xfa"} <= kinds
    where = {item["kind"]: item["where"] for item in report.active_content}
    assert "OpenAction" in where["javascript"] or "JavaScript" in where["javascript"]
    codes = {w["code"] for w in report.as_dict()["warning_codes"]}
    assert {"active_javascript", "active_submit_form", "active_embedded_file",
            "active_xfa", "active_launch"} <= codes  # fmt: skip
    for language, phrase in (("en", "contains JavaScript"), ("vi", "tài liệu chứa JavaScript")):
        pdf = tmp_path / f"report-{language}.pdf"
        pdf.write_bytes(render_report_pdf(report, font=FONT, language=language))
        text = subprocess.run([require_tool("pdftotext"), str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        assert phrase in " ".join(text.split()), text[:500]
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(parties.sign(shadow_base()))
    assert verify_pdf(plain, parties.settings()).active_content == []


def test_pdfium_never_runs_for_a_document_without_later_changes(
    parties: Parties, signed_base: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P4: a document whose later revisions only add validation data is not drawn."""
    import signing.view_check as view_check

    calls: list[object] = []
    monkeypatch.setattr(view_check, "compare_pages", lambda *a, **k: calls.append(a))
    path = tmp_path / "ltv.pdf"
    path.write_bytes(signed_base)
    assert verify_pdf(path, parties.settings()).indication == "TOTAL_PASSED"
    assert calls == []


def test_a_value_written_across_the_pages_own_underline_is_allowed_form_filling(
    parties: Parties, tmp_path: Path
) -> None:
    drawing = b"0 g BT /Helv 12 Tf 2 5 Td (Nguyen Van Anh, Quy Nhon) Tj ET"
    path = tmp_path / "underlined.pdf"
    path.write_bytes(fill_drawn(parties.sign(lined_form()), "full_name", "Nguyen Van Anh",
                                drawing))  # fmt: skip
    (signature,) = verify_pdf(path, parties.settings()).signatures
    assert signature.indication == "TOTAL_PASSED", signature.reasons
    assert signature.modifications["level"] == "form_filling"
    assert [v["covered"] for v in signature.modifications["view"]] == [0]


def test_a_field_whose_new_appearance_covers_signed_text_fails(
    parties: Parties, tmp_path: Path
) -> None:
    drawing = b"1 g 0 0 288 28 re f 0 g BT /Helv 18 Tf 0 8 Td (Amount: 9,000,000 VND) Tj ET"
    path = tmp_path / "covering.pdf"
    path.write_bytes(fill_drawn(parties.sign(lined_form()), "note", "x", drawing))
    (signature,) = verify_pdf(path, parties.settings()).signatures
    assert (signature.indication, signature.subindication) == (
        "TOTAL_FAILED",
        "SIG_CONSTRAINTS_FAILURE",
    ), signature.reasons
    named = [c for c in signature.reason_codes if c["code"] == "signed_view_changed"]
    assert named
    assert _overlaps(named[0]["region"], AMOUNT_LINE)
