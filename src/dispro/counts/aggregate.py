"""Records to counts for record files too large for pandas: the group-by pushed down to DuckDB.

:func:`aggregate` reads CSV or parquet record files in a canonical schema (one file, a list or a
glob) and returns a counts table ``by..., events, base``, the shape every measure in dispro starts
from. With ``engine="duckdb"`` the records never enter pandas: DuckDB scans only the columns
needed and groups them; pandas only ever sees the counts.

Both engines work in the same three steps, so they give identical counts, ledgers and errors:

1. **Scan** the files into *cells*: one row per distinct combination of the raw values of the
   columns needed (the ``by`` columns, the condition columns and the year-month of ``date``), with
   the number of records ``n``. Cells are small whatever the size of the records.
2. **Check** distinct values, not rows: codes against the code lists of the data standard, missing
   values, unparseable dates, each with its row count.
3. **Count** the cells into ``events`` and ``base`` after the exclusion rules, each recorded in the
   exclusions ledger.
"""

from __future__ import annotations

import csv
import glob
import gzip
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import dictionary, ledger
from .errors import (
    DataQualityWarning,
    DisproError,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_THRESHOLD_BYTES",
    "ENGINES",
    "PERIODS",
    "THRESHOLD_ENV",
    "aggregate",
]

#: The count columns of the result, after the ``by`` columns.
COUNT_COLUMNS = ("events", "base")
#: Period columns derived from ``date`` that ``by`` (and conditions) may name.
PERIODS = ("month", "quarter", "financial_year", "year")
ENGINES = ("auto", "pandas", "duckdb", "ibis")
#: ``engine="auto"`` uses DuckDB when the input files together are at least this large.
DEFAULT_THRESHOLD_BYTES = 256 * 2**20
THRESHOLD_ENV = "DISPRO_DUCKDB_THRESHOLD_BYTES"
MEMORY_ENV = "DISPRO_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "DISPRO_DUCKDB_THREADS"

_STEP = "aggregate"
_N = "__dispro_n"
_YM = "__dispro_ym"  # year * 12 + month - 1 of the date, in UTC
_BAD_DATE = "__dispro_bad_date"  # the raw text of an unparseable date
_FILE = "__dispro_file"
_TS = "__dispro_ts"
_WS = " \t\r\n"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_CHUNK_ROWS = 1 << 20
_SHOW = 10
# ISO 8601 date or datetime (years 1000 to 9999), as both engines accept it; [0-9] (not \d) so
# that Python's re and DuckDB's RE2 agree on non-ASCII digits. Matching text is then parsed (and, e.g., 30 February
# rejected) by DuckDB's TIMESTAMPTZ cast or pandas.to_datetime(format="ISO8601").
_ISO = (
    r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?"
)
_PERIOD_RE = {
    "month": re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"),
    "quarter": re.compile(r"[0-9]{4}Q[1-4]"),
    "financial_year": re.compile(r"[0-9]{4}-[0-9]{2}"),
    "year": re.compile(r"[0-9]{4}"),
}
_PERIOD_EXAMPLE = {
    "month": "2024-03",
    "quarter": "2024Q1",
    "financial_year": "2023-24",
    "year": "2024",
}


# --------------------------------------------------------------------------------------------
# conditions: a tiny expression language rendered to SQL (DuckDB) or evaluated in pandas
# --------------------------------------------------------------------------------------------
# ("in", column, values)  column's text is one of values (missing when the column is missing)
# ("null", column)        column is missing
# ("const", bool)         always True / False
# ("and"|"or", a, b, ...) three-valued (Kleene) logic, as SQL and pandas' boolean arrays have it
# ("not", a), ("is_true", a), ("is_null", a)


def _and(*parts):
    parts = [p for p in parts if p != ("const", True)]
    return parts[0] if len(parts) == 1 else ("and", *parts) if parts else ("const", True)


def _or(*parts):
    parts = [p for p in parts if p != ("const", False)]
    return parts[0] if len(parts) == 1 else ("or", *parts) if parts else ("const", False)


def _ident(name: str) -> str:
    """A SQL identifier, double-quoted with embedded quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A SQL string literal, single-quoted with embedded quotes doubled (constants only)."""
    return "'" + str(text).replace("'", "''") + "'"


def _sql(expr, params: list) -> str:
    """Render an expression as SQL; values become ``?`` parameters appended to ``params``."""
    kind = expr[0]
    if kind == "in":
        params.extend(expr[2])
        return f"({_ident(expr[1])} IN ({', '.join('?' * len(expr[2]))}))"
    if kind == "null":
        return f"({_ident(expr[1])} IS NULL)"
    if kind == "const":
        return "TRUE" if expr[1] else "FALSE"
    if kind in ("and", "or"):
        return "(" + f" {kind.upper()} ".join(_sql(e, params) for e in expr[1:]) + ")"
    if kind == "not":
        return f"(NOT {_sql(expr[1], params)})"
    if kind == "is_true":
        return f"({_sql(expr[1], params)} IS TRUE)"
    if kind == "is_null":
        return f"({_sql(expr[1], params)} IS NULL)"
    raise AssertionError(kind)  # pragma: no cover


