"""Every phrase the pages show has its English rendering, with the same placeholders; the
language, money and times are shown the way people read them."""

from __future__ import annotations

import ast
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.web import admin_pages, agency, citizen, officer, words
from api.web.english import ENGLISH
from api.web.navigation import menu_of
from api.web.render import money, when
from identity.models import Role

WEB = Path(words.__file__).parent
_CALL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""", re.S)


def _template_phrases() -> set[str]:
    return {
        m.group(2) for f in WEB.glob("templates/**/*.html") for m in _CALL.finditer(f.read_text())
    }


def _code_phrases() -> set[str]:
    found = set()
    for source in WEB.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def _table_phrases() -> set[str]:
    tables = [
        words.ERROR_WORDS,
        words.FIELD_WORDS,
        words.ENTRY_WORDS,
        words.PRODUCT_WORDS,
        words.CHANGE_WORDS,
        words.REVOCATION_WORDS,
        words.REASON_WORDS,
        words.TIER_WORDS,
        agency.VERDICTS,
    ]
    found = {v for table in tables for v in table.values()}
    found |= {line for _, line in citizen.LEVELS}
    found |= {line for _, line in officer.METHODS}
    found |= {name for _, name in admin_pages.STAFF_ROLES}
    found |= {label for role in Role for _, label in menu_of(role.value)}
    found |= {words.funding_phrase(f) for f in ("wallet", "pack:1", "allowance", "quota", "none")}
    found.add(words.tier_phrase("tier:999+")[0])
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_phrase_has_an_english_rendering_with_the_same_placeholders() -> None:
    phrases = _template_phrases() | _code_phrases() | _table_phrases()
    assert len(phrases) > 250  # the scan found the pages' words
    missing = sorted(p for p in phrases if p not in ENGLISH)
    assert not missing, missing
    different = sorted(p for p in phrases if _fields(p) != _fields(ENGLISH[p]))
    assert not different, different


def test_english_renderings_are_english() -> None:
    vietnamese = re.compile("[ăâđêôơưạảãấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏõốồổỗộớờởỡợụủũứừửữựỳỵỷỹ]")
    leaking = [
        v
        for v in ENGLISH.values()
        if vietnamese.search(v.lower().replace("đồng", "")) and "Hà Nội" not in v
    ]
    assert not leaking, leaking


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "vi"),
        ("", "vi"),
        ("en-US,en;q=0.9", "en"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("fr-FR,en;q=0.5,vi;q=0.4", "en"),
        ("fr-FR,vi;q=0.5,en;q=0.4", "vi"),
        ("de-DE", "vi"),
        ("en;q=0.2,vi;q=0.8", "vi"),
        ("en;q=bogus", "vi"),
    ],
)
def test_language_follows_the_browsers_preference(header: str | None, expected: str) -> None:
    assert words.language_from_header(header) == expected


def test_money_and_time_as_people_read_them() -> None:
    assert money(1_650_000, "vi") == "1.650.000 ₫"
    assert money(4_000, "en") == "4,000 VND"
    assert money(None) == "—"
    moment = datetime(2026, 12, 31, 17, 5, 9, tzinfo=UTC)  # already 1 January in Vietnam
    assert when(moment, "vi") == "01/01/2027 00:05 (GMT+7)"
    assert when(moment.isoformat(), "en", seconds=True) == "2027-01-01 00:05:09 (GMT+7)"


def test_a_refusal_without_words_of_its_own_keeps_the_services_sentence() -> None:
    assert words.explain("credential.wrong_pin", "wrong PIN", "en").startswith("Wrong PIN.")
    assert words.explain("some.new_code", "the moon is full", "vi") == "The moon is full."
