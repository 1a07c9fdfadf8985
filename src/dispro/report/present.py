"""How a published table is shown: one path for the report's HTML and PDF and its workbook.

A chapter's table reaches the outputs as the publish door's text (:func:`dispro.disclosure.
publishable`) with the full values of its shown cells (kept by :meth:`dispro.report.recorder.
Chapter.table`). :func:`present` turns the two into what a reader sees, once, for both outputs:

- a plain-English label for each column (:data:`LABELS`, :func:`column_label`), with the rate's
  unit, "(per cent)" for a share and the confidence level;
- each number as the report prints it, with the workbook's display format that prints it the
  same: p and q values as ``<0.001`` when small (never ``0.00``), shares as per cent, counts,
  person-years and populations as whole numbers, interval bounds with the decimals that make the
  printed interval exclude 1 (0 for a difference) exactly when the interval does
  (:func:`dispro.report.wording.agreeing_decimals`);
- status and measure codes in words (:data:`STATUS_WORDS`, :data:`MEASURE_WORDS`);
- the reference group's row marked (its not-applicable cells ``[z]``, not ``[x]``).

:func:`field_name` turns a label back into its column name.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..disclosure import MARKERS as _SYMBOLS
from ..disclosure import NOT_APPLICABLE, NOT_AVAILABLE
from .wording import agreeing_decimals, confidence_level

__all__ = [
    "LABELS",
    "EVENTS_LABELS",
    "BASE_PERSON_YEARS",
    "MEASURE_WORDS",
    "P_FORMAT",
    "SHARES",
    "STATUS_WORDS",
    "Cell",
    "Presented",
    "cell_value",
    "column_label",
    "field_name",
    "is_real",
    "number_format",
    "present",
    "rate_unit",
    "read_values",
    "share_columns",
    "text_shown",
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
    "lower_bound": "Relative rate if every not stated were {reference}",
    "upper_bound": "Relative rate if the group had every not stated",
    "proportional_rri": "Relative rate if not stated were shared in proportion",
    "parity_share": "Share of not stated that would have to be {reference} for a rate of 1",
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


def read_values(content: Path | None, block: dict, frame: pd.DataFrame) -> pd.DataFrame | None:
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


def is_real(value) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def rate_unit(frame: pd.DataFrame, values: pd.DataFrame | None, block: dict) -> str:
    """What the table's ``rate`` is per: the one scale (1, 100 or 1,000) that rate / (events /
    base) takes on every row that shows all three, else ''."""
    if values is None or not {"rate", "events", "base"} <= set(values.columns):
        return ""
    scales = set()
    for e, b, r in values[["events", "base", "rate"]].itertuples(index=False):
        if is_real(e) and is_real(b) and is_real(r) and e > 0 and b > 0:
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


def share_columns(frame: pd.DataFrame, values: pd.DataFrame | None) -> set[str]:
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
        shown = [v for v in values[c] if is_real(v)]
        low = -1 if c.startswith("difference") or c == "share_explained" else 0
        if all(low <= v <= 1 for v in shown):
            out.add(c)
    return out


def cell_value(text: str, raw):
    """The number a shown cell holds: its full value, else the number its text reads."""
    if is_real(raw):
        return raw
    number = float(text.replace(",", ""))
    return int(number) if number.is_integer() and "." not in text else number


#: Codes of a ``status`` column in words.
STATUS_WORDS = {
    "ok": "Estimated",
    "no_base": "No population figure",
    "suppressed": "Withheld (small numbers)",
    "too_few": "Too few cases",
    "zero_events": "None recorded",
    "reference_zero": "None recorded in the reference group",
    "reference_unavailable": "No reference group figure",
    "separated": "Not estimable (perfect separation)",
    "not_run": "Not run",
    "ineligible": "Not eligible (too few searches)",
    "not_supplied": "Not supplied",
    "partly_supplied": "Partly supplied",
    "no_searches": "No searches",
    "outside_period": "Outside the period",
    "base_too_small": "Too few at risk",
}
#: Codes of a ``measure`` column in words.
MEASURE_WORDS = {
    "rate": "Rate",
    "ratio_of_means": "Ratio of mean lengths",
    "share": "Share",
}
#: Columns always shown as whole numbers (person-years included).
WHOLE = ("base", "population", "person_years", "reference_base")
#: Ratio-like estimates: their interval is judged against 1.
RATIOS = ("rri", "ratio", "adjusted_rr", "odds_ratio", "rate_ratio")
_NUMBER = re.compile(r"-?[\d,]+(\.\d+)?")
#: The symbols a published cell may hold instead of a number.
MARKERS = tuple(_SYMBOLS.values())


def text_shown(column: str, text: str) -> str:
    """A text cell as the report shows it: status and measure codes in words, yes/no
    capitalised, anything else as it is (a figure names its rows the same way)."""
    if column == "status":
        return STATUS_WORDS.get(text, text)
    if column == "measure":
        return MEASURE_WORDS.get(text, text)
    if text in ("yes", "no"):
        return text.capitalize()
    return text


def number_format(column: str, text: str, value, *, share: bool, whole: bool) -> str:
    """The workbook's display format of a shown number, printing it as the report's text."""
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


@dataclass(frozen=True)
class Cell:
    """One shown cell: ``text`` as the report prints it, ``value`` as the workbook stores it
    (the full number, or the text), ``number_format`` the workbook's display format."""

    text: str
    value: object
    number_format: str | None = None

    @property
    def number(self) -> bool:
        return self.number_format is not None


