"""An outside attacker of rendered reports: reads only what a report publishes (the workbook,
the HTML, ``suppression.json``), tries to work out every withheld ``[c]`` count, and scores the
attempt against the truth (the same report rendered with ``suppression_threshold=0``).

The attacker's knowledge:

- every published number, with the rounding it was printed with (decimals as printed in the
  HTML table, else as many as the workbook value carries; a count column prints 0 decimals),
  or at the full precision the workbook stores it with (within 1e-9 of its size);
- how the numbers were made (METHODS.md and ``dispro._stats``): rates and shares are a count over
  a base times 1, 100 or 1,000; relative rates divide by the reference group's rate; intervals
  are Wilson (shares), Katz, exact or Wald Poisson (ratios) or Newcombe (differences). Which
  formula a column follows is checked on the rows where everything is shown, as an analyst would;
- the structure of the tables: Wessex is the sum of its three forces, a total the sum of its
  groups, a whole period at least the sum of the quarters it holds, the same count printed in two
  tables (or two reports of a batch) is the same number, a searches column plus its ``excluded_*``
  columns (or plus another table's count) gives another table's searches, a part is at most its
  base, the exclusions ledger adds up. Each such relation is kept only when it holds exactly on
  the truth (an analyst would know it from the methods; the test may not guess one that is false);
- the suppression log (``suppression.json``): a cell withheld by the ``primary`` rule lies in
  1..k, one withheld by the ``complement`` rule lies within k of its base, a base withheld by the
  ``min_base`` rule lies below the minimum base the log states.

Each attack gives the set of values consistent with what is published, from 0..(the largest
count the render shows); the sets of all attacks are intersected, and the relations (with the
rate and ratio formulas in linear form) are solved together as a linear programme (HiGHS) for
the least and greatest value of each withheld count, repeated while the intersection narrows.
Anything an attack claims that the truth contradicts is dropped and noted (the attacker's model
of the publication was wrong there), so what the test reports is a true inference from what is
published.

Count columns (the cells attacked and scanned for visible small counts): ``events``, ``searches``,
``hits``, ``strip_searches``, ``s60_searches``, ``not_stated``, ``unknown_events``, ``records``,
``ethnicity_not_stated``, ``rows``, ``count``, ``n``, ``n_*`` and ``excluded_*``; ``base`` when all
its values (at threshold 0) are whole numbers; and any other column whose values at threshold 0
are all whole numbers, unless its name marks a rate, ratio, share, interval, statistic, degrees
of freedom, months (``months_*``, ``*_not_supplied`` other than ``excluded_*``), a year, a
threshold or the number of ``times`` a warning was raised (:func:`is_count_column`).

Rows are matched between the two renders by their label columns (:data:`LABEL_COLUMNS`), never
by position. A row the truth has and the publication lacks (or prints with a withheld label) is
a row withheld entirely: its counts are attacked as ``[c]`` cells, the attacker being assumed to
know that the row exists (every area, period and group of a table's design).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

WITHHELD = "[c]"
MARKERS = {"[c]", "[x]", "[z]", "[low]"}

#: Columns that name a row (the keys rows are matched by), in this order when present.
LABEL_COLUMNS = (
    "area", "force", "period", "group", "label", "measure", "dataset", "step", "rule",
    "officer_group", "statistic", "compared_with", "test", "periods", "earlier", "latest",
    "field", "chapter", "warning", "stage", "object_of_search", "outcome",
)  # fmt: skip
#: Text columns that are never keys (they change with the threshold).
NOT_KEYS = {"status", "note", "notes", "significant", "action", "message", "codes", "required"}
NAMED_COUNTS = {
    "events", "searches", "hits", "strip_searches", "s60_searches", "not_stated",
    "unknown_events", "records", "ethnicity_not_stated", "rows", "count", "n",
}  # fmt: skip
NOT_COUNT = re.compile(
    r"rate|rri|ratio|share|ci_|lower|upper|interval|statistic|(^|_)df$|months|p_value|q_value|"
    r"estimate|std_error|kappa|agreement|bound|e_value|dispersion|difference|explained|percent|"
    r"proportion|mean|median|length|year|times|threshold|decimals|_not_supplied$"
)
#: Columns a count may be a part of (a denominator).
BASE_NAMES = ("base", "searches", "records", "rows", "population", "person_years")
#: Count columns that may hold the same quantity under different names.
SEARCH_FAMILY = {"events", "searches", "records", "rows"}
TOTAL_GROUPS = {"total", "all", "all groups", "all people", "(all)"}
SCALES = (1.0, 100.0, 1000.0)


def is_count_column(name: str, values) -> bool:
    """The count-column rule (module docstring); ``values``: the column's numbers at threshold 0."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    whole = bool(nums) and all(float(v).is_integer() for v in nums)
    if name in NAMED_COUNTS or name.startswith(("excluded_", "n_")):
        return True
    if name == "base":
        return whole
    if NOT_COUNT.search(name):
        return False
    return whole


# ------------------------------------------------------------------------------------------
# Reading a report


class _HTMLReader(HTMLParser):
    """Tables (``data-sheet``, header, cell texts) and the prose outside them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.prose: list[str] = []
        self._table = None
        self._cell = None
        self._row = None
        self._skip = 0
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._flush()
            self._table = {"sheet": dict(attrs).get("data-sheet"), "header": [], "rows": []}
        elif self._table is not None and tag == "tr":
            self._row = []
        elif self._table is not None and tag in ("td", "th"):
            self._cell = []
            self._span = int(dict(attrs).get("colspan") or 1)  # a merged cell covers columns
        elif tag in ("p", "li", "h1", "h2", "h3", "h4", "figcaption", "caption", "br", "div"):
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        elif self._table is not None and tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            if self._row is not None:
                self._row.extend([(tag, text)] * getattr(self, "_span", 1))
            self._cell = None
        elif self._table is not None and tag == "tr" and self._row is not None:
            if self._row and all(t == "th" for t, _ in self._row):
                self._table["header"] = [x for _, x in self._row]
            else:
                self._table["rows"].append([x for _, x in self._row])
            self._row = None
        elif tag in ("p", "li", "h1", "h2", "h3", "h4", "figcaption", "caption", "div"):
            self._flush()

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        else:  # prose, including captions
            self._text.append(data)

    def _flush(self):
        text = " ".join("".join(self._text).split())
        if text:
            self.prose.append(text)
        self._text = []

    def close(self):
        super().close()
        self._flush()


def _number(v):
    """A published value as a number, or None (a marker or text)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and re.fullmatch(r"-?[\d,]+(\.\d+)?", v.strip()):
        return float(v.replace(",", ""))
    return None


def _decimals(text: str) -> int:
    m = re.fullmatch(r"-?[\d,]+\.(\d+)", text.strip())
    return len(m.group(1)) if m else 0


@dataclass
class Table:
    report: Report
    sheet: str
    columns: list[str]
    rows: list[dict]  # column -> raw value (number or text)
    printed: list[dict] | None = None  # column -> text as the HTML prints it
    labels: list[str] = field(default_factory=list)
    counts: set[str] = field(default_factory=set)
    phantom: set[int] = field(default_factory=set)  # rows withheld entirely (added from the truth)
    refs: dict | None = None  # row -> the reference group's row of its slice

    def key(self, i: int) -> tuple:
        return tuple(str(self.rows[i].get(c, "")) for c in self.labels)


@dataclass
class Report:
    name: str
    folder: Path
    params: dict
    tables: dict[str, Table]
    prose: list[str]
    html_tables: list[dict]
    log: dict | None

    @property
    def threshold(self) -> int:
        return int(self.params["suppression_threshold"])


