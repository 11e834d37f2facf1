"""CSV files of the reports: UTF-8, a header row, one row per item.

Text from outside (campaign titles, worker names, reasons) may start with `=`, `+`, `-`, `@` or a
tab, which a spreadsheet would run as a formula: such cells get a leading apostrophe (OWASP's
advice for CSV injection). Amounts are written as plain decimals, so they sum as written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One CSV cell: a Decimal as 0.00, text defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: list[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8")
