"""Page geometry, colours, the embedded CJK font and paragraph styles of the official PDFs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

PLATFORM_NAME = "公共资源交易平台"
FONT_NAME = "PlatformCJK"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# reportlab needs a TrueType outline font; Noto CJK (CFF outlines) does not load.
FONT_CANDIDATES: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 26 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

ACCENT = colors.HexColor("#9b1c1c")  # the red of official seals and letterheads
RULE = colors.HexColor("#b9b9b9")
SHADE = colors.HexColor("#f1f1f1")
MUTED = colors.HexColor("#555555")


class PdfFontError(Exception):
    """No usable CJK TrueType font was found."""



def register_cjk_font() -> str:
    """Register the embedded CJK font once per process and return its name."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    with _font_lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(_load_font())
            # One weight only: map bold/italic to it so markup never asks for a missing face.
            pdfmetrics.registerFontFamily(
                FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME
            )
    return FONT_NAME


_font_lock = threading.Lock()


def _load_font() -> TTFont:
    for path, index in FONT_CANDIDATES:
        if path.exists():
            return TTFont(FONT_NAME, str(path), subfontIndex=index)
    tried = ", ".join(str(path) for path, _ in FONT_CANDIDATES)
    raise PdfFontError(f"no CJK TrueType font found (tried {tried}); install fonts-wqy-microhei")



# -- styles ------------------------------------------------------------------------------------


def _style(name: str, **overrides: Any) -> ParagraphStyle:
    base: dict[str, Any] = {
        "fontName": FONT_NAME,
        "fontSize": 10,
        "leading": 15,
        # CJK wrapping breaks between any two characters (Chinese has no spaces) and also
        # splits long digests and account numbers instead of overflowing the cell.
        "wordWrap": "CJK",
    }
    return ParagraphStyle(name, **{**base, **overrides})


STYLES: dict[str, ParagraphStyle] = {
    "title": _style("title", fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=2),
    "subtitle": _style("subtitle", fontSize=10.5, leading=16, alignment=TA_CENTER, textColor=MUTED),
    "heading": _style(
        "heading", fontSize=12.5, leading=18, textColor=ACCENT, spaceBefore=8, spaceAfter=4
    ),
    "body": _style("body", fontSize=10.5, leading=17, spaceAfter=5, firstLineIndent=0),
    "key": _style("key", fontSize=9.5, leading=14, textColor=MUTED),
    "value": _style("value", fontSize=9.5, leading=14),
    "th": _style("th", fontSize=9, leading=12.5, alignment=TA_CENTER, textColor=colors.white),
    "td": _style("td", fontSize=9, leading=12.5, alignment=TA_LEFT),
    "td_num": _style("td_num", fontSize=9, leading=12.5, alignment=TA_RIGHT),
    "sign_name": _style("sign_name", fontSize=9.5, leading=13, alignment=TA_CENTER),
}