def read_report(folder: Path) -> Report:
    """A rendered report folder as the attacker reads it."""
    import openpyxl

    folder = Path(folder)
    name = folder.name
    params = json.loads((folder / "provenance.json").read_text())["parameters"]
    html = _HTMLReader()
    html.feed((folder / f"{name}.html").read_text(encoding="utf-8"))
    html.close()
    log_path = folder / "suppression.json"
    log = json.loads(log_path.read_text()) if log_path.is_file() else None
    report = Report(name, folder, params, {}, html.prose, html.tables, log)
    by_sheet = {t["sheet"]: t for t in html.tables if t["sheet"]}
    wb = openpyxl.load_workbook(folder / f"{name}.xlsx", read_only=True, data_only=True)
    from dispro.report.workbook import field_name

    for ws in wb.worksheets:
        if ws.title in ("Cover", "Contents", "Notes") or ws.title.lower().startswith("suppression"):
            continue
        raw = [list(r) for r in ws.iter_rows(values_only=True)]
        filled = [sum(v is not None and v != "" for v in r) for r in raw]
        if not raw or max(filled) == 0:
            continue
        width = max(filled)
        head = next(i for i, f in enumerate(filled) if f == width and (width > 1 or i > 0))
        columns = [field_name(v) for v in raw[head] if v is not None]  # labels to names
        rows = [
            {c: ("" if v is None else v) for c, v in zip(columns, r, strict=False)}
            for r in raw[head + 1 :]
            if any(v is not None and v != "" for v in r)
        ]
        table = Table(report, ws.title, columns, rows)
        shown = by_sheet.get(ws.title)
        if (
            shown is not None
            and len(shown["rows"]) == len(rows)
            and [h.replace(" ", "_") for h in shown["header"]]
            == [c.replace(" ", "_") for c in columns]
        ):
            table.printed = [dict(zip(columns, r, strict=False)) for r in shown["rows"]]
        table.labels = [
            c
            for c in LABEL_COLUMNS
            if c in columns and all(_number(r.get(c)) is None for r in rows)
        ] or [
            c for c in columns if c not in NOT_KEYS and all(_number(r.get(c)) is None for r in rows)
        ]
        report.tables[ws.title] = table
    return report


# ------------------------------------------------------------------------------------------
# Cells: the published value, its rounding and the truth


@dataclass
class Cell:
    idx: int
    table: Table
    row: int
    column: str
    value: float | None  # the published number (None: a marker)
    text: str
    half: float  # half the printed rounding step
    truth: float | None = None
    rule: str | None = None

    @property
    def withheld(self) -> bool:
        return self.text == WITHHELD

    @property
    def count(self) -> bool:
        return self.column in self.table.counts

    def where(self) -> str:
        labels = ", ".join(f"{c}={self.table.rows[self.row].get(c)}" for c in self.table.labels)
        return f"{self.table.report.name}:{self.table.sheet}[{labels}].{self.column}"


def _period_months(text: str):
    """(first, last) month index of a period label, or None."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d{4})-(\d{2}) to (\d{4})-(\d{2})", text)
    if m:
        y0, m0, y1, m1 = map(int, m.groups())
        return (y0 * 12 + m0 - 1, y1 * 12 + m1 - 1)
    m = re.fullmatch(r"(\d{4})\s*Q([1-4])", text)
    if m:
        y, q = map(int, m.groups())
        return (y * 12 + 3 * (q - 1), y * 12 + 3 * q - 1)
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if m:
        y, mo = map(int, m.groups())
        return (y * 12 + mo - 1,) * 2
    return None


class Render:
    """The reports of one render (one report, or a batch) with the truth attached."""

    def __init__(self, name: str, reports: list[Report], truths: list[Report]):
        self.name = name
        self.reports = reports
        self.notes: list[str] = []  # what the attacker noticed while reading (printed)
        self.cells: list[Cell] = []
        self.grid: dict[tuple, Cell] = {}  # (report, sheet, row, column) -> cell
        truth_by_name = {t.name: t for t in truths}
        for report in reports:
            truth = truth_by_name.get(report.name)
            if truth is None:
                raise AssertionError(f"{name}: no threshold-0 render of {report.name}")
            for table in report.tables.values():
                self._align(table, truth.tables.get(table.sheet))
        self.k = max(r.threshold for r in reports)
        counts = [c.value for c in self.cells if c.count and c.value is not None and not c.withheld]
        self.upper = max(counts, default=0.0)

    def _align(self, table: Table, truth: Table | None) -> None:
        if truth is None:
            self.notes.append(f"{table.report.name}:{table.sheet} has no threshold-0 twin")
            truth_rows, truth_index = [], {}
        else:
            truth.labels = [c for c in table.labels if c in truth.columns]
            truth_rows = truth.rows
            truth_index = {}
            for i in range(len(truth_rows)):
                truth_index.setdefault(truth.key(i), []).append(i)
        for c in table.columns:  # the count columns, judged on the truth
            source = truth_rows if truth is not None and c in truth.columns else table.rows
            table.counts |= {c} if is_count_column(c, [r.get(c) for r in source]) else set()
        used: dict[tuple, int] = defaultdict(int)
        matched: set[int] = set()
        pairs = []
        for i in range(len(table.rows)):
            key = table.key(i)
            if WITHHELD in key:
                self.notes.append(f"{table.report.name}:{table.sheet} row {i} has a withheld label")
                pairs.append((i, None))
                continue
            options = truth_index.get(key, [])
            j = options[used[key]] if used[key] < len(options) else None
            used[key] += 1
            if j is not None:
                matched.add(j)
            pairs.append((i, j))
        for j in range(len(truth_rows)):  # rows withheld entirely
            if j not in matched:
                row = {c: truth_rows[j].get(c, "") for c in table.labels}
                row |= {c: WITHHELD for c in table.columns if c in table.counts}
                table.rows.append(row)
                table.phantom.add(len(table.rows) - 1)
                pairs.append((len(table.rows) - 1, j))
                self.notes.append(
                    f"{table.report.name}:{table.sheet}: truth row {truth.key(j)} not published"
                )
        decimals = {}
        for c in table.columns:
            ds = [_decimals(repr(float(v))) if isinstance(v, float) and not float(v).is_integer()
                  else 0 for v in (r.get(c) for r in table.rows)]  # fmt: skip
            decimals[c] = max(ds, default=0) or (0 if c in table.counts else 2)
        for i, j in pairs:
            row = table.rows[i]
            for c in table.columns:
                raw = row.get(c, "")
                text = str(raw) if not isinstance(raw, (int, float)) else repr(raw)
                d = decimals[c]
                if table.printed is not None and i < len(table.printed):
                    printed = str(table.printed[i].get(c, ""))
                    text = printed if printed else text
                    d = _decimals(printed) if _number(printed) is not None else d
                value = _number(raw) if str(raw).strip() not in MARKERS else None
                if i in table.phantom and c in table.counts:
                    text, value = WITHHELD, None
                half = 0.5 * 10.0**-d if d else 0.0  # a number printed whole is exact
                if isinstance(raw, float) and value is not None and _decimals(repr(raw)) > d:
                    half = 1e-9 * max(1.0, abs(raw))  # the workbook holds its full value
                cell = Cell(len(self.cells), table, i, c, value, text, half)
                if j is not None and truth is not None and c in truth.columns:
                    cell.truth = _number(truth.rows[j].get(c))
                self.cells.append(cell)
                self.grid[(table.report.name, table.sheet, i, c)] = cell

    # --- what the attacker reads off a row
    def at(self, table: Table, i: int, column: str) -> Cell | None:
        return self.grid.get((table.report.name, table.sheet, i, column))

    def dims(self, table: Table, i: int) -> tuple:
        """(area, period, group, extra labels) of a row; defaults from the report."""
        row, params = table.rows[i], table.report.params
        area = str(row.get("area", row.get("force", params.get("area", ""))))
        whole = f"{params.get('period_start')} to {params.get('period_end')}"
        period = str(row.get("period", whole))
        months = _period_months(period)
        period = f"{months[0]}..{months[1]}" if months else period
        group = str(row.get("group", "(all)"))
        extra = tuple(
            (c, str(row.get(c)))
            for c in table.labels
            if c not in ("area", "force", "period", "group")
        )
        return area, period, group, extra

    def withheld(self) -> list[Cell]:
        return [c for c in self.cells if c.count and c.withheld]


# ------------------------------------------------------------------------------------------
# The suppression log: which rule withheld a cell


def attach_log(render: Render) -> None:
    """Set ``cell.rule`` from each report's ``suppression.json`` (where it exists)."""
    for report in render.reports:
        if report.log is None:
            continue
        entries = defaultdict(list)
        for e in report.log.get("cells", []):
            entries[(e.get("sheet"), e.get("column"))].append(e)
        for cell in render.withheld():
            if cell.table.report is not report:
                continue
            row = cell.table.rows[cell.row]
            for e in entries.get((cell.table.sheet, cell.column), []):
                if _row_matches(row, e.get("row") or {}):
                    cell.rule = e.get("rule")
                    break


