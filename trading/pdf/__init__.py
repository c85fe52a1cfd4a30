"""The platform's official PDF documents (正式文书): receipts, opening records, notices.

A small builder on reportlab platypus. Every document has the same frame: a header band with
the platform name, the title centred, the body blocks, and a footer with the generation time
(Asia/Shanghai), optional footer text (for example a digest) and "第 N 页 / 共 M 页".
All user text is escaped, so ``<b>&`` prints as written. The CJK font is embedded (subset).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from functools import partial
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)

from trading.pdf.blocks import Block, Heading, KeyValues, Para, Signatures, Table
from trading.pdf.canvas import _Decor, _DecoratedCanvas
from trading.pdf.flowables import _flowables, _key_values, text
from trading.pdf.style import (
    FONT_NAME,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PLATFORM_NAME,
    SHANGHAI,
    STYLES,
    PdfFontError,
    register_cjk_font,
)

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
