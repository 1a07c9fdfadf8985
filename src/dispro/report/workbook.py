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

Column labels (:data:`LABELS`, :func:`column_label`) are kept in this one place;
:func:`field_name` turns a label back into its column name, and :func:`read_table` reads a
table sheet back with its column names.

The Analysis Function's ``gptables`` package implements the same guidance, but writes through
XlsxWriter (a second workbook engine) and sets number formats per column only; here a column
may mix numbers and markers, text cells must go through :mod:`dispro._excel`'s formula guard,
and openpyxl is already a dependency.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
from pathlib import Path

import pandas as pd

from .._version import __version__
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

#: Plain-English labels of the report's columns (``{level}``: the interval's confidence level,
#: ``{reference}``: the reference group).
LABELS = {
    "label": "Stage",
    "stage": "Pathway stage",
    "measure": "Measure",
    "group": "Ethnic group",
    "officer_group": "Ethnic group (officer-defined)",
    "force": "Police force area",
    "area": "Area",
    "period": "Period",
    "events": "Number of people",
    "base": "Number at risk",
    "rri": "Relative rate ({reference} = 1)",
    "ci_lower": "{level} confidence interval: lower",
    "ci_upper": "{level} confidence interval: upper",
    "rri_ci_lower": "Relative rate, {level} confidence interval: lower",
    "rri_ci_upper": "Relative rate, {level} confidence interval: upper",
    "ratio": "Ratio to the reference group",
    "ratio_ci_lower": "Ratio, {level} confidence interval: lower",
    "ratio_ci_upper": "Ratio, {level} confidence interval: upper",
    "difference": "Difference from the reference group",
    "difference_ci_lower": "Difference, {level} confidence interval: lower",
    "difference_ci_upper": "Difference, {level} confidence interval: upper",
    "p_value": "p value",
    "q_value": "q value (Benjamini-Hochberg)",
    "significant": "Significant",
    "status": "Status",
    "note": "Note",
    "notes": "Notes",
    "months_covered": "Months covered",
    "searches": "Number of searches",
    "hits": "Number of hits (outcome linked to the object of search)",
    "hit_rate": "Hit rate",
    "reference_hit_rate": "Hit rate of the reference group",
    "share": "Share",
    "adjusted_rr": "Adjusted risk ratio",
    "share_explained": "Share of the relative rate explained",
    "e_value": "E-value",
    "estimate": "Estimate",
    "std_error": "Standard error",
    "statistic": "Statistic",
    "df": "Degrees of freedom",
    "unknown_events": "Searches with ethnicity not stated",
    "unknown_share": "Share with ethnicity not stated",
    "records": "Number of records",
    "ethnicity_not_stated": "Records with ethnicity not stated",
    "share_not_stated": "Share of records with ethnicity not stated",
    "rows": "Number of rows",
    "population": "Residents (Census 2021)",
    "person_years": "Person-years (residents × years)",
    "times": "Times raised",
    "n": "Number",
    "count": "Count",
}
#: The label of ``base`` in a table of rates per resident a year.
BASE_PERSON_YEARS = "Person-years at risk (residents × years)"
#: The label of ``events`` where they are searches (``"searches"``), and where they are a kind
#: of the table's searches (``"part"``).
EVENTS_LABELS = {
    "searches": "Number of person searches",
    "part": "Number of these searches (events)",
}
#: Columns holding a share of 0 to 1 (shown as per cent when every value lies in 0 to 1).
SHARES = ("share", "hit_rate", "reference_hit_rate", "unknown_share", "share_not_stated",
          "share_explained")  # fmt: skip
#: Display format of p and q values: three decimals, ``<0.001`` below that.
P_FORMAT = '[<0.001]"<0.001";0.000'
#: The one row of a table sheet whose table has none.
NO_ROWS = "This table has no rows."
#: Characters a sheet name cannot hold.
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
_NUMBER = re.compile(r"-?[\d,]+(\.\d+)?")
_MARKERS = ("[c]", "[x]", "[z]", "[low]")
_FIRST = ("Cover", "Contents", "Notes")