def _row_matches(row: dict, wanted: dict) -> bool:
    for c, v in wanted.items():
        have = row.get(c)
        if str(have) == str(v):
            continue
        a, b = _number(have), _number(v)
        if a is None or b is None or a != b:
            return False
    return True


# ------------------------------------------------------------------------------------------
# Knowledge as sets of integers


@dataclass
class Known:
    """The values a cell may take: integers in [lo, hi], and in ``only`` when given."""

    lo: int
    hi: int
    only: frozenset | None = None

    def __and__(self, other: Known) -> Known:
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        only = self.only if other.only is None else (
            other.only if self.only is None else self.only & other.only
        )  # fmt: skip
        if only is not None:
            only = frozenset(v for v in only if lo <= v <= hi)
            if only:
                lo, hi = min(only), max(only)
        return Known(lo, hi, only)

    def values(self, cap: int = 200_000):
        if self.only is not None:
            return sorted(self.only)
        if self.hi - self.lo > cap:
            return None
        return list(range(self.lo, self.hi + 1))

    def size(self) -> int:
        if self.hi < self.lo:
            return 0
        return len(self.only) if self.only is not None else self.hi - self.lo + 1

    def __contains__(self, v) -> bool:
        if v is None or not float(v).is_integer():
            return False
        v = int(v)
        return self.lo <= v <= self.hi and (self.only is None or v in self.only)

    def describe(self) -> str:
        if 0 < self.size() <= 8:
            return "{" + ", ".join(map(str, self.values())) + "}"
        return f"[{self.lo}, {self.hi}]"


def _between(lo: float, hi: float) -> Known:
    return Known(math.ceil(lo - 1e-7), math.floor(hi + 1e-7))


# ------------------------------------------------------------------------------------------
# Attacks on single rows: rate x base, ratio x reference, interval inversion


def _reference_row(table: Table, i: int) -> int | None:
    """The row of the reference group in the same slice (area, period, other labels)."""
    if table.refs is None:
        reference = str(table.report.params.get("reference", "White"))
        others = [c for c in table.labels if c != "group"]
        at = {}
        for j, row in enumerate(table.rows):
            if str(row.get("group")) == reference:
                at.setdefault(tuple(str(row.get(c)) for c in others), j)
        table.refs = {}
        for j, row in enumerate(table.rows):
            if "group" in table.columns and str(row.get("group")) != reference:
                table.refs[j] = at.get(tuple(str(row.get(c)) for c in others))
    return table.refs.get(i)


def _slice(table: Table, i: int) -> tuple:
    """The rows a formula is checked on: the same sheet and the same labels other than
    area, force, period and group (the pathway's stages differ in their formulas)."""
    return tuple(
        str(table.rows[i].get(c))
        for c in table.labels
        if c not in ("area", "force", "period", "group")
    )


