"""The report's workbook, laid out as the Government Analysis Function's guidance on releasing
statistics in spreadsheets asks: a cover sheet, a contents sheet whose rows link to the sheets,
a notes sheet, then one table per sheet (a title, a line naming its notes, the table marked up
as an Excel table under a plain-English header row that stays in view).

A shown number is written at full precision with a display format that prints it as the report
does (``'#,##0'`` for counts, ``'0.00'`` for ratios, ``'0.0%'`` for a 0-1 share, ``<0.001`` for
a small p or q value). The full values come from what the recorder kept for each published table
(:meth:`dispro.report.recorder.Chapter.table`): the values of the cells the publish door shows,
never of a withheld one. A withheld or missing cell is the marker the report prints (``[c]``,
``[x]``, ``[z]``).

Labels, printed text and display formats come from :func:`dispro.report.present.present`, the
one path the HTML and PDF take too; :func:`read_table` reads a table sheet back with its column
names (:func:`~dispro.report.present.field_name`).

The Analysis Function's ``gptables`` package implements the same guidance, but writes through
XlsxWriter (a second workbook engine) and sets number formats per column only; here a column
may mix numbers and markers, text cells must go through :mod:`dispro._excel`'s formula guard,
and openpyxl is already a dependency.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pandas as pd

from .._version import __version__
from .present import (
    BASE_PERSON_YEARS,
    EVENTS_LABELS,
    LABELS,
    P_FORMAT,
    column_label,
    field_name,
    present,
    read_values,
)
from .wording import confidence_level

__all__ = [
    "LABELS",
    "EVENTS_LABELS",
    "BASE_PERSON_YEARS",
    "NO_ROWS",
    "P_FORMAT",
    "column_label",
    "field_name",
    "sheet_title",
    "write_workbook",
    "read_table",
]

#: The one row of a table sheet whose table has none.
NO_ROWS = "This table has no rows."
#: Characters a sheet name cannot hold.
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
_FIRST = ("Cover", "Contents", "Notes")


def sheet_title(name: str, taken) -> str:
    """``name`` as a valid, unused sheet name: at most 31 characters, none of ``[]:*?/\\``,
    no apostrophe at either end, not one of ``taken`` (compared without case)."""
    text = _BAD_SHEET.sub("_", str(name)).strip("'")[:31] or "table"
    used = {t.lower() for t in taken}
    out, i = text, 1
    while out.lower() in used or out.lower() == "history":
        i += 1
        out = f"{text[: 31 - len(str(i)) - 1]}_{i}"
    return out


def write_workbook(
    path: Path,
    tables: list,
    params: dict,
    synthetic: bool,
    *,
    content: Path | None = None,
    inputs: list | None = None,
) -> None:
    """Write the report's workbook to ``path``.

    Parameters
    ----------
    tables : list
        ``(block, published frame, chapter title)`` of each table, in the report's order
        (:func:`dispro.report.assemble.assemble_html`).
    params : dict
        The report's checked parameters (title, area, period, reference, alpha, threshold,
        contact).
    synthetic : bool
        The data are the synthetic demo's: the cover and notes say so.
    content : Path, optional
        The run's ``content`` folder, holding the full values the recorder kept for each
        table (``block["values"]``); without it, numbers are those the published text reads.
    inputs : list, optional
        The provenance inputs (``{"file": ..., "sha256": ...}``): the cover's source.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.worksheet.table import Table, TableStyleInfo

    from .._excel import cell_text, protect_text

    wb = Workbook()
    names, table_names = list(_FIRST), set()
    sheets = []
    for block, frame, chapter_title in tables:
        sheets.append((sheet_title(block["sheet"], names), block, frame, chapter_title))
        names.append(sheets[-1][0])

    def excel_table(ws, first_row: int, ncol: int, last_row: int, name: str) -> None:
        base = "table_" + re.sub(r"\W", "_", name, flags=re.ASCII)
        display, i = base, 1
        while display.lower() in table_names:
            i += 1
            display = f"{base}_{i}"
        table_names.add(display.lower())
        ref = f"A{first_row}:{get_column_letter(ncol)}{max(last_row, first_row + 1)}"
        table = Table(displayName=display, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
        ws.add_table(table)
        for cell in ws[first_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = f"A{first_row + 1}"

    def header(ws, title: str, line: str) -> None:
        ws.append([cell_text(title)])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([cell_text(line)])

    # notes: the report's conventions, then each table's own notes (once each)
    level = confidence_level(params["alpha"])
    general = {
        "symbols": "Symbols (Government Analysis Function guidance): [c] confidential: "
        f"withheld (a count from 1 to {params['suppression_threshold']}, a value worked out "
        "from one, or a count that would give one away; the suppression_log sheet lists each "
        "withheld cell, never its value); [x] not available; [z] not applicable.",
        "significance": f"Significance: a Benjamini-Hochberg q value below {params['alpha']} "
        "over each table (dispro's convention; official tables flag on raw p values). p and q "
        "values below 0.001 are shown as <0.001.",
        "intervals": f"Intervals: {level} confidence intervals unless stated; rates per 1,000 "
        "residents use Census 2021 usual residents.",
        "reference": f"Reference group of every relative rate and ratio: {params['reference']} "
        f"(= 1); ethnicity: {str(params['ethnicity']).replace('_', '-')}.",
    }
    if synthetic:
        general["synthetic"] = (
            "SYNTHETIC DEMONSTRATION DATA: not real people or figures (the population "
            "denominators are real Census 2021)."
        )
    numbers = {k: i for i, k in enumerate(general, start=1)}
    own: dict[str, int] = {}
    for _, block, _, _ in sheets:
        text = str(block.get("notes") or "").strip()
        if text and text not in own:
            own[text] = len(numbers) + len(own) + 1

    def refs(frame: pd.DataFrame, block: dict) -> list[int]:
        cols = set(frame.columns)
        out = [numbers["symbols"]]
        if cols & {"q_value", "p_value", "significant"}:
            out.append(numbers["significance"])
        if any("ci_" in c for c in cols) or "rate" in cols:
            out.append(numbers["intervals"])
        if cols & {"rri", "ratio", "adjusted_rr"}:
            out.append(numbers["reference"])
        if "synthetic" in numbers:
            out.append(numbers["synthetic"])
        text = str(block.get("notes") or "").strip()
        return out + ([own[text]] if text else [])

    # cover
    cover = wb.active
    cover.title = "Cover"
    kind = {"scrutiny": "stop and search scrutiny pack",
            "oocd": "out-of-court disposals scrutiny pack"}.get(params.get("report"), "disproportionality report")  # fmt: skip
    title = params.get("title") or f"{params['area']} {kind}: tables"
    cover.append([cell_text(title)])
    cover["A1"].font = Font(bold=True, size=16)
    if inputs and not synthetic:
        files = [str(i.get("file", "")) for i in inputs]
        listed = "; ".join(files[:10]) + (
            f"; and {len(files) - 10} more" if len(files) > 10 else ""
        )
        source = f"Records supplied to dispro ({len(files)} file(s): {listed}); population " \
                 "denominators: Census 2021 usual residents (Office for National Statistics)."  # fmt: skip
    elif synthetic:
        source = "Synthetic demonstration data made by dispro (not real people or figures); " \
                 "population denominators: Census 2021 usual residents (Office for National Statistics)."  # fmt: skip
    else:
        source = "Records supplied to dispro; population denominators: Census 2021 usual " \
                 "residents (Office for National Statistics)."  # fmt: skip
    contact = str(params.get("contact") or "").strip()
    items = [
        ("About these tables", f"The tables of the report, one table per sheet ({len(sheets)} "
         "tables): relative rates of ethnic groups along the criminal justice pathway, with "
         "their counts, rates and intervals. The Contents sheet links to each table; the Notes "
         "sheet explains the symbols and each table's notes."),
        ("Source", source),
        ("Area", str(params["area"])),
        ("Period", f"{params['period_start']} to {params['period_end']}"),
        ("Publication date", _dt.date.today().isoformat()),
        ("Contact", contact or "Not given (the report parameter `contact`)."),
        ("Produced by", f"dispro {__version__}"),
    ]  # fmt: skip
    if synthetic:
        items.insert(0, ("Synthetic data", general["synthetic"]))
    for heading, text in items:
        cover.append([cell_text(heading)])
        cover.cell(cover.max_row, 1).font = Font(bold=True, size=12)
        cover.append([cell_text(text)])
        cover.cell(cover.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    cover.column_dimensions["A"].width = 110

    # contents
    contents = wb.create_sheet("Contents")
    header(
        contents,
        "Contents",
        "This worksheet contains one table. Each sheet name links to its sheet.",
    )
    contents.append(["Sheet name", "Chapter", "Table title"])
    rows = [("Notes", "Whole workbook", "Notes: symbols, conventions and each table's notes")]
    rows += [(name, chapter, block["caption"]) for name, block, _, chapter in sheets]
    for name, chapter, caption in rows:
        contents.append([cell_text(name), cell_text(chapter), cell_text(caption)])
        cell = contents.cell(contents.max_row, 1)
        quoted = name.replace("'", "''")
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{quoted}'!A1", display=name)
        cell.style = "Hyperlink"
    excel_table(contents, 3, 3, contents.max_row, "contents")
    for letter, width in zip("ABC", (34, 28, 100), strict=True):
        contents.column_dimensions[letter].width = width

    # notes
    notes = wb.create_sheet("Notes")
    header(
        notes,
        "Notes",
        "This worksheet contains one table. Table sheets name the notes that apply to them.",
    )
    notes.append(["Note number", "Note text", "Sheets"])
    texts = [
        (n, general[k], "All table sheets" if k in ("symbols", "synthetic") else "")
        for k, n in numbers.items()
    ]
    texts += [(n, t, "") for t, n in own.items()]
    for n, text, where in texts:
        applies = where or ", ".join(name for name, b, f, _ in sheets if n in refs(f, b)) or "None"
        notes.append([f"note {n}", cell_text(text), cell_text(applies)])
        notes.cell(notes.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    excel_table(notes, 3, 3, notes.max_row, "notes")
    for letter, width in zip("ABC", (12, 100, 40), strict=True):
        notes.column_dimensions[letter].width = width

    # one table per sheet
    for name, block, frame, _ in sheets:
        ws = wb.create_sheet(name)
        shown = present(frame, block, params, values=read_values(content, block, frame))
        marks = ", ".join(f"[note {n}]" for n in refs(frame, block))
        header(
            ws,
            block["caption"],
            f"This worksheet contains one table. Notes: {marks} (Notes sheet).",
        )
        ws.append([cell_text(label) for label in shown.labels])
        first = ws.max_row
        for cells in shown.rows:
            ws.append([c.value if c.number else cell_text(c.text) for c in cells])
            for j, c in enumerate(cells, start=1):
                if c.number:
                    cell = ws.cell(ws.max_row, j)
                    cell.number_format = c.number_format
                    cell.alignment = Alignment(horizontal="right")
        if frame.empty:
            ws.append([NO_ROWS])
        excel_table(ws, first, max(len(frame.columns), 1), ws.max_row, name)
        for j, label in enumerate(shown.labels, start=1):
            texts = [len(r[j - 1].text) for r in shown.rows[:50]]
            width = max([min(len(label), 24), *texts]) + 2
            ws.column_dimensions[get_column_letter(j)].width = min(width, 60)
    protect_text(wb)  # a caption, label or value that starts with '=' is text, not a formula
    wb.properties.creator = f"dispro {__version__}"
    wb.properties.created = _dt.datetime(2000, 1, 1)
    wb.properties.modified = _dt.datetime(2000, 1, 1)
    wb.save(path)


def read_table(path: Path, sheet: str) -> pd.DataFrame:
    """The table of a sheet of a workbook written by :func:`write_workbook`, with its column
    names (:func:`field_name` of each label) and its cells as stored (numbers at full
    precision, markers as text)."""
    from openpyxl import load_workbook

    ws = load_workbook(path)[sheet]
    (table,) = ws.tables.values()
    rows = [[c.value for c in r] for r in ws[table.ref]]
    body = [r for r in rows[1:] if any(v is not None for v in r) and r[0] != NO_ROWS]
    return pd.DataFrame(body, columns=[field_name(v) for v in rows[0]], dtype=object)
