"""Classes of documents real producers make, signed through a real ``kyso serve`` (SQLite):
each is signed and what kyso delivers verifies TOTAL_PASSED in kyso's own verifier and in
pdfsig, or it is refused before anything is charged with a stable code and words a citizen
can act on."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.signing_helpers import PIN, Signer, make_signers, sign
from tests.support.corpus import page_one_difference, pdfsig_judges_last, qpdf_new_problems
from tests.support.foreign_pki import NOW, ForeignPki
from tests.support.pdfs import broken_xref, simple_pdf
from tests.support.real_world import (
    FIELD_RECT,
    acrobat9_restricted_pdf,
    broken_form_xobject_pdf,
    dynamic_xfa_pdf,
    hybrid_reference_pdf,
    need_appearances_pdf,
    owner_restricted_pdf,
    password_pdf,
)
from tests.support.server import KysoServer, require_tool
from tests.support.shadow import replace_content, shadow_base


@pytest.fixture(scope="module")
def citizen(corpus_server: KysoServer) -> Signer:
    (one,) = make_signers(corpus_server, 1)
    return one


def _charged(citizen: Signer) -> tuple[int, int]:
    client = citizen.account.client
    usage = client.get("/v1/me/usage").json()["items"]
    return client.get("/v1/me/wallet").json()["balance"], len(usage)


def _ours(citizen: Signer, pdf: bytes) -> dict[str, object]:
    """kyso's verdict on the last kyso signature, through the API."""
    answer = citizen.account.client.post(
        "/v1/verifications", files={"file": ("signed.pdf", pdf, "application/pdf")}
    )
    assert answer.status_code == 200, answer.text
    ours = [s for s in answer.json()["signatures"] if s["field"].startswith("kyso-")]
    assert ours, answer.json()
    last: dict[str, object] = ours[-1]
    return last


def _signed_everywhere(citizen: Signer, pdf: bytes, original: bytes, tmp_path: Path) -> None:
    before, after = tmp_path / "before.pdf", tmp_path / "after.pdf"
    before.write_bytes(original)
    after.write_bytes(pdf)
    ours = _ours(citizen, pdf)
    assert ours["indication"] == "TOTAL_PASSED", ours["reasons"]
    assert pdfsig_judges_last(after, whole=False) == "valid"
    assert qpdf_new_problems(before, after) == []


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
def test_an_owner_restricted_pdf_is_signed_keeping_its_encryption(
    corpus_server: KysoServer, citizen: Signer, tmp_path: Path, level: str
) -> None:
    original = owner_restricted_pdf(tmp_path, signing_allowed=True)
    signed = sign(citizen, original, level=level)
    assert signed.status_code == 200, signed.text
    reader = PdfFileReader(io.BytesIO(signed.content), strict=False)
    assert reader.encrypted  # the new revision keeps the document's encryption
    _signed_everywhere(citizen, signed.content, original, tmp_path)


def test_a_pdf_whose_owner_forbids_signing_is_refused_naming_the_restriction(
    citizen: Signer, tmp_path: Path
) -> None:
    before = _charged(citizen)
    refused = sign(citizen, owner_restricted_pdf(tmp_path, signing_allowed=False), level="B-T")
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.restricted_pdf"
    assert "not permitted form filling or signing" in refused.json()["detail"]
    assert _charged(citizen) == before


def test_a_pdf_that_needs_a_password_to_open_is_refused_saying_what_to_do(
    citizen: Signer, tmp_path: Path
) -> None:
    refused = sign(citizen, password_pdf(tmp_path), level="B-T")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "signing.encrypted_pdf"
    assert "without a password" in body["detail"]


def test_a_restricted_pdf_whose_protection_cannot_be_kept_is_not_said_to_need_a_password(
    citizen: Signer, tmp_path: Path
) -> None:
    before = _charged(citizen)
    refused = sign(citizen, acrobat9_restricted_pdf(tmp_path), level="B-T")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "signing.unsupported_protection"
    assert "opens without a password" in body["detail"]
    assert _charged(citizen) == before


def test_a_dynamic_xfa_form_is_refused_saying_why(citizen: Signer) -> None:
    before = _charged(citizen)
    refused = sign(citizen, dynamic_xfa_pdf(), level="B-T")
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.dynamic_xfa"
    assert "not from the page" in refused.json()["detail"]
    assert _charged(citizen) == before


def test_content_that_cannot_be_decoded_is_refused_inside_a_form_xobject(
    citizen: Signer,
) -> None:
    refused = sign(citizen, broken_form_xobject_pdf(), level="B-T")
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.unparsable_pdf"
    assert "form XObject" in refused.json()["detail"]


def test_a_damaged_pdf_that_readers_repair_is_signed_from_a_clean_copy(
    citizen: Signer, tmp_path: Path
) -> None:
    original = broken_xref()  # its cross-reference table points nowhere: readers rebuild it
    signed = sign(citizen, original, level="B-LT", page="1")
    assert signed.status_code == 200, signed.text
    assert not signed.content.startswith(original[:-64])  # written again, then signed
    _signed_everywhere(citizen, signed.content, original, tmp_path)
    before, after = tmp_path / "before.pdf", tmp_path / "after.pdf"
    reader = PdfFileReader(io.BytesIO(signed.content), strict=False)
    x1, y1, x2, y2 = (float(v) for v in reader.embedded_signatures[-1].sig_field["/Rect"])
    assert page_one_difference(before, after, mask=(x1, y1, x2, y2), renderer="poppler") == 0


