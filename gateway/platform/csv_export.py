"""CSV files people open in Excel: UTF-8 with a byte order mark (so Excel reads Chinese right),
and cells that Excel would run as a formula (starting with = + - @, a tab or a carriage return)
prefixed with an apostrophe (OWASP's CSV injection guard)."""
from __future__ import annotations

import csv
import io
from typing import Iterable

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(rows: Iterable[Iterable[object]], bom: bool = False) -> str:
    """Rows as CSV text (CRLF line ends), every cell guarded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return (BOM if bom else "") + out.getvalue()
