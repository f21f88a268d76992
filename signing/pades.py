"""PAdES signing of a PDF file at levels B-B, B-T, B-LT and B-LTA."""

from __future__ import annotations

import enum
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from certs.errors import CertsError
from signing.appearances import draw_field_appearances
from signing.documents import DAMAGED, PdfFacts
from signing.errors import (
    FieldUnusable,
    HostilePdf,
    InvalidPlacement,
    NoSuchPage,
    SigningError,
    TimestampUnavailable,
    UnparsablePdf,
)
from signing.known_prefix import KnownPrefix, continuing
from signing.repair import repaired_copy
from signing.signer import KeyStoreSigner
from signing.stamp import StampText, render_stamp_pdf

__all__ = ["DEFAULT_STAMP_SIZE", "Level", "Placement", "SignatureOptions", "ValidationMaterial",
           "sign_document"]  # fmt: skip

logger = logging.getLogger("kyso.signing")

DEFAULT_STAMP_SIZE = (220.0, 70.0)
_MARGIN = 36.0
_EDGE_TO_EDGE = layout.SimpleBoxLayoutRule(
    x_align=layout.AxisAlignment.ALIGN_MID,
    y_align=layout.AxisAlignment.ALIGN_MID,
    margins=layout.Margins.uniform(0),
)
"""The stamp PDF is drawn at the field's size: it fills the field (pyHanko's default leaves a
5 pt margin and shrinks it)."""
_IO_CHUNK = 1024 * 1024
"""Bytes per read, write and hash step over the document (pyHanko's default is 4 KiB: a
100 MB document took 25,000 steps each way, most of its signing time)."""


class _LargeStepWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, copying the original in 1 MiB steps."""

    IO_CHUNK_SIZE = _IO_CHUNK


class Level(enum.StrEnum):
    """PAdES baseline levels (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def timestamped(self) -> bool:
        return self is not Level.B_B

    @property
    def long_term(self) -> bool:
        return self in (Level.B_LT, Level.B_LTA)


@dataclass(frozen=True)
class Placement:
    """Where the visible stamp goes: a page and rectangle, or an existing empty field."""

    page: int | None = None
    """1-based; the last page when neither page nor field is given."""
    box: tuple[float, float, float, float] | None = None
    """x1, y1, x2, y2 in PDF points; bottom right of the page when not given."""
    field_name: str | None = None


@dataclass(frozen=True)
class SignatureOptions:
    level: Level = Level.B_LT
    signer_name: str = ""
    reason: str | None = None
    location: str | None = None
    placement: Placement | None = None
    """None: an invisible signature."""
    language: str = "vi"
    certify: int | None = None
    """DocMDP level 1, 2 or 3 for a certification signature (first signer only)."""


@dataclass(frozen=True)
class ValidationMaterial:
    """Everything B-LT needs, gathered in-process: no HTTP to ourselves while signing."""

    trust_roots: list[asn1_x509.Certificate]
    other_certs: list[asn1_x509.Certificate]
    ocsps: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.trust_roots,
            other_certs=self.other_certs,
            ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in self.ocsps],
            crls=[asn1_crl.CertificateList.load(c) for c in self.crls],
            allow_fetching=False,
            revocation_mode="hard-fail",
        )


def _reserve(signer: KeyStoreSigner, timestamp_size: int) -> int:
    """CMS bytes to reserve: certificates, attributes, signature and token, plus headroom."""
    # Certificates count twice: besides the CMS certificate set, the signing-certificate
    # attribute and issuer names repeat their subjects; RSA keys make that noticeable.
    total = 8192 + 2 * signer.certificates_size + signer.max_signature_size + timestamp_size
    return total + (-total % 64)  # pyHanko wants an even count; round to 64


