"""Records to counts: :func:`aggregate`, the group-by pushed down to DuckDB, pandas or Ibis.

:func:`aggregate` reads CSV or parquet record files in a canonical schema (one file, a list or a
glob) and returns a counts table ``by..., events, base``, the shape every measure in dispro starts
from. With ``engine="duckdb"`` the records never enter pandas: DuckDB scans only the columns
needed and groups them; pandas only ever sees the counts. An Ibis table (DuckDB, Spark, a SQL
warehouse: :mod:`dispro.counts.ibis`) is counted on its own engine.

Every engine works in the same three steps, so they give identical counts, ledgers and errors:

1. **Scan** the files into *cells* (:mod:`dispro.counts._cells`): one row per distinct combination of the raw values of the
   columns needed (the ``by`` columns, the condition columns and the year-month of ``date``), with
   the number of records ``n``. Cells are small whatever the size of the records.
2. **Check** distinct values, not rows: codes against the code lists of the data standard, missing
   values, unparseable dates, each with its row count.
3. **Count** the cells into ``events`` and ``base`` after the exclusion rules, each recorded in the
   exclusions ledger.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import dictionary
from ..errors import ParameterError, check_choice
from . import ibis as ibis_engine
from ._cells import Plan, check_columns
from ._check import COUNT_COLUMNS, count
from .conditions import check_column_kind, is_period, parse
from .files import DuckDBCells, PandasCells, inspect, resolve_paths
from .periods import PERIODS

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_THRESHOLD_BYTES",
    "ENGINES",
    "PERIODS",
    "THRESHOLD_ENV",
    "aggregate",
]

ENGINES = ("auto", "pandas", "duckdb", "ibis")
#: ``engine="auto"`` uses DuckDB when the input files together are at least this large.
DEFAULT_THRESHOLD_BYTES = 256 * 2**20
THRESHOLD_ENV = "DISPRO_DUCKDB_THRESHOLD_BYTES"


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------


def _parse_by(by, fields: dict, dataset: str) -> list[str]:
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by) if isinstance(by, Sequence) else None
    if names is None or not all(isinstance(n, str) for n in names):
        raise ParameterError(
            f"`by` must be a column name or a list of column names, but {by!r} was passed"
        )
    seen = set()
    for name in names:
        if name in seen:
            raise ParameterError(f"`by` names {name!r} twice")
        seen.add(name)
        if name in COUNT_COLUMNS or name.startswith("__dispro"):
            raise ParameterError(
                f"`by` cannot name {name!r}: the result's count columns are {COUNT_COLUMNS}"
            )
        check_column_kind(name, fields, dataset, "by")
    return names


def _plan(dataset: str, by, events, at_risk) -> Plan:
    spec = dictionary.dataset(dataset)
    fields = {f["name"]: f for f in spec["fields"]}
    by = _parse_by(by, fields, dataset)
    ev = parse(events, "events", fields=fields, dataset=dataset)
    risk = parse(at_risk, "at_risk", fields=fields, dataset=dataset)
    plan = Plan(dataset, fields, by, ev, risk)
    for name in [*by, *(ev.columns if ev else []), *(risk.columns if risk else [])]:
        if is_period(name, fields):
            if name not in plan.periods:
                plan.periods.append(name)
        elif name not in plan.columns:
            plan.columns.append(name)
    plan.by_periods = [p for p in by if is_period(p, fields)]
    plan.boolean = {c for c in plan.columns if fields.get(c, {}).get("type") == "boolean"}
    for cond in (ev, risk):
        if cond is not None and cond.expr[0] == "in" and cond.expr[2] == ("true",):
            plan.boolean.add(cond.expr[1])  # a named True/False column, in the standard or not
    return plan


def _threshold(threshold_bytes) -> int:
    if threshold_bytes is None:
        raw = os.environ.get(THRESHOLD_ENV)
        if raw is None or raw.strip() == "":
            return DEFAULT_THRESHOLD_BYTES
        try:
            value = int(raw.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise ParameterError(
                f"the environment variable {THRESHOLD_ENV} must be a whole number of bytes "
                f"(0 or more), but {raw!r} is set"
            )
        return value
    if isinstance(threshold_bytes, bool) or not isinstance(threshold_bytes, int | np.integer):
        raise ParameterError(
            f"`threshold_bytes` must be a whole number of bytes, but {threshold_bytes!r} was passed"
        )
    if threshold_bytes < 0:
        raise ParameterError(
            f"`threshold_bytes` must be 0 or more, but {threshold_bytes} was passed"
        )
    return int(threshold_bytes)


# --------------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------------


def aggregate(
    source,
    *,
    dataset: str,
    by=None,
    events=None,
    at_risk=None,
    engine: str = "auto",
    dropna: bool = False,
    strict: bool = True,
    threshold_bytes: int | None = None,
) -> pd.DataFrame:
    """Count records in CSV or parquet files into ``by..., events, base``, in pandas or DuckDB.

    Parameters
    ----------
    source : str, path, list of them, or Ibis table
        A record file, a list of files, or a glob such as ``"data/*.parquet"`` (``**`` recurses);
        or an Ibis table on DuckDB, Spark or a SQL warehouse (:mod:`dispro.counts.ibis`), or a
        ``(connection, "table name")`` pair, counted on
        its engine by one ``GROUP BY``: only the cells come back, and the checks, ledger and
        counts are the same as for files.
        Files end in ``.csv``, ``.csv.gz`` or ``.parquet`` and may mix formats; their column names
        are those of ``data_dictionary/datasets/<dataset>.yaml``. CSV files are UTF-8 with a header
        row; a blank cell is a missing value (text such as ``NA`` is a value, not a blank).
    dataset : str
        The dataset the files hold (``stop_search``, ``disposals``, ``charging``,
        ``sentencing``): its field types and code lists drive the checks.
    by : str or list of str, optional
        Columns to count by: coded, text, whole-number or True/False columns of the files, or a
        period derived from ``date``: ``month`` (``"2024-03"``), ``quarter`` (calendar,
        ``"2024Q1"``), ``financial_year`` (April to March, ``"2023-24"``) or ``year``
        (``"2024"``). None counts all records in one row.
    events : str, dict or callable, optional
        Which records at risk are events, in the condition language of
        :mod:`dispro.counts.conditions`: the name of a True/False column (e.g. ``"arrest"``), a
        mapping ``{column: value or list of values}`` whose entries must all hold (e.g.
        ``{"outcome": ["arrest", "summons_charged"]}``; periods may be used too), or a function
        of an Ibis table returning an Ibis True/False expression (files are then read through
        Ibis on DuckDB). None makes every record at risk an event (``events == base``).
    at_risk : str or dict, optional
        Which records are at risk (the base), in the same forms as ``events``; default all.
        Records not at risk are excluded and counted in the exclusions ledger.
    engine : {"auto", "pandas", "duckdb", "ibis"}
        ``"duckdb"`` runs the group-by in DuckDB over the files, so records never enter pandas
        (memory stays small whatever the file size); ``"pandas"`` reads only the needed columns,
        a million rows at a time, and groups them in pandas; ``"auto"`` (default) uses DuckDB when
        the files together are at least ``threshold_bytes`` large (and DuckDB is installed: the
        ``duckdb`` extra); ``"ibis"`` reads the files through Ibis on DuckDB (an Ibis table always
        uses its own engine). All give identical results.
    dropna : bool
        Records at risk with a missing value in a ``by`` column, a missing or unparseable
        ``date`` (when a period is asked for), or a missing event or at-risk status raise an
        error unless ``dropna=True``; then they are excluded and counted in the ledger.
    strict : bool
        Values outside a column's code list raise an error (default). With ``strict=False`` they
        are kept as they are, with a :class:`~dispro.errors.DataQualityWarning` and a ledger entry.
    threshold_bytes : int, optional
        The size from which ``engine="auto"`` picks DuckDB. Default: the environment variable
        ``DISPRO_DUCKDB_THRESHOLD_BYTES`` if set, else 256 MiB.

    Returns
    -------
    DataFrame
        One row per combination of the ``by`` values present among the counted records, sorted by
        them, with columns:

        - the ``by`` columns, as text (periods as the labels above, True/False columns as
          ``"true"``/``"false"``);
        - ``events`` (int64): records at risk meeting the ``events`` condition;
        - ``base`` (int64): records at risk.

        ``attrs`` holds ``exclusions`` (the ledger, see :func:`dispro.ledger.exclusions`: one
        entry per rule applied, in order, even when it matched no records; action ``excluded``,
        or ``kept`` for values outside a code list kept with ``strict=False``), ``engine`` (the
        engine used), ``rows_in`` (records read), ``files`` (the files read), ``input_bytes``
        (their total size) and ``dataset``. Records read = ``base.sum()`` + the rows of the
        ledger entries whose action is ``excluded``.

    Raises
    ------
    DisproError
        No file matches the glob, a path does not exist or is a folder, a file is empty,
        unreadable or of an unknown format, or the files hold no records.
    ValidationError
        A needed column is missing from a file (each file and column named, with a did-you-mean);
        values outside a code list (with ``strict=True``), values of a True/False column that are
        neither, or missing values and unparseable dates (with ``dropna=False``). Every problem is
        listed at once, each value with its row count and the files it is in.
    ParameterError
        A bad ``dataset``, ``by``, ``events``, ``at_risk``, ``engine`` or ``threshold_bytes``, or a
        condition value that is neither a code nor present in the data (with a did-you-mean).

    Warns
    -----
    DataQualityWarning
        With ``strict=False``, when values outside a code list are kept.

    Notes
    -----
    The files are scanned once into *cells*: the distinct combinations of the raw values of the
    needed columns (and the month of ``date``) with their record counts. Every check then runs on
    distinct values, not rows, and the counts are sums over cells, so the work after the scan does
    not grow with the number of records. With DuckDB the scan is a single ``GROUP BY`` over
    ``read_csv``/``read_parquet`` of only the needed columns (CSV read as text); DuckDB runs with
    ``preserve_insertion_order=false``, as many threads as the process may use
    (``DISPRO_DUCKDB_THREADS``) and a memory limit of half the machine's memory
    (``DISPRO_DUCKDB_MEMORY_LIMIT``, e.g. ``"4GB"``), spilling to a temporary folder beyond it.
    Conditions become SQL with quoted identifiers and bound parameters: no value from the caller
    or the data is ever pasted into SQL text.

    Periods are taken from ``date`` in UTC: text with an offset (``+01:00``) is converted first,
    text without one is taken as UTC, so the police.uk dates (always ``+00:00``) keep the day they
    are written with. Dates must be ISO 8601 text (``YYYY-MM-DD``, optionally with
    ``THH:MM[:SS[.ffffff]]`` and ``Z`` or an offset) or parquet dates/timestamps.

    The exclusion rules are applied in this order, each record counted by the first that matches
    it: a missing at-risk status; not at risk; a missing date; an unparseable date; a missing
    value in each ``by`` column in turn; a missing event status. Values outside a code list are
    checked over all records (at risk or not) before any rule.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from dispro.counts import aggregate
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "searches.csv"
    >>> _ = path.write_text(
    ...     "date,force,ethnicity,arrest\\n"
    ...     "2024-03-31T23:10:00+00:00,Dorset,White,False\\n"
    ...     "2024-04-01T00:20:00+00:00,Dorset,Black,True\\n"
    ...     "2024-04-02T12:00:00+00:00,Dorset,White,True\\n"
    ...     "2024-05-09T08:30:00+00:00,Dorset,White,\\n"
    ... )
    >>> counts = aggregate(path, dataset="stop_search", by=["financial_year", "ethnicity"],
    ...                    events="arrest", dropna=True)
    >>> counts
      financial_year ethnicity  events  base
    0        2023-24     White       0     1
    1        2024-25     Black       1     1
    2        2024-25     White       1     1
    >>> from dispro.ledger import exclusions
    >>> print(exclusions(counts)[["rule", "rows"]].to_string(index=False))
                                                          rule  rows
                           records at risk with a missing date     0
                      records at risk with an unparseable date     0
                    records at risk with a missing 'ethnicity'     0
    records at risk with a missing event status (blank arrest)     1
    >>> counts.attrs["engine"], counts.attrs["rows_in"]
    ('pandas', 4)
    >>> tmp.cleanup()
    """
    check_choice("engine", engine, ENGINES)
    for name, value in (("dropna", dropna), ("strict", strict)):
        if not isinstance(value, bool | np.bool_):
            raise ParameterError(f"`{name}` must be True or False, but {value!r} was passed")
    plan = _plan(dataset, by, events, at_risk)
    source = ibis_engine.resolve(source)  # a (connection, table name) pair
    functions = [c.param for c in (plan.events, plan.at_risk) if c is not None and c.function]
    if functions and not ibis_engine.is_table(source):
        if engine not in ("auto", "ibis"):
            raise ParameterError(
                f"`{functions[0]}` is a function, which is evaluated on an Ibis table: pass "
                f"engine='ibis' (or 'auto') to read the files through Ibis on DuckDB, not "
                f"engine={engine!r}"
            )
        engine = "ibis"
    if ibis_engine.is_table(source) or engine == "ibis":
        if engine not in ("auto", "ibis"):
            raise ParameterError(
                f"an Ibis table is counted by the engine that holds it; pass engine='ibis' or "
                f"'auto', not {engine!r}"
            )
        table = source if ibis_engine.is_table(source) else ibis_engine.read(source)
        ibis_engine.check_table_columns(table, plan)
        cells = ibis_engine.IbisCells(table, plan)
        try:
            result = count(
                cells, plan, ibis_engine.table_label(table), False, dropna=dropna, strict=strict
            )
        finally:
            cells.close()
        result.attrs.update(
            {
                "engine": f"ibis-{cells.backend}",
                "files": [] if ibis_engine.is_table(source) else resolve_paths(source)[0],
                "dataset": dataset,
                "input_bytes": None,
            }
        )
        return result
    threshold = _threshold(threshold_bytes)
    paths, shown = resolve_paths(source)
    files = [inspect(p, plan) for p in paths]
    check_columns(files, plan)
    size = sum(os.path.getsize(p) for p in paths)
    big = size >= threshold and importlib.util.find_spec("duckdb") is not None  # an extra
    chosen = engine if engine != "auto" else ("duckdb" if big else "pandas")
    multi = len(paths) > 1
    cells = (DuckDBCells if chosen == "duckdb" else PandasCells)(files, plan, multi)
    try:
        result = count(cells, plan, shown, multi, dropna=dropna, strict=strict)
    finally:
        cells.close()
    result.attrs.update(
        {"engine": chosen, "files": list(paths), "dataset": dataset, "input_bytes": size}
    )
    return result
