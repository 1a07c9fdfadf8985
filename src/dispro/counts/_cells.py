"""The cell-table protocol shared by the scanners of :func:`dispro.counts.aggregate`.

A scanner (pandas or DuckDB over files, Ibis over a table) reads the records once into *cells*:
one row per distinct combination of the raw values of the columns needed (the ``by`` columns,
the condition columns and the month key of ``date``), with the number of records ``N``. After
the scan every step runs on the cells, through three queries that each scanner answers:

- ``sums(exprs)``: the number of records where each condition tree holds;
- ``distinct(columns, where)``: the distinct values of ``columns`` where a tree holds, with
  their number of records (column ``rows``);
- ``counts(by, keep, event)``: ``events`` and ``base`` per combination of ``by`` among the
  records where ``keep`` holds;

and ``close()``. :class:`FrameCells` answers them on a pandas frame of cells (the pandas and
Ibis scanners); the DuckDB scanner answers them in SQL on a temporary table of the same shape.
The column names, the plan of what to scan and the checks of the columns present live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ParameterError, ValidationError, did_you_mean
from .conditions import FALSE_SPELLINGS, TRUE_SPELLINGS, Condition, is_period, mask
from .periods import PERIODS, coarsest

#: The number of records of each cell.
N = "__dispro_n"
#: The month key of ``date`` (``year * 12 + month - 1``, UTC), bucketed to the plan's period.
YM = "__dispro_ym"
#: The raw text of an unparseable date.
BAD_DATE = "__dispro_bad_date"
#: The file a cell's records came from (when several files are read).
FILE = "__dispro_file"
WS = " \t\r\n"


@dataclass
class File:
    """A record file (or a table, ``format="table"``) and the columns it has."""

    path: str
    format: str  # "csv", "parquet" or "table"
    columns: list[str]
    date_kind: str | None = None  # "text", "timestamp" (naive or a date) or "timestamptz"


@dataclass
class Plan:
    """What :func:`dispro.counts.aggregate` scans: the parsed parameters and the columns needed."""

    dataset: str
    fields: dict
    by: list[str]
    events: Condition | None
    at_risk: Condition | None
    columns: list[str] = field(default_factory=list)  # raw columns to scan (not date)
    boolean: set[str] = field(default_factory=set)  # of those, the True/False ones
    periods: list[str] = field(default_factory=list)  # derived periods used anywhere
    by_periods: list[str] = field(default_factory=list)  # derived periods in `by`

    @property
    def need_date(self) -> bool:
        return bool(self.periods)

    @property
    def bucket(self) -> str:
        """The coarsest period that every period asked for is made of (fewer cells to group)."""
        return coarsest(self.periods)


def normalise(values: pd.Series, boolean: bool) -> pd.Series:
    """Blank text is missing; for True/False columns every spelling becomes 'true' or 'false'."""
    out = values.astype(object).copy()
    text = out.dropna()
    stripped = text.map(lambda v: v.strip(WS))
    out[text.index[stripped.eq("").to_numpy()]] = None
    if boolean:
        low = stripped.str.lower()
        out[low.index[low.isin(TRUE_SPELLINGS).to_numpy()]] = "true"
        out[low.index[low.isin(FALSE_SPELLINGS).to_numpy()]] = "false"
    return out.where(out.notna(), None)


def check_columns(files: list[File], plan: Plan) -> None:
    """Every file has every column needed; otherwise one error naming each file and column."""
    needed = {c: "by" for c in plan.by if not is_period(c, plan.fields)}
    for cond in (plan.events, plan.at_risk):
        if cond is not None:
            for c in cond.columns:
                if not is_period(c, plan.fields):
                    needed.setdefault(c, f"in `{cond.param}`")
    if plan.need_date:
        needed.setdefault("date", f"for the period {plan.periods[0]!r}")
    problems = []
    for column, role in needed.items():
        lacking = [f for f in files if column not in f.columns]
        if not lacking:
            continue
        first = lacking[0]
        hint = did_you_mean(column, first.columns)
        where = (
            first.path
            if len(lacking) == 1
            else (
                f"{len(lacking)} of {len(files)} files, e.g. "
                + ", ".join(f.path for f in lacking[:3])
            )
        )
        given = f"given as `{role}`" if role == "by" else role
        if column in plan.fields or column == "date":
            problems.append(f"column {column!r} ({given}) is not in {where}{hint}")
        else:
            known = [*plan.fields, *PERIODS, *first.columns]
            raise ParameterError(
                f"column {column!r} ({given}) is neither in the {plan.dataset} standard nor in "
                f"{where}{did_you_mean(column, known)}"
            )
    if problems:
        raise ValidationError(
            "the record files lack columns that the aggregation needs:\n  - "
            + "\n  - ".join(problems)
            + f"\nColumn names are those of data_dictionary/datasets/{plan.dataset}.yaml."
        )


class FrameCells:
    """The protocol's three queries answered on a pandas frame of cells (``self.cells``)."""

    name = "pandas"
    cells: pd.DataFrame

    def close(self) -> None:
        self.cells = None

    def sums(self, exprs: list) -> list[int]:
        n = self.cells[N].to_numpy()
        return [int(n[mask(e, self.cells)].sum()) for e in exprs]

    def distinct(self, columns: list[str], where) -> pd.DataFrame:
        sub = self.cells.loc[mask(where, self.cells)]
        return sub.groupby(columns, dropna=False, sort=False)[N].sum().reset_index(name="rows")

    def counts(self, by: list[str], keep, event) -> pd.DataFrame:
        kept = self.cells.loc[mask(keep, self.cells)]
        frame = pd.DataFrame({c: kept[c] for c in by})
        frame["events"] = np.where(mask(event, kept), kept[N].to_numpy(), 0)
        frame["base"] = kept[N].to_numpy()
        if not by:
            return pd.DataFrame({"events": [frame["events"].sum()], "base": [frame["base"].sum()]})
        return frame.groupby(by, sort=False)[["events", "base"]].sum().reset_index()
