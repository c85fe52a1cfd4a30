"""The platform's official PDF documents (正式文书): receipts, opening records, notices.

A small builder on reportlab platypus. Every document has the same frame: a header band with
the platform name, the title centred, the body blocks, and a footer with the generation time
(Asia/Shanghai), optional footer text (for example a digest) and "第 N 页 / 共 M 页".
All user text is escaped, so ``<b>&`` prints as written. The CJK font is embedded (subset).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

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


# -- blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A section heading."""

    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text; line breaks are kept."""

    text: str


@dataclass(frozen=True)
class KeyValues:
    """Label / value rows, for example 标段编号 / value."""

    rows: Sequence[tuple[str, Any]]


@dataclass(frozen=True)
class Table:
    """A data table: the header repeats on every page, numeric cells are right-aligned.

    ``col_widths`` are relative weights (``[1, 4, 2]``), scaled to the page width.
    """

    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    col_widths: Sequence[float] | None = None


@dataclass(frozen=True)
class Signatures:
    """A grid of signature lines, one per committee member (评标委员会成员签字)."""

    names: Sequence[str]
    columns: int = 3
    caption: str = "签字"


Block = Heading | Para | KeyValues | Table | Signatures | str


@dataclass(frozen=True)
class _Decor:
    title: str
    footer_lines: tuple[str, ...] = field(default_factory=tuple)


# -- public entry point ------------------------------------------------------------------------


def pdf_document(
    *,
    title: str,
    subtitle: str = "",
    meta: Iterable[tuple[str, Any]] = (),
    blocks: Iterable[Block] = (),
    footer: str = "",
    generated_at: dt.datetime | None = None,
) -> bytes:
    """Render one official document to PDF bytes (A4, CJK font embedded)."""
    register_cjk_font()
    moment = (generated_at or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI)
    generated = f"生成时间：{moment:%Y-%m-%d %H:%M:%S}（北京时间 UTC+8）"
    decor = _Decor(title=title, footer_lines=(generated, footer) if footer else (generated,))

    story: list[Flowable] = [Paragraph(text(title), STYLES["title"])]
    if subtitle:
        story.append(Paragraph(text(subtitle), STYLES["subtitle"]))
    story.append(Spacer(1, 4 * mm))
    meta_rows = list(meta)
    if meta_rows:
        story += _key_values(KeyValues(meta_rows))
    for block in blocks:
        story += _flowables(block)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        subject=subtitle,
        author=PLATFORM_NAME,
        creator=PLATFORM_NAME,
        lang="zh-CN",
        initialFontName=FONT_NAME,  # so no unembedded Helvetica is ever referenced
    )
    doc.build(story, canvasmaker=partial(_DecoratedCanvas, decor=decor))
    return buffer.getvalue()


def text(value: Any) -> str:
    """Escape user text for reportlab's mini-markup; keep line breaks."""
    return escape(_plain(value)).replace("\r\n", "\n").replace("\n", "<br/>")


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


# -- blocks to flowables -----------------------------------------------------------------------


def _flowables(block: Block) -> list[Flowable]:
    if isinstance(block, str):
        block = Para(block)
    if isinstance(block, Heading):
        return [_heading(block)]
    if isinstance(block, Para):
        return [Paragraph(text(block.text), STYLES["body"])]
    if isinstance(block, KeyValues):
        return _key_values(block)
    if isinstance(block, Table):
        return _data_table(block)
    if isinstance(block, Signatures):
        return _signatures(block)
    raise TypeError(f"unknown PDF block {type(block).__name__}")


def _heading(block: Heading) -> Flowable:
    table = RLTable([[Paragraph(text(block.text), STYLES["heading"])]], colWidths=[FRAME_WIDTH])
    table.setStyle(
        _table_style(
            [
                ("LINEBEFORE", (0, 0), (0, 0), 3, ACCENT),
                ("LINEBELOW", (0, 0), (0, 0), 0.5, RULE),
                ("LEFTPADDING", (0, 0), (0, 0), 7),
                ("TOPPADDING", (0, 0), (0, 0), 0),
                ("BOTTOMPADDING", (0, 0), (0, 0), 1),
            ]
        )
    )
    return KeepTogether([Spacer(1, 3 * mm), table, Spacer(1, 2 * mm)])