@dataclass
class Presented:
    """A table as shown: its columns, their labels, the cells and which rows are the
    reference group's."""

    columns: list[str]
    labels: list[str]
    rows: list[list[Cell]]
    reference: list[bool]
    counts: set[str] = field(default_factory=set)


def _interval_partner(column: str, columns: list[str]) -> tuple[str, str, float] | None:
    """``(lower, upper, null)`` of an interval column whose estimate has a null value (1 for a
    ratio, 0 for a difference), else None."""
    for end in ("ci_lower", "ci_upper"):
        if column.endswith(end):
            prefix = column[: -len(end)]
            break
    else:
        return None
    lower, upper = f"{prefix}ci_lower", f"{prefix}ci_upper"
    if lower not in columns or upper not in columns:
        return None
    own = prefix.rstrip("_")
    if own.startswith("difference"):
        return lower, upper, 0.0
    if own in RATIOS:
        return lower, upper, 1.0
    if own:
        return None
    # a bare interval belongs to the table's main estimate (the adjusted ratio where the
    # unadjusted one has its own interval)
    main = [c for c in ("adjusted_rr", "rri", "ratio", "odds_ratio", "rate_ratio", "estimate")
            if c in columns and not (c == "rri" and "rri_ci_lower" in columns)]  # fmt: skip
    if not main:
        return None
    if main[0] == "estimate":  # a change test's ratio of relative rates
        return (lower, upper, 1.0) if "test" in columns or "significant" in columns else None
    return lower, upper, 1.0


def _reference_column(columns: list[str]) -> str | None:
    return next((c for c in ("group", "officer_group") if c in columns), None)


def present(
    frame: pd.DataFrame,
    block: dict,
    params: dict,
    *,
    values: pd.DataFrame | None = None,
) -> Presented:
    """A published table (``frame``, the publish door's text) as the report shows it.

    Parameters
    ----------
    frame : DataFrame
        The published table: text cells, markers for withheld or missing values.
    block : dict
        The recorder's block (``caption``, ``notes``, ``count_columns``).
    params : dict
        The report's parameters (``alpha``, ``reference``).
    values : DataFrame, optional
        The full values of the shown cells (:func:`read_values`); without them numbers are
        those the text reads.
    """
    columns = [str(c) for c in frame.columns]
    alpha, reference = params.get("alpha", 0.05), str(params.get("reference", "White"))
    unit = rate_unit(frame, values, block)
    shares = share_columns(frame, values)
    said = f"{block.get('caption', '')} {block.get('notes', '')}".lower()
    events = ("part" if "searches" in columns else "searches") if "search" in said and \
        "pathway" not in said else ""  # fmt: skip
    counts = set(block.get("count_columns", []))
    labels, seen = [], set()
    for c in columns:
        label = column_label(c, alpha=alpha, reference=reference,
                             unit=unit if c in ("rate", "base") else "", share=c in shares,
                             events=events)  # fmt: skip
        while label.lower() in seen:
            label += " "
        seen.add(label.lower())
        labels.append(label)
    group = _reference_column(columns)
    ratio_table = any(c in columns for c in RATIOS)
    partners = {c: _interval_partner(c, columns) for c in columns}
    rows, reference_rows = [], []
    for i, texts in enumerate(frame.itertuples(index=False)):
        raw_row = dict(zip(columns, values.iloc[i], strict=True)) if values is not None else {}
        text_row = dict(zip(columns, (str(t) for t in texts), strict=True))
        is_reference = bool(group and ratio_table and text_row[group] == reference)
        reference_rows.append(is_reference)
        cells = []
        for c in columns:
            text, raw = text_row[c], raw_row.get(c)
            if text in MARKERS or not _NUMBER.fullmatch(text):
                if is_reference and text == NOT_AVAILABLE:
                    text = NOT_APPLICABLE  # the reference group against itself
                else:
                    text = text_shown(c, text)
                cells.append(Cell(text, text))
                continue
            value = cell_value(text, raw)
            cells.append(_number_cell(c, text, value, share=c in shares, whole=c in WHOLE,
                                      interval=partners[c], row=raw_row, texts=text_row))  # fmt: skip
        rows.append(cells)
    return Presented(columns, labels, rows, reference_rows, counts)


def _number_cell(column, text, value, *, share, whole, interval, row, texts) -> Cell:
    fmt = number_format(column, text, value, share=share, whole=whole)
    if column in ("p_value", "q_value"):
        return Cell("<0.001" if value < 0.001 else f"{value:.3f}", value, fmt)
    if share:
        return Cell(f"{100 * value:.1f}%", value, fmt)
    if whole:
        return Cell(f"{round(value):,}", value, fmt)
    if interval is not None:
        lower, upper, null = interval
        decimals = len(text.split(".", 1)[1]) if "." in text else 0
        lo, hi = row.get(lower), row.get(upper)
        if is_real(lo) and is_real(hi):
            dlo, dhi = agreeing_decimals(lo, hi, (decimals, decimals), null)
            d = dlo if column == lower else dhi
            if d != decimals:
                shown = f"{value:,.{d}f}"
                return Cell(shown, value, number_format(column, shown, value, share=False,
                                                        whole=False))  # fmt: skip
    return Cell(text, value, fmt)
