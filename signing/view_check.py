"""Whether what a reader shows still is what was signed: the visual half of the judgement of
changes made after a signature (the object-level half is pyHanko's diff analysis and
``revisions.changed_objects``).

Only pages that changed are drawn (a document whose later revisions only add validation data
is not drawn at all), unless the file is read in a way readers may not agree on (hybrid
cross-references, bytes after the last revision): then its first pages are drawn too.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from pyhanko.pdf_utils.reader import PdfFileReader

from signing.page_compare import compare_pages
from signing.revisions import widget_rects

__all__ = ["MAX_PAGES_DRAWN", "judge_view"]

MAX_PAGES_DRAWN = 10
"""Pages drawn per signature at most."""
_SEVERITY = {"TOTAL_PASSED": 0, "INDETERMINATE": 1, "TOTAL_FAILED": 2}
_QUIET = ("none", "validation_data", None)


class _Report(Protocol):
    indication: str
    subindication: str | None
    modifications: dict[str, Any]

    def reason(self, code: str, **values: Any) -> None: ...

    def warn(self, code: str, **values: Any) -> None: ...


def _unusual_reading(reader: PdfFileReader, tail: int) -> bool:
    return tail > 0 or bool(getattr(reader.xrefs, "hybrid_xrefs_present", False))


def judge_view(
    report: _Report,
    reader: PdfFileReader,
    path: Path,
    revision: int,
    signed_end: int,
    *,
    tail: int,
) -> None:
    """Draw the changed pages of the signed revision and of the document now; a change over
    signed content fails the signature (naming page and region), one beside it is a
    warning."""
    level = report.modifications.get("level")
    changes: list[dict[str, Any]] = report.modifications.get("changes") or []
    unusual = _unusual_reading(reader, tail)
    later = revision + 1 < reader.xrefs.total_revisions
    if (level in _QUIET or not later) and not unusual:
        return
    pages = {c["page"] for c in changes if c["page"] > 0 and c["kind"] != "signature_added"}
    if unusual:
        count = int(report.modifications.get("page_count") or 0) or _page_count(reader)
        pages |= set(range(1, min(count, MAX_PAGES_DRAWN) + 1))
    chosen = sorted(pages)[:MAX_PAGES_DRAWN]
    if not chosen:
        return
    try:
        ignore, fields = widget_rects(reader, revision, chosen)
    except (RecursionError, Exception):
        ignore, fields = [], []
    views = compare_pages(path, signed_end, chosen, ignore=ignore, fields=fields)
    if views is None:
        report.warn("view_not_compared")
        return
    report.modifications["view"] = [asdict(v) for v in views]
    forbidden = level == "other"  # pyHanko could not explain it: any visible change counts
    covered = [v for v in views if v.covered or v.changed < 0 or (forbidden and v.changed)]
    for view in covered:
        kinds = sorted({c["kind"] for c in changes if c["page"] == view.page})
        _escalate(report, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE")
        report.reason(
            "signed_view_changed",
            page=view.page,
            region=list(view.region) if view.region else None,
            kinds=kinds or ["cross_reference"],
        )
    if covered:
        return
    for view in views:
        if view.changed:
            report.warn(
                "added_beside", page=view.page, region=list(view.region) if view.region else None
            )


def _page_count(reader: PdfFileReader) -> int:
    try:
        return int(reader.root["/Pages"]["/Count"])
    except (KeyError, TypeError, ValueError):
        return 1


def _escalate(report: _Report, indication: str, subindication: str) -> None:
    if report.indication == "TOTAL_PASSED" or (
        _SEVERITY[indication] > _SEVERITY.get(report.indication, 0)
    ):
        report.indication, report.subindication = indication, subindication