def _key_values(block: KeyValues) -> list[Flowable]:
    rows = [
        [Paragraph(text(key), STYLES["key"]), Paragraph(text(value), STYLES["value"])]
        for key, value in block.rows
    ]
    if not rows:
        return []
    longest = max(
        pdfmetrics.stringWidth(_plain(key), FONT_NAME, STYLES["key"].fontSize)
        for key, _ in block.rows
    )
    key_width = min(max(longest + 13, 28 * mm), 48 * mm)
    table = RLTable(rows, colWidths=[key_width, FRAME_WIDTH - key_width], hAlign="LEFT")
    table.setStyle(
        _table_style(
            [
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [table, Spacer(1, 3 * mm)]


def _data_table(block: Table) -> list[Flowable]:
    columns = len(block.header)
    for number, row in enumerate(block.rows, start=1):
        if len(row) != columns:
            raise ValueError(f"table row {number} has {len(row)} cells, the header has {columns}")
    numeric = [
        bool(block.rows)
        and all(_is_number(row[i]) for row in block.rows if _plain(row[i]).strip() not in _BLANKS)
        for i in range(columns)
    ]
    data: list[list[Flowable]] = [[Paragraph(text(cell), STYLES["th"]) for cell in block.header]]
    for row in block.rows:
        data.append(
            [
                Paragraph(text(cell), STYLES["td_num" if numeric[i] else "td"])
                for i, cell in enumerate(row)
            ]
        )
    if block.col_widths:
        if len(block.col_widths) != columns:
            raise ValueError(
                f"col_widths has {len(block.col_widths)} entries, the header has {columns}"
            )
        total = sum(block.col_widths)
        widths = [FRAME_WIDTH * weight / total for weight in block.col_widths]
    else:
        widths = _auto_widths(block)
    table = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
        ("VALIGN", (0, 1), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    commands += [("BACKGROUND", (0, r), (-1, r), SHADE) for r in range(2, len(data), 2)]
    table.setStyle(_table_style(commands))
    return [table, Spacer(1, 3 * mm)]


def _signatures(block: Signatures) -> list[Flowable]:
    names = list(block.names)
    if not names:
        return []
    per_row = max(1, block.columns)
    gap = 8 * mm
    cell = (FRAME_WIDTH - gap * (per_row - 1)) / per_row
    widths: list[float] = []
    for i in range(per_row):
        widths += [cell] if i == 0 else [gap, cell]
    rows: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]
    for start in range(0, len(names), per_row):
        line_row, name_row = len(rows), len(rows) + 1
        signing: list[Any] = []
        labels: list[Any] = []
        for i, name in enumerate(names[start : start + per_row]):
            if i:
                signing.append("")
                labels.append("")
            col = 2 * i
            signing.append(Paragraph(text(block.caption) + "：", STYLES["key"]))
            labels.append(Paragraph(text(name), STYLES["sign_name"]))
            commands.append(("LINEBELOW", (col, line_row), (col, line_row), 0.8, colors.black))
        while len(signing) < len(widths):
            signing.append("")
            labels.append("")
        rows += [signing, labels]
        commands += [
            ("TOPPADDING", (0, line_row), (-1, line_row), 9 * mm),
            ("BOTTOMPADDING", (0, line_row), (-1, line_row), 1),
            ("TOPPADDING", (0, name_row), (-1, name_row), 2),
        ]
    table = RLTable(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(_table_style(commands))
    return [KeepTogether([table]), Spacer(1, 3 * mm)]


def _table_style(commands: list[tuple[Any, ...]]) -> TableStyle:
    # Cells default to Helvetica, which would add an unembedded font to the page resources.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_NAME), *commands])


# -- cells -------------------------------------------------------------------------------------

# 1,234,567.89 / -12.5 / ¥1,000.00 / 98.5% / 3.2万元: figures that line up on the right.
_NUMBER = re.compile(r"^[¥￥$+\-]?\s?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s?(%|元|万元)?$")


# Placeholders for "no figure" that must not stop a column from aligning as numbers.
_BLANKS = {"", "—", "-", "－", "/", "／", "不适用", "N/A"}


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,}"  # money: 800,000.00, keeping the stored places
    if isinstance(value, dt.datetime):
        moment = value.astimezone(SHANGHAI) if value.tzinfo else value
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return bool(_NUMBER.match(_plain(value).strip()))


def _auto_widths(block: Table) -> list[float]:
    """Give each column what its header and numbers need, then share the rest by content length."""
    padding = 8 + 1
    size = STYLES["td"].fontSize
    natural, minimum = [], []
    for i, head in enumerate(block.header):
        cells = [_plain(row[i]) for row in block.rows]
        longest = max([pdfmetrics.stringWidth(cell, FONT_NAME, size) for cell in cells] or [0])
        head_width = pdfmetrics.stringWidth(_plain(head), FONT_NAME, STYLES["th"].fontSize)
        floor = min(head_width, 60) + padding
        if cells and all(_is_number(cell) for cell in cells if cell.strip() not in _BLANKS):
            floor = max(floor, longest + padding)  # figures never wrap
        minimum.append(floor)
        natural.append(max(min(longest, 240) + padding, floor))
    spare = FRAME_WIDTH - sum(minimum)
    if spare <= 0:
        return [FRAME_WIDTH * m / sum(minimum) for m in minimum]
    wants = [n - m for n, m in zip(natural, minimum, strict=True)]
    if sum(wants) <= spare:  # everything fits: give the slack to the widest text column
        wants = [w or 0.0 for w in wants] if any(wants) else [1.0] * len(wants)
    return [m + spare * w / sum(wants) for m, w in zip(minimum, wants, strict=True)]


# -- page decoration ---------------------------------------------------------------------------


class _DecoratedCanvas(Canvas):
    """Draws header and footer after the last page, when the page count is known."""

    def __init__(self, *args: Any, decor: _Decor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decor = decor
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 -- reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_header()
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_header(self) -> None:
        band_top = PAGE_HEIGHT - 9 * mm
        band_height = 9 * mm
        self.saveState()
        self.setFillColor(ACCENT)
        self.rect(0, band_top - band_height, PAGE_WIDTH, band_height, stroke=0, fill=1)
        self.setFillColor(colors.white)
        self.setFont(FONT_NAME, 11)
        baseline = band_top - band_height + 3.1 * mm
        self.drawString(MARGIN_X, baseline, PLATFORM_NAME)
        self.setFont(FONT_NAME, 8.5)
        self.drawRightString(
            PAGE_WIDTH - MARGIN_X, baseline, _fit(self._decor.title, 8.5, FRAME_WIDTH * 0.6)
        )
        self.restoreState()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        rule_y = MARGIN_BOTTOM - 6 * mm
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN_X, rule_y, PAGE_WIDTH - MARGIN_X, rule_y)
        self.setFillColor(MUTED)
        size = 7.5
        self.setFont(FONT_NAME, size)
        page_label = f"第 {self._pageNumber} 页 / 共 {total} 页"
        label_width = pdfmetrics.stringWidth(page_label, FONT_NAME, size)
        self.drawRightString(PAGE_WIDTH - MARGIN_X, rule_y - 3.6 * mm, page_label)
        room = FRAME_WIDTH - label_width - 6 * mm
        y = rule_y - 3.6 * mm
        for line in self._decor.footer_lines:
            self.drawString(MARGIN_X, y, _fit(line, size, room))
            y -= 3.4 * mm
        self.restoreState()


def _fit(value: str, size: float, width: float) -> str:
    """Shorten ``value`` with an ellipsis so it fits ``width`` points."""
    if pdfmetrics.stringWidth(value, FONT_NAME, size) <= width:
        return value
    while value and pdfmetrics.stringWidth(value + "…", FONT_NAME, size) > width:
        value = value[:-1]
    return value + "…"


__all__ = [
    "FONT_NAME",
    "Heading",
    "KeyValues",
    "Para",
    "PdfFontError",
    "PLATFORM_NAME",
    "Signatures",
    "Table",
    "pdf_document",
    "register_cjk_font",
    "text",
]
