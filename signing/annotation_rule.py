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
            updates.append(raw.reference)
        for ref in added:
            if not old.is_ref_unassignable(ref):
                return  # an older object reused as an annotation
            annot = ref.get_object()
            if (
                not isinstance(annot, generic.DictionaryObject)
                or annot.get("/Subtype") not in MARKUP
            ):
                return
            updates.append(ref)
            popup = annot.raw_get("/Popup") if "/Popup" in annot else None
            if isinstance(popup, generic.IndirectObject):
                updates.append(popup.reference)
            appearance = annot.get("/AP", generic.DictionaryObject())
            assert isinstance(appearance, generic.DictionaryObject)
            for value in appearance.values():
                target = value
                if isinstance(target, generic.IndirectObject):
                    updates.append(target.reference)
        for ref in updates:
            yield ReferenceUpdate(ref)


VERIFICATION_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        *DEFAULT_DIFF_POLICY.global_rules,
        MarkupAnnotationRule().as_qualified(ModificationLevel.ANNOTATIONS),
    ],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
"""pyHanko's default diff policy, plus comments."""