class RowAttacks:
    """Formulas of the published columns, each checked on the rows that show all its inputs;
    then, for every withheld count, the counts consistent with the printed values."""

    def __init__(self, render: Render, known: dict[int, Known]):
        self.render = render
        self.known = known

    def _span(self, cell):
        """The values a cell may hold: a shown number with its rounding, or the knowledge of
        a withheld count so far (None: unknown)."""
        if cell is None:
            return None
        if cell.value is not None and not cell.withheld:
            return (cell.value - cell.half, cell.value + cell.half)
        if cell.withheld and cell.count and cell.idx in self.known:
            k = self.known[cell.idx]
            return (float(k.lo), float(k.hi))
        return None

    def formulas(self, table: Table) -> dict[tuple, list]:
        """Per slice, the formulas ``(kind, outputs, numerator, base, scale)`` that reproduce
        the printed outputs on every row showing their inputs (at least one, with a non-zero
        numerator and output)."""
        numeric = [c for c in table.columns if c not in table.counts and c not in table.labels]
        counts = sorted(c for c in table.counts if not c.startswith("excluded_"))
        bases = [c for c in table.columns
                 if (c in BASE_NAMES or c in table.counts) and not c.startswith("excluded_")]  # fmt: skip
        pairs = [(lo, lo[: -len("lower")] + "upper") for lo in numeric if lo.endswith("lower")]
        pairs = [(lo, hi) for lo, hi in pairs if hi in table.columns]
        candidates = []
        for x in counts:
            for b in bases:
                if b == x:
                    continue
                for r in numeric:
                    candidates += [("rate", (r,), x, b, s) for s in SCALES]
                    candidates += [("ratio", (r,), x, b, 1.0), ("difference", (r,), x, b, 1.0)]
                for lo, hi in pairs:
                    candidates += [(m, (lo, hi), x, b, 1.0) for m in INTERVALS]
        slices = defaultdict(list)
        for i in range(len(table.rows)):
            slices[_slice(table, i)].append(i)
        return {
            sl: [f for f in candidates if self._holds(table, rows, f)]
            for sl, rows in slices.items()
        }

    def _parts(self, table, i, f):
        """(count, base, reference count, reference base, outputs) cells of row ``i``."""
        kind, outs, x, b, _ = f
        get = self.render.at
        ref = (None, None)
        if kind not in ("rate", "wilson"):
            j = _reference_row(table, i)
            if j is None:
                return None
            ref = (get(table, j, x), get(table, j, b))
        return get(table, i, x), get(table, i, b), ref[0], ref[1], [get(table, i, o) for o in outs]

    def _holds(self, table, rows, f) -> bool:
        checked, informative = 0, False
        for i in rows:
            parts = self._parts(table, i, f)
            if parts is None:
                continue
            n, base, rn, rb, outs = parts
            needed = [n, base, *outs] + ([rn, rb] if f[0] not in ("rate", "wilson") else [])
            if any(c is None or c.value is None or c.withheld for c in needed):
                continue
            rv = None if rn is None else np.array([rn.value])
            ok = self._consistent(f, np.array([n.value]), base, rv, rb, outs)
            if ok is None:
                continue
            if not ok[0]:
                return False
            checked += 1
            informative |= n.value > 0 and any(o.value != 0 for o in outs)
        return checked > 0 and informative

    def _consistent(self, f, ns, base, rvs, rb, outs):
        """Which (count, reference count) pairs in ``ns``, ``rvs`` (arrays; ``rvs`` None when
        the formula has no reference) reproduce the printed outputs; None: cannot say."""
        from dispro import _stats

        kind, _, _, _, s = f
        alpha = float(base.table.report.params.get("alpha", 0.05))
        bspan = self._span(base)
        if bspan is None or bspan[1] <= 0:
            return None
        if kind not in ("rate", "wilson"):
            rbspan = self._span(rb)
            if rvs is None or rbspan is None or rbspan[1] <= 0:
                return None
        if kind in ("rate", "ratio", "difference"):
            out = outs[0]
            lo_o, hi_o = out.value - out.half, out.value + out.half
            with np.errstate(divide="ignore", invalid="ignore"):
                if kind == "rate":
                    v_lo, v_hi = ns * s / bspan[1], ns * s / max(bspan[0], 1e-300)
                elif kind == "ratio":
                    v_lo = (ns / bspan[1]) / (rvs / rbspan[0])
                    v_hi = (ns / bspan[0]) / (rvs / rbspan[1])
                else:
                    v_lo = ns / bspan[1] - rvs / rbspan[0]
                    v_hi = ns / bspan[0] - rvs / rbspan[1]
            v_lo, v_hi = np.nan_to_num(v_lo, nan=np.inf), np.nan_to_num(v_hi, nan=-np.inf)
            return (v_hi >= lo_o - 1e-9) & (v_lo <= hi_o + 1e-9)
        # interval methods, computed at the printed bases (a count is exact; a rounded
        # person-years base moves an interval far less than its printed rounding)
        if base.withheld or base.value is None:
            return None
        bval = base.value
        if kind != "wilson" and (rb is None or rb.withheld or rb.value is None):
            return None
        lo_c, hi_c = outs
        with np.errstate(all="ignore"):
            if kind == "wilson":
                lo, hi = _stats.wilson(ns, np.full(len(ns), bval), alpha)
            elif kind == "katz":
                _, lo, hi, _ = _stats.katz(ns, bval, rvs, rb.value, _stats.z(alpha))
            elif kind == "poisson_exact":
                _, lo, hi, _ = _stats.poisson_exact(ns, bval, rvs, rb.value, alpha)
            elif kind == "poisson_wald":
                _, lo, hi, _ = _stats.poisson_wald(ns, bval, rvs, rb.value, _stats.z(alpha))
            else:
                _, lo, hi = _stats.newcombe(ns, bval, rvs, rb.value, alpha)
        lo, hi = np.broadcast_to(lo, ns.shape), np.broadcast_to(hi, ns.shape)
        return (np.abs(lo - lo_c.value) <= lo_c.half + 1e-9) & (
            np.abs(hi - hi_c.value) <= hi_c.half + 1e-9
        )

    def attack(self, formulas_of: dict, kinds: set[str]) -> dict[int, Known]:
        """Knowledge of each withheld count from the checked formulas of ``kinds``."""
        out: dict[int, Known] = {}
        tables = {(c.table.report.name, c.table.sheet): c.table for c in self.render.withheld()}
        for key, table in tables.items():
            held = formulas_of.get(key, {})
            for i in range(len(table.rows)):
                for f in held.get(_slice(table, i), []):
                    if KIND_OF[f[0]] in kinds:
                        self._attack_row(table, i, f, out)
        return out

    def _prior(self, cell, base=None) -> Known:
        prior = self.known.get(cell.idx, Known(0, int(self.render.upper)))
        span = self._span(base) if base is not None and base.column in BASE_NAMES else None
        if span is not None:
            prior = prior & Known(0, math.floor(span[1] + 1e-9))
        return prior

    def _attack_row(self, table, i, f, out):
        parts = self._parts(table, i, f)
        if parts is None:
            return
        n, base, rn, rb, outs = parts
        if (
            n is None
            or base is None
            or any(o is None or o.value is None or o.withheld for o in outs)
        ):
            return
        with_ref = f[0] not in ("rate", "wilson")
        if n.withheld and n.count:  # the row's own count
            prior = self._prior(n, base)
            values = prior.values()
            if with_ref:
                rspan = self._span(rn)
                if rspan is None or rspan[0] != rspan[1]:
                    rvals = None if rn is None or not (rn.withheld and rn.count) else (
                        self._prior(rn, rb).values())  # fmt: skip
                    if rvals is None or values is None or len(rvals) * len(values) > 400_000:
                        return
                    grid_n, grid_r = np.meshgrid(values, rvals, indexing="ij")
                    ok = self._consistent(f, grid_n.ravel().astype(float), base,
                                          grid_r.ravel().astype(float), rb, outs)  # fmt: skip
                    if ok is None:
                        return
                    ok = ok.reshape(grid_n.shape)
                    self._learn(out, n, prior, np.array(values)[ok.any(axis=1)])
                    self._learn(out, rn, self._prior(rn, rb), np.array(rvals)[ok.any(axis=0)])
                    return
                rvs = lambda m: np.full(m, rspan[0])  # noqa: E731
            if values is None:
                return
            ns = np.array(values, dtype=float)
            ok = self._consistent(f, ns, base, rvs(len(ns)) if with_ref else None, rb, outs)
            if ok is not None:
                self._learn(out, n, prior, ns[ok])
        elif with_ref and rn is not None and rn.withheld and rn.count and n.value is not None:
            prior = self._prior(rn, rb)  # the reference's withheld count, from this row
            values = prior.values()
            if values is None:
                return
            rs = np.array(values, dtype=float)
            ok = self._consistent(f, np.full(len(rs), n.value), base, rs, rb, outs)
            if ok is not None:
                self._learn(out, rn, prior, rs[ok])

    @staticmethod
    def _learn(out, cell, prior, found):
        found = frozenset(int(v) for v in found)
        knew = Known(prior.lo, prior.hi, found) if found else Known(1, 0, frozenset())
        out[cell.idx] = out[cell.idx] & knew if cell.idx in out else knew


INTERVALS = ("wilson", "katz", "poisson_exact", "poisson_wald", "newcombe")
KIND_OF = {"rate": "rate_x_base", "ratio": "ratio_x_reference", "difference": "ratio_x_reference"}
KIND_OF |= {m: "interval_inversion" for m in INTERVALS}


# ------------------------------------------------------------------------------------------
# Relations between tables and reports, kept when they hold exactly on the truth


class _UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, a):
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


@dataclass
class Relation:
    """sum(coef * cell) (== or >=) rhs, over cell indices."""

    terms: dict[int, float]
    sense: str  # "==" or ">="
    rhs: float
    family: str


def _truth_ok(render: Render, rel: Relation, tol: float = 1e-6) -> bool | None:
    total = 0.0
    for i, a in rel.terms.items():
        t = render.cells[i].truth
        if t is None:
            return None
        total += a * t
    if rel.sense == "==":
        return abs(total - rel.rhs) <= tol
    return total >= rel.rhs - tol


def _names_compatible(a, b) -> bool:
    """Two series (``(sheet, column, ...)``) may hold the same count: the same column name,
    two names for searches, or ``excluded_<what>`` beside a table or column of ``<what>``
    (``excluded_s60`` and the section 60 table's events)."""
    (sa, a), (sb, b) = a[:2], b[:2]
    if a == b or (a in SEARCH_FAMILY and b in SEARCH_FAMILY):
        return True
    for c1, (s2, c2) in ((a, (sb, b)), (b, (sa, a))):
        what = c1[len("excluded_") :] if c1.startswith("excluded_") else None
        if what and not c2.startswith("excluded_") and what in f"{s2} {c2}":
            return True
    return False


