"""Blocks to reportlab flowables: headings, key/value rows, data tables, signature grids."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from trading.pdf.blocks import Block, Heading, KeyValues, Para, Signatures, Table
from trading.pdf.style import ACCENT, FONT_NAME, FRAME_WIDTH, RULE, SHADE, SHANGHAI, STYLES


def text(value: Any) -> str:
    """Escape user text for reportlab's mini-markup; keep line breaks."""
    return escape(_plain(value)).replace("\r\n", "\n").replace("\n", "<br/>")



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


