"""The condition language: which records are events, which are at risk, which are excluded.

One language says "which rows" everywhere in dispro: the ``events`` and ``at_risk`` of
:func:`~dispro.counts.aggregate` and :func:`~dispro.counts.count_events` (hence
:func:`dispro.rri_from_records`), the ``outcome`` of the models, the ``where`` of the stages in
``data_dictionary/stages.yaml`` and the vehicle-only rule of stop and search. A condition is

- the name of a True/False column (``"arrest"``): the rows where it is True;
- a mapping ``{column: value or list of values}`` (``{"outcome": ["arrest", "caution"]}``): the
  rows whose value is one of those listed, every entry holding;
- a function of the records (``lambda r: r.arrest & (r.search_type == "Person search")``),
  called with the data frame or, for records in a database, the Ibis table;
- or a :class:`Condition` already parsed (e.g. from :func:`all_of`).

:func:`parse` turns each into one expression tree, and three evaluators read the tree: pandas
(:func:`truth`, :func:`evaluate`, :func:`holds`), SQL (:func:`sql`, DuckDB over record files)
and Ibis (:func:`to_ibis`, any engine), with the same three-valued logic: a condition on a
missing value is missing (neither True nor False), as in SQL. Each caller then says what a
missing status means (an error, an exclusion counted in the ledger, or "not met").

On a data frame two further forms are read for convenience, but are not portable: a pandas
query expression (``"outcome == 'arrest'"``) and a boolean array aligned with the rows.

The tree: ``("in", column, values)``, ``("flag", column)`` (a True/False column's value),
``("null", column)``, ``("const", bool)``, ``("and"|"or", a, b, ...)``, ``("not", a)``,
``("is_true", a)`` (two-valued), ``("is_null", a)`` and ``("call", function)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError, ValidationError, did_you_mean
from .periods import EXAMPLES, PERIODS, label_ok

__all__ = [
    "FALSE_SPELLINGS",
    "TRUE_SPELLINGS",
    "Condition",
    "and_",
    "ident",
    "or_",
    "all_of",
    "check_column_kind",
    "evaluate",
    "holds",
    "is_period",
    "mask",
    "parse",
    "sql",
    "to_ibis",
    "truth",
]

_WS = " \t\r\n"
#: Spellings of True and of False in a True/False column read as text (after trimming, any case).
TRUE_SPELLINGS = ("true", "1", "yes", "y", "t")
FALSE_SPELLINGS = ("false", "0", "no", "n", "f")
_SCALAR = (str, bool, int, float, np.integer, np.floating, np.bool_)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its tree, the columns it reads, and a description for messages."""

    param: str
    expr: tuple
    columns: tuple[str, ...]
    text: str
    #: for a function counted by ``aggregate``: the function, evaluated on the Ibis table into the
    #: cell column that ``expr`` reads
    function: object = None


def and_(*parts) -> tuple:
    """The conjunction of trees (``("const", True)`` parts dropped)."""
    parts = [p for p in parts if p != ("const", True)]
    return parts[0] if len(parts) == 1 else ("and", *parts) if parts else ("const", True)


def or_(*parts) -> tuple:
    """The disjunction of trees (``("const", False)`` parts dropped)."""
    parts = [p for p in parts if p != ("const", False)]
    return parts[0] if len(parts) == 1 else ("or", *parts) if parts else ("const", False)


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------


def is_period(name: str, fields: Mapping) -> bool:
    """Whether ``name`` is a period derived from ``date`` (not a column of the standard)."""
    return name in PERIODS and name not in fields


def check_column_kind(name: str, fields: Mapping, dataset: str, param: str) -> None:
    """Refuse a date or number column (and a period without a date) where codes are compared."""
    if is_period(name, fields):
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
    if text in TRUE_SPELLINGS:
        return "true"
    if text in FALSE_SPELLINGS:
        return "false"
    raise ParameterError(
        f"`{param}` compares the True/False column {column!r} with {value!r}; use True or False"
    )


def _values(values, param: str, column) -> list:
    if isinstance(values, _SCALAR):
        values = [values]
    elif isinstance(values, Sequence | set | frozenset | np.ndarray | pd.Index | pd.Series):
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
    return values