class Structure:
    """The relations an analyst knows, found on the published tables and checked on the truth."""

    def __init__(self, render: Render, forces_of: dict[str, list[str]]):
        self.render = render
        self.forces_of = forces_of
        self.kept: dict[str, int] = defaultdict(int)  # family -> relations kept
        self.dropped: dict[str, int] = defaultdict(int)
        self.series = defaultdict(
            dict
        )  # (sheet, column, extra) -> {(area, period, group): [cells]}
        for cell in render.cells:
            if not cell.count:
                continue
            area, period, group, extra = render.dims(cell.table, cell.row)
            key = (area, period, group)
            self.series[(cell.table.sheet, cell.column, extra)].setdefault(key, []).append(cell)
        self.uf = _UnionFind(len(render.cells))
        self.relations: list[Relation] = []

    def _family_ok(self, instances) -> bool:
        """Every instance holds on the truth, and they say something (a non-zero value)."""
        if not instances:
            return False
        nonzero = 0
        for rel in instances:
            ok = _truth_ok(self.render, rel)
            if not ok:
                return False
            nonzero += any(self.render.cells[i].truth for i in rel.terms)
        big = any(
            abs(self.render.cells[i].truth or 0) >= 20 for rel in instances for i in rel.terms
        )
        return nonzero >= 2 or (nonzero >= 1 and big)

    def build(self) -> None:
        self._same_count()
        self._sums()
        self._plus_parts()
        self._within_rows()
        self._ledger()

    def _add(self, family, instances):
        if self._family_ok(instances):
            self.relations += instances
            self.kept[family] += len(instances)
            return True
        self.dropped[family] += len(instances)
        return False

    # the same count printed twice (two tables, or two reports of a batch)
    def _same_count(self):
        items = list(self.series.items())
        for name, pa in items:  # the same sheet, column and row in two reports of a batch
            shared = [cells for cells in pa.values() if len(cells) > 1]
            if shared and all(c.truth == cells[0].truth for cells in shared for c in cells):
                for cells in shared:
                    for c in cells[1:]:
                        self.uf.union(cells[0].idx, c.idx)
                self.kept[f"same count in two reports: {name[0]}.{name[1]}"] += len(shared)
        for (a, pa), (b, pb) in itertools.combinations(items, 2):
            if not _names_compatible(a, b):
                continue
            joint = pa.keys() & pb.keys()
            if not joint:
                continue
            pairs = [(pa[key][0], pb[key][0]) for key in joint]
            if any(x.truth is None or y.truth is None or x.truth != y.truth for x, y in pairs):
                continue
            nonzero = sum(bool(x.truth) for x, _ in pairs)
            if nonzero >= 2 or (nonzero == 1 and max(x.truth for x, _ in pairs) >= 20):
                for x, y in pairs:
                    self.uf.union(x.idx, y.idx)
                self.kept[f"same count: {a[0]}.{a[1]} = {b[0]}.{b[1]}"] += len(pairs)

    # Wessex = sum of forces; total = sum of groups; whole period >= sum of its quarters
    def _sums(self):
        items = list(self.series.items())
        for (a, pa), (b, pb) in itertools.product(items, items):
            if not _names_compatible(a, b):
                continue
            by_rest = defaultdict(dict)
            for (area, period, group), cells in pb.items():
                by_rest[("area", period, group)][area] = cells[0]
                by_rest[("group", area, period)][group] = cells[0]
                by_rest[("period", area, group)][period] = cells[0]
            areas, groups, periods = [], [], []
            for (area, period, group), cells in pa.items():
                whole = cells[0]
                parts = by_rest.get(("area", period, group), {})
                forces = self.forces_of.get(area)
                if forces and all(f in parts for f in forces):
                    areas.append(self._sum(whole, [parts[f] for f in forces], "=="))
                if group.lower() in TOTAL_GROUPS:
                    parts = by_rest.get(("group", area, period), {})
                    members = [c for g, c in parts.items() if g.lower() not in TOTAL_GROUPS]
                    if len(members) >= 2:
                        groups.append(self._sum(whole, members, "=="))
                span = _span_of(period)
                if span is not None:
                    parts = by_rest.get(("period", area, group), {})
                    inside = {p: c for p, c in parts.items() if p != period
                              and _span_of(p) and span[0] <= _span_of(p)[0]
                              and _span_of(p)[1] <= span[1]}  # fmt: skip
                    if inside and not _overlapping([_span_of(p) for p in inside]):
                        covered = sum(_span_of(p)[1] - _span_of(p)[0] + 1 for p in inside)
                        sense = "==" if covered == span[1] - span[0] + 1 else ">="
                        periods.append(self._sum(whole, list(inside.values()), sense))
            name = f"{a[0]}.{a[1]} vs {b[0]}.{b[1]}"
            if areas:
                self._add(f"area = sum of its forces: {name}", areas)
            if groups:
                self._add(f"total = sum of groups: {name}", groups)
            if periods:
                self._add(f"period vs its quarters: {name}", periods)

    @staticmethod
    def _sum(whole, parts, sense):
        terms = {whole.idx: 1.0}
        for p in parts:
            terms[p.idx] = terms.get(p.idx, 0.0) - 1.0
        return Relation(terms, sense, 0.0, "sum")

    # one table's searches plus parts (its excluded_* columns, or another table's count)
    # gives another table's searches
    def _plus_parts(self):
        items = list(self.series.items())
        for (a, pa), (b, pb) in itertools.permutations(items, 2):
            if not _names_compatible(a, b) or a[1].startswith("excluded_"):
                continue
            joint = sorted(pa.keys() & pb.keys())
            if len(joint) < 1:
                continue
            xs = [pa[key][0] for key in joint]
            ys = [pb[key][0] for key in joint]
            if any(x.truth is None or y.truth is None for x, y in zip(xs, ys, strict=True)):
                continue
            diff = [y.truth - x.truth for x, y in zip(xs, ys, strict=True)]
            if not any(diff) or min(diff) < 0 or len(joint) < 2 or not any(x.truth for x in xs):
                continue
            # (i) a subset of the excluded_* columns of x's own row
            table = xs[0].table
            excl = [c for c in table.columns if c.startswith("excluded_") and c in table.counts]
            for size in range(1, len(excl) + 1):
                for subset in itertools.combinations(excl, size):
                    rels = []
                    for x, y in zip(xs, ys, strict=True):
                        parts = [self.render.at(x.table, x.row, c) for c in subset]
                        terms = {y.idx: 1.0, x.idx: -1.0}
                        for p in parts:
                            terms[p.idx] = terms.get(p.idx, 0.0) - 1.0
                        rels.append(Relation(terms, "==", 0.0, "plus"))
                    if all(_truth_ok(self.render, r) for r in rels):
                        self._add(f"{a[0]}.{a[1]} + {'+'.join(subset)} = {b[0]}.{b[1]}", rels)
                        break
                else:
                    continue
                break
            else:
                # (ii) one count of another table with the same keys
                for c, pc in items:
                    if c in (a, b) or not all(key in pc for key in joint):
                        continue
                    zs = [pc[key][0] for key in joint]
                    if any(z.truth is None for z in zs) or not any(z.truth for z in zs):
                        continue
                    if all(z.truth == d for z, d in zip(zs, diff, strict=True)):
                        rels = [
                            Relation({y.idx: 1.0, x.idx: -1.0, z.idx: -1.0}, "==", 0.0, "plus")
                            for x, y, z in zip(xs, ys, zs, strict=True)
                        ]
                        if self._add(f"{a[0]}.{a[1]} + {c[0]}.{c[1]} = {b[0]}.{b[1]}", rels):
                            break

    # a part is at most its base (base - events >= 0), within each row
    def _within_rows(self):
        render = self.render
        done = set()
        for cell in render.cells:
            table = cell.table
            if (table.report.name, table.sheet) in done:
                continue
            done.add((table.report.name, table.sheet))
            for base in [c for c in table.columns if c in BASE_NAMES and c in table.counts]:
                for part in sorted(table.counts - {base}):
                    rels = []
                    for i in range(len(table.rows)):
                        p, b = render.at(table, i, part), render.at(table, i, base)
                        if p is not None and b is not None:
                            rels.append(Relation({b.idx: 1.0, p.idx: -1.0}, ">=", 0.0, "le"))
                    if rels and all(_truth_ok(render, r) for r in rels):
                        self.relations += rels
                        self.kept[f"{part} <= {base} (the complement >= 0)"] += len(rels)

    # the exclusions ledger: rows read - rows excluded = records kept
    def _ledger(self):
        render = self.render
        for report in render.reports:
            ledger = next((t for t in report.tables.values() if {"dataset", "rows"} <=
                           set(t.columns) and ("action" in t.columns or "rule" in t.columns)),
                          None)  # fmt: skip
            kept = next((t for t in report.tables.values() if {"dataset", "records"} <=
                         set(t.columns) and t is not ledger), None)  # fmt: skip
            if ledger is None or kept is None:
                continue
            for i in range(len(kept.rows)):
                dataset = kept.rows[i].get("dataset")
                rows = [j for j, r in enumerate(ledger.rows) if r.get("dataset") == dataset]
                read = [
                    j
                    for j in rows
                    if "read" in str(ledger.rows[j].get("action", "")).lower()
                    or str(ledger.rows[j].get("rule", "")).lower().startswith("rows read")
                ]
                out = [j for j in rows if "exclu" in str(ledger.rows[j].get("action", "")).lower()
                       or "drop" in str(ledger.rows[j].get("action", "")).lower()]  # fmt: skip
                if len(read) != 1:
                    continue
                terms = {render.at(ledger, read[0], "rows").idx: 1.0}
                for j in out:
                    terms[render.at(ledger, j, "rows").idx] = -1.0
                terms[render.at(kept, i, "records").idx] = -1.0
                self._add(f"ledger: read - excluded = {kept.sheet}.records", [
                    Relation(terms, "==", 0.0, "ledger")])  # fmt: skip


