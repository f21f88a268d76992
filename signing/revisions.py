"""What changed between a signed revision and the document as it is now, object by object.

pyHanko's diff policy explains each later revision (validation data, form filling, comments,
later signatures) or calls it suspicious. Real producers' files sometimes trip it over
(dangling references, circular trees): :class:`LenientDiffPolicy` then falls back to a plain
check that the later revisions only add validation data. :func:`changed_objects` names what
changed on each page, for the report: the page, its content streams, its fonts and XObjects,
its annotations and fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import (
    DiffPolicy,
    DiffResult,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.diff_analysis.policies import StandardDiffPolicy
from pyhanko.sign.fields import FieldMDPSpec, MDPPerm

__all__ = ["MAX_PAGES_NAMED", "Change", "LenientDiffPolicy", "changed_objects", "later_refs"]

MAX_PAGES_NAMED = 500
"""Pages looked at when naming changes (a change past them is still judged by pyHanko)."""
_ALLOWED_ROOT_KEYS = {"/DSS", "/Extensions"}


@dataclass(frozen=True)
class Change:
    kind: str
    """``page``, ``content``, ``font``, ``image``, ``form_xobject``, ``annotation_added``,
    ``annotation_changed``, ``annotation_removed``, ``form_field``, ``signature_added``,
    ``page_added``, ``page_removed``."""
    page: int
    detail: str = ""


class LenientDiffPolicy(DiffPolicy):
    """``inner``'s judgement; when it cannot read the file through (an error, not a
    suspicion), later revisions that only add validation data still pass as such."""

    def __init__(self, inner: StandardDiffPolicy) -> None:
        self.inner = inner

    def apply(
        self,
        old: HistoricalResolver,
        new: HistoricalResolver,
        field_mdp_spec: FieldMDPSpec | None = None,
        doc_mdp: MDPPerm | None = None,
    ) -> DiffResult:
        return self.inner.apply(old, new, field_mdp_spec, doc_mdp)

    def review_file(
        self,
        reader: PdfFileReader,
        base_revision: int | HistoricalResolver,
        field_mdp_spec: FieldMDPSpec | None = None,
        doc_mdp: MDPPerm | None = None,
    ) -> DiffResult | SuspiciousModification:
        try:
            return self.inner.review_file(reader, base_revision, field_mdp_spec, doc_mdp)
        except RecursionError:
            return SuspiciousModification("the document's objects are nested too deeply")
        except Exception as exc:  # pyHanko tripped over the file itself
            revision = base_revision if isinstance(base_revision, int) else base_revision.revision
            if _validation_data_only(reader, revision):
                return DiffResult(ModificationLevel.LTA_UPDATES, set())
            return SuspiciousModification(f"later changes could not be explained ({exc})")


def _raw(holder: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    """The entry as written (an indirect reference stays one), or ``None``."""
    return holder.raw_get(key) if key in holder else None


def later_refs(reader: PdfFileReader, revision: int) -> set[tuple[int, int]]:
    """Objects written by any revision after ``revision``."""
    found: set[tuple[int, int]] = set()
    for later in range(revision + 1, reader.xrefs.total_revisions):
        found |= {(r.idnum, r.generation) for r in reader.xrefs.explicit_refs_in_revision(later)}
    return found


def _validation_data_only(reader: PdfFileReader, revision: int) -> bool:
    """Whether every revision after ``revision`` only adds a DSS (or extensions) to the
    catalog, with objects that did not exist before."""
    old = reader.get_historical_resolver(revision)
    root_ref = reader.root_ref
    old_root = old.root
    metadata = {  # XMP metadata and the document information, which writers refresh
        (r.idnum, r.generation)
        for r in (_raw(old_root, "/Metadata"), _raw(old.trailer_view, "/Info"))
        if isinstance(r, generic.IndirectObject)
    }
    for later in range(revision + 1, reader.xrefs.total_revisions):
        new = reader.get_historical_resolver(later)
        for ref in reader.xrefs.explicit_refs_in_revision(later):
            if (ref.idnum, ref.generation) == (root_ref.idnum, root_ref.generation):
                new_root = new.root
                keys = (set(old_root) | set(new_root)) - _ALLOWED_ROOT_KEYS
                if any(_raw(old_root, k) != _raw(new_root, k) for k in keys):
                    return False
            elif (ref.idnum, ref.generation) in metadata:
                if not _metadata_only(new(ref)):
                    return False
            elif not old.is_ref_unassignable(ref):
                return False  # an object of the signed revision rewritten
    return True


def _metadata_only(value: generic.PdfObject) -> bool:
    if isinstance(value, generic.StreamObject):
        return value.get("/Type") == "/Metadata"
    return isinstance(value, generic.DictionaryObject) and not any(
        isinstance(v, generic.IndirectObject) for v in value.values()
    )


def _page_refs(resolver: HistoricalResolver | PdfFileReader) -> list[generic.Reference]:
    found: list[generic.Reference] = []
    seen: set[tuple[int, int]] = set()

    def walk(node: generic.DictionaryObject, depth: int) -> None:
        if depth > 64 or len(found) >= MAX_PAGES_NAMED:
            return
        kids = node.get("/Kids", generic.ArrayObject())
        for kid in kids if isinstance(kids, list) else ():
            if not isinstance(kid, generic.IndirectObject):
                continue
            key = (kid.idnum, kid.generation)
            if key in seen:
                continue
            seen.add(key)
            child = kid.get_object()
            if not isinstance(child, generic.DictionaryObject):
                continue
            if child.get("/Type") == "/Pages" or "/Kids" in child:
                walk(child, depth + 1)
            else:
                found.append(kid.reference)

    walk(resolver.root["/Pages"], 0)
    return found


def _refs_in(value: generic.PdfObject) -> list[generic.Reference]:
    if isinstance(value, generic.IndirectObject):
        return [value.reference]
    if isinstance(value, generic.ArrayObject):
        return [v.reference for v in value if isinstance(v, generic.IndirectObject)]
    return []


def _resource_changes(
    resources: generic.PdfObject, changed: set[tuple[int, int]], depth: int = 0
) -> Iterator[tuple[str, str]]:
    """Fonts and XObjects reachable from a resource dictionary that changed."""
    if depth > 8:
        return
    holder = resources
    if isinstance(holder, generic.IndirectObject):
        if (holder.idnum, holder.generation) in changed:
            yield "resources", ""
        holder = holder.get_object()
    if not isinstance(holder, generic.DictionaryObject):
        return
    for group, default_kind in (("/Font", "font"), ("/XObject", "form_xobject")):
        entries = holder.get(group)
        if not isinstance(entries, generic.DictionaryObject):
            continue
        for name in list(entries.keys()):
            raw = entries.raw_get(name)
            if not isinstance(raw, generic.IndirectObject):
                continue
            target = raw.get_object()
            kind = default_kind
            if isinstance(target, generic.StreamObject) and target.get("/Subtype") == "/Image":
                kind = "image"
            if (raw.idnum, raw.generation) in changed:
                yield kind, str(name)
            elif kind == "form_xobject" and isinstance(target, generic.DictionaryObject):
                inner = _raw(target, "/Resources")
                if inner is not None:
                    yield from _resource_changes(inner, changed, depth + 1)
                if isinstance(target, generic.StreamObject):
                    continue


def changed_objects(reader: PdfFileReader, revision: int) -> list[Change]:
    """What changed on each page after ``revision`` (1-based pages of the document now)."""
    if revision + 1 >= reader.xrefs.total_revisions:
        return []
    changed = later_refs(reader, revision)
    old = reader.get_historical_resolver(revision)
    then = {(r.idnum, r.generation) for r in _page_refs(old)}
    now = _page_refs(reader)
    found: list[Change] = []
    for number, ref in enumerate(now, start=1):
        key = (ref.idnum, ref.generation)
        if key not in then:
            found.append(Change("page_added", number))
            continue
        if key not in changed and not _page_dependencies_changed(ref, changed):
            continue
        found += _page_changes(old, ref, number, changed)
    missing = len(then) - len([r for r in now if (r.idnum, r.generation) in then])
    if missing > 0:
        found.append(Change("page_removed", 0, str(missing)))
    return found


def _page_dependencies_changed(ref: generic.Reference, changed: set[tuple[int, int]]) -> bool:
    page = ref.get_object()
    if not isinstance(page, generic.DictionaryObject):
        return False
    for key in ("/Contents", "/Annots", "/Resources"):
        raw = _raw(page, key)
        if raw is None:
            continue
        if any((r.idnum, r.generation) in changed for r in _refs_in(raw)):
            return True
        if key == "/Annots":
            array = raw.get_object()
            if isinstance(array, generic.ArrayObject) and any(
                (r.idnum, r.generation) in changed for r in _refs_in(array)
            ):
                return True
    resources = _raw(page, "/Resources")
    return resources is not None and any(True for _ in _resource_changes(resources, changed))


def _page_changes(
    old: HistoricalResolver, ref: generic.Reference, number: int, changed: set[tuple[int, int]]
) -> list[Change]:
    page_now = ref.get_object()
    page_then = old(ref)
    found: list[Change] = []
    if not isinstance(page_now, generic.DictionaryObject) or not isinstance(
        page_then, generic.DictionaryObject
    ):
        return [Change("page", number)]
    keys = (set(page_now) | set(page_then)) - {"/Annots"}
    if any(_raw(page_now, k) != _raw(page_then, k) for k in keys):
        found.append(Change("page", number, "the page dictionary"))
    contents = _raw(page_now, "/Contents")
    if contents is not None and (
        _raw(page_now, "/Contents") != _raw(page_then, "/Contents")
        or any((r.idnum, r.generation) in changed for r in _refs_in(contents))
    ):
        found.append(Change("content", number))
    resources = _raw(page_now, "/Resources")
    if resources is not None:
        found += [Change(k, number, name) for k, name in _resource_changes(resources, changed)]
    found += _annotation_changes(page_then, page_now, number, changed)
    return found


def _annots(page: generic.DictionaryObject) -> list[generic.IndirectObject]:
    raw = _raw(page, "/Annots")
    array = raw.get_object() if raw is not None else None
    if not isinstance(array, generic.ArrayObject):
        return []
    return [a for a in array if isinstance(a, generic.IndirectObject)]


def _annotation_changes(
    then: generic.DictionaryObject,
    now: generic.DictionaryObject,
    number: int,
    changed: set[tuple[int, int]],
) -> list[Change]:
    before = {(a.idnum, a.generation) for a in _annots(then)}
    after = _annots(now)
    found: list[Change] = []
    for annot in after:
        key = (annot.idnum, annot.generation)
        target = annot.get_object()
        subtype = str(target.get("/Subtype", "?")) if isinstance(target, dict) else "?"
        if key not in before and _is_signature_widget(target):
            found.append(Change("signature_added", number))
        elif key not in before:
            kind = "form_field" if subtype == "/Widget" else "annotation_added"
            found.append(Change(kind, number, subtype.lstrip("/")))
        elif key in changed:
            kind = "form_field" if subtype == "/Widget" else "annotation_changed"
            found.append(Change(kind, number, subtype.lstrip("/")))
    removed = before - {(a.idnum, a.generation) for a in after}
    if removed:
        found.append(Change("annotation_removed", number, str(len(removed))))
    return found


def _is_signature_widget(annot: generic.PdfObject) -> bool:
    if not isinstance(annot, generic.DictionaryObject) or annot.get("/Subtype") != "/Widget":
        return False
    parent = annot.get("/Parent")
    kind = annot.get("/FT") or (parent.get("/FT") if isinstance(parent, dict) else None)
    return bool(kind == "/Sig")


Rect = tuple[float, float, float, float]


def widget_rects(
    reader: PdfFileReader, revision: int, pages: list[int]
) -> tuple[list[tuple[int, Rect]], list[tuple[int, Rect]]]:
    """On the given pages of the document now: the signature widgets added after
    ``revision`` (left out of a visual comparison), and the other widgets added or changed
    after it (form fields filled in)."""
    changed = later_refs(reader, revision)
    old = reader.get_historical_resolver(revision)
    then_pages = {(r.idnum, r.generation): r for r in _page_refs(old)}
    signatures: list[tuple[int, Rect]] = []
    fields: list[tuple[int, Rect]] = []
    now = _page_refs(reader)
    for number in pages:
        if not 1 <= number <= len(now):
            continue
        ref = now[number - 1]
        page = ref.get_object()
        before: set[tuple[int, int]] = set()
        if (ref.idnum, ref.generation) in then_pages and isinstance(old(ref), dict):
            before = {(a.idnum, a.generation) for a in _annots(old(ref))}
        for annot in _annots(page) if isinstance(page, generic.DictionaryObject) else []:
            key = (annot.idnum, annot.generation)
            target = annot.get_object()
            if not isinstance(target, generic.DictionaryObject) or (
                key in before and key not in changed
            ):
                continue
            if target.get("/Subtype") != "/Widget":
                continue
            try:
                x1, y1, x2, y2 = (float(v) for v in target["/Rect"])
            except (KeyError, TypeError, ValueError):
                continue
            rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            (signatures if _is_signature_widget(target) else fields).append((number, rect))
    return signatures, fields
