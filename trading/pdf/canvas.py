"""The page decoration: header band, footer lines and page numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from trading.pdf.style import (
    ACCENT,
    FONT_NAME,
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PLATFORM_NAME,
    RULE,
)


@dataclass(frozen=True)
class _Decor:
    title: str
    footer_lines: tuple[str, ...] = field(default_factory=tuple)



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