def _span_of(period: str):
    m = re.fullmatch(r"(\d+)\.\.(\d+)", period)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _overlapping(spans) -> bool:
    spans = sorted(spans)
    return any(b[0] <= a[1] for a, b in itertools.pairwise(spans))


# ------------------------------------------------------------------------------------------
# The linear programme over the withheld cells


def _linear(parts, rhs: float, family: str) -> Relation | None:
    """``sum(a * cell) >= rhs`` with each cell either a withheld count (a variable) or a shown
    number, taken at the worst end of its rounding (so the relation stays true)."""
    terms = {}
    for a, cell in parts:
        if cell is None:
            return None
        if cell.withheld and cell.count:
            terms[cell.idx] = terms.get(cell.idx, 0.0) + a
        elif cell.value is not None and not cell.withheld:
            rhs -= max(a * (cell.value - cell.half), a * (cell.value + cell.half))
        else:
            return None
    return Relation(terms, ">=", rhs, family) if terms else None


def rate_relations(render: Render, formulas_of: dict) -> list[Relation]:
    """The checked rate and ratio formulas as linear relations, so that a count and its base
    (or a group's count and the reference's) can both be withheld: a rate R = s*X/B gives
    s*X >= (R-h)*B and s*X <= (R+h)*B; a ratio Q = (X/B)/(Xr/Br) with the bases shown gives
    X*Br >= (Q-h)*B*Xr and X*Br <= (Q+h)*B*Xr (bases at the ends of their rounding)."""
    rels = []
    for table in {(c.table.report.name, c.table.sheet): c.table for c in render.cells}.values():
        held = formulas_of.get((table.report.name, table.sheet), {})
        for i in range(len(table.rows)):
            for f in held.get(_slice(table, i), []):
                kind, outs, x, b, s = f
                if kind not in ("rate", "ratio"):
                    continue
                out = render.at(table, i, outs[0])
                n, base = render.at(table, i, x), render.at(table, i, b)
                if out is None or out.value is None or out.withheld or n is None or base is None:
                    continue
                lo, hi = out.value - out.half, out.value + out.half
                if kind == "rate":
                    if not any(c.withheld and c.count for c in (n, base)):
                        continue
                    rels.append(_linear([(s, n), (-lo, base)], 0.0, "rate"))
                    rels.append(_linear([(hi, base), (-s, n)], 0.0, "rate"))
                    continue
                j = _reference_row(table, i)
                if j is None:
                    continue
                rn, rb = render.at(table, j, x), render.at(table, j, b)
                if rn is None or rb is None or not any(c.withheld and c.count for c in (n, rn)):
                    continue
                if any(c.withheld or c.value is None for c in (base, rb)):
                    continue
                b_lo, b_hi = base.value - base.half, base.value + base.half
                r_lo, r_hi = rb.value - rb.half, rb.value + rb.half
                rels.append(_linear([(r_hi, n), (-max(lo, 0.0) * b_lo, rn)], 0.0, "ratio"))
                rels.append(_linear([(hi * b_hi, rn), (-r_lo, n)], 0.0, "ratio"))
    return [r for r in rels if r is not None]