def _eval(expr, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    """Evaluate an expression on a cells frame, with the same three-valued logic as SQL."""
    kind = expr[0]
    if kind == "in":
        col = frame[expr[1]]
        out = pd.array(col.isin(list(expr[2])).to_numpy(), dtype="boolean")
        out[col.isna().to_numpy()] = pd.NA
        return out
    if kind == "null":
        return pd.array(frame[expr[1]].isna().to_numpy(), dtype="boolean")
    if kind == "const":
        return pd.array(np.full(len(frame), expr[1]), dtype="boolean")
    if kind in ("and", "or"):
        out = _eval(expr[1], frame)
        for e in expr[2:]:
            out = (out & _eval(e, frame)) if kind == "and" else (out | _eval(e, frame))
        return out
    if kind == "not":
        return ~_eval(expr[1], frame)
    if kind == "is_true":
        return pd.array(_eval(expr[1], frame).fillna(False).to_numpy(dtype=bool), dtype="boolean")
    if kind == "is_null":
        return pd.array(_eval(expr[1], frame).isna(), dtype="boolean")
    raise AssertionError(kind)  # pragma: no cover


def _mask(expr, frame: pd.DataFrame) -> np.ndarray:
    return _eval(expr, frame).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------


@dataclass
class _Condition:
    """A parsed ``events`` or ``at_risk`` condition."""

    param: str
    expr: tuple
    columns: list[str]
    text: str


@dataclass
class _Plan:
    dataset: str
    fields: dict
    by: list[str]
    events: _Condition | None
    at_risk: _Condition | None
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
        periods = set(self.periods)
        if "month" in periods:
            return "month"
        if "quarter" in periods or {"financial_year", "year"} <= periods:
            return "quarter"
        return "financial_year" if "financial_year" in periods else "year"


def _is_period(name: str, fields: dict) -> bool:
    return name in PERIODS and name not in fields


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
        _check_column_kind(name, fields, dataset, "by")
    return names


def _check_column_kind(name: str, fields: dict, dataset: str, param: str) -> None:
    if _is_period(name, fields):
        if "date" not in fields:
            raise ParameterError(
                f"`{param}` names the period {name!r}, but the {dataset} data have no `date` "
                "column to derive it from"
            )
        return
    kind = fields.get(name, {}).get("type")
    if kind in ("date", "datetime"):
        raise ParameterError(
            f"`{param}` names the {kind} column {name!r}; use a period derived from it instead: "
            f"one of {PERIODS}"
        )
    if kind == "number":
        raise ParameterError(
            f"`{param}` names the number column {name!r}; aggregate groups and selects on coded, "
            "text, whole-number or True/False columns only (band the numbers first)"
        )


def _bool_text(value, param: str, column: str) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    text = str(value).strip(_WS).lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise ParameterError(
        f"`{param}` compares the True/False column {column!r} with {value!r}; use True or False"
    )


def _parse_condition(condition, param: str, fields: dict, dataset: str) -> _Condition | None:
    if condition is None:
        return None
    if isinstance(condition, str):
        kind = fields.get(condition, {}).get("type")
        if _is_period(condition, fields) or (kind is not None and kind != "boolean"):
            what = f"the period {condition!r}" if kind is None else f"the {kind} column"
            raise ParameterError(
                f"`{param}` names {what} {condition!r}, which is not True/False; pass a mapping "
                f"instead, e.g. {param}={{{condition!r}: [...]}}"
            )
        return _Condition(param, ("in", condition, ("true",)), [condition], f"{condition} is True")
    if isinstance(condition, Mapping):
        if not condition:
            raise ParameterError(f"`{param}` is an empty mapping; pass None to select every row")
        parts, texts = [], []
        for column, values in condition.items():
            if not isinstance(column, str):
                raise ParameterError(f"`{param}` keys must be column names, but {column!r} was")
            if column.startswith("__dispro"):
                raise ParameterError(f"`{param}` cannot name {column!r}")
            _check_column_kind(column, fields, dataset, param)
            if isinstance(values, str | bool | int | np.integer | np.bool_):
                values = [values]
            elif isinstance(values, Sequence | set | frozenset | np.ndarray | pd.Index):
                values = list(values)
            else:
                raise ParameterError(
                    f"`{param}` maps {column!r} to {values!r}; give a value or a list of values"
                )
            if not values:
                raise ParameterError(f"`{param}` maps {column!r} to an empty list of values")
            if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
                raise ParameterError(
                    f"`{param}` maps {column!r} to a missing value; missing values are handled "
                    "by `dropna` (and counted in the exclusions ledger), not matched"
                )
            if fields.get(column, {}).get("type") == "boolean":
                texts_ = sorted({_bool_text(v, param, column) for v in values})
            else:
                texts_ = list(dict.fromkeys(str(v) for v in values))
            if _is_period(column, fields):
                for v in texts_:
                    if not _period_label_ok(column, v):
                        raise ParameterError(
                            f"`{param}` compares {column!r} with {v!r}, which is not a "
                            f"{column} label; write it like {_PERIOD_EXAMPLE[column]!r}"
                        )
            parts.append(("in", column, tuple(texts_)))
            shown = texts_[0] if len(texts_) == 1 else texts_
            texts.append(f"{column} {'is' if len(texts_) == 1 else 'in'} {shown!r}")
        return _Condition(param, _and(*parts), list(condition), " and ".join(texts))
    raise ParameterError(
        f"`{param}` must be None, the name of a True/False column or a mapping "
        f"{{column: value or list of values}}, but a {type(condition).__name__} was passed "
        "(aggregate reads files, so callables and arrays are not possible; use count_events on "
        "a DataFrame for those)"
    )


def _period_label_ok(period: str, label: str) -> bool:
    if not _PERIOD_RE[period].fullmatch(label):
        return False
    if period == "financial_year":
        return (int(label[:4]) + 1) % 100 == int(label[5:])
    return True


def _plan(dataset: str, by, events, at_risk) -> _Plan:
    spec = dictionary.dataset(dataset)
    fields = {f["name"]: f for f in spec["fields"]}
    by = _parse_by(by, fields, dataset)
    ev = _parse_condition(events, "events", fields, dataset)
    risk = _parse_condition(at_risk, "at_risk", fields, dataset)
    plan = _Plan(dataset, fields, by, ev, risk)
    for name in [*by, *(ev.columns if ev else []), *(risk.columns if risk else [])]:
        if _is_period(name, fields):
            if name not in plan.periods:
                plan.periods.append(name)
        elif name not in plan.columns:
            plan.columns.append(name)
    plan.by_periods = [p for p in by if _is_period(p, fields)]
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
# files
# --------------------------------------------------------------------------------------------


@dataclass
class _File:
    path: str
    format: str  # "csv" or "parquet"
    columns: list[str]
    date_kind: str | None = None  # "text", "timestamp" (naive or a date) or "timestamptz"


def _format(path: str) -> str:
    name = path.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise DisproError(
        f"cannot tell the format of {path} from its name; record files must end in .csv, "
        ".csv.gz or .parquet"
    )


def _resolve(source) -> tuple[list[str], str]:
    """The files ``source`` names, in order without duplicates, and a description of it."""
    if isinstance(source, str | os.PathLike):
        items = [source]
    elif isinstance(source, Sequence) and not isinstance(source, bytes):
        items = list(source)
    else:
        raise ParameterError(
            "`source` must be a path, a glob such as 'data/*.parquet' or a list of them, but a "
            f"{type(source).__name__} was passed"
        )
    if not items:
        raise DisproError("`source` is an empty list: there are no files to aggregate")
    files: list[str] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise ParameterError(f"`source` must hold paths, but it holds {item!r}")
        text = os.fspath(item)
        if isinstance(item, str) and any(ch in text for ch in "*?["):
            matched = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not matched:
                raise DisproError(f"no files match {text!r} (looked from {os.getcwd()})")
            files.extend(matched)
        elif os.path.isdir(text):
            raise DisproError(
                f"{text} is a folder; pass a glob such as "
                f"{os.path.join(text, '*.parquet')!r} or {os.path.join(text, '*.csv')!r}"
            )
        elif not os.path.exists(text):
            raise DisproError(f"{text}: no such file")
        else:
            files.append(text)
    unique = list(dict.fromkeys(files))
    shown = ", ".join(os.fspath(i) for i in items[:3]) + (
        f" (+{len(items) - 3} more)" if len(items) > 3 else ""
    )
    return unique, shown


def _csv_header(path: str) -> list[str]:
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DisproError(f"cannot read {path} as a UTF-8 CSV file: {exc}") from exc
    if not header:
        raise DisproError(f"{path} is empty: a record file needs a header row and records")
    return header


def _inspect(path: str, plan: _Plan) -> _File:
    fmt = _format(path)
    if os.path.getsize(path) == 0:
        raise DisproError(f"{path} is empty (0 bytes): a record file needs a header and records")
    if fmt == "csv":
        columns = _csv_header(path)
        date_kind = "text"
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise DisproError(f"cannot read {path} as a parquet file: {exc}") from exc
        columns = list(schema.names)
        date_kind = None
        if plan.need_date and "date" in columns:
            date_kind = _arrow_date_kind(schema.field("date").type, path)
    return _File(path, fmt, columns, date_kind if plan.need_date else None)


def _arrow_date_kind(kind, path: str) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    if pa.types.is_date(kind):
        return "timestamp"
    raise ValidationError(
        f"column 'date' in {path} has the parquet type {kind}; it must hold ISO 8601 text "
        "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00), a date or a timestamp"
    )


def _check_columns(files: list[_File], plan: _Plan) -> None:
    """Every file has every column needed; otherwise one error naming each file and column."""
    needed = {c: "by" for c in plan.by if not _is_period(c, plan.fields)}
    for cond in (plan.events, plan.at_risk):
        if cond is not None:
            for c in cond.columns:
                if not _is_period(c, plan.fields):
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


# --------------------------------------------------------------------------------------------
# scanning: files -> cells, in DuckDB or pandas
# --------------------------------------------------------------------------------------------


def _period_labels(ym: pd.Series, period: str) -> pd.Series:
    """Labels of a period from ``year * 12 + month - 1`` (the same formulas as in SQL)."""
    out = pd.Series(pd.NA, index=ym.index, dtype=object)
    ok = ym.notna().to_numpy()
    codes, uniques = pd.factorize(ym[ok].astype("int64").to_numpy())  # a few dozen periods
    v = np.asarray(uniques, dtype="int64")
    y, m = v // 12, v % 12 + 1
    if period == "month":
        text = [f"{a:04d}-{b:02d}" for a, b in zip(y, m, strict=True)]
    elif period == "quarter":
        text = [f"{a:04d}Q{(b - 1) // 3 + 1}" for a, b in zip(y, m, strict=True)]
    elif period == "financial_year":
        fy = (v - 3) // 12  # April starts the year
        text = [f"{a:04d}-{(a + 1) % 100:02d}" for a in fy]
    else:
        text = [f"{a:04d}" for a in y]
    out[ok] = np.asarray(text, dtype=object)[codes] if len(v) else []
    return out


def _sql_parse_date(d: str) -> str:
    """SQL for the UTC timestamp of ISO 8601 text ``d`` (NULL when not one), as pandas reads it.

    The general path checks the text against :data:`_ISO` and casts it to TIMESTAMPTZ (an
    instant; ``make_timestamp(epoch_us(.))`` then reads it in UTC without ICU). The two usual
    layouts, police.uk's ``YYYY-MM-DDTHH:MM:SS+00:00`` and ``YYYY-MM-DD``, take a path about
    twice as fast: a LIKE on the layout, then ``strptime`` (which checks the digits and ranges),
    plus checks of the first and last characters where ``strptime`` is laxer than ISO 8601
    (a leading blank or a year below 1000; a one-digit day with a trailing blank).
    The tests check that both paths and pandas agree on thousands of near-miss strings.
    """
    first = f"substr({d}, 1, 1) BETWEEN '1' AND '9'"
    return (
        f"CASE WHEN {d} LIKE '____-__-__T__:__:__+00:00' AND {first} "
        f"THEN try_strptime({d}, '%Y-%m-%dT%H:%M:%S+00:00') "
        f"WHEN {d} LIKE '____-__-__' AND {first} AND substr({d}, 10, 1) BETWEEN '0' AND '9' "
        f"THEN try_strptime({d}, '%Y-%m-%d') "
        f"WHEN regexp_full_match({d}, {_literal(_ISO)}) "
        f"THEN make_timestamp(epoch_us(try_cast({d} AS TIMESTAMPTZ))) END"
    )


def _bucket(ym, bucket: str):
    """The first month (``year * 12 + month - 1``) of the bucket holding ``ym``, as in SQL."""
    if bucket == "quarter":
        return ym - ym % 3
    if bucket == "financial_year":
        return (ym - 3) // 12 * 12 + 3
    if bucket == "year":
        return ym // 12 * 12
    return ym


def _sql_bucket(ym: str, bucket: str) -> str:
    if bucket == "quarter":
        return f"({ym} - {ym} % 3)"
    if bucket == "financial_year":
        return f"(({ym} - 3) // 12 * 12 + 3)"
    if bucket == "year":
        return f"({ym} // 12 * 12)"
    return ym


def _sql_period(period: str) -> str:
    ym = _ident(_YM)
    if period == "month":
        body = f"printf('%04d-%02d', {ym} // 12, {ym} % 12 + 1)"
    elif period == "quarter":
        body = f"printf('%04dQ%d', {ym} // 12, ({ym} % 12) // 3 + 1)"
    elif period == "financial_year":
        body = f"printf('%04d-%02d', ({ym} - 3) // 12, (({ym} - 3) // 12 + 1) % 100)"
    else:
        body = f"printf('%04d', {ym} // 12)"
    return f"CASE WHEN {ym} IS NULL THEN NULL ELSE {body} END AS {_ident(period)}"


class _DuckDB:
    """Cells in a DuckDB temporary table; every query runs in SQL."""

    name = "duckdb"

    def __init__(self, files: list[_File], plan: _Plan, multi: bool):
        import duckdb

        self._duckdb = duckdb
        config = _duckdb_config()
        # where DuckDB spills beyond its memory limit; it creates the folder only if it spills
        self._tmp = config["temp_directory"] = os.path.join(
            tempfile.gettempdir(), f"dispro-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        )
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise ParameterError(
                f"DuckDB refused its settings (threads {config['threads']}, memory limit "
                f"{config.get('memory_limit', 'default')!r}; see {THREADS_ENV} and {MEMORY_ENV}): "
                f"{exc}"
            ) from exc
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET enable_progress_bar = false")
            try:  # one pass over each file: caching its blocks only costs memory (DuckDB >= 1.3)
                self.con.execute("SET enable_external_file_cache = false")
            except duckdb.Error:  # pragma: no cover - older DuckDB
                pass
            self._scan(files, plan, multi)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _scan(self, files: list[_File], plan: _Plan, multi: bool) -> None:
        # Stage 1 groups the raw text of each needed column (as __dispro_r<i>) with the period of
        # the date; stage 2 normalises the few distinct values. (Casting coded columns to ENUMs of
        # their code list was measured too: with the raw text kept for the values outside the
        # list, it was no faster on these group-bys, so it is not done.)
        raw_keys = [f"__dispro_r{i}" for i in range(len(plan.columns))]
        stage2 = list(zip(plan.columns, raw_keys, strict=True))
        extra = [*([_FILE] if multi else []), *([_YM, _BAD_DATE] if plan.need_date else [])]
        raw_keys += extra

        groups: dict[tuple, list[str]] = {}
        for f in files:
            groups.setdefault((f.format, tuple(f.columns), f.date_kind), []).append(f.path)
        selects, params = [], []
        for (fmt, _, date_kind), paths in groups.items():
            if fmt == "csv":
                reader = (
                    "read_csv(?, header = true, all_varchar = true, delim = ',', quote = '\"', "
                    "escape = '\"'"
                )
            else:
                reader = "read_parquet(?" + (", union_by_name = true" if len(paths) > 1 else "")
            reader += ", filename = true)" if multi else ")"
            inner = [_ident(c) for c in plan.columns]
            outer = [f"CAST({_ident(c)} AS VARCHAR) AS {key}" for c, key in stage2]
            if multi:
                inner.append(f"filename AS {_FILE}")
                outer.append(_FILE)
            if plan.need_date:
                d = _ident("date")
                if date_kind == "text":
                    ts = _sql_parse_date(d)
                    bad = (
                        f"CASE WHEN {_TS} IS NULL AND trim({d}, {_literal(_WS)}) <> '' THEN {d} END"
                    )
                    inner.append(d)
                elif date_kind == "timestamptz":
                    ts, bad = f"make_timestamp(epoch_us({d}))", "CAST(NULL AS VARCHAR)"
                else:
                    ts, bad = d, "CAST(NULL AS VARCHAR)"
                inner.append(f"{ts} AS {_TS}")
                ym = f"(year({_TS}) * 12 + month({_TS}) - 1)"
                outer.append(f"{_sql_bucket(ym, plan.bucket)} AS {_YM}")
                outer.append(f"{bad} AS {_BAD_DATE}")
            selects.append(
                f"SELECT {', '.join(outer) or '1 AS __dispro_one'} FROM "
                f"(SELECT {', '.join(dict.fromkeys(inner)) or '*'} FROM {reader})"
            )
            params.append(paths)
        scan = " UNION ALL ".join(selects)
        keys = ", ".join(raw_keys)
        self._run(
            f"CREATE TEMP TABLE __dispro_raw AS SELECT {keys + ', ' if keys else ''}"
            f"count(*) AS {_N} FROM ({scan}) {'GROUP BY ALL' if keys else ''}",
            params,
            files,
        )
        # normalise on the (small) cells: blank text is missing; True/False spellings unified
        norm = []
        ws = _literal(_WS)
        for c, raw in stage2:
            blank = f"trim({raw}, {ws}) = ''"
            if c in plan.boolean:
                low = f"lower(trim({raw}, {ws}))"
                expr = (
                    f"CASE WHEN {raw} IS NULL OR {blank} THEN NULL "
                    f"WHEN {low} IN ({', '.join(map(_literal, _TRUE))}) THEN 'true' "
                    f"WHEN {low} IN ({', '.join(map(_literal, _FALSE))}) THEN 'false' "
                    f"ELSE {raw} END"
                )
            else:
                expr = f"CASE WHEN {blank} THEN NULL ELSE {raw} END"
            norm.append(f"{expr} AS {_ident(c)}")
        labels = [_sql_period(p) for p in plan.periods]
        cols = ", ".join([*norm, *extra, *labels])
        self.con.execute(
            f"CREATE TEMP TABLE cells AS SELECT {cols + ', ' if cols else ''}"
            f"CAST(sum({_N}) AS BIGINT) AS {_N} FROM __dispro_raw "
            + ("GROUP BY ALL" if cols else "")
        )
        self.con.execute("DROP TABLE __dispro_raw")

    def _run(self, sql: str, params: list, files: list[_File]) -> None:
        try:
            self.con.execute(sql, params)
        except self._duckdb.Error as exc:
            shown = ", ".join(f.path for f in files[:3]) + (" ..." if len(files) > 3 else "")
            if isinstance(exc, self._duckdb.OutOfMemoryException):
                raise DisproError(
                    f"DuckDB ran out of memory aggregating {shown}; raise its limit with the "
                    f"environment variable {MEMORY_ENV} (e.g. '8GB') or lower {THREADS_ENV}: {exc}"
                ) from exc
            raise DisproError(f"DuckDB could not read the record files ({shown}): {exc}") from exc

    def sums(self, exprs: list) -> list[int]:
        if not exprs:
            return []
        params: list = []
        parts = [
            f"coalesce(sum(CASE WHEN {_sql(e, params)} THEN {_N} ELSE 0 END), 0)" for e in exprs
        ]
        row = self.con.execute(f"SELECT {', '.join(parts)} FROM cells", params).fetchone()
        return [int(v) for v in row]

    def distinct(self, columns: list[str], where) -> pd.DataFrame:
        params: list = []
        cond = _sql(where, params)
        cols = ", ".join(_ident(c) for c in columns)
        return self.con.execute(
            f"SELECT {cols}, CAST(sum({_N}) AS BIGINT) AS rows FROM cells WHERE {cond} "
            f"GROUP BY ALL",
            params,
        ).df()

    def counts(self, by: list[str], keep, event) -> pd.DataFrame:
        params: list = []
        ev = f"CASE WHEN {_sql(event, params)} THEN {_N} ELSE 0 END"
        cond = _sql(keep, params)
        cols = "".join(f"{_ident(c)}, " for c in by)
        return self.con.execute(
            f"SELECT {cols}CAST(coalesce(sum({ev}), 0) AS BIGINT) AS events, "
            f"CAST(coalesce(sum({_N}), 0) AS BIGINT) AS base FROM cells WHERE {cond} "
            + ("GROUP BY ALL" if by else ""),
            params,
        ).df()


def _duckdb_config() -> dict:
    threads_env = os.environ.get(THREADS_ENV, "").strip()
    if threads_env:
        if not threads_env.isdigit() or int(threads_env) < 1:
            raise ParameterError(
                f"the environment variable {THREADS_ENV} must be a whole number of 1 or more, "
                f"but {threads_env!r} is set"
            )
        threads = int(threads_env)
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        threads = threads or os.cpu_count() or 1
    memory = os.environ.get(MEMORY_ENV, "").strip()
    if not memory:
        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            memory = f"{max(ram // 2 // 2**20, 256)}MB"  # half the machine; DuckDB spills beyond
        except (ValueError, OSError, AttributeError):
            memory = ""
    config = {
        "threads": threads,
        "preserve_insertion_order": False,  # lets DuckDB stream without keeping row order
    }
    if memory:
        config["memory_limit"] = memory
    return config


class _Pandas:
    """Cells in a pandas DataFrame, built chunk by chunk so that memory stays bounded."""

    name = "pandas"

    def __init__(self, files: list[_File], plan: _Plan, multi: bool):
        self.plan = plan
        keys = [
            *plan.columns,
            *([_FILE] if multi else []),
            *([_YM, _BAD_DATE] if plan.need_date else []),
        ]
        pieces = []
        for f in files:
            try:
                for chunk in self._chunks(f, plan):
                    pieces.append(self._chunk_cells(chunk, f, plan, multi))
            except DisproError:
                raise
            except Exception as exc:  # pandas and pyarrow raise many types on bad files
                raise DisproError(f"cannot read {f.path}: {exc}") from exc
        raw = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*keys, _N])
        for c in plan.columns:
            raw[c] = _normalise(raw[c], c in plan.boolean)
        if keys:
            cells = raw.groupby(keys, dropna=False, sort=False)[_N].sum().reset_index()
        else:
            cells = pd.DataFrame({_N: [int(raw[_N].sum())]})
        for p in plan.periods:
            cells[p] = _period_labels(cells[_YM], p)
        cells[_N] = cells[_N].astype("int64")
        self.cells = cells

    def close(self) -> None:
        self.cells = None

    @staticmethod
    def _chunks(f: _File, plan: _Plan):
        columns = [*plan.columns, *(["date"] if plan.need_date else [])]
        if f.format == "csv":
            yield from (
                pd.read_csv(
                    f.path,
                    usecols=columns,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[],
                    encoding="utf-8",
                    chunksize=_CHUNK_ROWS,
                )
                if columns
                else _csv_row_counts(f.path)
            )
            return
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(f.path)
        if not columns:
            yield pd.DataFrame(index=range(pf.metadata.num_rows))
            return
        for batch in pf.iter_batches(batch_size=_CHUNK_ROWS, columns=columns):
            data = {}
            for name in columns:
                arr = batch.column(name)
                if pa.types.is_dictionary(arr.type):
                    arr = arr.dictionary_decode()
                if name == "date" and f.date_kind != "text":
                    if pa.types.is_timestamp(arr.type) and arr.type.tz:
                        arr = pc.cast(arr, pa.timestamp(arr.type.unit, "UTC"))
                    elif pa.types.is_date(arr.type):
                        arr = pc.cast(arr, pa.timestamp("s"))
                    data[name] = arr.to_pandas()
                else:
                    data[name] = pc.cast(arr, pa.string()).to_pandas()
            yield pd.DataFrame(data)

    @staticmethod
    def _chunk_cells(chunk: pd.DataFrame, f: _File, plan: _Plan, multi: bool) -> pd.DataFrame:
        """Group a chunk on integer codes, then put the (few) distinct values back."""
        codes, values = {}, {}
        for c in plan.columns:
            codes[c], uniques = pd.factorize(chunk[c], use_na_sentinel=True)
            values[c] = np.append(np.asarray(uniques, dtype=object), None)
        if plan.need_date:
            d = chunk["date"]
            if f.date_kind == "text":
                # parse each distinct text once, then group rows on the period (not the text,
                # which is nearly unique): key = bucket, -1 missing, -2 - k the k-th bad text
                raw, uniques = pd.factorize(d, use_na_sentinel=True)
                ym, bad = _parse_dates(pd.Series(np.asarray(uniques, dtype=object)))
                ym = _bucket(ym, plan.bucket)
                is_bad = np.array([b is not None for b in bad], dtype=bool)
                key = np.where(np.isnan(ym), -1, np.nan_to_num(ym, nan=-1)).astype("int64")
                key[is_bad] = -2 - np.arange(int(is_bad.sum()))
                codes["date"], kept = pd.factorize(np.append(key, -1)[raw], use_na_sentinel=True)
                kept = np.asarray(kept, dtype="int64")
                values[_YM] = np.append(np.where(kept >= 0, kept, np.nan), np.nan)
                bad_text = np.append(bad[is_bad], None)
                values[_BAD_DATE] = bad_text[np.where(kept <= -2, -2 - kept, -1)]
                values[_BAD_DATE] = np.append(values[_BAD_DATE], None)
            else:
                ym = (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)
                codes["date"], uniques = pd.factorize(
                    _bucket(ym, plan.bucket), use_na_sentinel=True
                )
                values[_YM] = np.append(np.asarray(uniques, dtype=float), np.nan)
                values[_BAD_DATE] = np.full(len(uniques) + 1, None, dtype=object)
        if not codes:
            return pd.DataFrame({**({_FILE: [f.path]} if multi else {}), _N: [len(chunk)]})
        frame = pd.DataFrame(codes)
        grouped = frame.groupby(list(codes), sort=False).size().reset_index(name=_N)
        out = {}
        for c in plan.columns:
            out[c] = values[c][grouped[c].to_numpy()]  # code -1 picks the appended None
        if multi:
            out[_FILE] = f.path
        if plan.need_date:
            idx = grouped["date"].to_numpy()
            out[_YM] = pd.array(values[_YM][idx], dtype="Int64")
            out[_BAD_DATE] = values[_BAD_DATE][idx]
        out[_N] = grouped[_N].to_numpy(dtype="int64")
        return pd.DataFrame(out)

    def sums(self, exprs: list) -> list[int]:
        n = self.cells[_N].to_numpy()
        return [int(n[_mask(e, self.cells)].sum()) for e in exprs]

    def distinct(self, columns: list[str], where) -> pd.DataFrame:
        sub = self.cells.loc[_mask(where, self.cells)]
        return sub.groupby(columns, dropna=False, sort=False)[_N].sum().reset_index(name="rows")

    def counts(self, by: list[str], keep, event) -> pd.DataFrame:
        kept = self.cells.loc[_mask(keep, self.cells)]
        frame = pd.DataFrame({c: kept[c] for c in by})
        frame["events"] = np.where(_mask(event, kept), kept[_N].to_numpy(), 0)
        frame["base"] = kept[_N].to_numpy()
        if not by:
            return pd.DataFrame({"events": [frame["events"].sum()], "base": [frame["base"].sum()]})
        return frame.groupby(by, sort=False)[["events", "base"]].sum().reset_index()


