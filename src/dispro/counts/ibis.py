"""Records where they live: the records-to-counts step as one Ibis expression on any engine.

National and multi-year records sit in warehouses and Spark clusters, not in files on a laptop.
Everything dispro measures starts from counts, so only the step from records to counts has to
run where the records are. This module writes that step once, as an `Ibis
<https://ibis-project.org>`_ expression, and lets Ibis compile it for the engine that holds the
table: DuckDB by default, Spark, or a SQL warehouse (Postgres, BigQuery, Snowflake, Trino...).

Wherever dispro accepts records it also accepts an Ibis table:

- :func:`dispro.counts.aggregate` (records to ``by..., events, base`` with the code-list checks
  and the exclusions ledger),
- :func:`dispro.counts.count_events` and :func:`dispro.rri_from_records`,
- :func:`dispro.models.logistic` (the model is fitted on the collapsed cells the engine returns).

In each case a single ``GROUP BY`` runs on the engine and only counts (one row per distinct
combination of the values needed, with its number of records) come back to Python; the records
never do. A table is obtained from a connection (``con.table("stop_search")``), from
:func:`table` (a connection URL and a table name, credentials from the environment), or from
files with :func:`read` (DuckDB).

Connecting to a cluster or warehouse
------------------------------------
Credentials never go into a configuration file. :func:`connect` takes a URL without secrets
(``"pyspark://"``, ``"postgres://analyst@warehouse.example.org/cjs"``, ``"trino://..."``) or
reads it from the environment variable ``DISPRO_IBIS_URL``; the password or token is read by the
backend's own driver from its usual environment variables (e.g. ``PGPASSWORD`` for Postgres,
``GOOGLE_APPLICATION_CREDENTIALS`` for BigQuery). For Spark, pass an existing ``SparkSession``
(``ibis.pyspark.connect(session)``); its master URL comes from ``spark-submit`` or
``SPARK_REMOTE``. See ``docs/engines.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DisproError, ParameterError, did_you_mean
from ._cells import BAD_DATE, YM, File, FrameCells, N, Plan, check_columns, normalise
from .conditions import to_ibis
from .files import file_format, resolve_paths
from .periods import bucket, labels, parse_dates

__all__ = [
    "URL_ENV",
    "IbisCells",
    "backend_name",
    "check_table_columns",
    "connect",
    "count_cells",
    "is_table",
    "model_cells",
    "read",
    "resolve",
    "table",
]

#: The environment variable that :func:`connect` reads when no URL is given.
URL_ENV = "DISPRO_IBIS_URL"

#: The column of :func:`count_cells` holding the number of records of each cell.
COUNT = "__dispro_records"
# the two usual date layouts, parsed on the engine; any other text comes back (grouped) and is
# parsed in Python with the same rules as the other engines
_FAST_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+00:00|Z)?)?$"


def is_table(obj) -> bool:
    """Whether ``obj`` is an Ibis table expression (without importing Ibis if it is not loaded).

    >>> is_table([1, 2])
    False
    """
    return type(obj).__module__.startswith("ibis.") and hasattr(obj, "schema")


def resolve(obj):
    """``obj``, or the table it names: a ``(connection, "table name")`` pair becomes that Ibis table.

    >>> resolve([1, 2])
    [1, 2]
    """
    if (
        isinstance(obj, tuple)
        and len(obj) == 2
        and isinstance(obj[1], str)
        and type(obj[0]).__module__.startswith("ibis.backends")
    ):
        return table(obj[1], obj[0])
    return obj


def _ibis():
    try:
        import ibis
    except ImportError as exc:  # an extra, not in the core install
        raise DisproError(
            "reading records through Ibis (a database, Spark, or files with engine='ibis') needs "
            "Ibis, which is not installed: pip install 'dispro-cjs[ibis]' (or "
            "'dispro-cjs[spark]' for Spark)"
        ) from exc
    return ibis


def connect(url: str | None = None, **kwargs):
    """An Ibis connection from a URL without secrets, or from ``DISPRO_IBIS_URL``.

    ``"duckdb://"`` (the default when neither is given) is an in-memory DuckDB;
    ``"duckdb:///path/file.duckdb"`` a DuckDB file; other schemes go to :func:`ibis.connect`
    (``pyspark://``, ``postgres://user@host/db``, ``trino://...``), whose drivers read passwords
    and tokens from their own environment variables. ``kwargs`` go to the backend.
    """
    ibis = _ibis()
    url = url or os.environ.get(URL_ENV, "").strip() or "duckdb://"
    if re.match(r"^[a-z0-9+]+://[^/@\s]*:[^/@\s]+@", url):
        raise ParameterError(
            "the connection URL holds a password; leave it out and set it in the environment "
            "variable the backend reads (e.g. PGPASSWORD), so that it never lands in a file"
        )
    if url.startswith("duckdb://"):
        path = url.removeprefix("duckdb://")
        con = ibis.duckdb.connect(path or ":memory:", **kwargs)
        con.raw_sql("SET TimeZone = 'UTC'")
        return con
    if url.startswith("pyspark://"):
        from pyspark.sql import SparkSession

        session = SparkSession.builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
        return ibis.pyspark.connect(session, **kwargs)
    return ibis.connect(url, **kwargs)


def table(name: str, con=None, *, database=None):
    """The Ibis table ``name`` on ``con`` (default: :func:`connect` from ``DISPRO_IBIS_URL``)."""
    if not isinstance(name, str) or not name:
        raise ParameterError(f"`name` must be a table name, but {name!r} was passed")
    con = con if con is not None else connect()
    try:
        return con.table(name, database=database)
    except Exception as exc:  # each backend raises its own type
        raise DisproError(f"cannot open the table {name!r} on {backend_name(con)}: {exc}") from exc


def read(source, con=None):
    """Record files (CSV or parquet, a path, list or glob) as an Ibis table on DuckDB.

    CSV columns are read as text, as :func:`dispro.counts.aggregate` reads them.
    """
    paths, _ = resolve_paths(source)
    con = con if con is not None else connect("duckdb://")
    kinds = {file_format(p) for p in paths}
    if len(kinds) > 1:
        raise ParameterError("`read` takes CSV or parquet files, not a mix of the two")
    if kinds == {"csv"}:
        return con.read_csv(paths, all_varchar=True)
    return con.read_parquet(paths)


def backend_name(obj) -> str:
    """``"duckdb"``, ``"pyspark"``, ... for an Ibis table or connection."""
    try:
        con = obj._find_backend() if is_table(obj) else obj
        return str(con.name)
    except Exception:  # an unbound table
        return "unbound"


def _execute(expr, what: str) -> pd.DataFrame:
    try:
        out = expr.to_pyarrow().to_pandas()
    except Exception as exc:  # each backend raises its own type
        raise DisproError(f"the {backend_name(expr)} engine failed counting {what}: {exc}") from exc
    return out


# --------------------------------------------------------------------------------------------
# aggregate(): the cells of an Ibis table
# --------------------------------------------------------------------------------------------


def _text(col):
    return col if col.type().is_string() else col.cast("string")


def _date_keys(col, period: str):
    """``(ym, text)``: the bucket of the date where the engine can tell it, else its raw text.

    For date and timestamp columns ``ym`` is ``{name: year, name: month}`` (grouped as they are,
    bucketed on the cells) and ``text`` is None.
    """
    ibis = _ibis()
    kind = col.type()
    if kind.is_timestamp() or kind.is_date():
        # year and month as they are: the bucket is taken on the (few) cells in stage 2
        return {"__dispro_y": col.year(), "__dispro_m": col.month()}, None
    if not kind.is_string():
        raise DisproError(
            f"column 'date' has the type {kind}; it must hold ISO 8601 text, a date or a timestamp"
        )
    text = col
    fast = text.re_search(_FAST_DATE)
    y = text.substr(0, 4).cast("int64")
    m = text.substr(5, 2).cast("int64")
    d = text.substr(8, 2).cast("int64")
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = ibis.cases(
        (m.isin([4, 6, 9, 11]), 30),
        (m == 2, ibis.ifelse(leap, 29, 28)),
        else_=31,
    )
    clock_ok = ibis.ifelse(
        text.length() == 10,
        True,
        (text.substr(11, 2).cast("int64") <= 23)
        & (text.substr(14, 2).cast("int64") <= 59)
        & (text.substr(17, 2).cast("int64") <= 59),
    )
    # every cast sits behind `fast`, so text that is not all digits there is never cast
    valid = ibis.ifelse(fast, (m >= 1) & (m <= 12) & (d >= 1) & (d <= days) & clock_ok, False)
    ym = ibis.ifelse(valid, bucket(y * 12 + m - 1, period), ibis.null("int64"))
    blank = text.isnull() | (text.strip() == "")
    rest = ibis.ifelse(valid | blank, ibis.null("string"), text)
    return ym, rest


class IbisCells(FrameCells):
    """Cells of an Ibis table for :func:`dispro.counts.aggregate`: one ``GROUP BY`` on the engine.

    The expression selects the needed columns, normalises them (blank text is missing,
    True/False spellings unified), takes the period bucket of the date, groups and counts. The
    cells come back as a small frame; checks, ledger and counts are then sums over them, exactly
    as for the file engines.
    """

    name = "ibis"

    def __init__(self, source, plan: Plan):
        self.plan = plan
        self.backend = backend_name(source)
        t = source
        # One GROUP BY over the records: the raw values of the needed columns and the period keys
        # of the date, with the number of records. The rest (blank text is missing, True/False
        # spellings, the code-list checks, the ledger) runs on the distinct values that come
        # back, with the same code as the file engines. Normalising inside the expression was
        # measured: Spark merges the two aggregates and trims every record (1.8x slower).
        keys = {c: _text(t[c]) for c in plan.columns}
        functions = {}  # a condition given as a function of the table: its own cell column
        for cond in (plan.events, plan.at_risk):
            if cond is not None and cond.function is not None:
                functions[cond.expr[1]] = True
                keys[cond.expr[1]] = to_ibis(t, cond.function, cond.param)
        typed = False
        if plan.need_date:
            ym, rest = _date_keys(t["date"], plan.bucket)
            typed = isinstance(ym, dict)
            keys.update(ym if typed else {YM: ym})
            if rest is not None:
                keys[BAD_DATE] = rest
        self.expression = (
            t.group_by(**keys).aggregate(**{N: t.count()})
            if keys
            else t.aggregate(**{N: t.count()})
        )
        raw = _execute(self.expression, "the records' cells")
        if typed:
            y = pd.to_numeric(raw.pop("__dispro_y"), errors="coerce").to_numpy(dtype=float)
            m = pd.to_numeric(raw.pop("__dispro_m"), errors="coerce").to_numpy(dtype=float)
            raw[YM] = bucket(y * 12 + m - 1, plan.bucket)
        if plan.need_date and BAD_DATE not in raw.columns:
            raw[BAD_DATE] = None
        raw[N] = raw[N].astype("int64")
        for c in functions:
            flag = raw[c].astype("boolean")
            raw[c] = np.where(flag.isna(), None, np.where(flag.fillna(False), "true", "false"))
        for c in plan.columns:
            values = raw[c].astype(object).where(raw[c].notna(), None)
            raw[c] = normalise(values, c in plan.boolean)
        if plan.need_date:
            text = raw[BAD_DATE].astype(object).where(raw[BAD_DATE].notna(), None)
            ym = pd.to_numeric(raw[YM], errors="coerce").to_numpy(dtype=float, copy=True)
            todo = text.notna().to_numpy()
            if todo.any():  # layouts the engine did not parse: the same rules as pandas
                parsed, bad = parse_dates(text[todo].reset_index(drop=True))
                ym[todo] = bucket(parsed, plan.bucket)
                text = text.copy()
                text[todo] = bad
            raw[YM] = pd.array(np.where(np.isnan(ym), np.nan, ym), dtype="Float64").astype("Int64")
            raw[BAD_DATE] = text
        group_keys = [c for c in raw.columns if c != N]
        if group_keys and len(raw):
            cells = raw.groupby(group_keys, dropna=False, sort=False)[N].sum().reset_index()
        else:
            cells = pd.DataFrame({N: [int(raw[N].sum()) if len(raw) else 0]})
            for c in group_keys:
                cells[c] = None
        for p in plan.periods:
            cells[p] = labels(cells[YM], p)
        cells[N] = cells[N].astype("int64")
        self.cells = cells


def check_table_columns(source, plan: Plan) -> None:
    """The table has every column the plan needs (one error naming them all)."""
    check_columns([File(table_label(source), "table", list(source.columns))], plan)


def table_label(source) -> str:
    """``"the duckdb table 'searches'"``: how messages name a table."""
    try:
        op = source.op()
        label = getattr(op, "name", None)
    except Exception:  # pragma: no cover
        label = None
    return (
        f"the {backend_name(source)} table {label!r}"
        if label
        else (f"the {backend_name(source)} table")
    )


# --------------------------------------------------------------------------------------------
# count_events(), rri_from_records(), models: records -> cells of a few columns
# (conditions become Ibis expressions through dispro.counts.conditions.to_ibis)
# --------------------------------------------------------------------------------------------


def count_cells(t, columns: Sequence[str], flags: Mapping[str, object]) -> pd.DataFrame:
    """Group ``t`` by ``columns`` and the boolean ``flags`` (Ibis expressions), with the number
    of records of each combination in the column :data:`COUNT`.

    The flags keep their missing values (``None``), so that the caller can count and exclude
    them exactly as for records.
    """
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise ParameterError(
            f"{table_label(t)} lacks the column(s) {missing}"
            f"{did_you_mean(missing[0], list(t.columns))}"
        )
    keys = {c: t[c] for c in dict.fromkeys(columns)}
    keys.update({k: v for k, v in flags.items() if v is not None})
    expr = t.group_by(**keys).aggregate(**{COUNT: t.count()})
    out = _execute(expr, "records")
    out[COUNT] = out[COUNT].astype("int64")
    for k, v in flags.items():
        if v is not None:
            out[k] = out[k].astype("boolean")
    return out


def model_cells(t, outcome, columns: Sequence[str]):
    """Cells for a model: ``columns`` and the outcome flag, grouped on the engine.

    Returns the cells (one row per combination of the columns' values and the outcome), the
    outcome of each (nullable boolean) and the number of records each stands for.
    """
    flag = to_ibis(t, outcome, "outcome")
    if flag is None:
        raise ParameterError("`outcome` is required")
    cells = count_cells(t, [c for c in columns if c is not None], {"__outcome": flag})
    y = cells.pop("__outcome")
    weights = cells.pop(COUNT).to_numpy(dtype="int64")
    return cells, y, weights