def _new_field_spec(
    facts: PdfFacts, placement: Placement
) -> tuple[SigFieldSpec | None, str, tuple[float, float], int]:
    """The new field (none for an existing one), its name, its size in page units and the
    page's rotation (the stamp is drawn turned back, to read upright as the page is shown)."""
    if placement.field_name:
        if placement.field_name in facts.signed_fields:
            raise FieldUnusable(f"the field {placement.field_name!r} is signed already")
        if placement.field_name not in facts.empty_fields:
            raise FieldUnusable(
                f"the document has no empty signature field {placement.field_name!r}"
            )
        return None, placement.field_name, DEFAULT_STAMP_SIZE, 0
    page = placement.page or facts.page_count
    if not 1 <= page <= facts.page_count:
        raise NoSuchPage(f"the document has {facts.page_count} pages; there is no page {page}",
                         page_count=facts.page_count)  # fmt: skip
    shown = facts.page_boxes[page]
    x1, y1, x2, y2 = shown.box
    if placement.box is None:
        box = shown.corner_rect(*DEFAULT_STAMP_SIZE, _MARGIN)
    else:
        box = placement.box
        if not (box[0] < box[2] and box[1] < box[3]):
            raise InvalidPlacement("the rectangle must be x1,y1,x2,y2 with x1 < x2 and y1 < y2")
        if box[0] < x1 - 0.5 or box[1] < y1 - 0.5 or box[2] > x2 + 0.5 or box[3] > y2 + 0.5:
            raise InvalidPlacement(
                f"the rectangle lies outside page {page} ({x1:g},{y1:g},{x2:g},{y2:g})"
            )
        across, down = box[2] - box[0], box[3] - box[1]
        if shown.turned:
            across, down = down, across
        if across * shown.user_unit < 60 or down * shown.user_unit < 20:
            raise InvalidPlacement("the stamp needs at least 60 by 20 points")
    name = f"kyso-{secrets.token_hex(4)}"
    rounded = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
    spec = SigFieldSpec(sig_field_name=name, on_page=page - 1, box=rounded)
    size = (float(rounded[2] - rounded[0]), float(rounded[3] - rounded[1]))
    return spec, name, size, shown.rotation


def sign_document(
    source: Path,
    destination: Path,
    *,
    options: SignatureOptions,
    signer: KeyStoreSigner,
    timestamper: TimeStamper | None,
    material: ValidationMaterial | None,
    font: Path,
    now: datetime,
    facts: PdfFacts,
    timestamp_size: int = 6000,
    in_place: bool = False,
    prefix: KnownPrefix | None = None,
) -> None:
    """Sign ``source`` into ``destination``: an incremental update, earlier signatures stay
    valid. ``facts`` is the caller's inspection of ``source`` (with the stamp's page). A
    document pyHanko cannot write into (but readers open, and nobody signed yet) is written
    again cleanly and that copy signed.

    ``in_place``: ``source`` is the caller's own copy, in ``destination``'s folder: the update
    is appended to it (no second copy of the document is written) and ``destination`` becomes
    a second name of that file. ``source`` is then the signed file too; a failure cuts it back
    to its original bytes. ``prefix``, with ``in_place``: the running SHA-256 of ``source``'s
    first bytes, from which the signature's digest goes on (:mod:`signing.known_prefix`)."""
    arguments = {"options": options, "signer": signer, "timestamper": timestamper,
                 "material": material, "font": font, "now": now, "facts": facts,
                 "timestamp_size": timestamp_size, "in_place": in_place,
                 "prefix": prefix}  # fmt: skip
    try:
        _sign_once(source, destination, **arguments)  # type: ignore[arg-type]
    except UnparsablePdf:
        if facts.signed_fields or facts.encrypted:
            raise
        with tempfile.TemporaryDirectory(prefix="kyso-repair-") as scratch:
            repaired = Path(scratch) / "repaired.pdf"
            if not repaired_copy(source, repaired):
                raise
            arguments["in_place"] = False  # the repaired copy lives in a scratch folder
            arguments["prefix"] = None
            _sign_once(repaired, destination, **arguments)  # type: ignore[arg-type]


