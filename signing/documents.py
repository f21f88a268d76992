"""Reading an uploaded PDF safely: what it is, whether it can be signed, where a stamp may go."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt.api import AuthStatus
from pyhanko.pdf_utils.crypt.permissions import StandardPermissions
from pyhanko.pdf_utils.misc import read_non_whitespace
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import read_object_header
from pyhanko.sign.fields import enumerate_sig_fields

from signing.active_content import dynamic_xfa
from signing.errors import (
    DynamicXfa,
    EncryptedPdf,
    HostilePdf,
    NotAPdf,
    RestrictedPdf,
    SigningError,
    TooManyPages,
    UnparsablePdf,
    UnsupportedProtection,
)
from signing.page_box import PageBox, inherited, page_box
from signing.repair import repaired_copy

__all__ = ["DEFAULT_MAX_PAGES", "PdfFacts", "inspect_or_repair", "inspect_pdf", "open_reader"]

DEFAULT_MAX_PAGES = 5_000
_MAX_INFLATED = 64 * 1024 * 1024
"""Largest a page content stream may inflate to, and at most 100x its compressed size."""


def _run_length(data: bytes, limit: int) -> bytes:
    out, at = bytearray(), 0
    while at < len(data) and data[at] != 128 and len(out) <= limit:
        length = data[at]
        if length < 128:
            out += data[at + 1 : at + 2 + length]
            at += 2 + length
        else:
            out += data[at + 1 : at + 2] * (257 - length)
            at += 2
    return bytes(out)


def _decoded(raw: bytes, filters: list[str], limit: int) -> bytes:
    """A page content stream decoded with a bound on its size (so no filter chain can be a
    bomb); ``ValueError`` when it cannot be decoded."""
    data = raw
    for name in filters:
        if name in ("/FlateDecode", "/Fl"):
            try:
                data = zlib.decompressobj().decompress(data, limit + 1)
            except zlib.error as exc:
                raise ValueError(f"its Flate data is damaged ({exc})") from None
        elif name in ("/ASCII85Decode", "/A85"):
            text = data.strip().removeprefix(b"<~").split(b"~>")[0]
            data = base64.a85decode(b"".join(text.split()))
        elif name in ("/ASCIIHexDecode", "/AHx"):
            digits = b"".join(data.split(b">")[0].split())
            data = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
        elif name in ("/RunLengthDecode", "/RL"):
            data = _run_length(data, limit)
        else:
            raise ValueError(f"it uses the filter {name}, which a signing service does not read")
        if len(data) > limit:
            raise _Bomb(limit)
    return data


class _Bomb(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


_MAX_FORMS = 2_000
"""Form XObjects checked per document at most."""


def _check_stream(stream: Any, page: int, what: str) -> None:
    raw = getattr(stream, "encoded_data", None) or b""
    named = stream.get("/Filter")
    filters = [str(f) for f in named] if isinstance(named, list) else (
        [str(named)] if named is not None else []
    )  # fmt: skip
    limit = min(_MAX_INFLATED, max(100 * len(raw), 4 * 1024 * 1024))
    try:
        _decoded(raw, filters, limit)
    except _Bomb as bomb:
        raise HostilePdf(
            f"page {page} holds a decompression bomb ({what} inflating past "
            f"{bomb.limit // (1024 * 1024)} MB): the document is refused"
        ) from None
    except ValueError as exc:
        raise UnparsablePdf(
            f"{what} on page {page} cannot be decoded: {exc}; a viewer would not show what "
            "is signed. Save the document again from the program that made it, then upload it"
        ) from None


def _subtype_unread(reader: object, ref: generic.IndirectObject) -> object:
    """The ``/Subtype`` of an indirect object read from its dictionary alone, leaving a
    stream's payload on disk: an image XObject can be most of a 100 MB upload, and pyHanko
    reads (and caches) a stream's payload whole. ``None`` when the dictionary cannot be read
    this way (the caller then reads the object as pyHanko does)."""
    if (
        not isinstance(reader, PdfFileReader)
        or reader.cache_get_indirect_object(ref.generation, ref.idnum) is not None
    ):
        return None
    try:
        start = reader.xrefs[ref.reference]
        if not isinstance(start, int):  # in an object stream, so not a stream itself
            return None
        stream = reader.stream
        at = stream.tell()
        try:
            stream.seek(start)
            read_object_header(stream, strict=False)
            read_non_whitespace(stream, seek_back=True)
            if stream.read(2) != b"<<":
                return ""
            while True:
                if read_non_whitespace(stream) == b">":
                    return ""
                stream.seek(-1, 1)
                key = generic.NameObject.read_from_stream(stream)
                read_non_whitespace(stream, seek_back=True)
                value = generic.read_object(stream, ref.reference)
                if key == "/Subtype":  # a reference is left to pyHanko (it may name /Form)
                    return None if isinstance(value, generic.IndirectObject) else value
        finally:
            stream.seek(at)
    except Exception:  # untrusted bytes: fall back to pyHanko's own reading
        return None


def _form_xobjects(resources: Any, seen: set[tuple[int, int]]) -> list[Any]:
    """Form XObjects named in a resource dictionary, each once."""
    found: list[Any] = []
    holder = resources.get_object() if resources is not None else None
    xobjects = holder.get("/XObject") if isinstance(holder, generic.DictionaryObject) else None
    if not isinstance(xobjects, generic.DictionaryObject):
        return found
    for name in list(xobjects.keys()):
        raw = xobjects.raw_get(name)
        if isinstance(raw, generic.IndirectObject):
            key = (raw.idnum, raw.generation)
            if key in seen:
                continue
            seen.add(key)
            subtype = _subtype_unread(raw.get_pdf_handler(), raw)
            if subtype is not None and subtype != "/Form":
                continue
        target = raw.get_object()
        if (
            isinstance(target, generic.StreamObject)
            and "/Subtype" in target
            and (
                target["/Subtype"] == "/Form"  # (indexing resolves a reference; .get does not)
            )
        ):
            found.append(target)
    return found


def _check_content_streams(reader: PdfFileReader, count: int) -> None:
    """What is signed must be what is shown: every page's content, and every form XObject
    it draws (however deep), must decode, within a bound (decompression bombs are
    refused)."""
    seen: set[tuple[int, int]] = set()
    for index in range(count):
        page_ref, _ = reader.find_page_for_modification(index)
        page = page_ref.get_object()
        contents = page.get("/Contents")
        if contents is not None:
            contents = contents.get_object()
            streams = contents if isinstance(contents, list) else [contents]
            for stream in streams:
                _check_stream(stream.get_object(), index + 1, "the page content")
        pending = _form_xobjects(inherited(page, "/Resources"), seen)
        while pending:
            if len(seen) > _MAX_FORMS:
                raise HostilePdf("the document draws too many nested objects to be checked")
            form = pending.pop()
            _check_stream(form, index + 1, "a drawn object (form XObject)")
            pending += _form_xobjects(form.get("/Resources"), seen)


@dataclass(frozen=True)
class PdfFacts:
    """What signing needs to know about a document before it touches it."""

    page_count: int
    page_boxes: dict[int, PageBox]
    """1-based page number -> the page's effective box (what readers show, which way up), for
    the pages asked about and the last page (where a stamp goes by default)."""
    empty_fields: tuple[str, ...]
    """Names of unsigned signature fields."""
    signed_fields: tuple[str, ...]
    """Names of signature fields that carry a signature already."""
    encrypted: bool = False
    """Encrypted with an owner password only (opens without one): signed keeping it."""
    need_appearances: bool = False
    """The form asks readers to draw its fields (``/NeedAppearances true``)."""


DAMAGED = (
    "the PDF is damaged beyond what kyso can repair safely (it may be truncated or its "
    "structure broken): open it in a PDF reader, save or print it as a new PDF, and upload that"
)
"""What a citizen is told of a file whose structure cannot be read (never the parser's own
words)."""

_SIGNING_ALLOWED = (
    StandardPermissions.ALLOW_ANNOTS_FORM_FILLING | StandardPermissions.ALLOW_FORM_FILLING
)


def open_reader(stream: BinaryIO) -> PdfFileReader:
    """A pyHanko reader, with errors turned into signing's own. A document encrypted with
    an owner password only (it opens without a password) is decrypted for reading when its
    permissions allow form filling or signing, as Acrobat does; otherwise refused, naming
    the restriction."""
    head = stream.read(1024)
    stream.seek(0)
    if b"%PDF-" not in head:
        raise NotAPdf("the file is not a PDF document")
    try:
        reader = PdfFileReader(stream, strict=False)
        encrypted = reader.encrypted
    except RecursionError:
        raise HostilePdf("the PDF's objects are nested too deeply to be read safely") from None
    except Exception:  # untrusted bytes: whatever the parser trips on, it is unreadable
        raise UnparsablePdf(DAMAGED) from None
    if encrypted:
        _open_restricted(reader, stream)
    return reader


UNSUPPORTED_PROTECTION = (
    "the PDF opens without a password, but its protection (restrictions set by its owner, "
    "in a form kyso cannot keep, such as Acrobat 9's AES-256) would be lost by signing: ask "
    "whoever sent it for a copy without protection, or save or print it as a new PDF and "
    "upload that"
)


def _opens_without_password(stream: BinaryIO) -> bool:
    """Whether qpdf opens the file with no password, as readers do: then it is restricted,
    not locked, even when pyHanko cannot read its protection."""
    import pikepdf

    stream.seek(0)
    try:
        with pikepdf.open(stream):
            return True
    except Exception:  # a password needed, or unreadable: not openable as it is
        return False
    finally:
        stream.seek(0)


def _open_restricted(reader: PdfFileReader, stream: BinaryIO) -> None:
    try:
        handler = reader.security_handler
        result = reader.decrypt(b"") if handler is not None and _standard(handler) else None
    except RecursionError:
        raise HostilePdf("the PDF's objects are nested too deeply to be read safely") from None
    except Exception:
        if _opens_without_password(stream):
            raise UnsupportedProtection(UNSUPPORTED_PROTECTION) from None
        raise EncryptedPdf(
            "the PDF's encryption is damaged, so it cannot be opened safely: open it in a PDF "
            "reader, save or print it as a new PDF without protection, and upload that"
        ) from None
    if result is None or result.status == AuthStatus.FAILED:
        if _opens_without_password(stream):
            raise UnsupportedProtection(UNSUPPORTED_PROTECTION)
        raise EncryptedPdf(
            "the PDF needs a password (or a certificate) to open: open it with your password, "
            "save or print it as a new PDF without a password, and upload that"
        )
    flags = result.permission_flags
    if result.status == AuthStatus.USER and flags is not None and not (flags & _SIGNING_ALLOWED):
        raise RestrictedPdf(
            "the PDF's owner has not permitted form filling or signing in it (its security "
            "settings restrict changes): ask whoever sent it for a copy that allows signing"
        )


def _standard(handler: object) -> bool:
    return type(handler).__name__ == "StandardSecurityHandler"


def inspect_pdf(
    path: Path,
    *,
    pages: tuple[int, ...] = (),
    max_pages: int = DEFAULT_MAX_PAGES,
    deep: bool = False,
) -> PdfFacts:
    """Open the document, count pages, list signature fields; refuse what cannot be signed.

    ``deep`` also inflates every page's content with a bound, refusing decompression bombs.
    """
    with path.open("rb") as stream:
        reader = open_reader(stream)
        try:
            root_pages = reader.root["/Pages"]
            count = int(root_pages["/Count"])
            if count <= 0:
                raise UnparsablePdf(f"the page tree claims {count} pages")
            if count > max_pages:
                raise TooManyPages(
                    f"the document has {count} pages; at most {max_pages} can be signed here",
                    page_count=count,
                    max_pages=max_pages,
                )
            if dynamic_xfa(reader):
                raise DynamicXfa(
                    "the document is a dynamic XFA form: readers that understand XFA draw it "
                    "from its form template, not from the page that would be signed. Fill it in, "
                    "then print it to a PDF and sign that"
                )
            if deep:
                _check_content_streams(reader, count)
            boxes: dict[int, PageBox] = {}
            for number in {*pages, count}:
                if 1 <= number <= count:
                    page_ref, _ = reader.find_page_for_modification(number - 1)
                    try:
                        boxes[number] = page_box(page_ref.get_object())
                    except UnparsablePdf as refused:
                        raise UnparsablePdf(f"page {number}: {refused}") from None
            empty: list[str] = []
            signed: list[str] = []
            for name, value, _ref in enumerate_sig_fields(reader):
                (signed if value is not None else empty).append(name)
        except RecursionError:
            raise HostilePdf("the PDF's objects are nested too deeply to be read safely") from None
        except SigningError:
            raise
        except Exception:  # (pyHanko asserts on some broken structures)
            raise UnparsablePdf(DAMAGED) from None
        need = _needs_appearances(reader)
    return PdfFacts(
        page_count=count,
        page_boxes=boxes,
        empty_fields=tuple(empty),
        signed_fields=tuple(signed),
        encrypted=reader.encrypted,
        need_appearances=need,
    )


def _needs_appearances(reader: PdfFileReader) -> bool:
    try:
        form = reader.root.get("/AcroForm")
        return isinstance(form, generic.DictionaryObject) and bool(
            form.get("/NeedAppearances", False)
        )
    except Exception:
        return False


def inspect_or_repair(
    path: Path,
    repaired: Path,
    *,
    pages: tuple[int, ...] = (),
    max_pages: int = DEFAULT_MAX_PAGES,
    deep: bool = False,
) -> tuple[PdfFacts, Path]:
    """``inspect_pdf``; for a damaged upload that readers still open (and nobody signed
    yet), its cleanly rewritten copy at ``repaired`` instead: the facts, and the file to
    sign. The upload's own refusal stands when the copy cannot be made or read either."""
    try:
        return inspect_pdf(path, pages=pages, max_pages=max_pages, deep=deep), path
    except UnparsablePdf as refused:
        if not repaired_copy(path, repaired):
            raise
        try:
            facts = inspect_pdf(repaired, pages=pages, max_pages=max_pages, deep=deep)
        except SigningError:
            raise refused from None
        return facts, repaired