def _extremes(vs, rows, rhs, eq, lo, hi, notes):
    """Min and max of each variable of ``vs`` under the rows (sparse, HiGHS). A variable that a
    solution already put at a bound needs no programme for that end."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    index = {v: j for j, v in enumerate(vs)}
    parts = {True: ([], [], [], []), False: ([], [], [], [])}  # data, row, column, rhs
    for terms, b, is_eq in zip(rows, rhs, eq, strict=True):
        data, at, col, bs = parts[is_eq]
        sign = 1.0 if is_eq else -1.0  # line . x >= b  ->  -line . x <= -b
        for v, a in terms.items():
            data.append(sign * a)
            at.append(len(bs))
            col.append(index[v])
        bs.append(sign * b)
    kw = {"method": "highs", "bounds": np.column_stack([lo[vs], hi[vs]])}
    for is_eq, (a, b) in ((True, ("A_eq", "b_eq")), (False, ("A_ub", "b_ub"))):
        data, at, col, bs = parts[is_eq]
        if bs:
            kw[a] = csr_matrix((data, (at, col)), shape=(len(bs), len(vs)))
            kw[b] = np.array(bs)
    low, high = lo[vs].copy(), hi[vs].copy()
    seen_lo, seen_hi = np.full(len(vs), np.inf), np.full(len(vs), -np.inf)
    for j in range(len(vs)):
        for sign in (1.0, -1.0):
            reached = seen_lo[j] <= low[j] + 1e-9 if sign > 0 else seen_hi[j] >= high[j] - 1e-9
            if reached:
                continue
            objective = np.zeros(len(vs))
            objective[j] = sign
            res = linprog(objective, **kw)
            if res.status != 0:
                notes.append(f"LP of {len(vs)} cells not solved ({res.message}); bounds kept")
                return lo[vs], hi[vs]
            seen_lo, seen_hi = np.minimum(seen_lo, res.x), np.maximum(seen_hi, res.x)
            if sign > 0:
                low[j] = res.fun
            else:
                high[j] = -res.fun
    return low, high


def solve_ranges(
    render: Render,
    uf: _UnionFind,
    relations: list[Relation],
    bounds: dict[int, Known],
    notes: list[str],
) -> dict[int, Known]:
    """Min and max of every withheld count under the relations (HiGHS LP), by class of
    cells known to be equal; a class with a shown cell is that number."""
    cells = render.cells
    withheld = render.withheld()
    classes = defaultdict(list)
    for c in cells:
        classes[uf.find(c.idx)].append(c)
    const = {}
    for root, members in classes.items():
        shown = [m.value for m in members if m.value is not None and not m.withheld and m.count]
        if shown:
            const[root] = shown[0]
    var_of = {}
    for c in withheld:
        root = uf.find(c.idx)
        if root not in const and root not in var_of:
            var_of[root] = len(var_of)
    nvar = len(var_of)
    lo = np.zeros(nvar)
    hi = np.full(nvar, float(render.upper))
    for c in withheld:
        root = uf.find(c.idx)
        if root in var_of and c.idx in bounds:
            v = var_of[root]
            lo[v] = max(lo[v], bounds[c.idx].lo)
            hi[v] = min(hi[v], bounds[c.idx].hi)
    rows, rhs, eq = [], [], []
    for rel in relations:
        terms, total = defaultdict(float), rel.rhs
        for i, a in rel.terms.items():
            root = uf.find(i)
            if root in var_of:
                terms[var_of[root]] += a
            elif root in const:
                total -= a * const[root]
            else:  # a cell neither shown nor a withheld count (e.g. [x]): relation unusable
                break
        else:
            terms = {v: a for v, a in terms.items() if abs(a) > 1e-12}
            if terms:
                rows.append(terms)
                rhs.append(total)
                eq.append(rel.sense == "==")
    # components of variables linked by relations
    comp = _UnionFind(nvar)
    for terms in rows:
        vs = list(terms)
        for v in vs[1:]:
            comp.union(vs[0], v)
    by_comp = defaultdict(list)
    for v in range(nvar):
        by_comp[comp.find(v)].append(v)
    rows_of = defaultdict(list)
    for r, terms in enumerate(rows):
        rows_of[comp.find(next(iter(terms)))].append(r)
    low, high = lo.copy(), hi.copy()
    for root, vs in by_comp.items():
        rs = rows_of.get(root, [])
        if not rs:
            continue
        low[vs], high[vs] = _extremes(vs, [rows[r] for r in rs], [rhs[r] for r in rs],
                                      [eq[r] for r in rs], lo, hi, notes)  # fmt: skip
    out = {}
    for c in withheld:
        root = uf.find(c.idx)
        if root in const:
            out[c.idx] = Known(int(round(const[root])), int(round(const[root])))
        else:
            v = var_of[root]
            out[c.idx] = _between(low[v], high[v])
    return out


# ------------------------------------------------------------------------------------------
# The attack on one render, and its score


ATTACKS = (
    "rate_x_base",
    "ratio_x_reference",
    "interval_inversion",
    "printed_elsewhere",
    "totals_and_parts",
)


def _knowledge_relations(render: Render) -> list[Relation]:
    """What the suppression log tells: a ``complement`` cell lies within k below its base."""
    rels = []
    for cell in render.withheld():
        if cell.rule != "complement":
            continue
        row = cell.table.rows[cell.row]
        base = next((render.at(cell.table, cell.row, b) for b in BASE_NAMES
                     if b in row and b != cell.column), None)  # fmt: skip
        if base is None:
            continue
        rels.append(_linear([(1.0, base), (-1.0, cell)], 1.0, "complement"))  # B - X >= 1
        rels.append(_linear([(-1.0, base), (1.0, cell)], -render.k, "complement"))  # X >= B - k
    return [r for r in rels if r is not None]


def _sound(render: Render, name: str, found: dict[int, Known]) -> dict[int, Known]:
    """Drop (and note) what an attack claims that the truth contradicts: the attacker's model
    of the publication was wrong there, so the claim says nothing about the protection."""
    out = {}
    for idx, known in found.items():
        cell = render.cells[idx]
        if cell.truth is not None and cell.truth not in known:
            render.notes.append(
                f"unsound {name}: {cell.where()} true {cell.truth:g} not in {known.describe()}"
            )
            continue
        out[idx] = known
    return out


def _sound_relations(render: Render, rels: list[Relation], name: str) -> list[Relation]:
    kept = []
    for rel in rels:
        if _truth_ok(render, rel, tol=1e-6) is False:
            render.notes.append(
                f"unsound {name} relation dropped: {rel.terms} {rel.sense} {rel.rhs}"
            )
            continue
        kept.append(rel)
    return kept


def _min_base(log: dict | None) -> int | None:
    """The minimum base the log states (the smallest, if it states several), if any."""
    value = (log or {}).get("min_base")
    values = list(value.values()) if isinstance(value, dict) else [value]
    values = [int(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return min(values) if values else None


def attack_render(render: Render, forces_of: dict[str, list[str]]) -> dict:
    """Every attack on every withheld count of ``render``; returns the score (a summary dict
    with the per-cell findings under ``cells``)."""
    attach_log(render)
    withheld = render.withheld()
    k, upper = render.k, int(render.upper)
    logged = all(r.log is not None for r in render.reports)
    prior = {}
    for c in withheld:
        prior[c.idx] = Known(0, upper)
        if c.truth is not None and c.truth > upper:
            render.notes.append(f"{c.where()}: true {c.truth:g} above the attacker's bound {upper}")
            prior[c.idx] = Known(0, int(c.truth) * 10)
    told = {}  # what the log tells of a cell by its rule
    for c in withheld:
        least = _min_base(c.table.report.log)
        if c.rule == "primary":
            told[c.idx] = prior[c.idx] & Known(1, k)
        elif c.rule == "min_base" and c.column in BASE_NAMES and least:
            told[c.idx] = prior[c.idx] & Known(0, least - 1)
    prior |= _sound(render, "log", told)
    per_attack: dict[str, dict[int, Known]] = {}
    rows = RowAttacks(render, dict(prior))
    formulas_of = {
        (r.name, t.sheet): rows.formulas(t)
        for r in render.reports
        for t in r.tables.values()
        if t.counts
    }
    for kind in ("rate_x_base", "ratio_x_reference", "interval_inversion"):
        per_attack[kind] = _sound(render, kind, rows.attack(formulas_of, {kind}))
    structure = Structure(render, forces_of)
    structure.build()
    relations = _sound_relations(render, structure.relations, "structure")
    knowledge = _sound_relations(render, _knowledge_relations(render), "log")
    per_attack["printed_elsewhere"] = _sound(
        render, "printed_elsewhere", solve_ranges(render, structure.uf, [], prior, render.notes)
    )
    per_attack["totals_and_parts"] = _sound(
        render,
        "totals_and_parts",
        solve_ranges(render, structure.uf, relations + knowledge, prior, render.notes),
    )
    # everything together, repeated while it learns
    rates = _sound_relations(render, rate_relations(render, formulas_of), "rate")
    known = dict(prior)
    for found in per_attack.values():
        for idx, kn in found.items():
            known[idx] = known[idx] & kn
    for _ in range(4):
        before = {i: kn.size() for i, kn in known.items()}
        lp = _sound(
            render,
            "combined LP",
            solve_ranges(render, structure.uf, relations + knowledge + rates, known, render.notes),
        )
        for idx, kn in lp.items():
            known[idx] = known[idx] & kn
        rows.known = known
        found = _sound(render, "row attacks", rows.attack(formulas_of, set(KIND_OF.values())))
        for idx, kn in found.items():
            known[idx] = known[idx] & kn
        if {i: kn.size() for i, kn in known.items()} == before:
            break
    return _score(render, withheld, known, per_attack, prior, structure, logged)


def _score(render, withheld, known, per_attack, prior, structure, logged) -> dict:
    k = render.k
    cells = []
    for c in withheld:
        kn = known[c.idx]
        t = c.truth
        # a primary cell is one whose true count is 1..k, whatever the log says (the log does
        # not tell which withheld counts are small; the attacker uses only what it says)
        primary = t is not None and 1 <= t <= k
        attacks = [a for a in ATTACKS if c.idx in per_attack[a]
                   and per_attack[a][c.idx].size() < prior[c.idx].size()]  # fmt: skip
        cells.append(
            {
                "cell": c.where(),
                "rule": c.rule,
                "truth": t,
                "known": kn.describe(),
                "size": kn.size(),
                "primary": primary,
                "recovered": kn.size() == 1 and bool(t),
                "recovered_zero": kn.size() == 1 and t == 0,
                "within_one": bool(t) and t is not None and kn.lo >= t - 1 and kn.hi <= t + 1,
                "narrowed": primary and not all(v in kn for v in range(1, k + 1)),
                "below_k": (not primary) and bool(t) and kn.size() < k,
                "attacks": attacks,
            }
        )
    attack_stats = {}
    for a in ATTACKS:
        found = per_attack[a]
        attack_stats[a] = {
            "narrowed": sum(
                1 for c in withheld if c.idx in found and found[c.idx].size() < prior[c.idx].size()
            ),
            "recovered": sum(
                1 for c in withheld if c.idx in found and found[c.idx].size() == 1 and c.truth
            ),
        }
    return {
        "render": render.name,
        "reports": [r.name for r in render.reports],
        "threshold": k,
        "suppression_json": logged,
        "attacked": len(withheld),
        "recovered_exactly": sum(c["recovered"] for c in cells),
        "recovered_zero": sum(c["recovered_zero"] for c in cells),
        "within_one": sum(c["within_one"] for c in cells),
        "primary": sum(c["primary"] for c in cells),
        "primary_narrowed": sum(c["narrowed"] for c in cells),
        "other_below_k": sum(c["below_k"] for c in cells),
        "attacks": attack_stats,
        "relations_kept": dict(structure.kept),
        "cells": cells,
    }


# ------------------------------------------------------------------------------------------
# Counts from 1 to k in plain sight


def visible_small_counts(render: Render) -> list[str]:
    """Every count cell (workbook) and count column of an HTML table printing 1..k."""
    k = render.k
    found = [
        f"{c.where()} = {c.text}"
        for c in render.cells
        if c.count and not c.withheld and c.value is not None and 1 <= c.value <= k
    ]
    for report in render.reports:
        for t in report.html_tables:
            twin = report.tables.get(t["sheet"])
            if twin is not None and twin.printed is not None:
                continue  # the workbook's cells, read above with the printed text
            from dispro.report.workbook import field_name

            header = [field_name(h) for h in t["header"]]  # plain-English labels to names
            for j, name in enumerate(header):
                values = [_number(r[j]) for r in t["rows"] if j < len(r)]
                if not is_count_column(name, [v for v in values if v is not None]):
                    continue
                for r in t["rows"]:
                    v = _number(r[j]) if j < len(r) else None
                    if v is not None and 1 <= v <= k:
                        found.append(
                            f"{report.name}.html:{t['sheet']}[{', '.join(r[:3])}].{name} = {r[j]}"
                        )
    return found


_NOUNS = (
    r"searches|searched|people|persons?|individuals|records|stops|suspects|defendants|"
    r"offenders|cases|disposals|charges|sentences|rows|men|women|children|arrests"
)
_WORDS = r"(?:(?:Asian|Black|Mixed|White|Other|Not stated|more|fewer|further|strip|person|vehicle|section 60)\s+){0,2}"
_NOT_PEOPLE = (
    r"area-years?|area-months?|months?|quarters?|years?|forces?|files?|chapters?|comparisons?|"
    r"groups?|tables?|sheets?|decimals?|days?|weeks?|degrees?|%|per cent"
)
_NUMBER = r"(?<![\d.,])(\d[\d,]*)(?![\d,]*\.\d)(?!%)"
_AFTER = r"(?<!every )(?<!ection )(?<!RRI of )(?<!side of )(?<!ratio of )(?<!index of )"
PROSE_PATTERNS = (
    # "3 searches", "2 Black people" (not "for every 100 White people", "section 60 searches")
    re.compile(rf"{_AFTER}{_NUMBER}\s+{_WORDS}(?:{_NOUNS})\b"),
    # "of 42" (not "an RRI of 1", "4 of 4 area-years")
    re.compile(
        rf"(?<!RRI )(?<!side )(?<!ratio )(?<!index )(?<!value )\bof\s+{_NUMBER}\b"
        rf"(?!\s*(?:{_NOT_PEOPLE}))"
    ),
    # "2 of 42"
    re.compile(rf"{_NUMBER}\s+(?:out\s+)?of\s+(?:the\s+)?\d[\d,]*\b(?!\s*(?:{_NOT_PEOPLE}))"),
)


def prose_counts(report: Report) -> list[tuple[int, str]]:
    """Numbers the HTML's prose (outside tables) states as counts: (number, the sentence)."""
    found = []
    for text in report.prose:
        for pattern in PROSE_PATTERNS:
            for m in pattern.finditer(text):
                value = int(m.group(1).replace(",", ""))
                start = max(0, m.start() - 60)
                found.append((value, "…" + text[start : m.end() + 30] + "…"))
    return found


