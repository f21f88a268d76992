"""A corpus of malformed and malicious PDFs, made here, for every upload path: not PDFs,
truncated and corrupted files, broken cross-reference data, loops and self-references in the
object graph, decompression bombs, impossible page trees and boxes, encryption."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

from tests.support.pdfs import (
    _minimal_pdf,
    broken_xref,
    compression_bomb,
    deep_object_graph,
    encrypted_pdf,
    many_pages,
    simple_pdf,
)

__all__ = ["hostile_corpus"]

_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def _tree(pages: bytes, *rest: bytes) -> bytes:
    return _minimal_pdf([_CATALOG, pages, *rest])


def _zeros_deflated(size: int) -> bytes:
    packer = zlib.compressobj(9)
    chunk = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(chunk) for _ in range(size // len(chunk))) + packer.flush()


def _xref_stream_bomb() -> bytes:
    """The cross-reference data itself: a stream that inflates to 200 MiB."""
    bomb = _zeros_deflated(200 * 1024 * 1024)
    head = b"%PDF-1.7\n"
    objects = [_CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", _PAGE]
    body = b"".join(b"%d 0 obj\n" % n + o + b"\nendobj\n" for n, o in enumerate(objects, 1))
    at = len(head) + len(body)
    return (
        head
        + body
        + (
            b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % len(bomb) + bomb + b"\nendstream\nendobj\n"
            b"startxref\n%d\n%%%%EOF\n" % at
        )
    )


def _filter_chain() -> bytes:
    data = b"garbage that is not flate"
    return _minimal_pdf([
        _CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter [/FlateDecode /LZWDecode /ASCII85Decode /RunLengthDecode] >>"
        b"\nstream\n" % len(data) + data + b"\nendstream",
    ])  # fmt: skip


def _xref_loop() -> bytes:
    good = simple_pdf()
    head, _, _ = good.rpartition(b"startxref")
    at = len(head)
    return (
        head
        + b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev %d >>\n" % at
        + (b"startxref\n%d\n%%%%EOF\n" % at)
    )


def _corrupt(data: bytes, every: int) -> bytes:
    out = bytearray(data)
    for index in range(64, len(out), every):
        out[index] ^= 0x5A
    return bytes(out)


def hostile_corpus(work: Path) -> dict[str, bytes]:
    """At least thirty files, each named for what is wrong with it."""
    plain = simple_pdf()
    makers: dict[str, Callable[[], bytes]] = {
        "empty": lambda: b"",
        "text-not-pdf": lambda: "Đơn xin phép, không phải PDF".encode(),
        "png-named-pdf": lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        "zip-named-pdf": lambda: b"PK\x03\x04" + b"\0" * 64,
        "html-named-pdf": lambda: b"<html><script>alert(1)</script></html>",
        "header-only": lambda: b"%PDF-1.7\n",
        "header-and-eof": lambda: b"%PDF-1.7\n%%EOF\n",
        "truncated-10pc": lambda: plain[: len(plain) // 10],
        "truncated-50pc": lambda: plain[: len(plain) // 2],
        "truncated-before-xref": lambda: plain[: plain.rfind(b"xref")],
        "truncated-last-byte": lambda: plain[:-8],
        "bytes-flipped": lambda: _corrupt(plain, 97),
        "bytes-flipped-densely": lambda: _corrupt(plain, 7),
        "broken-xref-offset": broken_xref,
        "xref-prev-loop": _xref_loop,
        "startxref-negative": lambda: plain.rpartition(b"startxref")[0] + b"startxref\n-5\n%%EOF\n",
        "no-root": lambda: plain.replace(b"/Root", b"/Toor"),
        "root-not-a-dictionary": lambda: _minimal_pdf([b"(just a string)"]),
        "pages-missing": lambda: _minimal_pdf([b"<< /Type /Catalog >>"]),
        "pages-not-a-dictionary": lambda: _minimal_pdf([_CATALOG, b"[1 2 3]"]),
        "page-count-zero": lambda: _tree(b"<< /Type /Pages /Kids [] /Count 0 >>"),
        "page-count-negative": lambda: _tree(b"<< /Type /Pages /Kids [3 0 R] /Count -4 >>", _PAGE),
        "page-count-huge": lambda: _tree(
            b"<< /Type /Pages /Kids [3 0 R] /Count 999999999999 >>", _PAGE
        ),
        "kids-point-to-themselves": lambda: _tree(b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"),
        "kids-cycle": lambda: _minimal_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
            ]
        ),
        "parent-cycle-no-mediabox": lambda: _minimal_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>",
                b"<< /Type /Page /Parent 2 0 R >>",
            ]
        ),
        "mediabox-empty": lambda: _tree(
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 0 0] >>",
        ),
        "mediabox-not-numbers": lambda: _tree(
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [(a) (b) (c) (d)] >>",
        ),
        "deep-nesting": deep_object_graph,
        "compression-bomb": compression_bomb,
        "xref-stream-bomb": _xref_stream_bomb,
        "filter-chain-garbage": _filter_chain,
        "too-many-pages": lambda: many_pages(6_000),
        "encrypted": lambda: encrypted_pdf(work),
        "nul-bytes": lambda: b"%PDF-1.7\n" + b"\0" * 4096,
    }
    return {name: make() for name, make in makers.items()}