def _sign_once(
    source: Path,
    destination: Path,
    *,
    options: SignatureOptions,
    signer: KeyStoreSigner,
    timestamper: TimeStamper | None,
    material: ValidationMaterial | None,
    font: Path,
    now: datetime,
    facts: PdfFacts,
    timestamp_size: int = 6000,
    in_place: bool = False,
    prefix: KnownPrefix | None = None,
) -> None:
    if options.certify and facts.signed_fields:
        raise FieldUnusable("a certification signature must be the document's first signature")
    if options.level.timestamped and timestamper is None:
        raise TimestampUnavailable("this level needs a time-stamp and no TSA is configured")
    if options.level.long_term and material is None:
        raise TimestampUnavailable("this level needs validation data")
    spec, field_name = None, f"kyso-{secrets.token_hex(4)}"
    stamp_style = None
    with tempfile.TemporaryDirectory(prefix="kyso-stamp-") as scratch:
        if options.placement is not None:
            spec, field_name, stamp_size, rotation = _new_field_spec(facts, options.placement)
            stamp_pdf = Path(scratch) / "stamp.pdf"
            text = StampText(
                options.signer_name, now, options.reason, options.location, options.language
            )
            stamp_pdf.write_bytes(
                render_stamp_pdf(text, stamp_size[0], stamp_size[1], font, rotation=rotation)
            )
            stamp_style = StaticStampStyle.from_pdf_file(
                str(stamp_pdf), border_width=0, background_layout=_EDGE_TO_EDGE
            )
        else:
            spec = SigFieldSpec(sig_field_name=field_name)  # invisible: no box
        meta = PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=options.reason,
            location=options.location,
            name=options.signer_name or None,
            certify=options.certify is not None,
            docmdp_permissions=MDPPerm(options.certify) if options.certify else MDPPerm.FILL_FORMS,
            embed_validation_info=options.level.long_term,
            use_pades_lta=options.level is Level.B_LTA,
            validation_context=material.context() if material and options.level.long_term else None,
        )
        pdf_signer = PdfSigner(
            meta,
            signer,
            timestamper=timestamper if options.level.timestamped else None,
            stamp_style=stamp_style,
            new_field_spec=spec,
        )
        reserve = _reserve(signer, timestamp_size if options.level.timestamped else 0)
        if facts.need_appearances and not facts.signed_fields and not facts.encrypted:
            # the signature clears /NeedAppearances: draw the fields first, or values vanish
            drawn = Path(scratch) / "drawn.pdf"
            if draw_field_appearances(source, drawn):
                source, in_place = drawn, False
        try:
            if in_place:
                _append_signature(source, destination, pdf_signer, reserve, facts, prefix)
            else:
                _write_signed_copy(source, destination, pdf_signer, reserve, facts)
        except TimestampRequestError:  # (an OSError: before the disk's own)
            raise TimestampUnavailable(
                "the time-stamping authority did not answer: try again later, or sign at B-B"
            ) from None
        except (SigningError, CertsError, OSError):  # ours, the key store's, the disk's
            raise
        except RecursionError:
            raise HostilePdf("the PDF's objects are nested too deeply to sign safely") from None
        except (PdfError, PyhankoSigningError) as exc:
            if isinstance(exc, PyhankoSigningError) and "timestamp" in str(exc).lower():
                raise TimestampUnavailable(
                    "time-stamping failed: try again later, or sign at B-B"
                ) from None
            logger.info("document refused while signing: %s", str(exc)[:300])
            raise UnparsablePdf(DAMAGED) from None
        except Exception as exc:  # untrusted bytes: pyHanko trips over what it cannot write
            logger.info("document refused while signing: %s: %s", type(exc).__name__,
                        str(exc)[:300])  # fmt: skip
            raise UnparsablePdf(DAMAGED) from None
        _readable_again(destination, field_name)


def _writer(stream: BinaryIO, facts: PdfFacts) -> IncrementalPdfFileWriter:
    writer = _LargeStepWriter(stream, strict=False)
    if facts.encrypted:  # owner-restricted: the new revision keeps the encryption
        writer.encrypt(b"")
    return writer


def _write_signed_copy(
    source: Path, destination: Path, pdf_signer: PdfSigner, reserve: int, facts: PdfFacts
) -> None:
    # w+b: pyHanko reads its output back to hash it; a write-only file would make it build the
    # whole signed document in memory instead.
    with source.open("rb") as inp, destination.open("w+b") as out:
        pdf_signer.sign_pdf(_writer(inp, facts), bytes_reserved=reserve, output=out,
                            chunk_size=_IO_CHUNK)  # fmt: skip


def _append_signature(
    source: Path, destination: Path, pdf_signer: PdfSigner, reserve: int, facts: PdfFacts,
    prefix: KnownPrefix | None = None,
) -> None:  # fmt: skip
    """The signature (and its validation data) appended to ``source`` itself, which
    ``destination`` then names too; on any failure ``source`` is cut back to what it was."""
    size = source.stat().st_size
    try:
        known = prefix if prefix is not None and prefix.length == size else None
        with source.open("r+b") as stream, continuing(known):
            pdf_signer.sign_pdf(_writer(stream, facts), bytes_reserved=reserve, in_place=True,
                                chunk_size=_IO_CHUNK)  # fmt: skip
        destination.unlink(missing_ok=True)
        os.link(source, destination)
    except BaseException:
        with source.open("r+b") as stream:
            stream.truncate(size)
        raise


def _readable_again(signed: Path, field_name: str) -> None:
    """What is delivered must be what a verifier reads back: the signed file parsed again
    (as kyso's verifier reads it) finds the new signature; a file that does not is refused
    before anything is charged."""
    try:
        with signed.open("rb") as stream:
            reader = PdfFileReader(stream, strict=False)
            if reader.encrypted:
                reader.decrypt(b"")
            names = [name for name, _value, _ref in enumerate_sig_fields(reader)]
    except Exception:
        logger.info("signed document unreadable by its verifier: refused")
        raise UnparsablePdf(DAMAGED) from None
    if field_name not in names:
        raise UnparsablePdf(DAMAGED)
