"""Workbook cells that hold text stay text: the one place dispro makes a cell safe to open.

A spreadsheet program reads a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and, per
the OWASP guidance on CSV injection, a tab or carriage return) as a formula when it is typed or
re-entered; openpyxl goes further and *stores* a string that starts with ``=`` as a formula. A
label, a file name or a caption taken from the data could then run as a formula (``=HYPERLINK``,
``=WEBSERVICE``, DDE) when a reader opens the workbook. :func:`protect_text` marks every such
string cell as text (``data_type 's'``) and gives it Excel's quote prefix (the hidden apostrophe
that keeps it text when edited). Numbers, negative numbers included, stay numbers: only cells
holding a string are touched.

A workbook cannot hold control characters (other than tab, newline and carriage return):
:func:`cell_text` writes each as visible text (``\\x1b``) instead, so that a value holding one is
written, and seen, rather than refused.

Both workbooks dispro writes go through here: the report's (``dispro.report.assemble``) and the
command line's ``-o x.xlsx`` (:func:`write_frame`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["FORMULA_STARTS", "cell_text", "needs_text_guard", "protect_text", "write_frame"]

#: Characters a spreadsheet may read as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Characters a workbook cannot hold (as openpyxl's ``ILLEGAL_CHARACTERS_RE``).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(value):
    """``value`` with each character a workbook cannot hold written as ``\\xNN`` text (values
    that are not strings are returned as they are)."""
    if isinstance(value, str) and _ILLEGAL.search(value):
        return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def needs_text_guard(value) -> bool:
    """Whether ``value`` is a string a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def protect_text(workbook) -> int:
    """Mark every string cell of an openpyxl ``workbook`` that starts with one of
    :data:`FORMULA_STARTS` as text with a quote prefix; returns how many cells were marked.

    Call it after the cells are written and before the workbook is saved. A cell openpyxl took
    for a formula (a string starting with ``=``) keeps its text as it was given.
    """
    marked = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if needs_text_guard(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    marked += 1
    return marked


def write_frame(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "dispro") -> None:
    """Write ``frame`` (without its index) to the workbook ``path``, every text cell as text.

    The cells are written by pandas (numbers as numbers, missing values blank), text through
    :func:`cell_text`; then :func:`protect_text` marks the strings a spreadsheet could take for
    a formula.
    """
    clean = frame.copy()
    for i in range(clean.shape[1]):
        column = clean.iloc[:, i]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            clean.isetitem(i, column.map(cell_text))
    clean.columns = [cell_text(c) for c in clean.columns]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        clean.to_excel(writer, index=False, sheet_name=sheet_name)
        protect_text(writer.book)
