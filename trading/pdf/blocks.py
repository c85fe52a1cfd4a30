"""The blocks a document is built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
