"""The data standard: loads ``data_dictionary/``, validates frames against it, renders it.

The field definitions and code lists live in plain YAML and CSV files under ``data_dictionary/``
(see its README for the format). Nothing here restates them: every check reads them.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ._paths import dictionary_dir
from .errors import ParameterError, ValidationError, check_choice, did_you_mean

__all__ = [
    "datasets",
    "dataset",
    "codelist",
    "codelists",
    "codes",
    "coerce",
    "validate",
    "render",
    "PROBLEM_COLUMNS",
]


def _dir() -> Path:
    return dictionary_dir()


@functools.cache
def datasets() -> tuple[str, ...]:
    """Names of the datasets the standard defines."""
    return tuple(sorted(p.stem for p in (_dir() / "datasets").glob("*.yaml")))


@functools.cache
def _dataset(name: str) -> dict:
    path = _dir() / "datasets" / f"{name}.yaml"
    if not path.is_file():
        raise ParameterError(
            f"`dataset` must be one of {datasets()}, but {name!r} was passed"
            f"{did_you_mean(name, datasets())}"
        )
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    spec.setdefault("name", name)
    return spec


def dataset(name: str) -> dict:
    """The specification of one dataset: a dict with ``name``, ``description`` and ``fields``.

    Each field is a dict with ``name``, ``type``, ``required``, ``nullable``, ``description`` and,
    where relevant, ``codes`` (the name of a code list), ``min`` and ``max``.
    """
    spec = _dataset(name)
    return {**spec, "fields": [dict(f) for f in spec["fields"]]}


@functools.cache
def codelists() -> tuple[str, ...]:
    """Names of the code lists in the standard."""
    return tuple(sorted(p.stem for p in (_dir() / "codelists").glob("*.csv")))


@functools.cache
def _codelist(name: str) -> pd.DataFrame:
    path = _dir() / "codelists" / f"{name}.csv"
    if not path.is_file():
        raise ParameterError(
            f"code list {name!r} is not in data_dictionary/codelists/{did_you_mean(name, codelists())}"
        )
    # keep_default_na=False: labels such as "None" or "NA" are codes, not missing values
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def codelist(name: str) -> pd.DataFrame:
    """One code list as a DataFrame of strings (a copy: safe to modify)."""
    return _codelist(name).copy()


def codes(name: str, column: str = "code") -> list[str]:
    """The allowed values of a code list, in file order."""
    return _codelist(name)[column].tolist()


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

#: Columns of the problem table :func:`validate` returns.
PROBLEM_COLUMNS = ("severity", "column", "problem", "count", "rows", "values", "hint")
TYPES = ("string", "category", "date", "datetime", "integer", "number", "boolean")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_ROWS = 10
_MAX_VALUES = 10


def _blank(values: pd.Series) -> pd.Series:
    """Missing, or a string of only whitespace."""
    out = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        out |= values.astype("string").str.strip().eq("").fillna(False).astype(bool)
    return out


def _rows_text(index: pd.Index) -> str:
    shown = ", ".join(str(i) for i in index[:_MAX_ROWS])
    return shown + (f" (+{len(index) - _MAX_ROWS} more)" if len(index) > _MAX_ROWS else "")


def _values_text(values: pd.Series) -> str:
    counts = values.astype(str).value_counts()
    shown = ", ".join(f"{v!r} ×{n}" for v, n in counts.head(_MAX_VALUES).items())
    more = len(counts) - _MAX_VALUES
    return shown + (f" (+{more} more distinct values)" if more > 0 else "")


def _problem(severity, column, problem, mask_or_index, values=None, hint="", frame=None):
    if isinstance(mask_or_index, pd.Index):
        index = mask_or_index
    else:
        index = frame.index[np.asarray(mask_or_index, dtype=bool)]
    return {
        "severity": severity,
        "column": column,
        "problem": problem,
        "count": len(index),
        "rows": _rows_text(index),
        "values": "" if values is None else _values_text(values),
        "hint": hint,
    }


def _check_field(frame: pd.DataFrame, field: dict) -> list[dict]:
    name, kind = field["name"], field.get("type", "string")
    col = frame[name]
    blank = _blank(col).to_numpy()
    problems = []
    if blank.any() and not field.get("nullable", True):
        problems.append(
            _problem(
                "error",
                name,
                "blank values in a field that must be filled",
                blank,
                hint=f"every row needs a {name}; fill it from the source or remove the rows "
                "(and count them)",
                frame=frame,
            )
        )
    present = col[~blank]
    if present.empty:
        return problems
    if kind in ("integer", "number"):
        num = pd.to_numeric(present, errors="coerce")
        bad = num.isna()
        if bad.any():
            problems.append(
                _problem(
                    "error",
                    name,
                    f"values that are not numbers ({kind} expected)",
                    present.index[bad],
                    present[bad],
                    hint="remove thousands separators, units and text markers",
                )
            )
        num = num[~bad]
        if kind == "integer":
            frac = num != np.round(num)
            if frac.any():
                problems.append(
                    _problem(
                        "error",
                        name,
                        "values that are not whole numbers",
                        num.index[frac],
                        num[frac],
                        hint="counts and bands must be whole numbers",
                    )
                )
        for bound, op in (("min", np.less), ("max", np.greater)):
            if field.get(bound) is not None:
                out = op(num.to_numpy(dtype=float), float(field[bound]))
                if out.any():
                    problems.append(
                        _problem(
                            "error",
                            name,
                            f"values {'below the minimum' if bound == 'min' else 'above the maximum'} "
                            f"{field[bound]}",
                            num.index[out],
                            num[out],
                        )
                    )
    elif kind in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(present):
            return problems
        parsed = pd.to_datetime(present.astype(str), errors="coerce", format="ISO8601", utc=True)
        bad = parsed.isna().to_numpy()
        if bad.any():
            problems.append(
                _problem(
                    "error",
                    name,
                    f"values that are not ISO 8601 {kind}s",
                    present.index[bad],
                    present[bad],
                    hint="write dates as YYYY-MM-DD (datetimes as YYYY-MM-DDTHH:MM:SS)",
                )
            )
    elif kind == "boolean":
        if pd.api.types.is_bool_dtype(present):
            return problems
        text = present.astype(str).str.strip().str.lower()
        bad = ~text.isin(_TRUE | _FALSE).to_numpy()
        if bad.any():
            problems.append(
                _problem(
                    "error",
                    name,
                    "values that are not True/False",
                    present.index[bad],
                    present[bad],
                    hint="use True or False; leave blank only where the value was not recorded",
                )
            )
    elif kind == "category" and field.get("codes"):
        allowed = codes(field["codes"])
        allowed_set = set(allowed)
        text = present.astype(str)
        bad = ~text.isin(allowed_set).to_numpy()
        if bad.any():
            offending = text[bad]
            suggestions = []
            for value in offending.value_counts().index[:_MAX_VALUES]:
                hint = did_you_mean(value, allowed)
                if hint:
                    suggestions.append(f"{value!r}{hint.removeprefix(';')}")
            hint = (
                "; ".join(suggestions)
                if suggestions
                else f"allowed codes are in data_dictionary/codelists/{field['codes']}.csv"
            )
            problems.append(
                _problem(
                    "error",
                    name,
                    f"values not in the code list {field['codes']!r}",
                    offending.index,
                    offending,
                    hint=hint,
                )
            )
    return problems


def validate(
    frame: pd.DataFrame, dataset: str, *, strict: bool = True, source: str | None = None
) -> pd.DataFrame:
    """Check a frame against the data standard and report every problem at once.

    Parameters
    ----------
    frame : DataFrame
        Records (or a population table) in the canonical schema. Row numbers in the report are the
        frame's index labels (readers set them to the file's line numbers).
    dataset : str
        One of :func:`datasets` (``stop_search``, ``disposals``, ``charging``, ``sentencing``,
        ``population``).
    strict : bool
        Raise :class:`~dispro.errors.ValidationError` when any error is found (default). With
        ``strict=False`` the problem table is returned for the caller to act on.
    source : str, optional
        A file name or description used in the error message.

    Returns
    -------
    DataFrame
        One row per problem, columns :data:`PROBLEM_COLUMNS`: ``severity`` (``error`` or
        ``warning``), ``column``, ``problem``, ``count`` (rows affected), ``rows`` (the first row
        labels), ``values`` (offending values with their counts), ``hint`` (how to fix it, with a
        did-you-mean for near-miss names and codes). Empty when the frame is valid.

    Raises
    ------
    ValidationError
        In strict mode, when any problem has severity ``error``; ``.problems`` holds the table.

    Examples
    --------
    >>> import pandas as pd, dispro
    >>> bad = pd.DataFrame({"area": ["Dorset", "Dorset"], "ethnicity": ["White", ""],
    ...                     "population": [-5, 10]})
    >>> problems = dispro.validate(bad, "population", strict=False)
    >>> print(problems[["column", "problem", "rows"]].to_string(index=False))
        column                                     problem rows
    area_level                  required column is missing  all
     ethnicity blank values in a field that must be filled    1
    population                  values below the minimum 0    0
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"`frame` must be a pandas DataFrame, but {type(frame).__name__} was passed"
        )
    spec = dataset_spec = _dataset(dataset)
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise ValidationError(
            f"the data{f' in {source}' if source else ''} name the column(s) {repeated[:20]} more "
            "than once; remove or rename the repeated column(s), so that each is checked once"
        )
    fields = {f["name"]: f for f in spec["fields"]}
    problems: list[dict] = []
    extra = [c for c in frame.columns if c not in fields]
    for name, field in fields.items():
        if name not in frame.columns and field.get("required", False):
            problems.append(
                {
                    "severity": "error",
                    "column": name,
                    "problem": "required column is missing",
                    "count": len(frame),
                    "rows": "all",
                    "values": "",
                    "hint": (
                        did_you_mean(name, extra).removeprefix("; ")
                        or f"add a {name!r} column ({field.get('description', '').strip()[:80]})"
                    ),
                }
            )
    for column in extra:
        hint = did_you_mean(str(column), fields)
        if hint:
            problems.append(
                {
                    "severity": "warning",
                    "column": column,
                    "problem": f"column is not in the {dataset_spec['name']} standard",
                    "count": len(frame),
                    "rows": "all",
                    "values": "",
                    "hint": hint.removeprefix("; "),
                }
            )
    for name, field in fields.items():
        if name in frame.columns:
            problems.extend(_check_field(frame, field))
    table = pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS))
    errors = table[table["severity"] == "error"]
    if strict and not errors.empty:
        where = f" in {source}" if source else ""
        lines = [
            f"{len(errors)} problem(s) with the {dataset} data{where} ({len(frame)} rows); "
            "every problem is listed:"
        ]
        for p in errors.itertuples():
            detail = f"rows {p.rows}" if p.rows != "all" else "all rows"
            values = f"; values: {p.values}" if p.values else ""
            hint = f"; {p.hint}" if p.hint else ""
            lines.append(
                f"  - column {p.column!r}: {p.problem} ({p.count}; {detail}{values}){hint}"
            )
        raise ValidationError("\n".join(lines), problems=table)
    return table