def test_a_truncated_pdf_readers_cannot_show_is_refused_in_words(citizen: Signer) -> None:
    whole = simple_pdf()
    refused = sign(citizen, whole[: len(whole) // 2], level="B-T")
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.unparsable_pdf"
    assert "save or print it as a new PDF" in refused.json()["detail"]


def _field_ink(path: Path, renderer: str, tmp_path: Path) -> int:
    """Dark pixels inside the filled field, as drawn by pdfium or poppler."""
    from PIL import Image

    if renderer == "poppler":
        subprocess.run([require_tool("pdftoppm"), "-r", "72", "-gray", "-png", "-singlefile",
                        str(path), str(tmp_path / "field")], check=True)  # fmt: skip
        image = Image.open(tmp_path / "field.png").convert("L")
    else:
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(path))
        pdf.init_forms()
        image = pdf[0].render(scale=1, may_draw_forms=True).to_pil().convert("L")
        pdf.close()
    x1, y1, x2, y2 = FIELD_RECT
    box = (x1 + 3, 842 - y2 + 3, x2 - 3, 842 - y1 - 3)  # inside the frame the page draws
    return sum(image.crop(box).histogram()[:128])


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
def test_a_form_asking_readers_to_draw_its_fields_keeps_its_values_visible(
    citizen: Signer, tmp_path: Path, level: str
) -> None:
    original = need_appearances_pdf()
    signed = sign(citizen, original, level=level, invisible="true")
    assert signed.status_code == 200, signed.text
    before, after = tmp_path / "before.pdf", tmp_path / "after.pdf"
    before.write_bytes(original)
    after.write_bytes(signed.content)
    for renderer in ("poppler", "pdfium"):
        assert _field_ink(before, renderer, tmp_path) > 50, renderer  # the value is shown…
        assert _field_ink(after, renderer, tmp_path) > 50, renderer  # …and still after signing
    form = PdfFileReader(io.BytesIO(signed.content), strict=False).root["/AcroForm"]
    assert not form.get("/NeedAppearances", False)  # cleared: nobody redraws what was signed
    _signed_everywhere(citizen, signed.content, original, tmp_path)


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
def test_a_hybrid_reference_file_signed_by_kyso_verifies(
    citizen: Signer, tmp_path: Path, level: str
) -> None:
    original = hybrid_reference_pdf()
    signed = sign(citizen, original, level=level, page="1")
    assert signed.status_code == 200, signed.text
    _signed_everywhere(citizen, signed.content, original, tmp_path)
    before, after = tmp_path / "before.pdf", tmp_path / "after.pdf"
    reader = PdfFileReader(io.BytesIO(signed.content), strict=False)
    x1, y1, x2, y2 = (float(v) for v in reader.embedded_signatures[-1].sig_field["/Rect"])
    assert page_one_difference(before, after, mask=(x1, y1, x2, y2), renderer="poppler") == 0


def _tampered_signed_document() -> bytes:
    """Signed by another CA, then its page content replaced: its signature fails."""
    from datetime import timedelta

    pki = ForeignPki.create()
    signer = pki.issue("Người Ký Trước", not_before=NOW - timedelta(days=5),
                       not_after=NOW + timedelta(days=300))  # fmt: skip
    return replace_content(pki.sign(shadow_base(), signer))


def test_countersigning_a_document_whose_signature_fails_asks_before_charging(
    citizen: Signer,
) -> None:
    tampered = _tampered_signed_document()
    before = _charged(citizen)
    refused = sign(citizen, tampered, level="B-T")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "signing.earlier_signature_fails"
    assert "Signature1" in body["detail"]
    assert "confirm" in body["detail"]
    assert _charged(citizen) == before  # nothing charged, nothing recorded
    as_body = citizen.account.client.post(
        "/v1/signatures/pdf", content=tampered, params={"level": "B-T"},
        headers={"Content-Type": "application/pdf", "Kyso-PIN": PIN},
    )  # fmt: skip
    assert (as_body.status_code, as_body.json()["code"]) == (409, body["code"])
    confirmed = sign(citizen, tampered, level="B-T", confirm_countersign="true")
    assert confirmed.status_code == 200, confirmed.text
    assert _ours(citizen, confirmed.content)["indication"] == "TOTAL_PASSED"
    assert _charged(citizen)[1] == before[1] + 1 + 1  # the signature, and the verification
    confirmed_body = citizen.account.client.post(
        "/v1/signatures/pdf", content=tampered,
        params={"level": "B-T", "confirm_countersign": "true"},
        headers={"Content-Type": "application/pdf", "Kyso-PIN": PIN},
    )  # fmt: skip
    assert confirmed_body.status_code == 200, confirmed_body.text


def test_the_sign_page_asks_before_countersigning_a_document_whose_signature_fails(
    corpus_server: KysoServer, citizen: Signer
) -> None:
    from tests.support.web import WebClient

    tampered = _tampered_signed_document()
    web = WebClient(corpus_server)
    web.sign_in(citizen.account.email, citizen.account.password)
    uploaded = web.http.post("/sign", data={"csrf": web.form_token("/sign")},
                             files={"file": ("ho-so.pdf", tampered, "application/pdf")})  # fmt: skip
    assert uploaded.status_code == 303, uploaded.text[:300]
    place = uploaded.headers["location"]
    before = _charged(citizen)
    choices = {"pin": PIN, "level": "B-T", "mode": "invisible"}
    asked = web.post_form(place, choices)
    assert asked.status_code == 303
    assert "ask_confirm=1" in asked.headers["location"]
    page = web.http.get(asked.headers["location"])
    assert 'name="confirm_countersign"' in page.text
    assert "không còn hợp lệ" in page.text
    assert _charged(citizen) == before
    done = web.post_form(place, {**choices, "confirm_countersign": "1"},
                         token_from=asked.headers["location"])  # fmt: skip
    assert done.status_code == 303
    assert "/me/signatures/" in done.headers["location"], done.headers["location"]
    assert _charged(citizen)[1] == before[1] + 1
