"""TrueType fonts registered with reportlab once per process (stamps and report PDFs)."""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont

from signing.errors import StampFontMissing

__all__ = ["font_family"]

_registered: dict[Path, tuple[str, str]] = {}
_lock = threading.Lock()


def font_family(path: Path) -> tuple[str, str]:
    """The reportlab names of ``path`` and of its bold sibling (``…-Bold.ttf`` beside it, or
    the regular face again); ``StampFontMissing`` when the font is not there."""
    with _lock:
        if path not in _registered:
            if not path.is_file():
                raise StampFontMissing(
                    f"the font {path} is missing: install Debian's fonts-dejavu-core "
                    "or set KYSO_STAMP_FONT to a TrueType font covering Vietnamese"
                )
            regular = f"KysoFont{len(_registered)}"
            pdfmetrics.registerFont(TTFont(regular, str(path)))
            bold_path = path.with_name(path.stem + "-Bold" + path.suffix)
            bold = regular
            if bold_path.is_file():
                bold = regular + "Bold"
                pdfmetrics.registerFont(TTFont(bold, str(bold_path)))
            registerFontFamily(regular, normal=regular, bold=bold, italic=regular, boldItalic=bold)
            _registered[path] = (regular, bold)
        return _registered[path]
