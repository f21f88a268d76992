"""Active and dynamic content in a PDF: JavaScript (anywhere), Launch, SubmitForm and
ImportData actions, embedded files, XFA forms; each found with where it is, for the
verification report's warnings, and whether an XFA form is dynamic (drawn from its template,
not from the page), which signing refuses."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["MAX_OBJECTS", "dynamic_xfa", "scan_active_content"]

MAX_OBJECTS = 20_000
"""Objects looked at per document at most (a bound on hostile graphs)."""
_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/SubmitForm": "submit_form",
    "/ImportData": "import_data",
}
_SKIP = {"/Parent", "/P", "/Prev", "/Next", "/Last", "/First", "/Dest", "/StructParent"}
"""Keys that lead back up or sideways (everything is still reached from the catalog)."""


def _where(path: list[str]) -> str:
    return " > ".join(path) or "catalog"


def scan_active_content(reader: PdfFileReader) -> list[dict[str, str]]:
    """Everything active, each ``{"kind", "where"}``; kinds ``javascript``, ``launch``,
    ``submit_form``, ``import_data``, ``embedded_file``, ``xfa``. Never raises."""
    found: list[dict[str, str]] = []
    seen: set[tuple[int, int]] = set()
    try:
        root = reader.root
    except Exception:
        return found
    queue: deque[tuple[Any, list[str]]] = deque([(root, [])])
    visited = 0
    while queue and visited < MAX_OBJECTS:
        value, path = queue.popleft()
        visited += 1
        try:
            if isinstance(value, generic.IndirectObject):
                key = (value.idnum, value.generation)
                if key in seen:
                    continue
                seen.add(key)
                value = value.get_object()
            if isinstance(value, generic.DictionaryObject):
                _look(value, path, found)
                for name in list(value.keys()):
                    if name in _SKIP or name in ("/Contents", "/Length"):
                        continue
                    queue.append((value.raw_get(name), [*path, str(name).lstrip("/")]))
            elif isinstance(value, generic.ArrayObject):
                for index, child in enumerate(value):
                    queue.append((child, [*path, f"[{index + 1}]"]))
        except (RecursionError, Exception):  # noqa: S112 - a broken object hides nothing more
            continue
    unique: dict[tuple[str, str], dict[str, str]] = {}
    for item in found:
        unique.setdefault((item["kind"], item["where"]), item)
    return list(unique.values())[:50]


def _look(value: generic.DictionaryObject, path: list[str], found: list[dict[str, str]]) -> None:
    where = _where(path)
    kind = _ACTIONS.get(str(value.get("/S", "")))
    if kind is not None:
        found.append({"kind": kind, "where": where})
    elif "/JS" in value:
        found.append({"kind": "javascript", "where": where})
    if value.get("/Type") == "/EmbeddedFile" or (
        "/EF" in value and value.get("/Type") in ("/Filespec", None)
    ):
        found.append({"kind": "embedded_file", "where": where})
    if "/XFA" in value and path[-1:] == ["AcroForm"]:
        found.append({"kind": "xfa", "where": where})


_DYNAMIC = re.compile(rb"<dynamicRender>\s*required\s*</dynamicRender>")


def dynamic_xfa(reader: PdfFileReader) -> bool:
    """Whether the document is a dynamic XFA form: a reader that knows XFA draws it from the
    form's template (``/NeedsRendering``, or ``dynamicRender`` required), so the page content
    a signature covers is not what that reader shows."""
    try:
        root = reader.root
        if bool(root.get("/NeedsRendering", False)):
            return True
        form = root.get("/AcroForm")
        xfa = form.get("/XFA") if isinstance(form, generic.DictionaryObject) else None
        if xfa is None:
            return False
        packets = xfa.get_object()
        streams: list[Any] = []
        if isinstance(packets, generic.ArrayObject):
            for name, packet in zip(packets[::2], packets[1::2], strict=False):
                if str(name) == "config":
                    streams.append(packet.get_object())
        elif isinstance(packets, generic.StreamObject):
            streams.append(packets)
        return any(
            isinstance(s, generic.StreamObject) and _DYNAMIC.search(s.data[:1_000_000])
            for s in streams
        )
    except Exception:
        return False
