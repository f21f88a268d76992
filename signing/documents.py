"""Reading an uploaded PDF safely: what it is, whether it can be signed, where a stamp may go."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signing.errors import (
    EncryptedPdf,
    HostilePdf,
    NotAPdf,
    SigningError,
    TooManyPages,
    UnparsablePdf,
)

__all__ = ["DEFAULT_MAX_PAGES", "PdfFacts", "inspect_pdf", "open_reader"]

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


def _check_content_streams(reader: PdfFileReader, count: int) -> None:
    """What is signed must be what is shown: every page's content must decode, within a
    bound (decompression bombs are refused)."""
    for index in range(count):
        page_ref, _ = reader.find_page_for_modification(index)
        contents = page_ref.get_object().get("/Contents")
        if contents is None:
            continue
        contents = contents.get_object()
        streams = contents if isinstance(contents, list) else [contents]
        for stream in streams:
            stream = stream.get_object()
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
                    f"page {index + 1} holds a decompression bomb (a stream inflating past "
                    f"{bomb.limit // (1024 * 1024)} MB): the document is refused"
                ) from None
            except ValueError as exc:
                raise UnparsablePdf(
                    f"the content of page {index + 1} cannot be decoded: {exc}; a viewer would "
                    "not show what is signed"
                ) from None


@dataclass(frozen=True)
class PdfFacts:
    """What signing needs to know about a document before it touches it."""

    page_count: int
    page_sizes: dict[int, tuple[float, float, float, float]]
    """1-based page number -> media box (x1, y1, x2, y2), for the pages asked about and the
    last page (where a stamp goes by default)."""
    empty_fields: tuple[str, ...]
    """Names of unsigned signature fields."""
    signed_fields: tuple[str, ...]
    """Names of signature fields that carry a signature already."""


def _said(exc: Exception) -> str:
    return str(exc)[:200] or type(exc).__name__


def open_reader(stream: BinaryIO) -> PdfFileReader:
    """A pyHanko reader, with errors turned into signing's own."""
    head = stream.read(1024)
    stream.seek(0)
    if b"%PDF-" not in head:
        raise NotAPdf("the file is not a PDF document")
    try:
        reader = PdfFileReader(stream, strict=False)
    except RecursionError:
        raise HostilePdf("the PDF's objects are nested too deeply to be read safely") from None
    except Exception as exc:  # untrusted bytes: whatever the parser trips on, it is unreadable
        raise UnparsablePdf(
            f"the PDF cannot be read (truncated or damaged): {_said(exc)}"
        ) from None
    if reader.encrypted:
        raise EncryptedPdf(
            "the PDF is encrypted or password-protected: upload the decrypted document"
        )
    return reader


def _inherited(page: Any, key: str, depth: int = 0) -> Any:
    """A page attribute, or the nearest one inherited from its page tree (PDF 7.7.3.4)."""
    if depth > 64:
        raise HostilePdf("the page tree is nested too deeply to be read safely")
    if key in page:
        return page[key]
    parent = page.get("/Parent")
    return _inherited(parent.get_object(), key, depth + 1) if parent is not None else None


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
            if deep:
                _check_content_streams(reader, count)
            sizes: dict[int, tuple[float, float, float, float]] = {}
            for number in {*pages, count}:
                if 1 <= number <= count:
                    page_ref, _ = reader.find_page_for_modification(number - 1)
                    box = _inherited(page_ref.get_object(), "/MediaBox") or [0, 0, 595, 842]
                    a, b, c, d = (float(v) for v in box)
                    x1, y1, x2, y2 = min(a, c), min(b, d), max(a, c), max(b, d)
                    if x2 - x1 < 1 or y2 - y1 < 1:
                        raise UnparsablePdf(f"page {number} has an empty page box: {box}")
                    sizes[number] = (x1, y1, x2, y2)
            empty: list[str] = []
            signed: list[str] = []
            for name, value, _ref in enumerate_sig_fields(reader):
                (signed if value is not None else empty).append(name)
        except RecursionError:
            raise HostilePdf("the PDF's objects are nested too deeply to be read safely") from None
        except SigningError:
            raise
        except Exception as exc:  # (pyHanko asserts on some broken structures)
            raise UnparsablePdf(f"the PDF structure is broken: {_said(exc)}") from None
    return PdfFacts(
        page_count=count,
        page_sizes=sizes,
        empty_fields=tuple(empty),
        signed_fields=tuple(signed),
    )