def _csv_row_counts(path: str):
    # no columns needed (no `by`, no conditions): count the records only
    for chunk in pd.read_csv(path, usecols=[0], dtype=str, chunksize=_CHUNK_ROWS):
        yield chunk.iloc[:, :0]


def _normalise(values: pd.Series, boolean: bool) -> pd.Series:
    """Blank text is missing; for True/False columns every spelling becomes 'true' or 'false'."""
    out = values.astype(object).copy()
    text = out.dropna()
    stripped = text.map(lambda v: v.strip(_WS))
    out[text.index[stripped.eq("").to_numpy()]] = None
    if boolean:
        low = stripped.str.lower()
        out[low.index[low.isin(_TRUE).to_numpy()]] = "true"
        out[low.index[low.isin(_FALSE).to_numpy()]] = "false"
    return out.where(out.notna(), None)


def _parse_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``year * 12 + month - 1`` (UTC; NaN when missing or unparseable) and the unparseable text."""
    ym = np.full(len(text), np.nan)
    bad = np.full(len(text), None, dtype=object)
    present = text.notna().to_numpy().copy()
    present[present] = text[present].astype(str).str.strip(_WS).ne("").to_numpy(dtype=bool)
    if not present.any():
        return ym, bad
    values = text[present]
    ok = values.str.fullmatch(_ISO).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(values[ok], format="ISO8601", utc=True, errors="coerce")
    good = parsed.notna().to_numpy()
    where = np.flatnonzero(present)
    matched = where[ok]
    ym[matched[good]] = (parsed[good].dt.year * 12 + parsed[good].dt.month - 1).to_numpy()
    unparsed = np.concatenate([where[~ok], matched[~good]])
    bad[unparsed] = text.to_numpy(dtype=object)[unparsed]
    return ym, bad


# --------------------------------------------------------------------------------------------
# checking and counting the cells (shared by both engines)
# --------------------------------------------------------------------------------------------


def _values_text(values: pd.DataFrame, column: str, limit: int = _SHOW, quote=True) -> str:
    """``'Blak' ×3, 'Whte' ×1`` from a frame of ``column`` and ``rows``, largest first."""
    top = values.sort_values(["rows", column], ascending=[False, True], kind="mergesort")
    shown = [
        f"{v!r} ×{int(n)}" if quote else f"{v} ×{int(n)}"
        for v, n in zip(top[column], top["rows"], strict=True)
    ]
    more = f" (+{len(shown) - limit} more)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def _files_text(cells, where, multi: bool) -> str:
    if not multi:
        return ""
    per_file = cells.distinct([_FILE], where)
    return " in " + _values_text(per_file, _FILE, limit=3, quote=False)


def _blanks(cond: _Condition, plan: _Plan) -> str:
    names = ["date" if _is_period(c, plan.fields) else c for c in cond.columns]
    return ", ".join(dict.fromkeys(names))


def _describe(cond: _Condition) -> str:
    return f"{cond.param}: {cond.text}"


def _count(cells, plan: _Plan, shown: str, multi: bool, *, dropna: bool, strict: bool):
    rows_in = cells.sums([("const", True)])[0]
    if rows_in == 0:
        raise DisproError(f"no records in {shown}: the files hold a header row but no records")
    entries: list[dict] = []
    problems: list[dict] = []

    def problem(column, text, count, values="", hint="", where=""):
        problems.append(
            {
                "severity": "error",
                "column": column,
                "problem": text,
                "count": int(count),
                "rows": where.removeprefix(" in "),
                "values": values,
                "hint": hint,
            }
        )

    # 1. distinct values against the code lists (all records, at risk or not)
    present = {}
    for c in plan.columns:
        spec = plan.fields.get(c, {})
        if c in plan.boolean:
            allowed, listname = ["true", "false"], None
        elif spec.get("codes"):
            allowed, listname = dictionary.codes(spec["codes"]), spec["codes"]
        else:
            continue
        keys = [c, _FILE] if multi else [c]
        found = cells.distinct(keys, ("not", ("null", c)))
        per_value = found.groupby(c, sort=False)["rows"].sum().reset_index()
        present[c] = set(per_value[c])
        bad = per_value[~per_value[c].isin(allowed)]
        n_bad = int(bad["rows"].sum())
        if listname is None:
            if n_bad:
                problem(
                    c,
                    "record(s) with values that are not True/False",
                    n_bad,
                    _values_text(bad, c),
                    "use True or False; leave blank only where the value was not recorded",
                    _bad_files(found, c, bad, multi),
                )
            continue
        hints = []
        for value in bad.sort_values("rows", ascending=False, kind="mergesort")[c][:_SHOW]:
            hint = did_you_mean(value, allowed)
            if hint:
                hints.append(f"{value!r} ({hint.removeprefix('; ')})")
        hint = "; ".join(hints) or (
            f"allowed codes are in data_dictionary/codelists/{listname}.csv"
        )
        if strict:
            if n_bad:
                problem(
                    c,
                    f"record(s) with values not in the code list {listname!r}",
                    n_bad,
                    _values_text(bad, c),
                    hint + "; or pass strict=False to keep them (they are then counted in the "
                    "exclusions ledger)",
                    _bad_files(found, c, bad, multi),
                )
            continue
        values = _values_text(bad, c, limit=5) if n_bad else "none"
        entries.append(
            {
                "step": _STEP,
                "rule": f"records with values not in the code list {listname!r} in {c!r}, kept "
                f"(strict=False): {values}",
                "rows": n_bad,
                "action": "kept",
            }
        )
        if n_bad:
            warnings.warn(
                f"{n_bad} record(s) in {shown} have values of {c!r} that are not in the code "
                f"list {listname!r}, kept as they are (strict=False): {_values_text(bad, c)}; "
                f"{hint}",
                DataQualityWarning,
                stacklevel=3,
            )

    # 2. condition values must be codes (or at least occur in the data)
    for cond in (plan.events, plan.at_risk):
        if cond is None:
            continue
        parts = cond.expr[1:] if cond.expr[0] == "and" else (cond.expr,)
        for _, column, values in parts:
            spec = plan.fields.get(column, {})
            if column in plan.boolean or not spec.get("codes"):
                continue
            allowed = dictionary.codes(spec["codes"])
            for v in values:
                if v not in allowed and v not in present.get(column, ()):
                    raise ParameterError(
                        f"`{cond.param}` compares {column!r} with {v!r}, which is neither in the "
                        f"code list {spec['codes']!r} nor in the data"
                        f"{did_you_mean(v, allowed) or f'; allowed: {tuple(allowed)}'}"
                    )

    # 3. the exclusion rules, in order; each record is counted by the first rule it meets
    rules = []  # (rule, predicate (two-valued), what for the error, column)
    risk = plan.at_risk.expr if plan.at_risk else None
    if risk is not None:
        blanks = _blanks(plan.at_risk, plan)
        rules.append(
            (
                f"records with a missing at-risk status (blank {blanks})",
                ("is_null", risk),
                f"a missing at-risk status (blank {blanks})",
                blanks,
            )
        )
        rules.append(
            (
                f"records not at risk ({_describe(plan.at_risk)})",
                ("is_true", ("not", risk)),
                None,
                None,
            )
        )
    if plan.by_periods:
        rules.append(
            (
                "records at risk with a missing date",
                _and(("null", _YM), ("null", _BAD_DATE)),
                "a missing 'date'",
                "date",
            )
        )
        rules.append(
            (
                "records at risk with an unparseable date",
                ("not", ("null", _BAD_DATE)),
                "a 'date' that is not an ISO 8601 date",
                "date",
            )
        )
    for c in plan.by:
        if not _is_period(c, plan.fields):
            rules.append(
                (f"records at risk with a missing {c!r}", ("null", c), f"a missing {c!r}", c)
            )
    if plan.events is not None:
        blanks = _blanks(plan.events, plan)
        rules.append(
            (
                f"records at risk with a missing event status (blank {blanks})",
                ("is_null", plan.events.expr),
                f"a missing event status (blank {blanks})",
                blanks,
            )
        )
    prior = ("const", False)
    effective = []
    for _, pred, _, _ in rules:
        effective.append(_and(pred, ("not", prior)))
        prior = _or(prior, pred)
    counts = cells.sums(effective)
    for (rule, _, what, column), eff, n in zip(rules, effective, counts, strict=True):
        entries.append({"step": _STEP, "rule": rule, "rows": n, "action": "excluded"})
        if what is None or n == 0 or dropna:
            continue
        values, hint = "", ""
        if column == "date" and "unparseable" in rule:
            values = _values_text(cells.distinct([_BAD_DATE], eff), _BAD_DATE)
            hint = "write dates as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00; "
        elif "event status" in what or "at-risk" in what:
            hint = "fill the column(s) or "
        else:
            hint = "label them (e.g. 'Not stated') or "
        hint += "pass dropna=True to exclude them (they are counted in the exclusions ledger)"
        text = f"record(s){' at risk' if 'at-risk' not in what else ''} with {what}"
        problem(column, text, n, values, hint, _files_text(cells, eff, multi))

    if problems:
        table = pd.DataFrame(problems, columns=list(dictionary.PROBLEM_COLUMNS))
        lines = [
            f"{len(problems)} problem(s) with the {plan.dataset} records in {shown} "
            f"({rows_in} records); every problem is listed:"
        ]
        for p in table.itertuples():
            values = f": {p.values}" if p.values else ""
            where = f" (in {p.rows})" if p.rows else ""
            lines.append(f"  - column {p.column!r}: {p.count} {p.problem}{values}{where}; {p.hint}")
        raise ValidationError("\n".join(lines), problems=table)

    # 4. the counts
    keep = ("not", prior)
    event = ("is_true", plan.events.expr) if plan.events else ("const", True)
    frame = cells.counts(plan.by, keep, event)
    out = pd.DataFrame({c: frame[c].astype(str) for c in plan.by})
    for c in COUNT_COLUMNS:
        out[c] = frame[c].to_numpy(dtype="int64")
    if plan.by:
        out = out.sort_values(plan.by, kind="mergesort").reset_index(drop=True)
    for e in entries:
        ledger.record(out, e["step"], e["rule"], e["rows"], e["action"])
    out.attrs["rows_in"] = int(rows_in)
    return out


def _bad_files(found: pd.DataFrame, column: str, bad: pd.DataFrame, multi: bool) -> str:
    if not multi or bad.empty:
        return ""
    sub = found[found[column].isin(set(bad[column]))]
    per_file = sub.groupby(_FILE, sort=False)["rows"].sum().reset_index()
    return _values_text(per_file, _FILE, limit=3, quote=False)


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
        or an Ibis table on DuckDB, Spark or a SQL warehouse (:mod:`dispro.engines`), or a
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
    events : str or dict, optional
        Which records at risk are events: the name of a True/False column (e.g. ``"arrest"``) or
        a mapping ``{column: value or list of values}`` whose entries must all hold (e.g.
        ``{"outcome": ["arrest", "summons_charged"]}``; periods may be used too). None makes
        every record at risk an event (``events == base``).
    at_risk : str or dict, optional
        Which records are at risk (the base), in the same forms as ``events``; default all.
        Records not at risk are excluded and counted in the exclusions ledger.
    engine : {"auto", "pandas", "duckdb", "ibis"}
        ``"duckdb"`` runs the group-by in DuckDB over the files, so records never enter pandas
        (memory stays small whatever the file size); ``"pandas"`` reads only the needed columns,
        a million rows at a time, and groups them in pandas; ``"auto"`` (default) uses DuckDB when
        the files together are at least ``threshold_bytes`` large; ``"ibis"`` reads the files
        through Ibis on DuckDB (an Ibis table always uses its own engine). All give identical
        results.
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
    >>> from dispro.aggregate import aggregate
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
    from . import engines

    source = engines.resolve(source)  # a (connection, table name) pair
    if engines.is_table(source) or engine == "ibis":
        if engine not in ("auto", "ibis"):
            raise ParameterError(
                f"an Ibis table is counted by the engine that holds it; pass engine='ibis' or "
                f"'auto', not {engine!r}"
            )
        table = source if engines.is_table(source) else engines.read(source)
        engines.check_columns(table, plan)
        cells = engines.IbisCells(table, plan)
        try:
            result = _count(
                cells, plan, engines._table_label(table), False, dropna=dropna, strict=strict
            )
        finally:
            cells.close()
        result.attrs.update(
            {
                "engine": f"ibis-{cells.backend}",
                "files": [] if engines.is_table(source) else _resolve(source)[0],
                "dataset": dataset,
                "input_bytes": None,
            }
        )
        return result
    threshold = _threshold(threshold_bytes)
    paths, shown = _resolve(source)
    files = [_inspect(p, plan) for p in paths]
    _check_columns(files, plan)
    size = sum(os.path.getsize(p) for p in paths)
    chosen = engine if engine != "auto" else ("duckdb" if size >= threshold else "pandas")
    multi = len(paths) > 1
    cells = (_DuckDB if chosen == "duckdb" else _Pandas)(files, plan, multi)
    try:
        result = _count(cells, plan, shown, multi, dropna=dropna, strict=strict)
    finally:
        cells.close()
    result.attrs.update(
        {"engine": chosen, "files": list(paths), "dataset": dataset, "input_bytes": size}
    )
    return result
