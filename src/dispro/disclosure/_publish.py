"""The one door from a result to a report table, a figure or a workbook sheet
(:func:`publishable`), and what a table's counts count (:class:`Counts`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._linked import ALL
from ._markers import CONFIDENTIAL, NOT_AVAILABLE, TOTAL
from ._suppress import suppress

#: Columns published as counts when :func:`publishable` is given no ``counts``.
COUNT_COLUMNS = (
    "events", "base", "reference_events", "reference_base", "searches", "hits", "searches_total",
    "n", "n_minority", "n_reference", "count", "unknown_events", "events_missing_age",
)  # fmt: skip


@dataclass(frozen=True)
class Margins:
    """Where a long table's counts add up to totals that are published too.

    Within each ``by`` slice, the counts of the columns ``counts`` form a table of ``periods``
    (rows) by ``areas`` (columns) whose margins are published: the row totals are the rows of
    the area ``total`` (e.g. ``"Wessex"``, the sum of its forces) when the table has them, the
    column totals are each area's whole period (published in another table). Secondary
    suppression (:func:`suppress` with ``margins=True``) withholds further counts so that no
    withheld count can be worked out from those totals.
    """

    counts: tuple[str, ...]
    areas: str = "area"
    periods: str = "period"
    total: str | None = None
    by: tuple[str, ...] = ("group",)


def withheld_cells(
    table: pd.DataFrame,
    *,
    threshold: int,
    counts: Sequence[str],
    margins: Margins | None = None,
) -> dict[str, np.ndarray]:
    """Which counts of a table are withheld from publication, per count column.

    A count from 1 to ``threshold`` (primary suppression) and, with ``margins``, the further
    counts of ``margins.counts`` that :func:`suppress` withholds in each slice so that none can be
    worked out from the published totals (secondary suppression). Returns ``column -> boolean
    array`` on the table's rows (in order).
    """
    table = table.reset_index(drop=True)
    columns = dict.fromkeys([*counts, *(margins.counts if margins is not None else ())])
    out = {c: np.zeros(len(table), dtype=bool) for c in columns}
    if threshold <= 0 or table.empty:
        return out
    for c in out:
        out[c] |= pd.to_numeric(table[c], errors="coerce").between(1, threshold).to_numpy()
    if margins is None:
        return out
    by, areas, periods = list(margins.by), margins.areas, margins.periods
    slices = list(table.groupby(by, sort=False)) if by else [(None, table)]
    for c in margins.counts:
        for _, part in slices:
            body = part[part[areas] != margins.total]
            if not pd.to_numeric(body[c], errors="coerce").between(1, threshold).any():
                continue
            wide = body.pivot(index=periods, columns=areas, values=c).astype(float)
            hidden = suppress(wide, threshold=threshold, margins=True) == CONFIDENTIAL
            for i, row in part.iterrows():
                area = TOTAL if row[areas] == margins.total else row[areas]
                if area in hidden.columns and row[periods] in hidden.index:
                    out[c][i] |= bool(hidden.loc[row[periods], area])
    return out


@dataclass(frozen=True)
class Counts:
    """What the count columns of a table count: the cells of :func:`dispro.disclosure.solve_linked`.

    Parameters
    ----------
    measures : mapping
        Count column -> the measure it counts (e.g. ``{"events": "searches"}``); a template
        filled from the row (``"{stage}:base"``). Only the columns named here are counts.
    fixed : mapping
        Count column -> dimensions fixed for it (``{"unknown_events": {"group": "Not stated"}}``).
    only : mapping
        Count column -> ``(column, values)``: the column is a count only on rows whose
        ``column`` is one of ``values`` (elsewhere it is, e.g., a population).
    complements : mapping
        Events column -> its base column: base = events + the rest, and a rest from 1 to the
        threshold withholds the events (rule ``complement``); a base below ``min_base``
        withholds the rate (rule ``min_base``).
    population : str, optional
        A column of residents (or person-years, with ``months_covered``) that a rate is per:
        fewer than ``min_population`` withholds the rate (rule ``min_base``); on the rows where
        the column is not a count (see ``only``). It is public (the Census), so it is never
        withheld as a value derived from a withheld count.
    partitions : mapping
        Measure -> lists of measures it is the sum of (e.g. the rows a file held = the rows
        kept + the rows of each exclusion), beside the report's own.
    depends : list of mappings
        Cells the row's values rest on without showing them (a change between two quarters
        rests on each quarter's counts): each a mapping of dimensions (``measure``, ``area``,
        ``period``, ``group``, ``officer_group``) to templates filled from the row (and
        ``{reference}``); a row resting on a withheld cell, or on a period holding one, is
        withheld (rule ``derived``).
    derived_from : list of str
        The count columns the row's other values are worked out from (default: every count
        column); a withheld count elsewhere in the row (e.g. the searches left out of a hit
        rate) leaves them shown.
    area, period, group, officer_group : str, optional
        The columns naming each dimension (default: ``area`` or ``force``, ``period``,
        ``group``, ``officer_group`` where the table has them; else the report's area and
        period, and every group).
    """

    measures: Mapping[str, str]
    fixed: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    only: Mapping[str, tuple] = field(default_factory=dict)
    complements: Mapping[str, str] = field(default_factory=dict)
    population: str | None = None
    partitions: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)
    depends: Sequence[Mapping[str, str]] = ()
    derived_from: Sequence[str] = ()
    area: str | None = None
    period: str | None = None
    group: str | None = None
    officer_group: str | None = None

    def to_dict(self) -> dict:
        return {
            "measures": dict(self.measures),
            "fixed": {k: dict(v) for k, v in self.fixed.items()},
            "only": {k: [v[0], list(v[1])] for k, v in self.only.items()},
            "complements": dict(self.complements),
            "population": self.population,
            "partitions": {k: [list(p) for p in v] for k, v in self.partitions.items()},
            "depends": [dict(d) for d in self.depends],
            "derived_from": list(self.derived_from),
            "area": self.area,
            "period": self.period,
            "group": self.group,
            "officer_group": self.officer_group,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Counts:
        d = dict(d)
        d["only"] = {k: (v[0], tuple(v[1])) for k, v in (d.get("only") or {}).items()}
        return cls(**d)

    def columns(self, table: pd.DataFrame) -> dict[str, str | None]:
        """The column naming each dimension in ``table`` (None: the report's own)."""

        def pick(given, *names):
            if given is not None:
                return given
            return next((n for n in names if n in table.columns), None)

        return {
            "area": pick(self.area, "area", "force"),
            "period": pick(self.period, "period"),
            "group": pick(self.group, "group"),
            "officer_group": pick(self.officer_group, "officer_group"),
        }


_QUARTER = re.compile(r"^(\d{4})\s*Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def period_months(label) -> tuple[int, int]:
    """The first and last month (``year * 12 + month - 1``) of a period label: ``2023Q2``,
    ``2023-04``, ``2021-04 to 2024-03`` (or a pandas Period of a month or quarter)."""
    if isinstance(label, pd.Period):
        return (
            label.start_time.year * 12 + label.start_time.month - 1,
            label.end_time.year * 12 + label.end_time.month - 1,
        )
    text = str(label).strip()
    if m := _QUARTER.match(text):
        first = int(m.group(1)) * 12 + 3 * (int(m.group(2)) - 1)
        return first, first + 2
    if m := _MONTH.match(text):
        month = int(m.group(1)) * 12 + int(m.group(2)) - 1
        return month, month
    if " to " in text:
        start, end = (period_months(p) for p in text.split(" to ", 1))
        return start[0], end[1]
    raise ValueError(f"cannot read the period {text!r} (use 2023Q2, 2023-04 or 2021-04 to 2024-03)")


def cell_keys(table: pd.DataFrame, counts: Counts, *, area: str, period: str) -> dict[str, list]:
    """The key of each count of ``table`` (count column -> one key or None per row): (measure,
    area, (first month, last month), group, officer group), the report's ``area`` and
    ``period`` where the table names none."""
    table = table.reset_index(drop=True)
    dims = counts.columns(table)
    records = table.to_dict("records")
    out: dict[str, list] = {}
    for column, template in counts.measures.items():
        if column not in table.columns:
            continue
        fixed = counts.fixed.get(column, {})
        only = counts.only.get(column)
        keys = []
        for row in records:
            if only is not None and row.get(only[0]) not in only[1]:
                keys.append(None)
                continue

            def value(dim, default, row=row, fixed=fixed):
                if dim in fixed:
                    return fixed[dim]
                col = dims[dim]
                return default if col is None else row[col]

            keys.append((
                template.format_map({k: v for k, v in row.items() if isinstance(k, str)}),
                str(value("area", area)),
                period_months(value("period", period)),
                str(value("group", ALL)),
                str(value("officer_group", ALL)),
            ))  # fmt: skip
        out[column] = keys
    return out


#: Columns that derive from the counts of their row: every float and every yes/no column.
def _derived_columns(table: pd.DataFrame, count_cols: Sequence[str]) -> list[str]:
    return [
        c
        for c in table.columns
        if c not in count_cols
        and (
            pd.api.types.is_float_dtype(table[c])
            or pd.api.types.is_bool_dtype(table[c])
            or str(table[c].dtype) == "boolean"
        )
    ]


#: Label columns quoted in the suppression log (the row's identity, never a value).
def _labels(table: pd.DataFrame, count_cols, derived) -> list[str]:
    skip = {"status", "note", "notes", *count_cols, *derived}
    return [
        c for c in table.columns if c not in skip and not pd.api.types.is_numeric_dtype(table[c])
    ]


def publishable(
    table: pd.DataFrame,
    *,
    threshold: int,
    counts: Counts | Sequence[str] | None = None,
    margins: Margins | None = None,
    reference: str | None = None,
    group: str = "group",
    decimals: int = 2,
    withheld: Mapping | None = None,
    area: str = "",
    period: str = "",
    min_base: int = 20,
    min_population: int = 100,
) -> pd.DataFrame:
    """A result table as it may be published: the only door to a report table, figure or sheet.

    Parameters
    ----------
    table : DataFrame
        A result table (counts, rates, ratios, intervals, ``status``...).
    threshold : int
        Counts from 1 to ``threshold`` are withheld (primary suppression); 0 withholds none.
    counts : Counts or list of str, optional
        What the count columns count (:class:`Counts`), or just their names (default: those of
        :data:`COUNT_COLUMNS` the table has).
    margins : Margins, optional
        The table's counts add up to totals published in the same table: further counts are
        withheld (:func:`withheld_cells`).
    reference : str, optional
        The reference group: a reference row whose counts are withheld (or whose base is too
        small) withholds the ratios of every row of its slice (same area and period).
    group : str
        The column naming the groups.
    decimals : int
        Decimals shown for floats.
    withheld : mapping, optional
        Cell key -> rule: the counts withheld across every table of the report (and batch)
        (:func:`dispro.disclosure.solve_linked`); needs ``counts`` as :class:`Counts`.
    area, period : str
        The report's area and period, for tables that name none (with ``withheld``).
    min_base, min_population : int
        A rate or share over fewer people at risk (a count base), or per fewer residents, is
        withheld (rule ``min_base``); 0 turns the rule off.

    Returns
    -------
    DataFrame
        Text (dtype object): counts with thousands separators, or ``[c]`` where withheld;
        every value derived from the counts of a row (floats, yes/no) ``[c]`` where the row has
        a withheld count, its reference row does, or its base is too small; ``[x]`` where a value
        is missing. On a fresh index. ``attrs["log"]``: one entry per withheld cell (its labels,
        column and rule, never its value).

    Notes
    -----
    The rules, in order (METHODS.md section 2): primary (1 to ``threshold``); complement
    (base - events from 1 to ``threshold``); secondary (``margins`` within the table, and
    ``withheld`` across tables and reports); derived (every float of a row with a withheld
    count); reference (the ratios of a slice whose reference row is withheld); minimum base.
    """
    out = table.reset_index(drop=True).copy()
    spec = counts if isinstance(counts, Counts) else None
    if spec is not None:
        names = tuple(c for c in spec.measures if c in out.columns)
    else:
        names = COUNT_COLUMNS if counts is None else tuple(counts)
    count_cols = [c for c in out.columns if c in names]
    n = len(out)
    rule = {c: np.full(n, "", dtype=object) for c in count_cols}
    if spec is not None and spec.only:
        for c, (col, values) in spec.only.items():
            if c in rule:  # not a count on the other rows: never withheld as one
                rule[c][~out[col].isin(values).to_numpy()] = "-"
    if threshold > 0:
        for c in count_cols:
            num = pd.to_numeric(out[c], errors="coerce")
            rule[c][(num.between(1, threshold).to_numpy()) & (rule[c] == "")] = "primary"
        if spec is not None:
            for events, base in spec.complements.items():
                if events in rule and base in out.columns:
                    rest = pd.to_numeric(out[base], errors="coerce") - pd.to_numeric(
                        out[events], errors="coerce"
                    )
                    small = rest.between(1, threshold).to_numpy() & (rule[events] == "")
                    if base in rule:  # a base withheld already protects its rest
                        small &= rule[base] == ""
                    rule[events][small] = "complement"
        if margins is not None:
            more = withheld_cells(out, threshold=threshold, counts=count_cols, margins=margins)
            for c, mask in more.items():
                if c in rule:
                    rule[c][mask & (rule[c] == "")] = "secondary"
        if withheld and spec is not None:
            for c, keys in cell_keys(out, spec, area=area, period=period).items():
                for i, key in enumerate(keys):
                    if key is not None and key in withheld and rule[c][i] == "":
                        rule[c][i] = withheld[key]
    for c in count_cols:  # withheld upstream
        upstream = out[c].astype(object).eq(CONFIDENTIAL).to_numpy() & (rule[c] == "")
        rule[c][upstream] = "primary"
    hidden = {c: (r != "") & (r != "-") for c, r in rule.items()}
    # a declared population (residents, person-years) is public (the Census), not worked out
    # from the counts: it is shown on every row
    derived = [c for c in _derived_columns(out, count_cols) if spec is None or c != spec.population]
    row_rule = np.full(n, "", dtype=object)
    basis = [c for c in count_cols if spec is None or not spec.derived_from
             or c in spec.derived_from]  # fmt: skip
    any_hidden = np.logical_or.reduce([hidden[c] for c in basis] or [np.zeros(n, bool)])
    row_rule[any_hidden] = "derived"
    if spec is not None and n:
        small = np.zeros(n, dtype=bool)
        if min_base:
            for _events, base in spec.complements.items():
                if base in out.columns:
                    b = pd.to_numeric(out[base], errors="coerce").to_numpy(dtype=float)
                    if base in spec.only:
                        col, values = spec.only[base]
                        b = np.where(out[col].isin(values).to_numpy(), b, np.nan)
                    small |= b < min_base
        if min_population and spec.population in out.columns:
            pop = pd.to_numeric(out[spec.population], errors="coerce").to_numpy(dtype=float)
            if "months_covered" in out.columns:
                months = pd.to_numeric(out["months_covered"], errors="coerce").to_numpy(float)
                pop = np.where(months > 0, pop * 12 / np.where(months > 0, months, 1), pop)
            if spec.population in spec.only:  # a count on those rows: min_base applies there
                col, values = spec.only[spec.population]
                pop = np.where(out[col].isin(values).to_numpy(), np.nan, pop)
            small |= pop < min_population
        row_rule[small & (row_rule == "")] = "min_base"
    if reference is not None and group in out.columns and n:
        slice_cols = _slice_columns(out, spec, margins, group)
        is_ref = (out[group] == reference).to_numpy()
        bad_ref = is_ref & (row_rule != "")
        if bad_ref.any():
            keys = pd.MultiIndex.from_frame(out[slice_cols].astype(str)) if slice_cols else None
            if keys is None:
                of_bad = np.full(n, True)
            else:
                bad = set(keys[bad_ref])
                of_bad = np.array([k in bad for k in keys])
            no_base = (
                (out["status"] == "no_base").to_numpy()
                if "status" in out
                else np.zeros(n, dtype=bool)
            )
            row_rule[of_bad & (row_rule == "") & ~no_base] = "reference"
    if withheld and spec is not None and spec.depends and n:
        within = _by_slice(withheld)
        rests = _depends_on(out, spec, area=area, period=period, reference=reference)
        for i, keys in enumerate(rests):
            if row_rule[i] == "" and any(_rests_on_withheld(k, within) for k in keys):
                row_rule[i] = "derived"
    hide_row = row_rule != ""
    if "status" in out.columns:
        hide_row |= (out["status"] == "suppressed").to_numpy()
        out.loc[(row_rule != "") & (row_rule != "min_base"), "status"] = "suppressed"
        out.loc[row_rule == "min_base", "status"] = "base_too_small"
    log = _log(out, count_cols, derived, rule, row_rule)
    for c in out.columns:
        is_count = c in count_cols
        out[c] = _published_column(
            out[c], is_count, hidden.get(c), hide_row if c in derived else None, decimals
        )
    out.attrs = {"log": log}
    return out


def _by_slice(withheld: Mapping) -> dict:
    """The withheld cells' periods by (measure, area, group, officer group)."""
    out: dict = {}
    for m, a, p, g, o in withheld:
        out.setdefault((m, a, g, o), []).append(p)
    return out


def _rests_on_withheld(key: tuple, within: dict) -> bool:
    """Whether the cell ``key`` is withheld, or a withheld cell lies within its period (a
    value resting on a run of months rests on every month of it)."""
    m, a, (first, last), g, o = key
    groups = {k[2] for k in within} if g == ALL else {g}
    for group in groups:
        for p in within.get((m, a, group, o), ()):
            if first <= p[0] and p[1] <= last:
                return True
    return False


def _depends_on(table, spec: Counts, *, area, period, reference) -> list[list[tuple]]:
    """The keys of the cells each row rests on (:attr:`Counts.depends`)."""
    dims = spec.columns(table)
    out = []
    for row in table.to_dict("records"):
        fill = {k: v for k, v in row.items() if isinstance(k, str)} | {"reference": reference}
        keys = []
        for d in spec.depends:

            def value(dim, default, d=d, row=row, fill=fill):
                if dim in d:
                    return str(d[dim]).format_map(fill)
                col = dims[dim]
                return default if col is None else row[col]

            keys.append((
                value("measure", ""), str(value("area", area)),
                period_months(value("period", period)), str(value("group", ALL)),
                str(value("officer_group", ALL)),
            ))  # fmt: skip
        out.append(keys)
    return out


def _slice_columns(out, spec, margins, group) -> list[str]:
    """The columns that, with the group, name a row: its area, period and any other label."""
    if margins is not None:
        return [margins.areas, margins.periods]
    dims = spec.columns(out) if spec is not None else {}
    cols = [c for c in (dims.get("area"), dims.get("period")) if c]
    if not cols:
        cols = [c for c in ("area", "force", "period") if c in out.columns]
    return cols


def _log(out, count_cols, derived, rule, row_rule) -> list[dict]:
    labels = _labels(out, count_cols, derived)
    entries = []
    for i in np.flatnonzero(
        np.logical_or.reduce(
            [(rule[c] != "") & (rule[c] != "-") for c in count_cols] + [row_rule != ""]
        )
        if (count_cols or len(out))
        else np.zeros(0, dtype=bool)
    ):
        row = {c: str(out.at[i, c]) for c in labels}
        for c in count_cols:
            if rule[c][i] not in ("", "-"):
                entries.append({"row": row, "column": c, "rule": str(rule[c][i])})
        if row_rule[i] and derived:
            entries.append({"row": row, "column": "*", "rule": str(row_rule[i])})
    return entries


def _published_column(col: pd.Series, is_count: bool, withheld, hide_row, decimals: int):
    if is_count:
        num = pd.to_numeric(col, errors="coerce")
        text = num.map(
            lambda v: (
                NOT_AVAILABLE
                if pd.isna(v)
                else f"{int(round(v)):,}"
                if float(v).is_integer()
                else f"{v:,.1f}"
            )
        )
        if withheld is not None:
            text[withheld] = CONFIDENTIAL
        text[col.astype(object).eq(CONFIDENTIAL).to_numpy()] = CONFIDENTIAL  # withheld upstream
        return text.astype(object)
    if pd.api.types.is_float_dtype(col):
        text = col.map(lambda v: NOT_AVAILABLE if pd.isna(v) else f"{v:,.{decimals}f}")
        if hide_row is not None:
            text[hide_row] = CONFIDENTIAL
        return text.astype(object)
    if pd.api.types.is_bool_dtype(col) or str(col.dtype) == "boolean":
        text = col.map(lambda v: NOT_AVAILABLE if pd.isna(v) else ("yes" if v else "no"))
        if hide_row is not None:
            text[hide_row] = CONFIDENTIAL
        return text.astype(object)
    return col.map(
        lambda v: NOT_AVAILABLE if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    ).astype(object)
