"""Checking and counting the cells (the same for every scanner of ``aggregate``).

The cells of :mod:`dispro.counts._cells` are checked on their distinct values, not on rows: codes
against the code lists of the data standard, condition values against the code lists, then the
exclusion rules in order (each record counted by the first that meets it, in the exclusions
ledger), and finally summed into ``events`` and ``base``.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .. import dictionary, ledger
from ..errors import DataQualityWarning, DisproError, ParameterError, ValidationError, did_you_mean
from ._cells import BAD_DATE, FILE, YM, Plan
from .conditions import Condition, and_, is_period, or_

#: The count columns of the result, after the ``by`` columns.
COUNT_COLUMNS = ("events", "base")

_STEP = "aggregate"
_SHOW = 10


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
    per_file = cells.distinct([FILE], where)
    return " in " + _values_text(per_file, FILE, limit=3, quote=False)


def _blanks(cond: Condition, plan: Plan) -> str:
    names = ["date" if is_period(c, plan.fields) else c for c in cond.columns]
    return ", ".join(dict.fromkeys(names)) or f"result of {cond.text}"


def _describe(cond: Condition) -> str:
    return f"{cond.param}: {cond.text}"


def count(cells, plan: Plan, shown: str, multi: bool, *, dropna: bool, strict: bool):
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
        keys = [c, FILE] if multi else [c]
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
                and_(("null", YM), ("null", BAD_DATE)),
                "a missing 'date'",
                "date",
            )
        )
        rules.append(
            (
                "records at risk with an unparseable date",
                ("not", ("null", BAD_DATE)),
                "a 'date' that is not an ISO 8601 date",
                "date",
            )
        )
    for c in plan.by:
        if not is_period(c, plan.fields):
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
        effective.append(and_(pred, ("not", prior)))
        prior = or_(prior, pred)
    counts = cells.sums(effective)
    for (rule, _, what, column), eff, n in zip(rules, effective, counts, strict=True):
        entries.append({"step": _STEP, "rule": rule, "rows": n, "action": "excluded"})
        if what is None or n == 0 or dropna:
            continue
        values, hint = "", ""
        if column == "date" and "unparseable" in rule:
            values = _values_text(cells.distinct([BAD_DATE], eff), BAD_DATE)
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
    per_file = sub.groupby(FILE, sort=False)["rows"].sum().reset_index()
    return _values_text(per_file, FILE, limit=3, quote=False)