def _humanise(column: str) -> str:
    """``months_present`` -> ``Months present`` (snake_case names only; others as they are)."""
    if re.fullmatch(r"[a-z][a-z0-9_]*", column):
        text = column.replace("_", " ")
        return text[0].upper() + text[1:]
    return column


def column_label(
    column: str,
    *,
    alpha: float = 0.05,
    reference: str = "White",
    unit: str = "",
    share: bool = False,
    events: str = "",
) -> str:
    """The plain-English label of ``column``: :data:`LABELS`, ``excluded_x`` as
    ``Excluded: x``, any other snake_case name humanised. ``unit``: what a ``rate`` is per
    (``"per 1,000 residents a year"``); ``share``: the column is shown as per cent (a
    difference: percentage points); ``events``: what the events are (:data:`EVENTS_LABELS`)."""
    column = str(column)
    if column == "events" and events in EVENTS_LABELS:
        return EVENTS_LABELS[events]
    if column in LABELS:
        text = LABELS[column].format(level=confidence_level(alpha), reference=reference)
    elif column.startswith("excluded_") and len(column) > 9:
        text = "Excluded: " + column[9:].replace("_", " ")
    elif column == "rate":
        text = f"Rate {unit}" if unit else "Rate"
    else:
        return _humanise(column)
    if column == "base" and unit.endswith("residents a year"):
        text = BASE_PERSON_YEARS
    if share:
        return (
            f"{text} (percentage points)"
            if column.startswith("difference")
            else f"{text} (per cent)"
        )
    return text


@functools.cache
def _patterns() -> list[tuple[re.Pattern, str]]:
    out = []
    for column in [*LABELS, "rate", "excluded_x"]:
        for share in (False, True):
            text = column_label(column, alpha=0.05, reference="\0", share=share)
            pattern = re.escape(text).replace("95%", r"\d+(?:\.\d+)?%").replace("\0", ".+")
            if column == "rate":
                pattern = r"Rate( .+)?" + (r" \(per cent\)" if share else "")
            elif column == "excluded_x":
                out.append((re.compile(r"Excluded: ([a-z0-9 ]+)"), "excluded_"))
                continue
            out.append((re.compile(pattern), column))
    fixed = [BASE_PERSON_YEARS, *EVENTS_LABELS.values()]
    return [
        (re.compile(re.escape(t)), "base" if t == BASE_PERSON_YEARS else "events") for t in fixed
    ] + out


def field_name(label: str) -> str:
    """The column name a label of :func:`column_label` was made from (a humanised name back to
    snake_case; a name that was not snake_case as it is)."""
    label = str(label)
    for pattern, column in _patterns():
        m = pattern.fullmatch(label)
        if m:
            return column + m.group(1).replace(" ", "_") if column == "excluded_" else column
    if re.fullmatch(r"[A-Z][a-z0-9 ]*", label) and label[1:2].islower() or len(label) == 1:
        return (label[0].lower() + label[1:]).replace(" ", "_")
    return label


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


