"""The third-party PDF corpus (qpdf's and pyHanko's test files) and the independent checks run
on what kyso makes of each file: pdfsig, ``qpdf --check``, pyHanko's validator, and page 1
drawn by pdfium before and after."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from signing.page_compare import to_pixel
from tests.support.server import require_tool
from tests.support.validate import pdfsig_report

__all__ = [
    "CorpusFile",
    "corpus_dir",
    "corpus_files",
    "last_kyso_signature",
    "page_one_difference",
    "pdfsig_judges_last",
    "pyhanko_judges_last",
    "qpdf_new_problems",
]


def corpus_dir() -> Path:
    """``$KYSO_PDF_CORPUS``, then ``<repo>/../shared/pdf-corpus``, then
    ``/work/shared/pdf-corpus``; failing loudly when none exists (never skipping)."""
    candidates = [
        os.environ.get("KYSO_PDF_CORPUS", ""),
        str(Path(__file__).parents[2].parent / "shared" / "pdf-corpus"),
        "/work/shared/pdf-corpus",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MANIFEST.tsv").is_file():
            return Path(candidate)
    raise AssertionError(
        "the PDF corpus is missing: set KYSO_PDF_CORPUS or lay shared/pdf-corpus beside the repo"
    )


@dataclass(frozen=True)
class CorpusFile:
    name: str
    """Path inside the corpus, e.g. ``qpdf/good13.pdf``."""
    source: str
    path: Path


def corpus_files() -> list[CorpusFile]:
    root = corpus_dir()
    with (root / "MANIFEST.tsv").open(newline="") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))
    files = [CorpusFile(r["file"], r["source_repo"], root / r["file"]) for r in rows]
    missing = [f.name for f in files if not f.path.is_file()]
    if missing:
        raise AssertionError(f"corpus files named in MANIFEST.tsv are missing: {missing[:5]}")
    return sorted(files, key=lambda f: f.name)


def pdfsig_judges_last(path: Path, *, whole: bool = True) -> str:
    """``valid`` when pdfsig calls the last signature valid (and, with ``whole``, covering
    the whole file: not so at B-LT, whose validation data follow the signature)."""
    found = pdfsig_report(path)
    if not found:
        return "no signature seen"
    last = found[-1]
    verdict = last.get("Signature Validation", "?")
    if verdict != "Signature is Valid.":
        return verdict
    return "valid" if last["_covers_all"] == "yes" or not whole else "valid, not whole document"


_NUMBER = re.compile(r"\d+")


def _qpdf_problems(path: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        [require_tool("qpdf"), "--check", "--password=", str(path)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).splitlines()
    problems = {
        _NUMBER.sub("N", line.replace(str(path), "FILE"))
        for line in lines
        if "WARNING" in line
        or ("error" in line.lower() and "No syntax" not in line and "cannot detect" not in line)
    }
    return done.returncode, problems


def qpdf_new_problems(before: Path, after: Path) -> list[str]:
    """What ``qpdf --check`` says of ``after`` that it did not say of ``before`` (numbers
    and file names left out: offsets move)."""
    code_before, old = _qpdf_problems(before)
    code_after, new = _qpdf_problems(after)
    fresh = sorted(new - old)
    if code_after == 2 and code_before != 2 and not fresh:
        fresh = ["qpdf --check failed"]
    return fresh


def last_kyso_signature(reader: PdfFileReader) -> EmbeddedPdfSignature:
    """kyso's newest signature, found by its field name (pyHanko's own list of signatures
    gives up on a document with an unreadable earlier one)."""
    ours = [(name, field) for name, _value, field in enumerate_sig_fields(reader, filled_status=True)
            if name.startswith("kyso-")]  # fmt: skip
    name, field = ours[-1]
    return EmbeddedPdfSignature(reader, field, name)


def pyhanko_judges_last(path: Path, root: asn1_x509.Certificate, *, long_term: bool) -> str:
    """pyHanko's validator (lenient reading, as readers do) on the last signature: ``valid``
    when intact, valid, trusted to ``root`` and time-stamped by a trusted TSA; with
    ``long_term``, offline from the document's DSS alone with hard-fail revocation."""

    async def run() -> str:
        reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
        if reader.encrypted:
            reader.decrypt(b"")
        signature = last_kyso_signature(reader)
        settings = {"trust_roots": [root], "allow_fetching": False}
        if long_term:
            try:
                dss = DocumentSecurityStore.read_dss(reader)
            except NoDSSFoundError:
                return "no DSS"
            context = dss.as_validation_context({**settings, "revocation_mode": "hard-fail"})
        else:
            context = ValidationContext(**settings, revocation_mode="soft-fail")
        note = ""
        try:
            status = await async_validate_pdf_signature(signature, context)
        except Exception as exc:  # its diff analysis may trip over the upload's own structure
            status = await async_validate_pdf_signature(signature, context, skip_diff=True)
            note = f" (pyHanko's diff analysis cannot read the document: {str(exc)[:80]})"
        stamp = status.timestamp_validity
        problems = [
            word
            for word, ok in (
                ("not intact", status.intact),
                ("not valid", status.valid),
                ("not trusted", status.trusted),
                ("no trusted time-stamp", bool(stamp and stamp.valid and stamp.trusted)),
            )
            if not ok
        ]
        return (", ".join(problems) or "valid") + note

    try:
        return asyncio.run(run())
    except Exception as exc:
        return f"error: {type(exc).__name__}: {str(exc)[:120]}"


def page_one_difference(
    before: Path,
    after: Path,
    *,
    mask: tuple[float, float, float, float] | None,
    renderer: str = "pdfium",
) -> int:
    """Pixels of page 1 that differ between the two documents, drawn at 72 dpi with their
    form fields by ``pdfium`` (in-process: call it from a process of its own, pdfium is not
    thread-safe) or by poppler's ``pdftoppm``, outside ``mask`` (a rectangle in PDF points,
    e.g. the stamp, widened by two points)."""
    import pypdfium2
    from PIL import Image, ImageChops, ImageDraw

    pictures = []
    for path in (before, after):
        pdf = pypdfium2.PdfDocument(str(path), password="")
        try:
            pdf.init_forms()
            page = pdf[0]
            left, bottom, right, top = page.get_bbox()
            rotation = page.get_rotation() % 360
            if renderer == "pdfium":
                bitmap = page.render(scale=1, may_draw_forms=True, grayscale=True)
                image = bitmap.to_pil().convert("L")
            else:
                with tempfile.TemporaryDirectory() as scratch:
                    subprocess.run(
                        [require_tool("pdftoppm"), "-r", "72", "-gray", "-png", "-f", "1",
                         "-l", "1", "-singlefile", str(path), f"{scratch}/page"],
                        check=True, capture_output=True, timeout=120,
                    )  # fmt: skip
                    image = Image.open(f"{scratch}/page.png").convert("L")
            pictures.append((image, (left, bottom, right, top), rotation))
            page.close()
        finally:
            pdf.close()
    (old, box, rotation), (new, _, _) = pictures
    if old.size != new.size:
        return old.size[0] * old.size[1]
    differs = ImageChops.difference(old, new).point(lambda v: 255 if v > 16 else 0)
    if mask is not None:
        corners = [
            to_pixel(x, y, box, rotation)
            for x, y in ((mask[0] - 2, mask[1] - 2), (mask[2] + 2, mask[3] + 2))
        ]
        (x1, y1), (x2, y2) = corners
        ImageDraw.Draw(differs).rectangle(
            (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), fill=0
        )
    return int(differs.histogram()[255])
