"""A diff rule pyHanko lacks: comments (markup annotations) added to pages after a signature.

PDF allows them after an approval signature and under DocMDP level 3; pyHanko's default
policy cannot explain them and reports any such change as "other". This rule explains a page
whose only change is a longer ``/Annots`` array, and the new markup annotations with their
pop-ups and appearance streams; widgets (form fields) and links stay unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel, StandardDiffPolicy
from pyhanko.sign.diff_analysis.rules_api import ReferenceUpdate, WhitelistRule

__all__ = ["VERIFICATION_DIFF_POLICY", "MarkupAnnotationRule"]

MARKUP = {
    "/Text",
    "/FreeText",
    "/Highlight",
    "/Underline",
    "/Squiggly",
    "/StrikeOut",
    "/Square",
    "/Circle",
    "/Line",
    "/Polygon",
    "/PolyLine",
    "/Ink",
    "/Caret",
    "/Stamp",
}


def _page_refs(resolver: HistoricalResolver) -> list[generic.Reference]:
    found: list[generic.Reference] = []

    def walk(node: generic.DictionaryObject) -> None:
        for kid in node.raw_get("/Kids"):
            if not isinstance(kid, generic.IndirectObject):
                continue  # a page must be an indirect object; anything else stays unexplained
            child = kid.get_object()
            if child.get("/Type") == "/Pages":
                walk(child)
            else:
                found.append(kid.reference)

    walk(resolver.root["/Pages"])
    return found


def _annot_refs(page: generic.DictionaryObject) -> list[generic.Reference]:
    raw = page.raw_get("/Annots") if "/Annots" in page else generic.ArrayObject()
    array = raw.get_object()
    return [item.reference for item in array if isinstance(item, generic.IndirectObject)]


class MarkupAnnotationRule(WhitelistRule):
    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        changed = new.explicit_refs_in_revision()
        old_pages = set(_page_refs(old))
        for page_ref in _page_refs(new):
            if page_ref not in changed or page_ref not in old_pages:
                continue
            yield from self._page(old, new, page_ref)

    def _page(
        self, old: HistoricalResolver, new: HistoricalResolver, page_ref: generic.Reference
    ) -> Iterator[ReferenceUpdate]:
        before, after = old(page_ref), new(page_ref)
        if set(before.keys()) - {"/Annots"} != set(after.keys()) - {"/Annots"}:
            return
        for key in after:
            if key != "/Annots" and before.raw_get(key) != after.raw_get(key):
                return
        old_annots, new_annots = _annot_refs(before), _annot_refs(after)
        if new_annots[: len(old_annots)] != old_annots:
            return  # an existing annotation was removed or reordered
        added = new_annots[len(old_annots) :]
        updates: list[generic.Reference] = [page_ref]
        raw = after.raw_get("/Annots") if "/Annots" in after else None
        if isinstance(raw, generic.IndirectObject):
            if not isinstance(raw.get_object(), generic.ArrayObject):
                return
            updates.append(raw.reference)
        for ref in added:
            found = _annotation_objects(old, ref)
            if found is None:
                return
            updates += found
        for ref in updates:
            yield ReferenceUpdate(ref)


def _annotation_objects(
    old: HistoricalResolver, ref: generic.Reference
) -> list[generic.Reference] | None:
    """The objects a new markup annotation brings, all new themselves; ``None`` when the
    annotation is not plainly a new comment (an older object reused, an action attached, an
    appearance or pop-up pointing at something that existed before)."""
    if not old.is_ref_unassignable(ref):
        return None
    annot = ref.get_object()
    if not isinstance(annot, generic.DictionaryObject) or annot.get("/Subtype") not in MARKUP:
        return None
    if "/A" in annot or "/AA" in annot:
        return None
    found = [ref]
    popup = annot.raw_get("/Popup") if "/Popup" in annot else None
    if popup is not None:
        if not isinstance(popup, generic.IndirectObject) or not old.is_ref_unassignable(
            popup.reference
        ):
            return None
        found.append(popup.reference)
    appearance = annot.raw_get("/AP") if "/AP" in annot else generic.DictionaryObject()
    if isinstance(appearance, generic.IndirectObject):
        if not old.is_ref_unassignable(appearance.reference):
            return None
        found.append(appearance.reference)
        appearance = appearance.get_object()
    if not isinstance(appearance, generic.DictionaryObject):
        return None
    for value in appearance.values():
        states = value.get_object() if isinstance(value, generic.IndirectObject) else value
        targets = [value] if isinstance(value, generic.IndirectObject) else []
        if isinstance(states, generic.DictionaryObject) and not isinstance(
            states, generic.StreamObject
        ):
            targets += [v for v in states.values() if isinstance(v, generic.IndirectObject)]
        for target in targets:
            if not old.is_ref_unassignable(target.reference):
                return None  # an appearance that is an existing stream (page content…)
            found.append(target.reference)
    return found


VERIFICATION_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        *DEFAULT_DIFF_POLICY.global_rules,
        MarkupAnnotationRule().as_qualified(ModificationLevel.ANNOTATIONS),
    ],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
"""pyHanko's default diff policy, plus comments."""