def _read_values(content: Path | None, block: dict, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The full values the recorder kept for the table's shown cells (None elsewhere)."""
    if content is None or not block.get("values"):
        return None
    path = Path(content) / block["values"]
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    values = pd.DataFrame(doc["data"], columns=doc["columns"], dtype=object)
    if list(values.columns) != list(frame.columns) or len(values) != len(frame):
        return None
    return values


def _real(value) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _rate_unit(frame: pd.DataFrame, values: pd.DataFrame | None, block: dict) -> str:
    """What the table's ``rate`` is per: the one scale (1, 100 or 1,000) that rate / (events /
    base) takes on every row that shows all three, else ''."""
    if values is None or not {"rate", "events", "base"} <= set(values.columns):
        return ""
    scales = set()
    for e, b, r in values[["events", "base", "rate"]].itertuples(index=False):
        if _real(e) and _real(b) and _real(r) and e > 0 and b > 0:
            ratio = r * b / e
            near = [s for s in (1, 100, 1000) if abs(ratio - s) <= 1e-6 * s]
            scales.add(near[0] if near else None)
    if len(scales) != 1 or None in scales:
        return ""
    scale = scales.pop()
    said = f"{block.get('caption', '')} {block.get('notes', '')}".lower()
    if scale == 1000:
        return "per 1,000 residents a year" if "resident" in said else "per 1,000"
    return {100: "per 100 (per cent)", 1: "(proportion)"}[scale]


def _shares(frame: pd.DataFrame, values: pd.DataFrame | None) -> set[str]:
    """The share columns (and their interval and difference columns) whose every shown value
    lies within 0 to 1 (-1 to 1 for a difference): shown as per cent."""
    if values is None:
        return set()
    cols = [c for c in frame.columns if c in SHARES]
    main = any(c in ("share", "hit_rate", "share_not_stated") for c in cols)
    if main and not {"rri", "rate", "estimate"} & set(frame.columns):
        cols += [c for c in ("ci_lower", "ci_upper") if c in frame.columns]
    if "hit_rate" in frame.columns:
        cols += [c for c in frame.columns if c.startswith("difference")]
    out = set()
    for c in cols:
        shown = [v for v in values[c] if _real(v)]
        low = -1 if c.startswith("difference") or c == "share_explained" else 0
        if all(low <= v <= 1 for v in shown):
            out.add(c)
    return out


def _format(column: str, text: str, value, *, share: bool, whole: bool) -> str:
    """The display format of a shown number: as the report prints ``text``."""
    if column in ("p_value", "q_value"):
        return P_FORMAT
    if share:
        return "0.0%"
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    if whole:
        decimals = 0
    grouped = "," in text or abs(value) < 1000 or whole
    head = "#,##0" if grouped else "0"
    return head + ("." + "0" * decimals if decimals else "")


def _cell_value(text: str, raw):
    """The number a shown cell holds: its full value, else the number its text reads."""
    if _real(raw):
        return raw
    number = float(text.replace(",", ""))
    return int(number) if number.is_integer() and "." not in text else number


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
        values = _read_values(content, block, frame)
        unit = _rate_unit(frame, values, block)
        shares = _shares(frame, values)
        said = f"{block.get('caption', '')} {block.get('notes', '')}".lower()
        events = ("part" if "searches" in frame.columns else "searches") if "search" in said else ""
        whole = {c for c in frame.columns if c in ("population", "person_years")}
        if unit.endswith("residents a year"):
            whole.add("base")
        marks = ", ".join(f"[note {n}]" for n in refs(frame, block))
        header(
            ws,
            block["caption"],
            f"This worksheet contains one table. Notes: {marks} (Notes sheet).",
        )
        labels, seen = [], set()
        for c in frame.columns:
            label = column_label(c, alpha=params["alpha"], reference=str(params["reference"]),
                                 unit=unit if c in ("rate", "base") else "", share=c in shares, events=events)  # fmt: skip
            while label.lower() in seen:
                label += " "
            seen.add(label.lower())
            labels.append(cell_text(label))
        ws.append(labels)
        first = ws.max_row
        for i, texts_of_row in enumerate(frame.itertuples(index=False)):
            row = []
            for j, v in enumerate(texts_of_row):
                text = str(v)
                if text in _MARKERS or not _NUMBER.fullmatch(text):
                    row.append(cell_text(text))
                    continue
                raw = values.iat[i, j] if values is not None else None
                row.append(_cell_value(text, raw))
            ws.append(row)
            for j, c in enumerate(frame.columns):
                cell = ws.cell(ws.max_row, j + 1)
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    text = str(texts_of_row[j])
                    cell.number_format = _format(
                        c, text, cell.value, share=c in shares, whole=c in whole
                    )
                    cell.alignment = Alignment(horizontal="right")
        if frame.empty:
            ws.append([NO_ROWS])
        excel_table(ws, first, max(len(frame.columns), 1), ws.max_row, name)
        for j, c in enumerate(frame.columns, start=1):
            width = (
                max([min(len(labels[j - 1]), 24)] + [len(str(v)) for v in frame[c].head(50)]) + 2
            )
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