def figure_problems(render: Render) -> list[str]:
    """Figures whose rows (``suppression.json``) are not in their table or hold a withheld cell."""
    problems = []
    for report in render.reports:
        if report.log is None:
            continue
        for fig in report.log.get("figures", []):
            table = report.tables.get(fig.get("sheet"))
            if table is None:
                problems.append(
                    f"{report.name}: figure {fig.get('caption')!r} names no published sheet {fig.get('sheet')!r}"
                )
                continue
            for want in fig.get("rows", []):
                rows = [
                    i
                    for i, r in enumerate(table.rows)
                    if i not in table.phantom and _row_matches(r, want)
                ]
                if not rows:
                    problems.append(
                        f"{report.name}: figure {fig.get('caption')!r} draws a row not in {table.sheet}: {want}"
                    )
                for i in rows:
                    hidden = [c for c in table.columns if str(table.rows[i].get(c)) == WITHHELD]
                    if hidden:
                        problems.append(
                            f"{report.name}: figure {fig.get('caption')!r} draws {table.sheet} row {want} "
                            f"whose {hidden} are withheld"
                        )
    return problems


def summary_lines(score: dict) -> list[str]:
    lines = [
        f"{score['render']}: {score['attacked']} withheld counts attacked; "
        f"{score['recovered_exactly']} recovered exactly (and {score['recovered_zero']} zeros), "
        f"{score['within_one']} within one; primary cells {score['primary']}, narrowed below "
        f"1..{score['threshold']}: {score['primary_narrowed']}; other cells below "
        f"{score['threshold']} values: {score['other_below_k']}; visible counts 1..k: "
        f"{score['visible_small_counts']} in tables, {score['prose_small_counts']} in prose; "
        f"figure problems {score['figure_problems']}; suppression.json "
        f"{'present' if score['suppression_json'] else 'MISSING'}"
    ]
    for a, st in score["attacks"].items():
        lines.append(f"    {a}: narrowed {st['narrowed']}, recovered alone {st['recovered']}")
    return lines
