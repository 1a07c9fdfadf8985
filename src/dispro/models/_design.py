"""Formulas and design matrices: the formula terms dispro writes (``C(x, Treatment(reference=
...))``), the parameter names patsy gives them, and the design built from categorical codes with
patsy's names and column order (:func:`_design`, tested equal to patsy's)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from ._prepare import _is_continuous, _Prepared


def _formula_name(name: str) -> str:
    return name if str(name).isidentifier() else f"Q({json.dumps(str(name))})"


def _cat_term(name: str, reference: str) -> str:
    return f"C({_formula_name(name)}, Treatment(reference={json.dumps(str(reference))}))"


def _terms(prep: _Prepared, control_reference: dict[str, str]) -> tuple[list[str], dict]:
    """Formula terms of the group and the controls, and the expected parameter names."""
    gterm = _cat_term(prep.group, prep.reference)
    pieces = [gterm]
    labels: dict[str, tuple[str, str | None]] = {"Intercept": ("Intercept", None)}
    for g in prep.groups:
        if g != prep.reference:
            labels[f"{gterm}[T.{g}]"] = (prep.group, g)
    for c in prep.controls:
        if c in prep.continuous:
            pieces.append(_formula_name(c))
            labels[_formula_name(c)] = (c, None)
        else:
            term = _cat_term(c, control_reference[c])
            pieces.append(term)
            for lv in prep.categorical[c][1]:
                if lv != control_reference[c]:
                    labels[f"{term}[T.{lv}]"] = (c, str(lv))
    return pieces, labels


def _group_columns(names: list[str], prep: _Prepared) -> dict[str, int | None]:
    gterm = _cat_term(prep.group, prep.reference)
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, int | None] = {}
    for g in prep.groups:
        out[g] = None if g == prep.reference else index[f"{gterm}[T.{g}]"]
    return out


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside parentheses and string literals."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _parse_factor(code: str, columns) -> tuple[str, str | None] | None:
    """``(column, reference)`` of a factor written by :func:`_cat_term` (reference ``None``: a
    numeric factor written by :func:`_formula_name`), or ``None`` for anything else."""
    reference = None
    if code.startswith("C(") and code.endswith("))") and ", Treatment(reference=" in code:
        code, ref = code[2:-2].rsplit(", Treatment(reference=", 1)
        try:
            reference = json.loads(ref)
        except ValueError:
            return None
        if not isinstance(reference, str):
            return None
    if code.startswith('Q("') and code.endswith('")'):
        try:
            code = json.loads(code[2:-1])
        except ValueError:
            return None
    elif not code.isidentifier():
        return None
    return (code, reference) if code in columns else None


def _design(formula: str, data: pd.DataFrame):
    """The design statsmodels' formula API (patsy) builds for ``formula`` on ``data``, from codes.

    For the formulas dispro writes: numeric columns on the left; on the right an intercept,
    categoricals with treatment coding and a stated reference (``C(x, Treatment(reference="a"))``,
    levels = the pandas categories), numeric columns, and interactions of categoricals whose main
    effects are in the formula. Columns are named and ordered as patsy does (terms without numeric
    factors first, by degree, then each numeric factor's terms; in an interaction the left-most
    factor varies fastest), so names and matrix equal patsy's (tested). patsy itself codes every
    value of a categorical wrapped in ``C(...)`` in a Python loop: 0.4 s for the 17,556 cells of
    1,000,000 records, against 2 ms here.

    Returns ``(endog, exog)`` DataFrames with patsy's column names, or ``None`` for any other
    formula (statsmodels' formula API is then used).
    """
    if formula.count("~") != 1:
        return None
    lhs_text, rhs_text = formula.split("~")
    columns = set(data.columns)
    n = len(data)
    lhs_names, lhs_cols = [], []
    for code in _split_top(lhs_text, "+"):
        parsed = _parse_factor(code, columns)
        if parsed is None or parsed[1] is not None or not _is_continuous(data[parsed[0]]):
            return None
        lhs_names.append(code)
        lhs_cols.append(data[parsed[0]].to_numpy(dtype=float))
    # the right-hand side: terms as tuples of factors (code, column, reference)
    terms = []
    for text in _split_top(rhs_text, "+"):
        factors = []
        for code in _split_top(text, ":"):
            parsed = _parse_factor(code, columns)
            if parsed is None:
                return None
            factors.append((code, *parsed))
        if len({f[0] for f in factors}) != len(factors):
            return None
        if frozenset(f[0] for f in factors) in {frozenset(f[0] for f in t) for t in terms}:
            return None  # a repeated term (patsy drops it)
        terms.append(tuple(factors))
    mains = {t[0][0] for t in terms if len(t) == 1}
    for t in terms:
        if len(t) > 1 and any(f[2] is None or f[0] not in mains for f in t):
            return None  # numeric interactions and interactions without main effects: patsy's
    # patsy's order: terms with no numeric factor first, then one group per numeric factor in
    # order of appearance; within a group by degree, then as written
    groups: dict[tuple, list] = {(): []}
    for t in terms:
        groups.setdefault(tuple(f[0] for f in t if f[2] is None), []).append(t)
    ordered = [t for g in groups.values() for t in sorted(g, key=len)]
    # each column is a product of factors: (codes, level) for an indicator, or numeric values
    names, columns = ["Intercept"], [[]]
    for t in ordered:
        parts = []  # per factor: [(name, indicator or values), ...]
        for code, column, reference in t:
            values = data[column]
            if reference is None:
                if not _is_continuous(values):
                    return None
                parts.append([(code, values.to_numpy(dtype=float))])
                continue
            if not isinstance(values.dtype, pd.CategoricalDtype):
                return None
            levels = list(values.cat.categories)
            if reference not in levels or not all(isinstance(lv, str) for lv in levels):
                return None
            codes = values.cat.codes.to_numpy()
            if (codes < 0).any():
                return None
            parts.append(
                [(f"{code}[T.{lv}]", (codes, j)) for j, lv in enumerate(levels) if lv != reference]
            )
        # the left-most factor varies fastest
        for combo in itertools.product(*reversed(parts)):
            combo = combo[::-1]
            names.append(":".join(name for name, _ in combo))
            columns.append([factor for _, factor in combo])
    X = np.empty((n, len(names)), order="F")  # column-major: what a DataFrame holds
    for j, factors in enumerate(columns):
        out = X[:, j]
        out[:] = 1.0
        for factor in factors:
            if isinstance(factor, tuple):
                out *= factor[0] == factor[1]
            else:
                out *= factor
    endog = pd.DataFrame(dict(zip(lhs_names, lhs_cols, strict=True)), index=data.index)
    exog = pd.DataFrame(X, columns=names, index=data.index, copy=False)
    return endog, exog
