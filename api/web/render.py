"""Jinja2 templates (autoescaped) and the formatting people read: money in đồng, times in
Vietnam's time zone."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.web.navigation import menu_of
from api.web.words import (
    CHANGE_WORDS,
    ENTRY_WORDS,
    PRODUCT_WORDS,
    REASON_WORDS,
    REVOCATION_WORDS,
    funding_phrase,
    links_for,
    tier_phrase,
)
from certs.subject_names import subject_words
from kernel.vietnam import VIETNAM

__all__ = ["TEMPLATES", "money", "number", "render_page", "when"]

TEMPLATES = Path(__file__).parent / "templates"


def number(value: int, lang: str = "vi") -> str:
    """A count as people write it: 1.000 (Vietnamese), 1,000 (English)."""
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if lang == "vi" else grouped


def money(amount: int | None, lang: str = "vi") -> str:
    """Integer đồng as people write them: 4.000 ₫ (Vietnamese), 4,000 VND (English)."""
    if amount is None:
        return "—"
    grouped = f"{amount:,}"
    return grouped.replace(",", ".") + " ₫" if lang == "vi" else grouped + " VND"


def when(at: datetime | str | None, lang: str = "vi", *, seconds: bool = False) -> str:
    """A UTC instant in Vietnam's time (GMT+7), day first in Vietnamese."""
    if at is None or at == "":
        return "—"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    local = moment.astimezone(VIETNAM)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    pattern = f"%d/%m/%Y {clock}" if lang == "vi" else f"%Y-%m-%d {clock}"
    return local.strftime(pattern) + " (GMT+7)"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(template: str, *, web: Any, **values: Any) -> str:
    lang = web.lang
    kind, words = web.flashed or ("", "")
    for key, wanted in (("notice", "ok"), ("error", "error")):
        if not values.get(key):
            values[key] = words if kind == wanted else ""
    values.setdefault("error_links", links_for(str(values["error"]), lang))
    values.setdefault("nav", menu_of(web.caller.user.role) if web.caller else ())
    values.setdefault("here", web.request.url.path)
    return (
        _environment()
        .get_template(template)
        .render(
            web=web,
            lang=lang,
            t=web.t,
            money=lambda amount: money(amount, lang),
            grouped=lambda value: number(value, lang),
            when=lambda at, seconds=False: when(at, lang, seconds=seconds),
            funding_phrase=funding_phrase,
            entry_words=ENTRY_WORDS,
            product_words=PRODUCT_WORDS,
            change_words=CHANGE_WORDS,
            reason_words=REASON_WORDS,
            tier=lambda code: web.t(tier_phrase(code)[0], **tier_phrase(code)[1]),
            revocation_words=REVOCATION_WORDS,
            who=subject_words,
            **values,
        )
    )