# --------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return html.escape(text.replace("\n", " ").strip()).replace("|", "\\|")


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def render(format: str = "markdown") -> str:  # noqa: A002 - the CLI's word
    """The data standard as a Markdown or HTML document, for the report's appendix.

    Every dataset's fields (type, required, blanks allowed, code list, description) and every
    code list, read from ``data_dictionary/``. Text from the files is HTML-escaped.
    """
    check_choice("format", format, ("markdown", "html"))
    parts = [
        "# The dispro data standard",
        "",
        "Generated from `data_dictionary/` by `dispro dictionary`.",
        "",
    ]
    for name in datasets():
        spec = _dataset(name)
        parts += [f"## Dataset `{name}`", "", _cell(spec.get("description", "")), ""]
        if spec.get("one_row_is"):
            parts += [f"One row is {_cell(spec['one_row_is'])}.", ""]
        fields = pd.DataFrame(
            [
                {
                    "field": f["name"],
                    "type": f.get("type", "string"),
                    "required": "yes" if f.get("required") else "no",
                    "blanks allowed": "yes" if f.get("nullable", True) else "no",
                    "codes": f.get("codes", ""),
                    "description": f.get("description", ""),
                }
                for f in spec["fields"]
            ]
        )
        parts += [_md_table(fields), ""]
    parts += ["## Code lists", ""]
    for name in codelists():
        parts += [f"### `{name}`", "", _md_table(_codelist(name)), ""]
    text = "\n".join(parts)
    if format == "markdown":
        return text
    import markdown

    body = markdown.markdown(text, extensions=["tables"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>The dispro data standard</title>"
        "<style>body{font-family:sans-serif;max-width:75em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px;"
        "vertical-align:top}</style></head><body>\n" + body + "\n</body></html>\n"
    )


def coerce(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Convert a validated frame's columns to the types the standard declares (a copy).

    ``date``/``datetime`` become datetimes (ISO 8601), ``integer`` nullable integers, ``number``
    floats, ``boolean`` nullable booleans (True/False, 1/0, yes/no), ``category`` and ``string``
    stay text with blanks as missing. Run :func:`validate` first: values that do not convert
    become missing here.
    """
    out = frame.copy()
    for f in _dataset(dataset)["fields"]:
        name, kind = f["name"], f.get("type", "string")
        if name not in out.columns:
            continue
        col = out[name]
        blank = _blank(col)
        if kind in ("date", "datetime"):
            if not pd.api.types.is_datetime64_any_dtype(col):
                parsed = pd.to_datetime(
                    col.where(~blank).astype("string"), errors="coerce", format="ISO8601", utc=True
                )
                out[name] = parsed.dt.tz_localize(None) if kind == "date" else parsed
        elif kind == "integer":
            out[name] = pd.to_numeric(col.where(~blank), errors="coerce").round().astype("Int64")
        elif kind == "number":
            out[name] = pd.to_numeric(col.where(~blank), errors="coerce").astype(float)
        elif kind == "boolean":
            if not pd.api.types.is_bool_dtype(col):
                text = col.where(~blank).astype("string").str.strip().str.lower()
                out[name] = text.map(lambda v: v in _TRUE if v in _TRUE | _FALSE else None).astype(
                    "boolean"
                )
        else:
            out[name] = col.where(~blank, None).astype(object)
    return out