def parse(spec, param: str = "events", *, fields: Mapping | None = None, dataset: str = ""):
    """Parse a condition into a :class:`Condition` (``None`` stays ``None``: every row).

    Parameters
    ----------
    spec : str, mapping, callable or Condition
        The condition (see the module's description).
    param : str
        The parameter it was given as, for messages.
    fields : mapping, optional
        The fields of a dataset's standard (name to its entry in
        ``data_dictionary/datasets/<dataset>.yaml``), for records read as text from files: the
        values are then compared as text (True/False columns as ``"true"``/``"false"``),
        periods derived from ``date`` may be named, and date and number columns are refused. A
        function is then kept in ``function``, to be evaluated on an Ibis table into a cell
        column of its own.
    dataset : str
        The dataset's name, for messages.

    Raises
    ------
    ParameterError
        An empty mapping, a missing value to match, a key that is not a column name, or (with
        ``fields``) a column of the wrong kind, a period label written wrongly or a function.
    """
    if spec is None or isinstance(spec, Condition):
        return spec
    if isinstance(spec, str):
        if fields is not None:
            kind = fields.get(spec, {}).get("type")
            if is_period(spec, fields) or (kind is not None and kind != "boolean"):
                what = f"the period {spec!r}" if kind is None else f"the {kind} column"
                raise ParameterError(
                    f"`{param}` names {what} {spec!r}, which is not True/False; pass a mapping "
                    f"instead, e.g. {param}={{{spec!r}: [...]}}"
                )
            return Condition(param, ("in", spec, ("true",)), (spec,), f"{spec} is True")
        return Condition(param, ("flag", spec), (spec,), f"{spec} is True")
    if isinstance(spec, Mapping):
        if not spec:
            raise ParameterError(f"`{param}` is an empty mapping; pass None to select every row")
        parts, texts = [], []
        for column, values in spec.items():
            if not isinstance(column, str):
                raise ParameterError(f"`{param}` keys must be column names, but {column!r} was")
            if column.startswith("__dispro"):
                raise ParameterError(f"`{param}` cannot name {column!r}")
            values = _values(values, param, column)
            if fields is not None:
                check_column_kind(column, fields, dataset, param)
                if fields.get(column, {}).get("type") == "boolean":
                    values = sorted({_bool_text(v, param, column) for v in values})
                else:
                    values = list(dict.fromkeys(str(v) for v in values))
                if is_period(column, fields):
                    for v in values:
                        if not label_ok(column, v):
                            raise ParameterError(
                                f"`{param}` compares {column!r} with {v!r}, which is not a "
                                f"{column} label; write it like {EXAMPLES[column]!r}"
                            )
            parts.append(("in", column, tuple(values)))
            shown = values[0] if len(values) == 1 else values
            texts.append(f"{column} {'is' if len(values) == 1 else 'in'} {shown!r}")
        return Condition(param, and_(*parts), tuple(spec), " and ".join(texts))
    if callable(spec):
        text = f"the function {getattr(spec, '__name__', 'function')}"
        if fields is None:
            return Condition(param, ("call", spec), (), text)
        # counted by aggregate: evaluated on the Ibis table into a True/False cell column
        column = f"__dispro_{param}"
        return Condition(param, ("in", column, ("true",)), (), text, function=spec)
    if fields is not None:
        raise ParameterError(
            f"`{param}` must be None, the name of a True/False column, a mapping "
            f"{{column: value or list of values}} or a function of an Ibis table, but a "
            f"{type(spec).__name__} was passed (arrays are not possible when counting files; "
            "use count_events on a DataFrame for those)"
        )
    raise ParameterError(
        f"`{param}` must be None, a True/False column name, a mapping {{column: values}} or a "
        f"function of the records, but a {type(spec).__name__} was passed"
    )


def all_of(*specs, param: str = "events") -> Condition | None:
    """One condition that holds where every one of ``specs`` holds (``None`` ones ignored).

    >>> all_of({"search_type": ["Person search"]}, {"outcome": "arrest"}).text
    "search_type is 'Person search' and outcome is 'arrest'"
    """
    parsed = [c for c in (parse(s, param) for s in specs) if c is not None]
    if not parsed:
        return None
    columns = tuple(dict.fromkeys(c for p in parsed for c in p.columns))
    text = " and ".join(p.text for p in parsed)
    return Condition(param, and_(*(p.expr for p in parsed)), columns, text)


# --------------------------------------------------------------------------------------------
# evaluator 1: pandas
# --------------------------------------------------------------------------------------------


