"""Complete and quasi-complete separation, found exactly by a linear programme (Konis 2007) and
reported by naming the cells, the levels and the terms concerned."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from ._glm import _blas, _null_space
from .results import SeparationWarning

# separation is searched for exactly (a linear programme) on at most this many distinct rows
_LP_MAX_ROWS = 200_000


def _separation(X, pos, neg, mixed):
    """Find complete or quasi-complete separation exactly, by linear programming.

    A direction ``d`` separates when ``x_i d >= 0`` on rows whose outcome is all events
    (``pos``), ``x_i d <= 0`` on rows with no events (``neg``), ``x_i d = 0`` on rows with both
    (``mixed``) and ``x_i d != 0`` somewhere: the likelihood then keeps increasing along ``d`` and
    the estimate runs to infinity (Albert & Anderson 1984; the linear programme of Konis 2007).
    ``d`` is sought in the null space of the mixed rows; the programme maximises the number of
    pure rows with margin ``x_i d >= 1`` (``t_i <= 1``), so every separable row is found at once.

    Returns ``(rows, direction)``: indices of the separated rows and the direction ``d``, or
    ``None`` when there is no separation.
    """
    pure = pos | neg
    if not pure.any():
        return None
    p = X.shape[1]
    Xm = X[mixed]
    if Xm.shape[0]:
        null = _null_space(Xm)
        if null.shape[1] == 0:
            return None
    else:
        null = np.eye(p)
    sign = np.where(pos[pure], 1.0, -1.0)
    A = (X[pure] * sign[:, None]) @ null  # margins are A c
    A[np.abs(A) < 1e-12] = 0.0
    m, r = A.shape
    # variables: c (r, free), t (m, in [0, 1]); maximise sum t subject to t <= A c
    cost = np.concatenate([np.zeros(r), -np.ones(m)])
    a_ub = np.hstack([-A, np.eye(m)]) if m <= 2000 else None
    if a_ub is None:
        from scipy import sparse

        a_ub = sparse.hstack([sparse.csr_matrix(-A), sparse.identity(m, format="csr")]).tocsr()
    bounds = [(None, None)] * r + [(0.0, 1.0)] * m
    res = optimize.linprog(cost, A_ub=a_ub, b_ub=np.zeros(m), bounds=bounds, method="highs")
    if res.status != 0 or -res.fun < 0.5:
        return None
    t = res.x[r:]
    rows = np.flatnonzero(pure)[t > 0.5]
    direction = null @ res.x[:r]
    return rows, direction


def _describe_cells(data: pd.DataFrame, keys: list[str], rows, events: str, n: str, limit=8):
    shown = []
    for i in rows[:limit]:
        label = ", ".join(f"{k}={data[k].iloc[i]!s}" for k in keys)
        shown.append(f"[{label}: {int(data[events].iloc[i])} of {int(data[n].iloc[i])}]")
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return " ".join(shown) + more


def _offending_levels(data, keys, rows, n_col):
    """Levels all of whose cells are separated: e.g. an offence group that never gets custody."""
    flagged = np.zeros(len(data), dtype=bool)
    flagged[rows] = True
    named = []
    for k in keys:
        col = data[k]
        if not isinstance(col.dtype, pd.CategoricalDtype):
            continue
        codes = col.cat.codes.to_numpy()
        total = np.bincount(
            codes, weights=(data[n_col].to_numpy() > 0), minlength=len(col.cat.categories)
        )
        hit = np.bincount(
            codes, weights=flagged & (data[n_col].to_numpy() > 0), minlength=len(col.cat.categories)
        )
        for j in np.flatnonzero((total > 0) & (hit == total)):
            named.append(f"{k}={col.cat.categories[j]!s}")
    return named


def _check_separation(X, names, labels, data, keys, *, events, trials, func, kind="binomial"):
    """Warn (naming cells, levels and terms) and return the separated columns, or an empty set."""
    if kind == "binomial":
        pos = (events == trials) & (trials > 0)
        neg = (events == 0) & (trials > 0)
    else:  # poisson: only zero counts can be pushed to a zero mean
        pos = np.zeros(len(events), dtype=bool)
        neg = events == 0
    mixed = ~(pos | neg)
    with _blas(X.size):
        found = _separation(X, pos, neg, mixed)
    if found is None:
        return set()
    rows, direction = found
    scale = np.abs(direction).max()
    cols = set(np.flatnonzero(np.abs(direction) > 1e-7 * scale).tolist())
    terms = [
        f"{labels[names[j]][0]}={labels[names[j]][1]}"
        if labels.get(names[j], (0, None))[1]
        else names[j]
        for j in sorted(cols)
    ]
    levels = _offending_levels(data, keys, rows, "_n")
    what = "no events or only events" if kind == "binomial" else "no events"
    warnings.warn(
        f"{func}: complete or quasi-complete separation. {len(rows)} cell(s) have {what} in a way "
        f"the covariates reproduce exactly, so some estimates run to 0 or infinity. Offending "
        f"levels: {levels or 'a combination of levels (see the cells)'}. Cells (events of "
        f"records): {_describe_cells(data, keys, rows, '_events', '_n')}. Terms not estimable "
        f"(reported as missing with status 'separated'): {terms}. The other estimates are the "
        "limits of the maximum-likelihood fit and remain usable. To avoid this, merge or drop the "
        "offending levels, or leave those records out of the model.",
        SeparationWarning,
        stacklevel=3,
    )
    return cols