def truth(expr: tuple, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    """Evaluate a tree on a data frame (records or cells), with SQL's three-valued logic."""
    kind = expr[0]
    if kind == "in":
        col = frame[expr[1]]
        out = pd.array(col.isin(list(expr[2])).to_numpy(), dtype="boolean")
        out[col.isna().to_numpy()] = pd.NA
        return out
    if kind == "flag":
        return pd.array(_flag(frame, expr[1]), dtype="boolean")
    if kind == "null":
        return pd.array(frame[expr[1]].isna().to_numpy(), dtype="boolean")
    if kind == "const":
        return pd.array(np.full(len(frame), expr[1]), dtype="boolean")
    if kind in ("and", "or"):
        out = truth(expr[1], frame)
        for e in expr[2:]:
            out = (out & truth(e, frame)) if kind == "and" else (out | truth(e, frame))
        return out
    if kind == "not":
        return ~truth(expr[1], frame)
    if kind == "is_true":
        return pd.array(truth(expr[1], frame).fillna(False).to_numpy(dtype=bool), dtype="boolean")
    if kind == "is_null":
        return pd.array(truth(expr[1], frame).isna(), dtype="boolean")
    if kind == "call":
        values = pd.Series(expr[1](frame), index=frame.index).astype("boolean")
        return pd.array(values.to_numpy(), dtype="boolean")
    raise AssertionError(kind)  # pragma: no cover


def mask(expr: tuple, frame: pd.DataFrame) -> np.ndarray:
    """Where a tree is True (missing counts as not True)."""
    return truth(expr, frame).fillna(False).to_numpy(dtype=bool)


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    col = frame[column]
    if not (pd.api.types.is_bool_dtype(col) or col.dropna().isin([True, False]).all()):
        raise ParameterError(
            f"`{column}` is not a True/False column (values like "
            f"{col.dropna().unique()[:5].tolist()}); pass a condition instead, e.g. "
            f"{{{column!r}: [...]}}"
        )
    return col.astype("boolean").to_numpy()


def evaluate(records: pd.DataFrame, condition, param: str = "events") -> pd.Series:
    """A condition on each record: a nullable boolean Series aligned with ``records``.

    ``None`` is every record. Missing stays missing: a condition on a missing value is missing.
    Beside the portable forms (see the module's description) a data frame also takes a pandas
    query expression and a boolean array.

    Raises
    ------
    ParameterError
        The condition is not one of the forms, names a column that is not True/False where one
        is needed, is an expression that pandas cannot evaluate, or an array of the wrong length.
    ValidationError
        A mapping names a column the records lack.

    Examples
    --------
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"outcome": ["arrest", None, "caution"]})
    >>> evaluate(recs, {"outcome": ["arrest"]}).tolist()
    [True, <NA>, False]
    """
    index = records.index
    if condition is None:
        return pd.Series(True, index=index, dtype="boolean")
    if isinstance(condition, str) and condition not in records.columns:
        try:
            result = records.eval(condition)
        except Exception as exc:  # pandas raises many types here
            raise ParameterError(
                f"`{param}` {condition!r} is neither a column"
                f"{did_you_mean(condition, records.columns)} nor a valid expression on the "
                f"columns: {exc}"
            ) from exc
        return pd.Series(result, index=index).astype("boolean")
    if not isinstance(condition, str | Mapping | Condition) and not callable(condition):
        size = len(condition) if hasattr(condition, "__len__") else 1
        if size != len(records):
            raise ParameterError(
                f"`{param}` has {size} values but the records have {len(records)} rows"
            )
        arr = condition if isinstance(condition, pd.Series) else pd.Series(condition, index=index)
        return arr.astype("boolean")
    parsed = parse(condition, param)
    for column in parsed.columns:
        if column not in records.columns:
            raise ValidationError(
                f"column {column!r} (given as `{param}`) is not in the data"
                f"{did_you_mean(column, records.columns)}; columns present: "
                f"{list(records.columns)}"
            )
    if parsed.expr[0] == "flag":
        col = records[parsed.expr[1]]
        if not (pd.api.types.is_bool_dtype(col) or col.dropna().isin([True, False]).all()):
            name = parsed.expr[1]
            raise ParameterError(
                f"`{param}` names column {name!r}, which is not boolean (values like "
                f"{col.dropna().unique()[:5].tolist()}); pass a condition instead, e.g. "
                f"{{{name!r}: [...]}} or \"{name} == '...'\""
            )
        return col.astype("boolean")
    return pd.Series(truth(parsed.expr, records), index=index)


def holds(records: pd.DataFrame, condition, param: str = "events") -> np.ndarray:
    """Where a condition is True on ``records``, as a numpy bool array (missing: not True)."""
    if isinstance(condition, np.ndarray) and condition.dtype == bool:
        if len(condition) != len(records):
            raise ParameterError(
                f"`{param}` has {len(condition)} values but the records have {len(records)} rows"
            )
        return condition
    return evaluate(records, condition, param).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------------------------
# evaluator 2: SQL
# --------------------------------------------------------------------------------------------


def ident(name: str) -> str:
    """A SQL identifier, double-quoted with embedded quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def sql(expr: tuple, params: list) -> str:
    """Render a tree as SQL; values become ``?`` parameters appended to ``params``.

    >>> params = []
    >>> sql(("and", ("in", "outcome", ("arrest", "caution")), ("flag", "arrest")), params), params
    ('(("outcome" IN (?, ?)) AND "arrest")', ['arrest', 'caution'])
    """
    kind = expr[0]
    if kind == "in":
        params.extend(expr[2])
        return f"({ident(expr[1])} IN ({', '.join('?' * len(expr[2]))}))"
    if kind == "flag":
        return ident(expr[1])
    if kind == "null":
        return f"({ident(expr[1])} IS NULL)"
    if kind == "const":
        return "TRUE" if expr[1] else "FALSE"
    if kind in ("and", "or"):
        return "(" + f" {kind.upper()} ".join(sql(e, params) for e in expr[1:]) + ")"
    if kind == "not":
        return f"(NOT {sql(expr[1], params)})"
    if kind == "is_true":
        return f"({sql(expr[1], params)} IS TRUE)"
    if kind == "is_null":
        return f"({sql(expr[1], params)} IS NULL)"
    if kind == "call":
        raise ParameterError(
            "a function of the records cannot run in SQL; pass a True/False column or a mapping "
            "{column: values}, or count an Ibis table (the function then receives the table)"
        )
    raise AssertionError(kind)  # pragma: no cover


# --------------------------------------------------------------------------------------------
# evaluator 3: Ibis
# --------------------------------------------------------------------------------------------


def to_ibis(table, condition, param: str = "events"):
    """An Ibis True/False expression for a condition on ``table`` (``None`` stays ``None``).

    Raises
    ------
    ParameterError
        The condition names a column the table lacks, a column that is not True/False where one
        is needed, or is a pandas-only form (a query string or an array), or a function that does
        not return an Ibis True/False expression.
    """
    if condition is None:
        return None
    if isinstance(condition, str) and condition not in table.columns:
        raise ParameterError(
            f"`{param}` names the column {condition!r}, which the table lacks"
            f"{did_you_mean(condition, list(table.columns))}"
        )
    if not isinstance(condition, str | Mapping | Condition) and not callable(condition):
        raise ParameterError(
            f"with an Ibis table, `{param}` must be a True/False column name, a mapping "
            f"{{column: values}} or a function of the table (an Ibis expression); "
            f"{type(condition).__name__} is not supported"
        )
    parsed = parse(condition, param)
    for column in parsed.columns:
        if column not in table.columns:
            raise ParameterError(f"`{param}` names the column {column!r}, which the table lacks")
    return _ibis_expr(parsed.expr, table, param)


def _ibis_expr(expr: tuple, t, param: str):
    import ibis

    kind = expr[0]
    if kind == "in":
        col = t[expr[1]]
        return ibis.ifelse(col.isnull(), ibis.null("boolean"), col.isin(list(expr[2])))
    if kind == "flag":
        col = t[expr[1]]
        if not col.type().is_boolean():
            raise ParameterError(
                f"`{param}` names {expr[1]!r}, a {col.type()} column; with a table, pass a "
                f"True/False column, a mapping such as {{{expr[1]!r}: ['value']}} or a function "
                "of the table"
            )
        return col
    if kind == "null":
        return t[expr[1]].isnull()
    if kind == "const":
        return ibis.literal(bool(expr[1]))
    if kind in ("and", "or"):
        out = _ibis_expr(expr[1], t, param)
        for e in expr[2:]:
            nxt = _ibis_expr(e, t, param)
            out = (out & nxt) if kind == "and" else (out | nxt)
        return out
    if kind == "not":
        return ~_ibis_expr(expr[1], t, param)
    if kind == "is_true":
        inner = _ibis_expr(expr[1], t, param)
        return ibis.ifelse(inner.isnull(), False, inner)
    if kind == "is_null":
        return _ibis_expr(expr[1], t, param).isnull()
    if kind == "call":
        out = expr[1](t)
        if not hasattr(out, "type") or not out.type().is_boolean():
            raise ParameterError(f"`{param}` as a function must return an Ibis True/False column")
        return out
    raise AssertionError(kind)  # pragma: no cover
