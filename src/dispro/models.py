"""Adjusted models: logistic regression on collapsed cells, marginal standardisation, Poisson rate
models, sentence length, E-values, inverse-probability weighting and change over time.

The unadjusted RRI asks "how different are the outcomes?"; these models ask "how different are they
for people alike in offence, plea, history, age, sex and area?" (METHODS.md section 5).

One result type
---------------
Every model function returns a :class:`ModelResult`, a small read-only object with

- ``.table``: the tidy term table, exactly :data:`TERM_COLUMNS` (``term, ..., estimate, ...,
  ci_lower, ci_upper, p_value, status``) with the estimate on the ratio scale (odds ratio, rate
  ratio, ratio of means); :func:`change_over_time` gives per-period odds ratios
  (:data:`PERIOD_COLUMNS`) and :func:`ipw_check` weighted rate ratios (:data:`IPW_COLUMNS`);
- ``.adjusted``: adjusted rates and adjusted risk (rate, mean) ratios by marginal standardisation,
  exactly :data:`ADJUSTED_COLUMNS` (``group, adjusted_rate, adjusted_rr, ci_lower, ci_upper`` first),
  or ``None`` where the function has none;
- ``.model``: the fitted statsmodels results object (for :func:`ipw_check`, a dict of fitted
  scikit-learn propensity models), for diagnostics;
- ``.data``: the frame the model was fitted on (the collapsed cells, or the records);
- ``.tests`` (:func:`change_over_time`) and ``.balance`` (:func:`ipw_check`): further tables;
- ``.info``: formula, family, data level, records and cells used, controls used and dropped, each
  control's reference level, cluster, covariance type, alpha and plain-English ``notes``;
- ``.exclusions``: the exclusions ledger (also in ``table.attrs["exclusions"]``).

The fitted model is kept on the result rather than in ``DataFrame.attrs`` because pandas deep-copies
``attrs`` on every operation on a frame (slicing, rounding), which would copy the model and its data
each time.

Collapsed cells
---------------
With categorical covariates only, records sharing a covariate pattern are exchangeable, so the
models are fitted on one row per pattern (per cluster, when clustering): binomial successes out of
trials for :func:`logistic` (a two-column ``events + nonevents`` endog), and ``n``, ``Σy`` and
``Σy²`` for the Gamma and log-OLS sentence-length models. Estimates, standard errors and
cluster-robust standard errors equal those of the record-level fit (tested to 1e-8; see
``tests/test_models.py``) and the fit takes a fraction of the time (``docs/performance.md``).

Formulas and designs
--------------------
Every model is stated as a statsmodels formula with its reference levels
(``C(ethnicity, Treatment(reference="White"))``), kept in ``info["formula"]`` and on the model
(``.model.model.formula``). The design matrix is built from the categorical codes with the names and
column order patsy gives that formula (:func:`_design`, tested equal to patsy's), because patsy
codes each value of a ``C(...)`` term in a Python loop; GLMs are fitted by statsmodels' IRLS with
each step solved on the normal equations (:func:`_irls`). The fitted model is a statsmodels
``GLMResults`` as ``smf.glm(...).fit()`` returns it, and ``predict`` takes data frames.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import linalg, optimize, special, stats
from statsmodels.tools import sm_exceptions
from threadpoolctl import ThreadpoolController

from . import ledger
from ._checks import as_list as _as_list
from ._checks import check_alpha as _check_alpha
from ._checks import check_counts as _check_counts
from ._checks import require_columns as _require_columns
from ._stats import katz as _katz
from ._stats import poisson_wald as _poisson_wald
from ._stats import z as _z
from .errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from .ethnicity import GROUPS
from .rates import _condition

__all__ = [
    "TERM_COLUMNS",
    "ADJUSTED_COLUMNS",
    "PERIOD_COLUMNS",
    "TEST_COLUMNS",
    "IPW_COLUMNS",
    "BALANCE_COLUMNS",
    "E_VALUE_COLUMNS",
    "TERM_STATUSES",
    "DATA_LEVELS",
    "FAMILIES",
    "LENGTH_METHODS",
    "RR_METHODS",
    "E_VALUE_SCALES",
    "ESTIMANDS",
    "IMMEDIATE_CUSTODY",
    "ModelResult",
    "SeparationWarning",
    "logistic",
    "adjusted_rates",
    "poisson_rates",
    "sentence_length",
    "change_over_time",
    "ipw_check",
    "e_value",
    "odds_to_probability",
]

#: Columns of every model's term table (``ModelResult.table``), in order.
TERM_COLUMNS = (
    "term",
    "variable",
    "level",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "status",
)

#: Values of ``status`` in term tables: ``separated`` marks a term whose estimate runs to 0 or
#: infinity (complete or quasi-complete separation); its estimate, interval and p-value are missing.
TERM_STATUSES = ("ok", "separated")

#: Columns of the adjusted-rate table (``ModelResult.adjusted``), in order.
ADJUSTED_COLUMNS = (
    "group",
    "adjusted_rate",
    "adjusted_rr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "rate_ci_lower",
    "rate_ci_upper",
    "events",
    "base",
    "rate",
    "rri",
    "rri_ci_lower",
    "rri_ci_upper",
    "share_explained",
    "e_value",
    "e_value_ci",
)

#: Columns of :func:`change_over_time`'s table of per-period odds ratios.
PERIOD_COLUMNS = (
    "period",
    "group",
    "term",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "status",
)

#: Columns of :func:`change_over_time`'s test table (``ModelResult.tests``).
TEST_COLUMNS = ("test", "group", "statistic", "df", "p_value", "method")

#: Columns of :func:`ipw_check`'s table of weighted rates.
IPW_COLUMNS = (
    "group",
    "weighted_rate",
    "weighted_reference_rate",
    "weighted_rr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "rate",
    "reference_rate",
    "rri",
    "records",
    "reference_records",
    "effective_n",
    "reference_effective_n",
    "max_abs_smd_before",
    "max_abs_smd_after",
)

#: Columns of :func:`ipw_check`'s covariate balance table (``ModelResult.balance``).
BALANCE_COLUMNS = (
    "group",
    "variable",
    "level",
    "mean_group",
    "mean_reference",
    "smd_before",
    "weighted_mean_group",
    "weighted_mean_reference",
    "smd_after",
)

#: Columns of :func:`e_value`.
E_VALUE_COLUMNS = ("estimate", "ci_limit", "scale", "rr", "rr_ci_limit", "e_value", "e_value_ci")

DATA_LEVELS = ("auto", "cells", "records")
FAMILIES = ("poisson", "negative_binomial", "quasi")
LENGTH_METHODS = ("gamma", "log_ols")
RR_METHODS = ("delta", "bootstrap")
E_VALUE_SCALES = ("rr", "or_rare", "or_common")
ESTIMANDS = ("att", "ate")

#: The default ``among`` of :func:`sentence_length`: sentences of immediate custody.
IMMEDIATE_CUSTODY = MappingProxyType({"outcome": ("immediate_custody",)})

#: Above this Pearson dispersion a Poisson fit warns of overdispersion (dispro's convention).
OVERDISPERSION = 1.5

#: Fewer clusters than this give a warning: cluster-robust errors need many clusters.
FEW_CLUSTERS = 20

# column names dispro adds to the frames it fits; a user column of the same name is refused
_RESERVED = ("_events", "_nonevents", "_n", "_mean", "_exposure", "_s1", "_s2", "_months")

# separation is searched for exactly (a linear programme) on at most this many distinct rows
_LP_MAX_ROWS = 200_000

# IRLS stops when the deviance changes by less than 1e-13 of itself (or 1e-10: a saturated fit
# on cells has deviance 0). statsmodels' default ``tol`` is an absolute change only, which on a
# deviance of 10^4 or more (millions of records) sits at rounding noise and can take dozens of
# extra iterations; IRLS converges quadratically, so the estimates are at machine precision one
# iteration after this is met.
_IRLS = {"atol": 1e-10, "rtol": 1e-13}

# design matrices up to this many elements are fitted with one BLAS thread (see _blas)
_SMALL_BLAS = 2_000_000


def _blas(n_elements: int):
    """One BLAS thread for small matrices (collapsed cells), the library default otherwise.

    On tall-skinny matrices of a few thousand rows a multi-threaded OpenBLAS gains nothing, and on
    a busy machine its spinning threads make each call up to 100 times slower (measured: a thin SVD
    of 2,762 x 24 took 0.8 s with 2 threads on a loaded 2-core machine, 0.008 s with 1). The limit
    is set with threadpoolctl for the duration of the call only, as scikit-learn does. The
    controller (which lists the loaded BLAS libraries, about 4 ms) is made once per process.
    """
    if n_elements <= _SMALL_BLAS:
        global _CONTROLLER
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


_CONTROLLER: ThreadpoolController | None = None


class SeparationWarning(DisproWarning):
    """Complete or quasi-complete separation: some estimates run to 0 or infinity."""


# --------------------------------------------------------------------------------------------
# the result object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class ModelResult:
    """What every model function in :mod:`dispro.models` returns.

    Attributes
    ----------
    table : DataFrame
        The tidy table of estimates (see the function for its columns).
    adjusted : DataFrame or None
        Adjusted rates and ratios by marginal standardisation (:data:`ADJUSTED_COLUMNS`).
    model : object
        The fitted statsmodels results (``.model.summary()``, ``.model.cov_params()``); for
        :func:`ipw_check` a dict ``{group: fitted LogisticRegression}``.
    data : DataFrame
        The frame the model was fitted on: the collapsed cells (one row per pattern of the group,
        controls and cluster, with ``_events``, ``_nonevents`` and ``_n`` records for
        :func:`logistic`; ``_n``, ``_s1`` = Σy, ``_s2`` = Σy², ``_mean`` and ``_months`` for
        :func:`sentence_length`), or the records used, or the counts rows for
        :func:`poisson_rates` (``_events``, ``_exposure``).
    info : dict
        Formula, family, data level, counts, controls used and dropped, reference levels, cluster,
        covariance type, alpha and ``notes`` (plain English, for a report's methods appendix).
    tests : DataFrame or None
        :func:`change_over_time`'s tests (:data:`TEST_COLUMNS`).
    balance : DataFrame or None
        :func:`ipw_check`'s covariate balance (:data:`BALANCE_COLUMNS`).
    """

    table: pd.DataFrame
    adjusted: pd.DataFrame | None
    model: Any
    data: pd.DataFrame
    info: dict
    tests: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    _spec: dict = field(default_factory=dict)

    @property
    def exclusions(self) -> pd.DataFrame:
        """The exclusions ledger: every rule that dropped records, with counts."""
        return ledger.exclusions(self.table)

    def __repr__(self) -> str:
        info = self.info
        lines = [
            f"<ModelResult of {info.get('function')}: {info.get('family', '')}, "
            f"{info.get('records', '?'):,} records fitted as {info.get('rows_fitted', '?'):,} "
            f"{info.get('data_level', '')}>",
            f"formula: {info.get('formula', '')}",
            ".table:",
            self.table.to_string(max_rows=20),
        ]
        if self.adjusted is not None:
            lines += [".adjusted:", self.adjusted.to_string(max_rows=20)]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# kernels: numpy in, numpy out
# --------------------------------------------------------------------------------------------


def _wald(b, se, z):
    """Interval ``b ± z·se`` and two-sided p-value of ``b / se`` (all on the log scale)."""
    b, se = np.asarray(b, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(b / se))
    return b - z * se, b + z * se, p


def _e_value_kernel(rr):
    """``E = RR* + sqrt(RR*(RR* - 1))`` with ``RR* = max(RR, 1/RR)``; NaN stays NaN."""
    rr = np.asarray(rr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(rr >= 1, rr, 1 / rr)
        return r + np.sqrt(r * (r - 1))


def _e_value_limit(rr, limit):
    """E-value of the interval limit nearest 1: 1 when the interval includes 1."""
    rr, limit = np.asarray(rr, dtype=float), np.asarray(limit, dtype=float)
    crosses = ((rr > 1) & (limit <= 1)) | ((rr < 1) & (limit >= 1)) | (rr == 1)
    out = np.where(crosses, 1.0, _e_value_kernel(limit))
    return np.where(np.isnan(rr) | np.isnan(limit), np.nan, out)


def _share_explained(adjusted_rr, rri):
    """``1 - ln(adjusted RR) / ln(RRI)`` where both lie strictly on the same side of 1."""
    a, r = np.asarray(adjusted_rr, dtype=float), np.asarray(rri, dtype=float)
    same = ((a > 1) & (r > 1)) | ((a < 1) & (a > 0) & (r < 1) & (r > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 1 - np.log(a) / np.log(r)
    return np.where(same, share, np.nan)


def _standardise(X, w, beta, cov, group_col, kind, skip_cols=()):
    """Marginal standardisation (g-computation) on a design matrix.

    Every row of ``X`` (a cell or a record, weighted by ``w``) is given each group in turn (the
    group's dummy columns set to that group) and the predictions are averaged:
    ``R_g = Σ w_i μ(x_i^g β) / Σ w_i``. Returns ``{group: (R_g, dR_g/dβ)}``.

    ``kind``: ``"logit"`` (μ = expit(η)), ``"log"`` (μ = exp(η)), or ``"log_ols"`` (the
    standardised geometric mean ``exp(Σ w η / Σ w)``).
    """
    W = float(w.sum())
    cols = [c for c in group_col.values() if c is not None]
    # the design with the group's columns set to 0, without copying it: those columns of a
    # product with it are 0 (X @ beta0 with beta0 zero there; gradients zeroed below)
    beta0 = np.array(beta, dtype=float, copy=True)
    beta0[cols] = 0.0
    eta0 = X @ beta0
    skip = list(skip_cols)
    out = {}
    for g, col in group_col.items():
        shift = 0.0 if col is None else beta[col]
        eta = eta0 + shift
        if kind == "log_ols":
            rate = float(np.exp(w @ eta / W))
            grad = rate * (w @ X) / W
            grad[cols] = 0.0
            if col is not None:
                grad[col] = rate
        else:
            if kind == "logit":
                mu = special.expit(eta)
                dmu = mu * (1 - mu)
            else:
                mu = np.exp(eta)
                dmu = mu
            rate = float(w @ mu / W)
            wd = w * dmu
            grad = (wd @ X) / W
            grad[cols] = 0.0
            if col is not None:
                grad[col] = wd.sum() / W
        if skip:
            grad[skip] = 0.0
        out[g] = (rate, grad)
    return out


def _null_space(A, rcond=1e-10):
    """Orthonormal basis of the null space of ``A`` from its thin SVD (``A`` may be tall: never
    forms the m x m factor that ``scipy.linalg.null_space`` does)."""
    m, p = A.shape
    if _clearly_full_rank(A, rcond):  # the usual case, without the SVD
        return np.zeros((p, 0))
    _, s, vt = np.linalg.svd(A, full_matrices=m < p)
    rank = int(np.sum(s > rcond * s[0])) if len(s) and s[0] > 0 else 0
    return vt[rank:].T.copy()


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


# --------------------------------------------------------------------------------------------
# checks and preparation
# --------------------------------------------------------------------------------------------


def _check_frame(frame, name: str, func: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"{func}: `{name}` must be a pandas DataFrame, but {type(frame).__name__} was passed"
        )
    if len(frame) == 0:
        raise ValidationError(f"{func}: `{name}` has no rows")
    clash = sorted(set(_RESERVED) & {str(c) for c in frame.columns})
    if clash:
        raise ParameterError(
            f"{func}: column names {clash} are reserved for dispro's working columns; rename them"
        )


def _formula_name(name: str) -> str:
    return name if str(name).isidentifier() else f"Q({json.dumps(str(name))})"


def _cat_term(name: str, reference: str) -> str:
    return f"C({_formula_name(name)}, Treatment(reference={json.dumps(str(reference))}))"


def _is_continuous(values: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and not isinstance(values.dtype, pd.CategoricalDtype)
    )


def _order_levels(levels) -> list[str]:
    """Groups in code-list order (Asian, Black, Mixed, White, Other, Not stated), others after."""
    rank = {g: i for i, g in enumerate(GROUPS)}
    return sorted(levels, key=lambda g: (rank.get(g, len(rank)), g))


def _count_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """``np.bincount(codes, minlength=k)``, by one comparison per level when there are few.

    With few levels ``np.bincount``'s increments of the same few counters wait on each other:
    9 ms for 1,000,000 codes in 12 levels, against 2 ms for twelve vectorised comparisons.
    """
    if k * codes.dtype.itemsize <= 64:
        return np.array([np.count_nonzero(codes == j) for j in range(k)], dtype=np.intp)
    return np.bincount(codes, minlength=k)


def _encode(values: pd.Series, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes (0..k-1, only levels present), the levels as strings and their counts.

    Levels keep a categorical column's category order (e.g. ordered bands) and are sorted
    otherwise, as statsmodels' formulas would order them.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, sort=True)
    counts = (
        _count_codes(codes, len(uniques))
        if weights is None  # records
        else np.bincount(codes, weights=weights, minlength=len(uniques)).round().astype(np.intp)
    )
    present = counts > 0
    if not present.all():
        remap = np.cumsum(present) - 1
        codes = remap[codes]
        uniques = uniques[present]
        counts = counts[present]
    # the narrowest integer type: six int64 code arrays of 5 million records would be 240 MB
    codes = codes.astype(np.min_scalar_type(max(len(uniques) - 1, 0)), copy=False)
    levels = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    return codes, levels, counts


@dataclass
class _Prepared:
    """Records checked and encoded for a model (one entry per column used)."""

    n_input: int
    n_used: int
    keep: np.ndarray | None  # boolean mask of the records used, None = all
    group: str
    reference: str
    groups: list[str]
    categorical: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # (codes, levels, counts)
    continuous: dict[str, np.ndarray]
    controls: list[str]  # used, in the order given
    dropped: list[str]
    cluster: str | None
    entries: list[tuple[str, int]]
    notes: list[str]
    weights: np.ndarray | None = None  # records per row when the rows are cells (Ibis tables)


def _take(values, keep):
    return values if keep is None else values[keep]


def _prepare(
    records: pd.DataFrame,
    *,
    func: str,
    group: str,
    reference,
    controls,
    cluster=None,
    extra: Mapping[str, str] | None = None,
    responses: Mapping[str, Any] | None = None,
    dropna: bool,
    weights: np.ndarray | None = None,
) -> _Prepared:
    """Check the records' columns and missing values; encode the categorical keys.

    ``weights`` (cells counted by an engine): the number of records each row stands for; every
    count, level frequency and ledger entry is then a sum of weights.

    ``extra`` maps a parameter name to a further categorical column (e.g. ``period``);
    ``responses`` maps a description to an array whose missing values also exclude a record.
    """
    _check_frame(records, "records", func)
    controls = _as_list(controls)
    extra = dict(extra or {})
    if len(set(controls)) != len(controls):
        raise ParameterError(f"{func}: `controls` lists a column twice: {controls}")
    if group in controls:
        raise ParameterError(f"{func}: the `group` column {group!r} must not also be a control")
    for param, col in extra.items():
        if col == group or col in controls:
            raise ParameterError(
                f"{func}: the `{param}` column {col!r} must not also be the group or a control"
            )
    named = {group: "group", **{c: "controls" for c in controls}}
    if cluster is not None:
        if not isinstance(cluster, str):
            raise ParameterError(
                f"{func}: `cluster` must be a column name (e.g. 'force'), but {cluster!r} was passed"
            )
        named.setdefault(cluster, "cluster")
    for param, col in extra.items():
        named[col] = param
    _require_columns(records, named, "the records")

    w = None if weights is None else np.asarray(weights, dtype=np.int64)

    def total(mask):
        return int(mask.sum()) if w is None else int(w[mask].sum())

    n = len(records) if w is None else int(w.sum())
    missing: dict[str, np.ndarray] = {}
    for col in named:
        mask = records[col].isna().to_numpy()
        if mask.any():
            missing[f"{col!r}"] = mask
    for label, values in (responses or {}).items():
        mask = np.asarray(pd.isna(values), dtype=bool)
        if mask.any():
            missing[label] = mask
    keep = None
    entries: list[tuple[str, int]] = []
    if missing:
        if not dropna:
            detail = "; ".join(f"{k}: {total(m)} record(s)" for k, m in missing.items())
            first = np.flatnonzero(np.logical_or.reduce(list(missing.values())))[:10]
            where = f"; first rows: {records.index[first].tolist()}" if w is None else ""
            raise ValidationError(
                f"{func}: missing values ({detail}{where}). "
                "A missing value is not a level of its own: label it (e.g. 'Not recorded') to "
                "keep those records, or pass dropna=True to exclude them (they are counted in "
                "the exclusions ledger)."
            )
        drop = np.zeros(len(records), dtype=bool)
        for label, mask in missing.items():
            entries.append((f"records with a missing {label} (dropna=True)", total(mask & ~drop)))
            drop |= mask
        keep = ~drop
        if keep.sum() == 0:
            raise ValidationError(f"{func}: no records are left after dropping missing values")
    n_used = n if keep is None else total(keep)
    wk = _take(w, keep) if w is not None else None

    notes: list[str] = []
    gvalues = _take(records[group], keep)
    gcodes, glevels, gcounts = _encode(gvalues, wk)
    reference_s = str(reference)
    if reference_s not in set(glevels):
        counts = pd.Series(gcounts, index=glevels).to_dict()
        left = " left after dropping missing values" if keep is not None else ""
        raise ReferenceGroupError(
            f"{func}: the reference group {reference!r} has no records{left} in column "
            f"{group!r}{did_you_mean(reference_s, glevels)}; groups present (records): {counts}"
        )
    if len(glevels) < 2:
        raise DisproError(
            f"{func}: only one group ({list(glevels)}) is in the records; there is nothing to compare"
        )
    categorical = {group: (gcodes, glevels, gcounts)}
    continuous: dict[str, np.ndarray] = {}
    used, dropped = [], []
    for c in controls:
        values = _take(records[c], keep)
        if _is_continuous(values):
            arr = values.to_numpy(dtype=float)
            if not np.isfinite(arr).all():
                raise ValidationError(f"{func}: control {c!r} has infinite values")
            if np.ptp(arr) == 0:
                dropped.append(c)
                continue
            continuous[c] = arr
        else:
            encoded = _encode(values, wk)
            if len(encoded[1]) < 2:
                dropped.append(c)
                continue
            categorical[c] = encoded
        used.append(c)
    if dropped:
        message = (
            f"{func}: control(s) {dropped} take a single value among the {n_used:,} records used "
            "(e.g. one force, or one court type), so they cannot be estimated and were dropped"
        )
        warnings.warn(message, DataQualityWarning, stacklevel=3)
        notes.append(message + ".")
    if cluster is not None and cluster not in categorical:
        categorical[cluster] = _encode(_take(records[cluster], keep), wk)
    if cluster is not None:
        n_clusters = len(categorical[cluster][1])
        if n_clusters < 2:
            raise DisproError(
                f"{func}: `cluster` column {cluster!r} has a single value among the records used; "
                "cluster-robust errors need at least two clusters (many more to be reliable)"
            )
        if n_clusters < FEW_CLUSTERS:
            message = (
                f"{func}: only {n_clusters} clusters in {cluster!r}; cluster-robust standard "
                f"errors are unreliable with fewer than about {FEW_CLUSTERS} to 50 clusters "
                "(Cameron & Miller 2015): treat the intervals with caution"
            )
            warnings.warn(message, DataQualityWarning, stacklevel=3)
            notes.append(message + ".")
    for param, col in extra.items():
        encoded = _encode(_take(records[col], keep), wk)
        levels = encoded[1]
        if len(levels) < 2:
            raise DisproError(
                f"{func}: the `{param}` column {col!r} has a single value ({list(levels)}) among "
                "the records used; at least two are needed"
            )
        categorical[col] = encoded
    return _Prepared(
        n_input=n,
        n_used=n_used,
        keep=keep,
        group=group,
        reference=reference_s,
        groups=_order_levels(list(glevels)),
        categorical=categorical,
        continuous=continuous,
        controls=used,
        dropped=dropped,
        cluster=cluster,
        entries=entries,
        notes=notes,
        weights=wk,
    )


def _control_reference(prep: _Prepared) -> dict[str, str]:
    """Each categorical control's reference level: its most frequent level (ties alphabetical)."""
    out = {}
    for c in prep.controls:
        if c in prep.categorical:
            _, levels, counts = prep.categorical[c]
            best = np.flatnonzero(counts == counts.max())
            out[c] = str(sorted(levels[best])[0])
    return out


def _collapse(prep: _Prepared, keys: list[str], sums: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row per distinct combination of ``keys`` with the ``sums`` of each array and ``_n``.

    Categorical keys come back as pandas Categoricals of their (string) levels, continuous keys as
    floats. Uses a mixed-radix integer key and ``np.bincount`` (``np.unique`` if the key space is
    too large), so collapsing millions of records costs little more than reading them.
    """
    codes_list, decoders = [], []
    for k in keys:
        if k in prep.categorical:
            codes, levels, _ = prep.categorical[k]
            codes_list.append(codes)
            decoders.append(("cat", levels))
        else:
            codes, uniques = pd.factorize(prep.continuous[k], sort=True)
            codes_list.append(codes.astype(np.int64))
            decoders.append(("num", np.asarray(uniques, dtype=float)))
    cards = [len(d[1]) for d in decoders]
    space = float(np.prod([float(c) for c in cards]))
    w = prep.weights
    if space < 2**62:
        # int32 where it fits: combining the codes is then three times faster than in int64
        key = codes_list[0].astype(np.int32 if 2 * space < 2**31 else np.int64)
        for codes, card in zip(codes_list[1:], cards[1:], strict=True):
            key *= card
            key += codes
        flag = next(iter(sums.values())) if len(sums) == 1 else None
        if w is not None:  # the rows are cells already (an engine's): sum their records
            cell_key, inverse = np.unique(key, return_inverse=True)
            n = np.bincount(inverse, weights=w, minlength=len(cell_key)).round()
            sums_out = {
                name: np.bincount(inverse, weights=np.asarray(arr, dtype=float) * w,
                                  minlength=len(cell_key))
                for name, arr in sums.items()
            }  # fmt: skip
        elif flag is not None and flag.dtype == bool and space <= 2**25:
            # a single boolean sum (events) is folded into the key: one count gives both
            key *= 2
            key += flag
            both = np.bincount(key, minlength=2 * int(space)).reshape(-1, 2)
            n = both.sum(axis=1)
            present = np.flatnonzero(n)
            sums_out = {next(iter(sums)): both[present, 1].astype(float)}
            n = n[present]
            cell_key = present.astype(np.int64)
        elif space <= 2**26:
            n = np.bincount(key, minlength=int(space))
            present = np.flatnonzero(n)
            sums_out = {
                name: np.bincount(key, weights=arr, minlength=int(space))[present]
                for name, arr in sums.items()
            }
            n = n[present]
            cell_key = present.astype(np.int64)
        else:
            cell_key, inverse, n = np.unique(key, return_inverse=True, return_counts=True)
            sums_out = {
                name: np.bincount(inverse, weights=arr, minlength=len(cell_key))
                for name, arr in sums.items()
            }
        cell_codes = []
        rem = cell_key.copy()
        for card in reversed(cards):
            cell_codes.append(rem % card)
            rem //= card
        cell_codes = cell_codes[::-1]
    else:  # pragma: no cover - more than 2**62 possible patterns
        stacked = np.column_stack(codes_list)
        uniq, inverse, n = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        sums_out = {
            name: np.bincount(inverse.ravel(), weights=arr, minlength=len(uniq))
            for name, arr in sums.items()
        }
        cell_codes = [uniq[:, j] for j in range(uniq.shape[1])]
    frame = {}
    for k, codes, (kind, dec) in zip(keys, cell_codes, decoders, strict=True):
        if kind == "cat":
            frame[k] = pd.Categorical.from_codes(codes, categories=pd.Index(dec, dtype=object))
        else:
            frame[k] = dec[codes]
    out = pd.DataFrame(frame)
    for name, arr in sums_out.items():
        out[name] = arr
    out["_n"] = n.astype(np.int64)
    return out


def _record_frame(prep: _Prepared, keys: list[str]) -> pd.DataFrame:
    """The records used, one column per key (categoricals of string levels, or floats)."""
    frame = {}
    for k in keys:
        if k in prep.categorical:
            codes, levels, _ = prep.categorical[k]
            frame[k] = pd.Categorical.from_codes(codes, categories=pd.Index(levels, dtype=object))
        else:
            frame[k] = prep.continuous[k]
    return pd.DataFrame(frame)


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


_SM_WARNINGS = (
    sm_exceptions.PerfectSeparationWarning,
    sm_exceptions.ConvergenceWarning,
    sm_exceptions.DomainWarning,
    sm_exceptions.HessianInversionWarning,
    sm_exceptions.SpecificationWarning,
    RuntimeWarning,
)


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


def _clearly_full_rank(A: np.ndarray, rtol: float) -> bool:
    """Whether every singular value of ``A`` is certainly above ``rtol`` times the largest.

    From the eigenvalues of the p x p Gram matrix of the column-equilibrated ``A`` (a few
    milliseconds where an SVD of a tall ``A`` takes tens): with ``A = B·D``, ``s_min(A) / s_max(A)
    >= (d_min / d_max) / cond(B)``. Only well-conditioned cases are decided here; ``False`` means
    "not certain", and the caller then takes the SVD.
    """
    if A.shape[0] < A.shape[1] or A.shape[1] == 0:
        return False
    G = A.T @ A
    d = np.sqrt(np.diag(G))
    if not (np.all(np.isfinite(G)) and np.all(d > 0)):
        return False
    lam = np.linalg.eigvalsh(G / d[:, None] / d)
    if not lam[0] > 1e-10 * lam[-1]:  # eigenvalues below that are not resolved
        return False
    return bool((d.min() / d.max()) / np.sqrt(lam[-1] / lam[0]) > 1e3 * rtol)


class GLM(sm.GLM):
    """statsmodels' ``GLM`` on a design made by :func:`_design`, as ``smf.glm`` would make it.

    Two differences from ``sm.GLM``, neither in the results: the rank (for the model degrees of
    freedom) comes from :func:`_clearly_full_rank` when the design is clearly of full rank, not
    from an SVD of the n x p design (11 ms for the cells of 1,000,000 records; statsmodels' SVD
    otherwise); and patsy's design information, which ``predict`` needs to take a data frame, is
    made from the formula on first use (``model_spec``, ``design_info``), not up front (7 ms),
    and left out when the model is pickled (patsy's cannot be pickled; a model from ``smf.glm``
    cannot be pickled at all).
    """

    def initialize(self):
        X = self.exog
        if not _clearly_full_rank(X, max(X.shape) * np.finfo(float).eps):
            return super().initialize()
        # the rest as sm.GLM.initialize
        self.df_model = X.shape[1] - 1
        if (self.freq_weights is not None) and (self.freq_weights.shape[0] == self.endog.shape[0]):
            self.wnobs = self.freq_weights.sum()
            self.df_resid = self.wnobs - self.df_model - 1
        else:
            self.wnobs = X.shape[0]
            self.df_resid = X.shape[0] - self.df_model - 1

    @property
    def model_spec(self):
        """patsy's ``DesignInfo`` of the formula's right-hand side (used by ``predict``)."""
        if getattr(self, "_design_info", None) is None:
            import patsy

            frame = self.data.frame.iloc[:1]  # levels come from the categories, not the values
            self._design_info = patsy.incr_dbuilders(
                self.formula, lambda: iter([frame]), eval_env=patsy.EvalEnvironment([{}])
            )[1]
        return self._design_info

    design_info = model_spec  # the name statsmodels before 0.15 looks for

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_design_info", None)  # patsy's DesignInfo does not pickle; remade on use
        return state


def _model(factory, formula, data, **kwargs):
    """The statsmodels model of ``factory`` (e.g. ``smf.glm``) for ``formula`` on ``data``.

    A GLM is built as ``factory(formula, data=data, **kwargs)`` would build it (same design,
    names and formula; ``predict`` takes data frames) but with the design from :func:`_design`;
    other models through the formula API. Either way the model's checks run with one BLAS thread
    on small designs (see :func:`_blas`).
    """
    built = _design(formula, data) if factory is smf.glm else None
    if built is None:
        with _blas(len(data) * 64):
            return factory(formula, data=data, **kwargs)
    endog, exog = built
    with _blas(exog.size):
        model = GLM(endog, exog, missing="none", missing_idx=None, formula=formula, **kwargs)
    model.formula = formula
    model.data.frame = data
    return model


# the keyword arguments of GLM.fit that _irls handles
_IRLS_KEYS = frozenset(
    {"atol", "rtol", "tol", "maxiter", "start_params", "scale", "cov_type", "cov_kwds"}
)


def _wls_normal(X, w, z):
    """Weighted least squares by the Cholesky factor of the equilibrated ``X'WX``.

    Returns ``(beta, inverse of X'WX)``, or ``None`` when ``X'WX`` is singular or too
    ill-conditioned for the normal equations (the caller then uses statsmodels' SVD).
    """
    sw = np.sqrt(w)
    Xs = X * sw[:, None]
    A = Xs.T @ Xs  # numpy computes this product of a matrix with itself by BLAS syrk
    d = np.sqrt(np.diag(A))
    if not (np.all(np.isfinite(A)) and np.all(d > 0)):
        return None
    A = A / d[:, None] / d
    try:
        factor = linalg.cho_factor(A, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    diag = np.abs(np.diag(factor[0]))
    if diag.min() < 1e-6 * diag.max():  # condition number of X'WX beyond about 1e12
        return None
    beta = linalg.cho_solve(factor, (Xs.T @ (sw * z)) / d, check_finite=False) / d
    inv = linalg.cho_solve(factor, np.eye(len(d)), check_finite=False) / d[:, None] / d
    return beta, inv


def _irls(model, *, start_params=None, maxiter=100, tol=1e-8, atol=None, rtol=0.0, scale=None,
          cov_type="nonrobust", cov_kwds=None):  # fmt: skip
    """statsmodels' ``GLM.fit`` (IRLS, deviance criterion) followed by the polishing step of
    :func:`_quiet_fit`, with the weighted least squares solved on the p x p normal equations.

    The iterations and the results object are statsmodels' (``GLMResults`` from the estimates,
    the inverse of ``X'WX`` at them, and the scale); only the linear algebra differs: statsmodels
    solves each step by an SVD of the n x p weighted design and again for the covariance, which
    on the cells of 1,000,000 records took 0.15 s of the 0.2 s fit. Returns ``(results,
    converged)``, or ``None`` (the caller then uses statsmodels) when the design is singular or
    ill-conditioned at some iterate (e.g. under separation) or a value is not finite.
    """
    from statsmodels.genmod.generalized_linear_model import GLMResults, GLMResultsWrapper

    X = np.asarray(model.exog, dtype=float)
    family = model.family
    endog = model.endog
    offset = model._offset_exposure
    if isinstance(scale, str):
        scale = scale.lower()
    elif scale is not None:
        scale = float(scale)
    model.scaletype = scale
    atol = tol if atol is None else atol
    if start_params is None:
        beta = np.zeros(X.shape[1])
        mu = family.starting_mu(endog)
        eta = family.predict(mu)
    else:
        beta = np.asarray(start_params, dtype=float)
        eta = X @ beta + offset
        mu = family.fitted(eta)
    model.scale = model.estimate_scale(mu)
    deviance = [family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)]
    params = [beta]

    def step(eta, mu):
        w = model.iweights * model.n_trials * family.weights(mu)
        z = eta + family.link.deriv(mu) * (endog - mu) - offset
        return _wls_normal(X, w, z), w

    converged = False
    iteration = 0
    for iteration in range(maxiter):  # noqa: B007 - the count is reported
        solved, w = step(eta, mu)
        if solved is None:
            return None
        beta, inv = solved
        eta = X @ beta + offset
        mu = family.fitted(eta)
        params.append(beta)
        deviance.append(
            family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)
        )
        model.scale = model.estimate_scale(mu)
        if np.allclose(deviance[-2], deviance[-1], atol=atol, rtol=rtol):
            converged = True
            break
    history = {"params": [np.inf, *params], "deviance": [np.inf, *deviance]}
    if converged:
        # the polishing step: one more step from the estimates, whose inverse X'WX is at them
        start_dev = deviance[-1]
        solved, w = step(eta, mu)
        if solved is None:
            return None
        beta, inv = solved
        eta = X @ beta + offset
        mu = family.fitted(eta)
        end_dev = family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)
        model.scale = model.estimate_scale(mu)
        history = {
            "params": [np.inf, params[-1], beta],
            "deviance": [np.inf, start_dev, end_dev],
        }
        iteration = 0
        converged_polish = bool(np.allclose(start_dev, end_dev, atol=atol, rtol=rtol))
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(inv))):
        return None
    model.weights = w
    model.mu = mu
    res = GLMResults(model, beta, inv, model.scale, cov_type=cov_type, cov_kwds=cov_kwds)
    res.method = "IRLS"
    res.mle_settings = {"wls_method": "lstsq", "optimizer": "IRLS"}
    history["iteration"] = iteration + 1
    res.fit_history = history
    res.converged = converged_polish if converged else False
    return GLMResultsWrapper(res), converged


def _quiet_fit(model, *, fast: bool = True, **kwargs):
    """Fit, collecting statsmodels' own warnings (dispro diagnoses separation itself).

    A GLM fitted by IRLS goes through :func:`_irls` (unless ``fast`` is False, e.g. under
    separation), with statsmodels' own fit as the fallback.
    """
    with warnings.catch_warnings(record=True) as caught, _blas(np.asarray(model.exog).size):
        for category in _SM_WARNINGS:
            warnings.simplefilter("always", category)
        glm_irls = isinstance(model, sm.GLM) and kwargs.get("method", "IRLS") == "IRLS"
        if fast and type(model) in (sm.GLM, GLM) and set(kwargs) <= _IRLS_KEYS:
            done = _irls(model, **kwargs)
            if done is not None:
                return done[0], done[1], caught
        result = model.fit(**kwargs)
        converged = getattr(result, "converged", True)
        if hasattr(result, "mle_retvals") and result.mle_retvals:
            converged = result.mle_retvals.get("converged", converged)
        if glm_irls and converged:
            # statsmodels takes the covariance from the last weighted least-squares step, whose
            # weights come from the previous iterate; one more step from the converged estimates
            # puts the covariance exactly at the estimates reported (the record-level fit's).
            polish = {k: v for k, v in kwargs.items() if k not in ("start_params", "maxiter")}
            result = model.fit(start_params=np.asarray(result.params), maxiter=1, **polish)
    return result, bool(converged), caught


def _cluster_fix(result, groups: np.ndarray, n_records: int) -> float:
    """Rescale a cluster-robust covariance fitted on cells to the record-level small-sample factor.

    statsmodels' factor ``G/(G-1) · (N-1)/(N-K)`` takes ``N`` as the rows it was given; on
    collapsed cells that is the number of cells. The fit is made with ``use_correction=False``
    and the covariance multiplied here by the factor with ``N`` = records, so it equals the
    record-level cluster-robust covariance exactly. Returns the factor.
    """
    res = result._results if hasattr(result, "_results") else result
    k = res.model.exog.shape[1]
    n_groups = len(np.unique(groups))
    factor = n_groups / (n_groups - 1) * (n_records - 1) / (n_records - k)
    res.cov_params_default = np.asarray(res.cov_params_default) * factor
    for key in ("bse", "tvalues", "pvalues"):
        res._cache.pop(key, None)
    res.cov_kwds["use_correction"] = True
    res.cov_kwds["description"] = (
        f"Standard errors are robust to clustering in {n_groups} clusters, with the small-sample "
        f"factor G/(G-1)·(N-1)/(N-K) taken over the N = {n_records} records (as a record-level fit)."
    )
    return factor


def _term_table(result, labels, alpha, *, separated=(), order_groups=None, group=None, df=None):
    """The tidy term table (:data:`TERM_COLUMNS`) from a fitted result, ratios by ``exp``."""
    k = result.model.exog.shape[1]  # (a negative binomial's exog_names end with "alpha")
    names = list(result.model.exog_names)[:k]
    b = np.asarray(result.params, dtype=float)[:k]
    se = np.sqrt(np.clip(np.diag(np.asarray(result.cov_params()))[:k], 0, None))
    if df is not None:
        z = float(stats.t.ppf(1 - alpha / 2, df))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.t.sf(np.abs(b / se), df)
        lo, hi = b - z * se, b + z * se
    elif getattr(result, "use_t", False):
        ci = np.asarray(result.conf_int(alpha=alpha))[:k]
        lo, hi = ci[:, 0], ci[:, 1]
        p = np.asarray(result.pvalues, dtype=float)[:k]
    else:
        lo, hi, p = _wald(b, se, _z(alpha))
    sep = np.zeros(k, dtype=bool)
    sep[list(separated)] = True
    with np.errstate(over="ignore"):
        estimate, lower, upper = np.exp(b), np.exp(lo), np.exp(hi)
    for arr in (estimate, lower, upper, p):
        arr[sep] = np.nan
    variable = [labels.get(n, (n, None))[0] for n in names]
    level = [labels.get(n, (n, None))[1] for n in names]
    out = pd.DataFrame(
        {
            "term": names,
            "variable": variable,
            "level": level,
            "estimate": estimate,
            "std_error": np.where(sep, np.nan, se),
            "ci_lower": lower,
            "ci_upper": upper,
            "p_value": p,
            "status": np.where(sep, "separated", "ok"),
        },
        columns=list(TERM_COLUMNS),
    )
    if order_groups is not None:
        rank = {g: i for i, g in enumerate(order_groups)}
        key = [
            (
                0 if v == "Intercept" else 1 if v == group else 2,
                rank.get(lv, 0) if v == group else 0,
                i,
            )
            for i, (v, lv) in enumerate(zip(out["variable"], out["level"], strict=True))
        ]
        out = out.iloc[[t[2] for t in sorted(key)]].reset_index(drop=True)
    return out


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


# --------------------------------------------------------------------------------------------
# adjusted rates (marginal standardisation)
# --------------------------------------------------------------------------------------------


def _group_sums(data: pd.DataFrame, group: str, columns: list[str]) -> pd.DataFrame:
    """Sums of ``columns`` by the levels of the categorical ``group`` (``np.bincount``)."""
    col = data[group]
    codes = col.cat.codes.to_numpy()
    size = len(col.cat.categories)
    return pd.DataFrame(
        {
            c: np.bincount(codes, weights=data[c].to_numpy(dtype=float), minlength=size)
            for c in columns
        },
        index=pd.Index(col.cat.categories.astype(str), name=group),
    )


def _crude_binomial(data: pd.DataFrame, group: str, groups: list[str], reference: str, alpha):
    sums = _group_sums(data, group, ["_events", "_n"])
    a = sums["_events"].reindex(groups).to_numpy(dtype=float)
    A = sums["_n"].reindex(groups).to_numpy(dtype=float)
    b = float(sums.loc[reference, "_events"])
    B = float(sums.loc[reference, "_n"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio, lo, hi, _ = _katz(a, A, b, B, _z(alpha))
    is_ref = np.array([g == reference for g in groups])
    lo, hi = np.where(is_ref, np.nan, lo), np.where(is_ref, np.nan, hi)
    return pd.DataFrame(
        {"group": groups, "events": a, "base": A, "rate": a / A, "rri": ratio,
         "rri_ci_lower": lo, "rri_ci_upper": hi}
    )  # fmt: skip


def _boot_binomial(spec, standard_rows, n_boot, seed, groups):
    """Bootstrap of the standardised rates by resampling records (or clusters) on the cells."""
    X = spec["X"]
    events = spec["events"].astype(np.int64)
    trials = spec["trials"].astype(np.int64)
    clusters = spec.get("cluster_codes")
    rng = np.random.default_rng(seed)
    beta0 = spec["beta"]
    family = sm.families.Binomial()
    n_total = int(trials.sum())
    probs = np.concatenate([events, trials - events]) / n_total
    m = len(events)
    rates = np.full((n_boot, len(groups)), np.nan)
    failed = 0
    for r in range(n_boot):
        if clusters is None:
            draw = rng.multinomial(n_total, probs)
            ev, ne = draw[:m], draw[m:]
        else:
            n_cl = int(clusters.max()) + 1
            mult = rng.multinomial(n_cl, np.full(n_cl, 1 / n_cl))[clusters]
            ev, ne = events * mult, (trials - events) * mult
        tr = ev + ne
        use = tr > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = sm.GLM(np.column_stack([ev[use], ne[use]]), X[use], family=family).fit(
                    start_params=beta0, tol=1e-10, maxiter=100
                )
            except Exception:  # noqa: BLE001 - a degenerate replicate is counted, not fatal
                failed += 1
                continue
        if not np.all(np.isfinite(res.params)):
            failed += 1
            continue
        # the standard population stays the original data's covariate distribution
        std = _standardise(
            X[standard_rows], spec["weights"][standard_rows], np.asarray(res.params),
            None, spec["group_col"], spec["kind"],
        )  # fmt: skip
        rates[r] = [std[g][0] for g in groups]
    return rates, failed


def adjusted_rates(
    fit: ModelResult,
    *,
    standard: str | None = None,
    method: str = "delta",
    n_boot: int = 999,
    seed: int | None = None,
    alpha: float | None = None,
) -> pd.DataFrame:
    """Adjusted rates and adjusted risk ratios by marginal standardisation (g-computation).

    Every record of the standard population is given each group in turn, its outcome predicted
    from the fitted model, and the predictions averaged: the adjusted rate of group ``g`` is what
    the whole population's rate would be if everyone were treated as group ``g`` is. The adjusted
    risk ratio is the adjusted rate of ``g`` over the reference's. Unlike an odds ratio, it is on
    the same scale as the unadjusted RRI, so the two can be compared (``share_explained``).

    Parameters
    ----------
    fit : ModelResult
        A fit from :func:`logistic`, :func:`poisson_rates` or :func:`sentence_length`.
    standard : str, optional
        The standard population: ``None`` (default) for all records fitted, or a group label to
        standardise to that group's covariate distribution (e.g. "what would the reference's rate
        be with the Black group's mix of offences and histories").
    method : {"delta", "bootstrap"}
        Interval method. ``"delta"`` (default): delta method on the (possibly cluster-robust)
        covariance of the coefficients. ``"bootstrap"`` (logistic fits on cells only): percentile
        intervals from ``n_boot`` refits on resampled data (see Notes).
    n_boot : int
        Bootstrap replicates (``method="bootstrap"``).
    seed : int, optional
        Seed of the bootstrap.
    alpha : float, optional
        1 - confidence level; default the fit's.

    Returns
    -------
    DataFrame
        One row per group, the reference first, exactly :data:`ADJUSTED_COLUMNS`:

        - ``group``;
        - ``adjusted_rate``: the standardised rate ``R_g`` (a proportion for :func:`logistic`;
          events per ``per`` units of exposure for :func:`poisson_rates`; the standardised mean
          months, arithmetic for ``gamma`` or geometric for ``log_ols``, for
          :func:`sentence_length`);
        - ``adjusted_rr``: ``R_g / R_ref`` (1 for the reference);
        - ``ci_lower``, ``ci_upper``: interval of ``adjusted_rr`` (missing for the reference);
        - ``p_value``: test of ``adjusted_rr = 1``;
        - ``rate_ci_lower``, ``rate_ci_upper``: interval of ``adjusted_rate``;
        - ``events``, ``base``, ``rate``: the group's crude events, base (records; exposure;
          sentences) and rate (for sentence length: total months, sentences and the crude
          arithmetic or geometric mean);
        - ``rri``, ``rri_ci_lower``, ``rri_ci_upper``: the unadjusted ratio (Katz interval for
          proportions as :func:`dispro.rri`; Poisson Wald for rates; the group-only model for
          sentence length);
        - ``share_explained``: ``1 - ln(adjusted_rr) / ln(rri)`` when both lie on the same side of
          1, else missing: the share of the raw disparity (on the log scale) that the controls
          account for. Negative when adjustment widens the disparity;
        - ``e_value``, ``e_value_ci``: E-values (:func:`e_value`) of ``adjusted_rr`` and of its
          interval limit nearest 1 (missing for sentence length, a ratio of means).

    Raises
    ------
    ParameterError
        ``fit`` is not a fit with adjusted rates, ``standard`` is not a group of the fit, or the
        bootstrap is asked of a fit that is not a logistic fit on cells.

    Notes
    -----
    With ``μ_i^g`` the prediction for row ``i`` given group ``g`` and ``w_i`` its weight (records
    in a cell; exposure; sentences):

    ``R_g = Σ w_i μ_i^g / Σ w_i``,  ``aRR_g = R_g / R_ref``.

    Delta method: ``∇ log aRR_g = ∇R_g / R_g - ∇R_ref / R_ref`` with
    ``∇R_g = Σ w_i μ'(η_i^g) x_i^g / Σ w_i``; ``Var = ∇ᵀ V ∇`` with ``V`` the model's covariance
    (cluster-robust when the fit clustered). The interval is ``exp(log aRR ± z·SE)``; the rate's
    interval is formed on the logit (logistic) or log scale. Terms with status ``separated`` are
    held at their limits (their gradient is zero). The standard population is held fixed, so the
    interval is for the standardised ratio in these data's covariate distribution.

    Bootstrap: without clustering, each replicate redraws the records (a multinomial draw of the
    events and non-events of every cell, which is exactly resampling records with replacement)
    and refits on the cells; with clustering, whole clusters are resampled. The standard
    population is the original data's. Intervals are percentiles; the p-value is twice the smaller
    share of replicates on either side of 1. Replicates whose fit fails are left out and counted
    in ``attrs["bootstrap_failed"]``.

    For :func:`poisson_rates` and :func:`sentence_length` (log links, no interactions) the
    adjusted ratio equals ``exp(b_g)`` exactly; the table adds the standardised levels.

    References
    ----------
    Greenland S (2004). Model-based estimation of relative risks and other epidemiologic measures
    in studies of common outcomes and in case-control studies. Am J Epidemiol 160:301-305.
    Muller CJ, MacLehose RF (2014). Estimating predicted probabilities from logistic regression:
    different methods correspond to different target populations. Int J Epidemiol 43:962-970.
    """
    if not isinstance(fit, ModelResult) or not fit._spec.get("standardise"):
        raise ParameterError(
            "`fit` must be the result of dispro.models.logistic, poisson_rates or sentence_length"
        )
    check_choice("method", method, RR_METHODS)
    spec = fit._spec
    alpha = fit.info["alpha"] if alpha is None else alpha
    _check_alpha(alpha)
    groups, reference = spec["groups"], spec["reference"]
    row_group = spec["row_group"]
    if standard is None:
        rows = np.ones(len(row_group), dtype=bool)
    else:
        if str(standard) not in set(groups):
            raise ParameterError(
                f"`standard` must be None or one of the groups {groups}, but {standard!r} was "
                f"passed{did_you_mean(str(standard), groups)}"
            )
        rows = np.asarray(row_group == str(standard))
    X, w = spec["X"], spec["weights"]
    beta, cov = spec["beta"], spec["cov"]
    Xs, ws = (X, w) if rows.all() else (X[rows], w[rows])
    with _blas(X.size):
        std = _standardise(Xs, ws, beta, cov, spec["group_col"], spec["kind"], spec["skip"])
    z = _z(alpha)
    rate = np.array([std[g][0] for g in groups])
    ref_i = groups.index(reference)
    with np.errstate(divide="ignore", invalid="ignore"):
        arr = rate / rate[ref_i]
    lo = np.full(len(groups), np.nan)
    hi = np.full(len(groups), np.nan)
    p = np.full(len(groups), np.nan)
    rlo = np.full(len(groups), np.nan)
    rhi = np.full(len(groups), np.nan)
    separated_groups = spec["separated_groups"]
    notes = []
    if method == "delta":
        g_ref = std[reference][1] / rate[ref_i]
        for i, g in enumerate(groups):
            grad_rate = std[g][1]
            if spec["kind"] == "logit":
                scale_grad = grad_rate / (rate[i] * (1 - rate[i]))
                centre = special.logit(rate[i])
                back = special.expit
            else:
                scale_grad = grad_rate / rate[i]
                centre = np.log(rate[i])
                back = np.exp
            se_rate = float(np.sqrt(max(scale_grad @ cov @ scale_grad, 0.0)))
            if g in separated_groups or reference in separated_groups:
                continue
            rlo[i], rhi[i] = back(centre - z * se_rate), back(centre + z * se_rate)
            if g == reference:
                continue
            grad = grad_rate / rate[i] - g_ref
            se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
            lo_i, hi_i, p_i = _wald(np.log(arr[i]), se, z)
            lo[i], hi[i], p[i] = np.exp(lo_i), np.exp(hi_i), p_i
    else:
        if spec.get("boot") is None:
            raise ParameterError(
                "`method='bootstrap'` is available for logistic fits on collapsed cells; this fit "
                f"is a {fit.info.get('function')} fit on {fit.info.get('data_level')}: use "
                "method='delta'"
            )
        if not (isinstance(n_boot, int | np.integer) and n_boot >= 50):
            raise ParameterError(
                f"`n_boot` must be an integer of at least 50, but {n_boot!r} was passed"
            )
        with _blas(X.size):
            boot_rates, failed = _boot_binomial(
                spec["boot"] | spec, rows, int(n_boot), seed, groups
            )
        ok = ~np.isnan(boot_rates).any(axis=1)
        boot_rates = boot_rates[ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = boot_rates / boot_rates[:, [ref_i]]
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        rlo, rhi = np.percentile(boot_rates, q, axis=0)
        lo, hi = np.percentile(rr, q, axis=0)
        below = (rr <= 1).mean(axis=0)
        above = (rr >= 1).mean(axis=0)
        p = np.minimum(1.0, 2 * np.minimum(below, above))
        for arr_ in (lo, hi, p):
            arr_[ref_i] = np.nan
        notes.append(
            f"Bootstrap percentile intervals from {int(ok.sum())} replicates "
            f"({'clusters' if spec['boot'].get('cluster_codes') is not None else 'records'} "
            f"resampled; {failed} failed replicate(s) left out)."
        )
    crude = spec["crude"]
    if list(crude["group"]) != list(groups):
        crude = crude.set_index("group").reindex(groups).reset_index()
    per = spec["per"]
    cr = {c: crude[c].to_numpy(dtype=float) for c in ("events", "base", "rate", "rri")}
    cr.update({c: crude[c].to_numpy(dtype=float) for c in ("rri_ci_lower", "rri_ci_upper")})
    is_ref = np.array([g == reference for g in groups])
    share = np.where(is_ref, np.nan, _share_explained(arr, cr["rri"]))
    if spec["e_values"]:
        nearest = np.where(arr >= 1, lo, hi)
        e_val = np.where(is_ref, np.nan, _e_value_kernel(arr))
        e_ci = np.where(is_ref, np.nan, _e_value_limit(arr, nearest))
    else:
        e_val = e_ci = np.full(len(groups), np.nan)
    columns = {
        "group": groups, "adjusted_rate": rate * per, "adjusted_rr": arr, "ci_lower": lo,
        "ci_upper": hi, "p_value": p, "rate_ci_lower": rlo * per, "rate_ci_upper": rhi * per,
        "events": cr["events"], "base": cr["base"], "rate": cr["rate"] * per, "rri": cr["rri"],
        "rri_ci_lower": cr["rri_ci_lower"], "rri_ci_upper": cr["rri_ci_upper"],
        "share_explained": share, "e_value": e_val, "e_value_ci": e_ci,
    }  # fmt: skip
    order = np.argsort(~is_ref, kind="stable")  # the reference first
    out = pd.DataFrame(
        {
            c: np.asarray(v, dtype=object if c == "group" else float)[order]
            for c, v in columns.items()
        },
        columns=list(ADJUSTED_COLUMNS),
    )
    ledger.carry(fit.table, out)
    out.attrs.update(
        method=method, standard=standard if standard is not None else "all records",
        alpha=alpha, notes=notes,
    )  # fmt: skip
    if method == "bootstrap":
        out.attrs["bootstrap_failed"] = failed
        out.attrs["n_boot"] = int(n_boot)
    return out


def _as_labels(values: pd.Series) -> np.ndarray:
    """The values as an array of strings (a categorical's labels looked up by code)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and not values.isna().any():
        labels = np.asarray(values.cat.categories.astype(str), dtype=object)
        return labels[values.cat.codes.to_numpy()]
    return np.asarray(values.astype(str))


def _spec(fit_result, prep, data, *, kind, weights, crude, per, e_values, separated, boot=None):
    k = fit_result.model.exog.shape[1]
    names = list(fit_result.model.exog_names)[:k]
    group_col = _group_columns(names, prep)
    separated_groups = {g for g, c in group_col.items() if c is not None and c in separated}
    return {
        "standardise": True,
        "X": np.asarray(fit_result.model.exog, dtype=float),
        "weights": np.asarray(weights, dtype=float),
        "beta": np.asarray(fit_result.params, dtype=float)[:k],
        "cov": np.asarray(fit_result.cov_params(), dtype=float)[:k, :k],
        "group_col": group_col,
        "groups": prep.groups,
        "reference": prep.reference,
        "row_group": _as_labels(data[prep.group]),
        "kind": kind,
        "skip": sorted(separated),
        "separated_groups": separated_groups,
        "crude": crude,
        "per": per,
        "e_values": e_values,
        "boot": boot,
    }


# --------------------------------------------------------------------------------------------
# logistic regression
# --------------------------------------------------------------------------------------------


def _choose_level(data_level: str, prep: _Prepared) -> str:
    check_choice("data_level", data_level, DATA_LEVELS)
    if prep.weights is not None:  # cells counted by an engine: they are the data
        if data_level == "records":
            raise ParameterError(
                "an Ibis table is counted on its engine and fitted on the cells it returns; "
                "data_level='records' would bring every record to Python"
            )
        return "cells"
    if data_level == "auto":
        return "records" if prep.continuous else "cells"
    return data_level


def _fit_binomial(prep, outcome_values, *, func, extra_terms=(), extra_labels=None, data_level,
                  alpha, keys_extra=()):  # fmt: skip
    """Build the frame (cells or records), check separation, fit; returns what callers need."""
    control_ref = _control_reference(prep)
    pieces, labels = _terms(prep, control_ref)
    pieces = [pieces[0], *extra_terms, *pieces[1:]]
    labels.update(extra_labels or {})
    level = _choose_level(data_level, prep)
    keys = [prep.group, *keys_extra, *prep.controls]
    if prep.cluster is not None and prep.cluster not in keys:
        keys.append(prep.cluster)
    y = np.asarray(outcome_values)
    if y.dtype != bool:
        y = y.astype(float)
    if level == "cells":
        data = _collapse(prep, keys, {"_events": y})  # a boolean outcome is counted faster
        data["_events"] = data["_events"].round().astype(np.int64)
        data["_nonevents"] = data["_n"] - data["_events"]
        lhs = "_events + _nonevents"
    else:
        data = _record_frame(prep, keys)
        data["_events"] = y.astype(np.int64)
        data["_n"] = 1
        lhs = "_events"
    formula = f"{lhs} ~ " + " + ".join(pieces)
    model = _model(smf.glm, formula, data, family=sm.families.Binomial())
    names = list(model.exog_names)
    X = np.asarray(model.exog)
    events = data["_events"].to_numpy()
    trials = data["_n"].to_numpy()
    separated: set[int] = set()
    sep_keys = [k for k in keys if k != prep.cluster or k in prep.controls]
    exact = False  # whether the exact (linear programme) check ran
    if level == "cells" and len(data) <= _LP_MAX_ROWS:
        exact = True
        separated = _check_separation(
            X, names, labels, data, sep_keys, events=events, trials=trials, func=func
        )
    elif level == "records":
        uniq, inverse = (
            np.unique(X, axis=0, return_inverse=True) if len(X) <= 2_000_000 else (None, None)
        )
        if uniq is not None and len(uniq) <= _LP_MAX_ROWS:
            exact = True
            inverse = inverse.ravel()
            ev_u = np.bincount(inverse, weights=events, minlength=len(uniq))
            n_u = np.bincount(inverse, minlength=len(uniq)).astype(float)
            pos = ev_u == n_u
            neg = ev_u == 0
            with _blas(uniq.size):
                found = _separation(uniq, pos, neg, ~(pos | neg))
            if found is not None:
                rows_u, direction = found
                scale = np.abs(direction).max()
                separated = set(np.flatnonzero(np.abs(direction) > 1e-7 * scale).tolist())
                terms = [names[j] for j in sorted(separated)]
                warnings.warn(
                    f"{func}: complete or quasi-complete separation among {len(rows_u)} distinct "
                    f"covariate pattern(s) with no events or only events; terms not estimable "
                    f"(reported as missing with status 'separated'): {terms}",
                    SeparationWarning,
                    stacklevel=3,
                )
    fit_kwargs: dict[str, Any] = {**_IRLS, "maxiter": 100}
    cluster_codes = None
    if prep.cluster is not None:
        cluster_codes = np.asarray(data[prep.cluster].cat.codes, dtype=np.int64)
        fit_kwargs.update(
            cov_type="cluster", cov_kwds={"groups": cluster_codes, "use_correction": False}
        )
    # separated fits run towards the boundary: statsmodels' SVD-based steps, as before
    result, converged, _ = _quiet_fit(model, fast=not separated, **fit_kwargs)
    if prep.cluster is not None:
        _cluster_fix(result, cluster_codes, prep.n_used)
    if not exact:  # too many distinct patterns for the exact check: flag runaway coefficients
        big = np.flatnonzero(np.abs(np.asarray(result.params)) > 15)
        if len(big):
            separated = set(big.tolist())
            warnings.warn(
                f"{func}: possible separation: coefficients of {[names[j] for j in big]} exceed "
                "15 in absolute value (odds ratios beyond 3 million); they are reported as "
                "missing with status 'separated'",
                SeparationWarning,
                stacklevel=3,
            )
    if not converged and not separated:
        warnings.warn(
            f"{func}: the model did not converge in 100 iterations; treat the estimates with "
            "caution",
            DisproWarning,
            stacklevel=3,
        )
    return {
        "data": data, "model": result, "formula": formula, "labels": labels, "names": names,
        "separated": separated, "level": level, "control_reference": control_ref, "keys": keys,
        "cluster_codes": cluster_codes,
    }  # fmt: skip


def _with_adjusted(table, result, data, info, spec, *, adjust=None) -> ModelResult:
    """The result with its adjusted rates (marginal standardisation of the fitted model)."""
    partial = ModelResult(
        table=table, adjusted=None, model=result, data=data, info=info, _spec=spec
    )
    adjusted = adjusted_rates(partial)
    if adjust is not None:
        adjusted = adjust(adjusted)
    return ModelResult(
        table=table, adjusted=adjusted, model=result, data=data, info=info, _spec=spec
    )


def _finish(prep, table, func, notes, adjusted=None):
    """Ledger entries on the output tables."""
    for t in (table, adjusted):
        if t is None:
            continue
        for rule, rows in prep.entries:
            ledger.record(t, func, rule, rows)


def _base_info(func, prep, fitted, alpha, family, **more):
    data = fitted["data"]
    info = {
        "function": func,
        "family": family,
        "formula": fitted["formula"],
        "data_level": fitted["level"],
        "records": prep.n_used,
        "records_input": prep.n_input,
        "rows_fitted": len(data),
        "group": prep.group,
        "reference": prep.reference,
        "groups": prep.groups,
        "controls": prep.controls,
        "dropped_controls": prep.dropped,
        "control_reference": fitted["control_reference"],
        "cluster": prep.cluster,
        "clusters": None if prep.cluster is None else len(prep.categorical[prep.cluster][1]),
        "cov_type": "cluster" if prep.cluster is not None else "nonrobust",
        "alpha": alpha,
        "separated_terms": [fitted["names"][j] for j in sorted(fitted["separated"])],
    }
    info.update(more)
    return info


def logistic(
    records: pd.DataFrame,
    *,
    outcome,
    group: str = "ethnicity",
    reference: str = "White",
    controls: str | Sequence[str] = (),
    cluster: str | None = None,
    data_level: str = "auto",
    alpha: float = 0.05,
    dropna: bool = False,
) -> ModelResult:
    """Logistic regression of a binary outcome on the group and controls, with adjusted risk ratios.

    Fitted on collapsed cells (binomial events out of records per covariate pattern) when every
    covariate is categorical, which gives the record-level estimates and standard errors exactly,
    at a fraction of the time and memory; at record level otherwise.

    Parameters
    ----------
    records : DataFrame or Ibis table
        One row per person or decision (e.g. ``sentencing`` records). An Ibis table (DuckDB,
        Spark, a warehouse: :mod:`dispro.engines`) is grouped on its engine into cells of the
        group, controls, cluster and outcome; only the cells come back, and the model is fitted
        on them (``outcome`` is then a True/False column, a mapping or a function of the table).
    outcome : str, dict, callable or boolean array
        Which records had the event: a boolean column (``"custody"``), a mapping of a column to
        the codes that count (``{"outcome": ["immediate_custody"]}``), an expression
        (``"outcome == 'immediate_custody'"``), a callable of the records, or a boolean array.
    group : str
        Column of the groups compared, entered as ``C(group, Treatment(reference=...))``.
    reference : str
        The reference group (default ``"White"``).
    controls : str or sequence of str
        Covariates. Columns of numeric dtype (not boolean, not categorical) enter linearly; every
        other column is categorical (treatment coding, the most frequent level as the reference).
        A control with a single value among the records used is dropped with a warning.
    cluster : str, optional
        Column of clusters (e.g. ``"force"`` or a court) for cluster-robust standard errors
        (``cov_type="cluster"``). Included in the cell key when collapsing.
    data_level : {"auto", "cells", "records"}
        ``"auto"``: cells when every covariate is categorical, records otherwise. ``"cells"``
        collapses on distinct covariate values even with numeric controls (still exact).
    alpha : float
        1 - confidence level of the intervals.
    dropna : bool
        Records with a missing group, control, cluster or outcome raise an error unless
        ``dropna=True``, which excludes them (counted in the exclusions ledger).

    Returns
    -------
    ModelResult
        ``.table``: one row per coefficient, exactly :data:`TERM_COLUMNS`:

        - ``term``: statsmodels' parameter name; ``variable`` (``"Intercept"``, the group column or
          a control) and ``level`` (the level compared with the variable's reference level;
          missing for the intercept and numeric controls);
        - ``estimate``: odds ratio ``exp(b)`` (intercept: the odds at every reference level);
        - ``std_error``: standard error of ``b`` (log-odds scale; cluster-robust when clustering);
        - ``ci_lower``, ``ci_upper``: Wald interval ``exp(b ± z·SE)``; ``p_value``: Wald test;
        - ``status``: ``"ok"`` or ``"separated"`` (estimate not estimable, shown as missing).

        Rows: the intercept, the group's levels in code-list order, then the controls.

        ``.adjusted``: adjusted rates and risk ratios by marginal standardisation over all records
        with delta-method intervals (:func:`adjusted_rates`, :data:`ADJUSTED_COLUMNS`);
        ``.model``: the statsmodels ``GLMResults``; ``.data``: the cells (``_events``,
        ``_nonevents``, ``_n`` per pattern) or records; ``.info``: formula, data level, records,
        cells, controls used and dropped, reference levels, cluster and notes.

    Raises
    ------
    ValidationError
        A named column is missing (with a did-you-mean), or values are missing and ``dropna`` is
        False (the message counts them per column).
    ReferenceGroupError
        The reference group has no records (the message lists the groups present, with counts).
    DisproError
        Only one group, or one cluster, is present.
    ParameterError
        A parameter is outside what is allowed.

    Warns
    -----
    DataQualityWarning
        A control with a single value was dropped; fewer than 20 clusters.
    SeparationWarning
        Complete or quasi-complete separation: the warning names the offending levels, the cells
        (events of records) and the terms, which are reported as missing with status
        ``"separated"``; never a silent infinite estimate.

    Notes
    -----
    ``logit P(event) = b0 + b_g + Σ_j a_j[level]``; the odds ratio of group ``g`` is ``exp(b_g)``.

    Collapsed cells: for records ``i`` in cell ``c`` with the same covariates ``x_c``, the
    Bernoulli log-likelihood ``Σ_i [y_i η_c - log(1 + e^η_c)]`` equals the binomial
    ``k_c η_c - n_c log(1 + e^η_c)`` up to the constant ``log C(n_c, k_c)``; the score
    ``Σ_c x_c (k_c - n_c p_c)`` and information ``Σ_c n_c p_c (1-p_c) x_c x_cᵀ`` are identical, so
    are the estimates and standard errors. Cluster-robust: the cell key includes the cluster, so
    each cluster's score sum is unchanged; statsmodels' small-sample factor
    ``G/(G-1)·(N-1)/(N-K)`` is applied with ``N`` the number of records (statsmodels would use the
    number of cells), so the covariance equals the record-level one. Log-likelihood and deviance
    differ from the record-level fit by the binomial constant; likelihood-ratio tests do not.

    Separation is found exactly by a linear programme on the cells (Konis 2007), not guessed from
    large coefficients. Odds ratios overstate risk ratios when the outcome is common (custody
    30-60%): read ``.adjusted`` for risk ratios on the RRI's scale.

    References
    ----------
    Albert A, Anderson JA (1984). On the existence of maximum likelihood estimates in logistic
    regression models. Biometrika 71:1-10. Konis K (2007). Linear programming algorithms for
    detecting separated data in binary logistic regression models. DPhil thesis, Oxford.
    Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust inference. J Human
    Resources 50:317-372.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dispro import models
    >>> cells = pd.DataFrame({
    ...     "ethnicity": ["White", "White", "Black", "Black"] * 2,
    ...     "offence_group": ["theft_offences"] * 4 + ["robbery"] * 4,
    ...     "custody": [True, False] * 4,
    ...     "n": [60, 340, 20, 80, 90, 110, 40, 40]})
    >>> records = cells.loc[cells.index.repeat(cells["n"])].drop(columns="n")
    >>> fit = models.logistic(records, outcome="custody", controls=["offence_group"])
    >>> fit.table[["variable", "level", "estimate", "ci_lower", "ci_upper"]].round(3)
            variable    level  estimate  ci_lower  ci_upper
    0      Intercept      NaN     0.180     0.139     0.232
    1      ethnicity    Black     1.308     0.891     1.919
    2  offence_group  robbery     4.463     3.188     6.247

    The odds ratio (1.31) overstates the adjusted risk ratio (1.19) because custody is common;
    the unadjusted RRI is 1.33, so offence mix accounts for part of the raw disparity:

    >>> fit.adjusted[["group", "adjusted_rate", "adjusted_rr", "ci_lower", "ci_upper", "rri"]].round(3)
       group  adjusted_rate  adjusted_rr  ci_lower  ci_upper    rri
    0  White          0.258        1.000       NaN       NaN  1.000
    1  Black          0.306        1.188     0.932     1.513  1.333
    """
    func = "logistic"
    _check_alpha(alpha)
    check_choice("data_level", data_level, DATA_LEVELS)
    from . import engines

    weights = None
    records = engines.resolve(records)  # a (connection, table name) pair
    if engines.is_table(records):  # counted on its engine: only the cells come back
        records, y, weights = engines.model_cells(
            records, outcome, [group, *_as_list(controls), cluster]
        )
    else:
        _check_frame(records, "records", func)
        y = _condition(records, outcome, "outcome")
    prep = _prepare(
        records, func=func, group=group, reference=reference, controls=controls, cluster=cluster,
        responses={"outcome": y}, dropna=dropna, weights=weights,
    )  # fmt: skip
    yv = _take(y.fillna(False).to_numpy(dtype=bool), prep.keep)
    fitted = _fit_binomial(prep, yv, func=func, data_level=data_level, alpha=alpha)
    result = fitted["model"]
    table = _term_table(
        result, fitted["labels"], alpha, separated=fitted["separated"],
        order_groups=prep.groups, group=prep.group,
    )  # fmt: skip
    data = fitted["data"]
    notes = list(prep.notes)
    if fitted["control_reference"]:
        notes.append(
            "Each categorical control's reference level is its most frequent level: "
            + "; ".join(f"{c}: {r!r}" for c, r in fitted["control_reference"].items())
            + "."
        )
    notes.append(
        f"Logistic regression (GLM Binomial, logit link) on {len(data):,} "
        f"{'collapsed cells' if fitted['level'] == 'cells' else 'records'} "
        f"({prep.n_used:,} records): {fitted['formula']}. Odds ratios with Wald "
        f"{100 * (1 - alpha):g}% intervals"
        + (f", cluster-robust by {cluster!r}" if cluster else "")
        + "; adjusted risk ratios by marginal standardisation (delta method)."
    )
    info = _base_info(func, prep, fitted, alpha, "binomial (logit)", notes=notes, cells=len(data) if fitted["level"] == "cells" else None)  # fmt: skip
    crude = _crude_binomial(data, prep.group, prep.groups, prep.reference, alpha)
    boot = None
    if fitted["level"] == "cells":
        boot = {
            "events": data["_events"].to_numpy(), "trials": data["_n"].to_numpy(),
            "cluster_codes": fitted["cluster_codes"],
        }  # fmt: skip
    spec = _spec(
        result, prep, data, kind="logit", weights=data["_n"].to_numpy(), crude=crude, per=1.0,
        e_values=True, separated=fitted["separated"], boot=boot,
    )  # fmt: skip
    _finish(prep, table, func, notes)
    return _with_adjusted(table, result, data, info, spec)


# --------------------------------------------------------------------------------------------
# change over time
# --------------------------------------------------------------------------------------------


def change_over_time(
    records: pd.DataFrame,
    *,
    outcome,
    period: str,
    group: str = "ethnicity",
    reference: str = "White",
    controls: str | Sequence[str] = (),
    period_reference: str | None = None,
    cluster: str | None = None,
    data_level: str = "auto",
    alpha: float = 0.05,
    dropna: bool = False,
) -> ModelResult:
    """Did the adjusted disparity change between periods? A group x period interaction test.

    Fits ``logit P(event) = b0 + b_g + c_t + d_gt + controls`` (on collapsed cells when every
    covariate is categorical) and tests the interaction ``d_gt = 0`` for every group and period:
    the odds ratio of each group against the reference is then the same in every period.

    Parameters
    ----------
    records, outcome, group, reference, controls, cluster, data_level, alpha, dropna
        As for :func:`logistic`.
    period : str
        Column of periods (e.g. ``"year"`` or ``"quarter"``), entered as categorical.
    period_reference : str, optional
        The period the others are compared with (default: the first in sorted order).

    Returns
    -------
    ModelResult
        ``.table``: per-period odds ratios of each group against the reference, exactly
        :data:`PERIOD_COLUMNS`: ``period``, ``group``, ``term`` (the coefficients summed, e.g.
        ``b_g + d_gt``), ``estimate`` (the odds ratio in that period), ``std_error`` (log
        scale), ``ci_lower``, ``ci_upper``, ``p_value`` and ``status``.

        ``.tests``: exactly :data:`TEST_COLUMNS`; the first row tests every interaction at once
        (likelihood ratio, or cluster-robust Wald when clustering), then one Wald row per group
        (does that group's odds ratio change over the periods?).

        ``.model``: the interaction model; ``info["restricted_model"]`` the model without it.
        ``.adjusted`` is ``None``.

    Notes
    -----
    Likelihood ratio ``LR = 2 (ℓ_full - ℓ_restricted) ~ χ²`` with degrees of freedom the number of
    interaction terms. With clustering the likelihood ratio is not valid, so the Wald statistic
    ``d̂ᵀ V_d⁻¹ d̂`` with the cluster-robust covariance is used. Per-period log odds ratio
    ``b_g + d_gt`` with variance ``V_gg + V_dd + 2 V_gd``. The per-group tests are Wald tests on that
    group's interaction terms. Trends are tested, not just plotted (METHODS.md section 5).
    """
    func = "change_over_time"
    _check_alpha(alpha)
    check_choice("data_level", data_level, DATA_LEVELS)
    _check_frame(records, "records", func)
    if not isinstance(period, str):
        raise ParameterError(f"{func}: `period` must be a column name, but {period!r} was passed")
    y = _condition(records, outcome, "outcome")
    prep = _prepare(
        records, func=func, group=group, reference=reference, controls=controls, cluster=cluster,
        extra={"period": period},
        responses={"outcome": y}, dropna=dropna,
    )  # fmt: skip
    periods = sorted(prep.categorical[period][1])
    pref = periods[0] if period_reference is None else str(period_reference)
    if pref not in periods:
        raise ParameterError(
            f"{func}: `period_reference` must be one of the periods {periods}, but "
            f"{period_reference!r} was passed{did_you_mean(pref, periods)}"
        )
    gterm = _cat_term(group, prep.reference)
    pterm = _cat_term(period, pref)
    labels = {}
    for t in periods:
        if t != pref:
            labels[f"{pterm}[T.{t}]"] = (period, t)
            for g in prep.groups:
                if g != prep.reference:
                    labels[f"{gterm}[T.{g}]:{pterm}[T.{t}]"] = (f"{group}:{period}", f"{g}:{t}")
    yv = _take(y.fillna(False).to_numpy(dtype=bool), prep.keep)
    fitted = _fit_binomial(
        prep, yv, func=func, extra_terms=[pterm, f"{gterm}:{pterm}"], extra_labels=labels,
        data_level=data_level, alpha=alpha, keys_extra=[period],
    )  # fmt: skip
    full = fitted["model"]
    data = fitted["data"]
    names = fitted["names"]
    index = {n: i for i, n in enumerate(names)}
    restricted_formula = fitted["formula"].replace(f" + {gterm}:{pterm}", "")
    rkw: dict[str, Any] = {**_IRLS, "maxiter": 100}
    if cluster is not None:
        rkw.update(
            cov_type="cluster",
            cov_kwds={"groups": fitted["cluster_codes"], "use_correction": False},
        )
    restricted, _, _ = _quiet_fit(
        _model(smf.glm, restricted_formula, data, family=sm.families.Binomial()), **rkw
    )
    if cluster is not None:
        _cluster_fix(restricted, fitted["cluster_codes"], prep.n_used)
    beta = np.asarray(full.params)
    V = np.asarray(full.cov_params())
    z = _z(alpha)
    separated = fitted["separated"]
    rows = []
    inter_idx: dict[str, list[int]] = {}
    for g in prep.groups:
        if g == prep.reference:
            continue
        gi = index[f"{gterm}[T.{g}]"]
        inter_idx[g] = []
        for t in periods:
            vec = np.zeros(len(beta))
            vec[gi] = 1.0
            term = f"{gterm}[T.{g}]"
            sep = gi in separated
            if t != pref:
                name = f"{gterm}[T.{g}]:{pterm}[T.{t}]"
                ii = index[name]
                vec[ii] = 1.0
                inter_idx[g].append(ii)
                term = f"{term} + {name}"
                sep = sep or ii in separated
            b = float(vec @ beta)
            se = float(np.sqrt(max(vec @ V @ vec, 0.0)))
            lo, hi, p = _wald(b, se, z)
            rows.append(
                {"period": t, "group": g, "term": term,
                 "estimate": np.nan if sep else float(np.exp(b)),
                 "std_error": np.nan if sep else se,
                 "ci_lower": np.nan if sep else float(np.exp(lo)),
                 "ci_upper": np.nan if sep else float(np.exp(hi)),
                 "p_value": np.nan if sep else float(p),
                 "status": "separated" if sep else "ok"}
            )  # fmt: skip
    table = pd.DataFrame(rows, columns=list(PERIOD_COLUMNS))
    all_inter = [i for v in inter_idx.values() for i in v]
    tests = []
    if cluster is None:
        lr = float(2 * (full.llf - restricted.llf))
        dfree = len(all_inter)
        tests.append(("group x period interaction", "all groups", lr, dfree,
                      float(stats.chi2.sf(lr, dfree)), "likelihood ratio"))  # fmt: skip
    else:
        stat, dfree = _wald_chi2(beta, V, all_inter)
        tests.append(("group x period interaction", "all groups", stat, dfree,
                      float(stats.chi2.sf(stat, dfree)), "Wald (cluster-robust)"))  # fmt: skip
    for g, idx in inter_idx.items():
        stat, dfree = _wald_chi2(beta, V, idx)
        tests.append(("group x period interaction", g, stat, dfree, float(stats.chi2.sf(stat, dfree)),
                      "Wald (cluster-robust)" if cluster else "Wald"))  # fmt: skip
    tests = pd.DataFrame(tests, columns=list(TEST_COLUMNS))
    notes = list(prep.notes)
    notes.append(
        f"Change over time: logistic regression with a {group} x {period} interaction on "
        f"{len(data):,} {'cells' if fitted['level'] == 'cells' else 'records'} ({prep.n_used:,} "
        f"records), periods compared with {pref!r}: {fitted['formula']}."
    )
    if separated:
        notes.append("Some terms are separated; the likelihood-ratio test uses the limiting fit.")
    info = _base_info(
        func, prep, fitted, alpha, "binomial (logit)", notes=notes, period=period,
        period_reference=pref, periods=periods, restricted_model=restricted,
        restricted_formula=restricted_formula,
    )  # fmt: skip
    _finish(prep, table, func, notes)
    ledger.carry(table, tests)
    return ModelResult(table=table, adjusted=None, model=full, data=data, info=info, tests=tests)


def _wald_chi2(beta, V, idx):
    if not idx:
        return np.nan, 0
    b = beta[idx]
    sub = V[np.ix_(idx, idx)]
    stat = float(b @ np.linalg.pinv(sub) @ b)
    return stat, len(idx)


# --------------------------------------------------------------------------------------------
# Poisson rate models
# --------------------------------------------------------------------------------------------


def poisson_rates(
    counts: pd.DataFrame,
    *,
    events: str = "events",
    exposure: str = "population",
    group: str = "ethnicity",
    reference: str = "White",
    covariates: str | Sequence[str] = (),
    family: str = "poisson",
    per: float = 1000,
    alpha: float = 0.05,
    dropna: bool = False,
) -> ModelResult:
    """Incidence rate ratios from a Poisson (or negative binomial) model with a log-exposure offset.

    For counts with a population or person-time denominator (e.g. searches by force x group x
    quarter against resident population): ``log E[events] = log(exposure) + b0 + b_g + covariates``.

    Parameters
    ----------
    counts : DataFrame
        A counts table: one row per cell, with ``events``, ``exposure`` and the dimension columns.
        Rows are fitted as given (not collapsed: the dispersion depends on the rows).
    events : str
        Column of event counts (whole numbers).
    exposure : str
        Column of the denominators (population, or person-years, > 0). Rows with exposure 0 and no
        events are left out (counted in the ledger); exposure 0 with events is an error.
    group, reference
        As for :func:`logistic`.
    covariates : str or sequence of str
        Columns adjusted for (categorical unless numeric, as :func:`logistic`'s controls).
    family : {"poisson", "negative_binomial", "quasi"}
        ``"poisson"``: Poisson GLM (scale 1). ``"quasi"``: quasi-Poisson, the Poisson fit with
        standard errors multiplied by ``sqrt`` of the Pearson dispersion. ``"negative_binomial"``:
        NB2 (variance ``μ + α μ²``) by maximum likelihood (statsmodels ``NegativeBinomial``);
        ``α`` is in ``info["nb_alpha"]``.
    per : float
        ``adjusted_rate`` and ``rate`` are per this many units of exposure (default 1,000).
    alpha, dropna
        As for :func:`logistic`.

    Returns
    -------
    ModelResult
        ``.table``: :data:`TERM_COLUMNS` with ``estimate`` the incidence rate ratio ``exp(b)``
        (intercept: the rate per unit exposure at every reference level). ``.adjusted``: rates
        standardised over all rows (weighted by exposure) and their ratios
        (:data:`ADJUSTED_COLUMNS`; ``rri`` with the Poisson Wald interval). ``info["dispersion"]``
        is the Pearson dispersion ``X² / (n - k)`` of the fitted family.

    Warns
    -----
    DataQualityWarning
        ``family="poisson"`` and a Pearson dispersion above 1.5 (dispro's convention): the
        intervals are too narrow; use ``"quasi"`` or ``"negative_binomial"``.
    SeparationWarning
        A level with no events (its rate ratio runs to 0): named, reported as missing.

    Notes
    -----
    With the group as the only covariate the fit is saturated in the group, so
    ``IRR_g = (a_g/P_g) / (a_ref/P_ref)`` and ``SE(log IRR) = sqrt(1/a_g + 1/a_ref)``: the RRI with
    :func:`dispro.rri`'s ``method="poisson_wald"`` interval (tested). Pearson dispersion
    ``φ = Σ (y - μ)² / V(μ) / (n - k)``; quasi-Poisson standard errors are ``sqrt(φ)`` times the
    Poisson ones. As the models have a log link and no interactions with the group, the adjusted
    (standardised) rate ratio equals the IRR.
    """
    func = "poisson_rates"
    _check_alpha(alpha)
    check_choice("family", family, FAMILIES)
    if not (isinstance(per, int | float) and not isinstance(per, bool) and per > 0):
        raise ParameterError(f"`per` must be a positive number (e.g. 1000), but {per!r} was passed")
    _check_frame(counts, "counts", func)
    _require_columns(counts, {events: "events", exposure: "exposure"}, "the counts")
    frame, dropped_e = _check_counts(counts, events, "events", integer=True, dropna=dropna)
    frame, dropped_x = _check_counts(frame, exposure, "exposure", integer=False, dropna=dropna)
    ev = frame[events].to_numpy(dtype=float)
    ex = frame[exposure].to_numpy(dtype=float)
    bad = (ex == 0) & (ev > 0)
    if bad.any():
        raise ValidationError(
            f"{func}: {int(bad.sum())} row(s) have events but zero `exposure` ({exposure!r}) "
            f"(rows {frame.index[bad][:10].tolist()}); a rate needs a denominator"
        )
    empty = (ex == 0) & (ev == 0)
    if empty.any():
        frame = frame.loc[~empty]
    prep = _prepare(
        frame, func=func, group=group, reference=reference, controls=covariates, dropna=dropna
    )
    if empty.any():
        prep.entries.insert(0, ("rows with zero exposure and no events", int(empty.sum())))
    if dropped_e or dropped_x:
        prep.entries.insert(
            0, ("rows with a missing events or exposure (dropna=True)", dropped_e + dropped_x)
        )
    ev = _take(frame[events].to_numpy(dtype=float), prep.keep)
    ex = _take(frame[exposure].to_numpy(dtype=float), prep.keep)
    control_ref = _control_reference(prep)
    pieces, labels = _terms(prep, control_ref)
    data = _record_frame(prep, [group, *prep.controls])
    data["_events"] = ev
    data["_exposure"] = ex
    data["_n"] = ex
    formula = "_events ~ " + " + ".join(pieces)
    offset = np.log(ex)
    if family == "negative_binomial":
        model = _model(smf.negativebinomial, formula, data, offset=offset, loglike_method="nb2")
    else:
        model = _model(smf.glm, formula, data, family=sm.families.Poisson(), offset=offset)
    X = np.asarray(model.exog)
    names = list(model.exog_names)[: X.shape[1]]
    separated = _check_separation(
        X, names, labels, data, [group, *[c for c in prep.controls if c in prep.categorical]],
        events=ev, trials=None, func=func, kind="poisson",
    )  # fmt: skip
    if family == "negative_binomial":
        start, _, _ = _quiet_fit(
            _model(smf.glm, formula, data, family=sm.families.Poisson(), offset=offset), tol=1e-10
        )
        # BFGS works on log(alpha) (statsmodels transforms it), so alpha stays positive; a Newton
        # step from its optimum then sharpens the estimate and gives the Hessian-based errors
        rough, converged, _ = _quiet_fit(
            model, start_params=np.append(np.asarray(start.params), 0.1), disp=0, maxiter=2000,
            method="bfgs",
        )  # fmt: skip
        result = rough
        if np.all(np.isfinite(rough.params)):
            polished, conv2, _ = _quiet_fit(
                model, start_params=np.asarray(rough.params), disp=0, maxiter=100, method="newton"
            )
            if (
                np.all(np.isfinite(polished.params))
                and np.all(np.isfinite(polished.bse))
                and polished.params.iloc[-1] > 0
            ):
                result, converged = polished, conv2
        if not np.all(np.isfinite(result.params)):
            raise DisproError(
                f"{func}: the negative binomial fit failed (non-finite estimates); try "
                "family='quasi'"
            )
        mu = np.asarray(result.predict())
        nb_alpha = float(result.params.iloc[-1])
        pearson = float(np.sum((ev - mu) ** 2 / (mu + nb_alpha * mu**2)))
        df_resid = len(ev) - len(names) - 1
    else:
        result, converged, _ = _quiet_fit(
            model, **_IRLS, maxiter=100, scale="X2" if family == "quasi" else None
        )
        mu = np.asarray(result.fittedvalues)
        pearson = float(np.sum((ev - mu) ** 2 / mu))
        df_resid = len(ev) - len(names)
        nb_alpha = None
    dispersion = pearson / df_resid if df_resid > 0 else np.nan
    notes = list(prep.notes)
    if not converged and not separated:
        warnings.warn(f"{func}: the model did not converge", DisproWarning, stacklevel=2)
    if family == "poisson" and dispersion > OVERDISPERSION:
        message = (
            f"{func}: the Pearson dispersion is {dispersion:.2f} (above {OVERDISPERSION}): the "
            "counts vary more than a Poisson model allows, so its intervals are too narrow; use "
            "family='quasi' or family='negative_binomial'"
        )
        warnings.warn(message, DataQualityWarning, stacklevel=2)
        notes.append(message + ".")
    table = _term_table(
        result, labels, alpha, separated=separated, order_groups=prep.groups, group=group
    )
    table = table[table["term"] != "alpha"].reset_index(drop=True)
    notes.append(
        f"{ {'poisson': 'Poisson GLM', 'quasi': 'quasi-Poisson GLM (Pearson scale)', 'negative_binomial': 'Negative binomial (NB2) regression'}[family] } "
        f"with a log({exposure}) offset on {len(data):,} rows: {formula}. Pearson dispersion "
        f"{dispersion:.3g}. Estimates are incidence rate ratios with Wald {100 * (1 - alpha):g}% "
        "intervals."
    )
    fitted = {"data": data, "formula": formula, "level": "rows", "control_reference": control_ref, "names": names, "separated": separated}  # fmt: skip
    info = _base_info(
        func, prep, fitted, alpha, family, notes=notes, dispersion=dispersion, pearson_chi2=pearson,
        df_resid=df_resid, nb_alpha=nb_alpha, per=per, events=events, exposure=exposure,
    )  # fmt: skip
    info["records"] = len(data)
    # crude rates and Poisson Wald RRIs
    sums = _group_sums(data, group, ["_events", "_exposure"]).reindex(prep.groups)
    a = sums["_events"].to_numpy(dtype=float)
    P = sums["_exposure"].to_numpy(dtype=float)
    b_ref = float(sums.loc[prep.reference, "_events"])
    p_ref = float(sums.loc[prep.reference, "_exposure"])
    ratio, lo, hi, _ = _poisson_wald(a, P, b_ref, p_ref, _z(alpha))
    is_ref = np.array([g == prep.reference for g in prep.groups])
    crude = pd.DataFrame(
        {"group": prep.groups, "events": a, "base": P, "rate": a / P, "rri": ratio,
         "rri_ci_lower": np.where(is_ref, np.nan, lo), "rri_ci_upper": np.where(is_ref, np.nan, hi)}
    )  # fmt: skip
    spec = _spec(
        result, prep, data, kind="log", weights=ex, crude=crude, per=float(per), e_values=True,
        separated=separated,
    )  # fmt: skip
    _finish(prep, table, func, notes)
    return _with_adjusted(table, result, data, info, spec)


# --------------------------------------------------------------------------------------------
# sentence length
# --------------------------------------------------------------------------------------------


def sentence_length(
    records: pd.DataFrame,
    *,
    value: str = "custody_months",
    group: str = "ethnicity",
    reference: str = "White",
    controls: str | Sequence[str] = (),
    among=IMMEDIATE_CUSTODY,
    method: str = "gamma",
    cluster: str | None = None,
    data_level: str = "auto",
    alpha: float = 0.05,
    dropna: bool = False,
) -> ModelResult:
    """Ratio of (geometric) mean sentence lengths, adjusted, among immediate custody.

    Parameters
    ----------
    records : DataFrame
        ``sentencing`` records.
    value : str
        Column of sentence lengths in months (> 0).
    group, reference, controls, cluster, data_level, alpha, dropna
        As for :func:`logistic`.
    among : dict, str, callable or None
        Which records are modelled (same forms as ``outcome`` in :func:`logistic`); default
        :data:`IMMEDIATE_CUSTODY`, ``{"outcome": ("immediate_custody",)}``. ``None``: every record.
        Among these, records with no length (life and other indeterminate sentences, or not
        recorded) are left out and counted in the exclusions ledger, as the data standard says.
    method : {"gamma", "log_ols"}
        ``"gamma"`` (default): Gamma GLM with log link; ``exp(b_g)`` is a ratio of arithmetic
        means. ``"log_ols"``: least squares on ``log(months)``; ``exp(b_g)`` is a ratio of
        geometric means, with t intervals on ``N - K`` degrees of freedom.

    Returns
    -------
    ModelResult
        ``.table``: :data:`TERM_COLUMNS`, ``estimate`` the ratio of means ``exp(b)`` (intercept:
        the mean at every reference level). ``.adjusted``: standardised means (arithmetic or
        geometric, months) by group and their ratios (:data:`ADJUSTED_COLUMNS`; ``events`` is the
        total months, ``base`` the sentences, ``rate`` the crude mean on the method's scale,
        ``rri`` the crude ratio of means from the group-only model; no E-values).

    Raises
    ------
    ValidationError
        Lengths that are not numbers, or not above 0 (a log-link model needs positive lengths:
        exclude or recode them); otherwise as :func:`logistic`.

    Notes
    -----
    Gamma: ``log E[y] = b0 + b_g + controls``, scale by Pearson ``X²/(N-K)``. Collapsed cells hold
    ``n``, ``Σy`` and ``Σy²`` per pattern: the cell mean with ``var_weights = n`` gives the same
    score and information as the records, and ``X² = Σ_c (Σy² - 2μΣy + nμ²)/μ²`` is the
    record-level Pearson statistic, so estimates and standard errors are the record-level ones.
    log-OLS: ``E[log y] = b0 + b_g + controls``; on cells, weighted least squares on the cell
    means of ``log y`` with ``σ² = (Σ_c Σ(log y - fitted)²) / (N - K)`` from ``Σ log y`` and
    ``Σ (log y)²``. The cluster-robust covariance follows :func:`logistic`.
    """
    func = "sentence_length"
    _check_alpha(alpha)
    check_choice("method", method, LENGTH_METHODS)
    check_choice("data_level", data_level, DATA_LEVELS)
    _check_frame(records, "records", func)
    _require_columns(records, {value: "value"}, "the records")
    if among is not None and isinstance(among, Mapping):
        among = {k: list(v) if isinstance(v, list | tuple | set) else v for k, v in among.items()}
    sel = _condition(records, among, "among")
    if sel.isna().any():
        if not dropna:
            raise ValidationError(
                f"{func}: {int(sel.isna().sum())} record(s) have a missing value in the `among` "
                "condition's column(s); label them or pass dropna=True"
            )
    sel_mask = sel.fillna(False).to_numpy(dtype=bool)
    n_not_selected = int((~sel_mask).sum())
    sub = records.loc[sel_mask]
    if len(sub) == 0:
        raise ValidationError(f"{func}: no records match `among` ({among!r})")
    raw = sub[value]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna()
    if bad.any():
        raise ValidationError(
            f"{func}: column {value!r} (given as `value`) must hold numbers; non-numeric values in "
            f"{int(bad.sum())} record(s), e.g. {raw[bad].head(5).tolist()}"
        )
    no_length = num.isna().to_numpy()
    nonpos = (num <= 0).to_numpy()
    if nonpos.any():
        raise ValidationError(
            f"{func}: {int(nonpos.sum())} record(s) have a length of 0 or less in {value!r} (rows "
            f"{sub.index[nonpos][:10].tolist()}); the models work on the log scale, so lengths "
            "must be positive: exclude these records or recode them (e.g. days / 30.44)"
        )
    sub = sub.loc[~no_length]
    if len(sub) == 0:
        raise ValidationError(f"{func}: no selected record has a length in {value!r}")
    months = num.to_numpy(dtype=float)[~no_length]
    prep = _prepare(
        sub, func=func, group=group, reference=reference, controls=controls, cluster=cluster,
        dropna=dropna,
    )  # fmt: skip
    prep.entries[:0] = [
        ("records not among those modelled (`among`)", n_not_selected),
        (f"selected records with no {value!r} (life, indeterminate or not recorded)", int(no_length.sum())),
    ]  # fmt: skip
    y = _take(months, prep.keep)
    control_ref = _control_reference(prep)
    pieces, labels = _terms(prep, control_ref)
    level = _choose_level(data_level, prep)
    keys = [group, *prep.controls]
    if cluster is not None and cluster not in keys:
        keys.append(cluster)
    t = y if method == "gamma" else np.log(y)
    if level == "cells":
        data = _collapse(prep, keys, {"_s1": t, "_s2": t * t, "_months": y})
        data["_mean"] = data["_s1"] / data["_n"]
        weights = data["_n"].to_numpy(dtype=float)
    else:
        data = _record_frame(prep, keys)
        data["_mean"] = t
        data["_n"] = 1
        data["_s1"], data["_s2"], data["_months"] = t, t * t, y
        weights = None
    formula = "_mean ~ " + " + ".join(pieces)
    fam = (
        sm.families.Gamma(sm.families.links.Log()) if method == "gamma" else sm.families.Gaussian()
    )

    def build(frm):
        return _model(smf.glm, frm, data, family=fam, var_weights=weights)

    n_rec = prep.n_used
    cluster_codes = None if cluster is None else np.asarray(data[cluster].cat.codes, dtype=np.int64)

    def fit(frm):
        model = build(frm)
        first, conv, _ = _quiet_fit(model, **_IRLS, maxiter=200)
        mu = np.asarray(first.fittedvalues)
        s1, s2, n = data["_s1"].to_numpy(), data["_s2"].to_numpy(), data["_n"].to_numpy()
        k = model.exog.shape[1]
        if method == "gamma":
            x2 = float(np.sum((s2 - 2 * mu * s1 + n * mu**2) / mu**2))
        else:
            x2 = float(np.sum(s2 - 2 * mu * s1 + n * mu**2))
        scale = x2 / (n_rec - k)
        kw: dict[str, Any] = {
            **_IRLS,
            "maxiter": 200,
            "scale": scale,
            "start_params": first.params,
        }
        if cluster is not None:
            kw.update(
                cov_type="cluster", cov_kwds={"groups": cluster_codes, "use_correction": False}
            )
        res, conv2, _ = _quiet_fit(build(frm), **kw)
        if cluster is not None:
            _cluster_fix(res, cluster_codes, n_rec)
        return res, conv and conv2, scale

    result, converged, scale = fit(formula)
    if not converged:
        warnings.warn(f"{func}: the model did not converge", DisproWarning, stacklevel=2)
    k = len(result.params)
    df = (n_rec - k) if (method == "log_ols" and cluster is None) else None
    if method == "log_ols" and cluster is not None:
        df = len(np.unique(cluster_codes)) - 1
    table = _term_table(result, labels, alpha, order_groups=prep.groups, group=group, df=df)
    # crude ratio of means: the group-only model on the same cells
    crude_formula = "_mean ~ " + pieces[0]
    crude_fit, _, _ = fit(crude_formula)
    gcol = _group_columns(list(crude_fit.model.exog_names), prep)
    cb = np.asarray(crude_fit.params)
    cV = np.asarray(crude_fit.cov_params())
    zc = float(stats.t.ppf(1 - alpha / 2, df)) if df is not None else _z(alpha)
    sums = _group_sums(data, group, ["_months", "_n", "_s1"]).reindex(prep.groups)
    crude_rate = np.exp(
        cb[0] + np.array([0.0 if gcol[g] is None else cb[gcol[g]] for g in prep.groups])
    )
    rri = np.array([1.0 if gcol[g] is None else np.exp(cb[gcol[g]]) for g in prep.groups])
    se = np.array(
        [np.nan if gcol[g] is None else np.sqrt(cV[gcol[g], gcol[g]]) for g in prep.groups]
    )
    crude = pd.DataFrame(
        {"group": prep.groups, "events": sums["_months"].to_numpy(), "base": sums["_n"].to_numpy(dtype=float),
         "rate": crude_rate, "rri": rri, "rri_ci_lower": rri * np.exp(-zc * se), "rri_ci_upper": rri * np.exp(zc * se)}
    )  # fmt: skip
    notes = list(prep.notes)
    notes.append(
        f"Sentence length: {'Gamma GLM with log link' if method == 'gamma' else 'least squares on log months'} "
        f"on {len(data):,} {'cells' if level == 'cells' else 'records'} ({n_rec:,} sentences): "
        f"{formula}. Estimates are ratios of {'arithmetic' if method == 'gamma' else 'geometric'} "
        f"means with {100 * (1 - alpha):g}% intervals."
    )
    fitted = {"data": data, "formula": formula, "level": level, "control_reference": control_ref,
              "names": list(result.model.exog_names), "separated": set()}  # fmt: skip
    info = _base_info(func, prep, fitted, alpha, method, notes=notes, scale=scale, value=value)
    spec = _spec(
        result, prep, data, kind="log" if method == "gamma" else "log_ols",
        weights=data["_n"].to_numpy(dtype=float), crude=crude, per=1.0, e_values=False,
        separated=set(),
    )  # fmt: skip
    _finish(prep, table, func, notes)
    # log-OLS: t intervals, as the record-level OLS
    adjust = (lambda a: _t_adjust(a, spec, df, alpha)) if df is not None else None
    return _with_adjusted(table, result, data, info, spec, adjust=adjust)


def _t_adjust(adjusted, spec, df, alpha):
    """Widen the delta-method intervals of a log-OLS fit from z to t(df) quantiles."""
    ratio = float(stats.t.ppf(1 - alpha / 2, df) / _z(alpha))
    out = adjusted.copy()
    for lo, hi, centre in (
        ("ci_lower", "ci_upper", "adjusted_rr"),
        ("rate_ci_lower", "rate_ci_upper", "adjusted_rate"),
    ):
        c = np.log(out[centre].to_numpy())
        half = (np.log(out[hi].to_numpy()) - c) * ratio
        out[lo] = np.exp(c - half)
        out[hi] = np.exp(c + half)
    se = (
        np.log(adjusted["ci_upper"].to_numpy()) - np.log(adjusted["adjusted_rr"].to_numpy())
    ) / _z(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_value"] = 2 * stats.t.sf(np.abs(np.log(out["adjusted_rr"].to_numpy()) / se), df)
    return out


# --------------------------------------------------------------------------------------------
# inverse-probability weighting
# --------------------------------------------------------------------------------------------


def ipw_check(
    records: pd.DataFrame,
    *,
    outcome,
    group: str = "ethnicity",
    reference: str = "White",
    controls: str | Sequence[str] = (),
    estimand: str = "att",
    alpha: float = 0.05,
    dropna: bool = False,
) -> ModelResult:
    """A robustness check by inverse-probability weighting, with a covariate balance table.

    For each group ``g``, a scikit-learn ``LogisticRegression`` (unpenalised, main effects)
    models the propensity ``e(x) = P(group = g | controls, group ∈ {g, reference})``. Records are
    weighted so that the two groups have the same distribution of controls, and the weighted
    outcome rates are compared. Unlike :func:`logistic` this models who is in which group rather
    than the outcome, so agreement between the two is reassuring.

    Parameters
    ----------
    records, outcome, group, reference, controls, alpha, dropna
        As for :func:`logistic` (controls are categorical unless numeric).
    estimand : {"att", "ate"}
        ``"att"`` (default): the reference group is weighted by ``e/(1-e)`` to the covariate
        distribution of group ``g``, which keeps its own weight 1: "what would the reference's rate
        be with this group's mix of cases" (Ridgeway 2006's approach to racial disparity).
        ``"ate"``: ``g`` weighted by ``1/e``, the reference by ``1/(1-e)``, both to the pair's
        combined distribution.

    Returns
    -------
    ModelResult
        ``.table``: one row per non-reference group, exactly :data:`IPW_COLUMNS`: the weighted
        rates of the group and the reference, their ratio ``weighted_rr`` with ``ci_lower``,
        ``ci_upper`` and ``p_value``; the crude ``rate``, ``reference_rate`` and ``rri``; the
        records; Kish effective sample sizes ``(Σw)²/Σw²``; the largest absolute standardised
        mean difference before and after weighting.

        ``.balance``: one row per group and control level (numeric controls: one row), exactly
        :data:`BALANCE_COLUMNS`: shares (means) in the group and the reference, before and after
        weighting, and standardised mean differences ``smd_before`` and ``smd_after``.

        ``.model``: ``{group: fitted LogisticRegression}``; ``.data``: the cells of every pair
        with their ``propensity`` and ``weight`` (per record); ``.adjusted`` is ``None``.

    Warns
    -----
    DataQualityWarning
        Control levels present in one group of a pair and absent from the other (no overlap:
        those records cannot be balanced by weighting), or very large weights.

    Notes
    -----
    Weighted rate ``m_w = Σ w_i y_i / Σ w_i``; its variance, treating the weights as fixed (as the
    survey-weighted analyses of twang and Ridgeway do), ``Σ w_i² (y_i - m_w)² / (Σ w_i)²``; the
    ratio's interval ``exp(log(m_g/m_ref) ± z·sqrt(V_g/m_g² + V_ref/m_ref²))``. Ignoring the
    estimation of the propensity model usually makes this interval conservative.
    ``SMD = (mean_g - mean_ref) / s`` with ``s`` the group's standard deviation before weighting
    for ``att`` and ``sqrt((s_g² + s_ref²) / 2)`` for ``ate`` (the same ``s`` before and after, so
    the change reflects the means). A common rule reads ``|SMD| < 0.1`` as balanced. The propensity
    model is fitted on collapsed cells with the record counts as ``sample_weight`` (exact for
    categorical controls). The g-computation analogue of the ``att`` ratio is
    ``adjusted_rates(logistic(...), standard=g)``.

    References
    ----------
    Ridgeway G (2006). Assessing the effect of race bias in post-traffic stop outcomes using
    propensity scores. J Quantitative Criminology 22:1-29. Austin PC, Stuart EA (2015). Moving
    towards best practice when using inverse probability of treatment weighting. Stat Med
    34:3661-3679.
    """
    from sklearn.linear_model import LogisticRegression

    func = "ipw_check"
    _check_alpha(alpha)
    check_choice("estimand", estimand, ESTIMANDS)
    _check_frame(records, "records", func)
    y = _condition(records, outcome, "outcome")
    prep = _prepare(
        records, func=func, group=group, reference=reference, controls=controls,
        responses={"outcome": y}, dropna=dropna,
    )  # fmt: skip
    if not prep.controls:
        raise ParameterError(f"{func}: `controls` must name at least one column to balance on")
    yv = _take(y.fillna(False).to_numpy(dtype=float), prep.keep)
    keys = [group, *prep.controls]
    cells = _collapse(prep, keys, {"_events": yv})
    control_ref = _control_reference(prep)
    # design: categorical controls one-hot without their reference level; numeric standardised
    design_cols, balance_cols = [], []
    for c in prep.controls:
        if c in prep.categorical:
            for lv in prep.categorical[c][1]:
                ind = (cells[c].astype(str) == lv).to_numpy(dtype=float)
                balance_cols.append((c, lv, ind))
                if lv != control_ref[c]:
                    design_cols.append(ind)
        else:
            x = cells[c].to_numpy(dtype=float)
            balance_cols.append((c, None, x))
            mean = np.average(x, weights=cells["_n"])
            sd = np.sqrt(np.average((x - mean) ** 2, weights=cells["_n"]))
            design_cols.append((x - mean) / sd)
    D = np.column_stack(design_cols)
    gl = cells[group].astype(str).to_numpy()
    n = cells["_n"].to_numpy(dtype=float)
    k = cells["_events"].to_numpy(dtype=float)
    z = _z(alpha)
    rows, bal_rows, models, frames = [], [], {}, []
    notes = list(prep.notes)
    ref = prep.reference
    for g in prep.groups:
        if g == ref:
            continue
        pair = (gl == g) | (gl == ref)
        treat = (gl[pair] == g).astype(int)
        lr = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10)
        with warnings.catch_warnings(), _blas(D.size):
            warnings.simplefilter("ignore")
            lr.fit(D[pair], treat, sample_weight=n[pair])
        models[g] = lr
        e = lr.predict_proba(D[pair])[:, 1]
        e = np.clip(e, 1e-12, 1 - 1e-12)
        if estimand == "att":
            w = np.where(treat == 1, 1.0, e / (1 - e))
        else:
            w = np.where(treat == 1, 1 / e, 1 / (1 - e))
        np_, kp = n[pair], k[pair]
        stats_ = {}
        for side, mask in (("g", treat == 1), ("r", treat == 0)):
            ww, nn, kk = w[mask], np_[mask], kp[mask]
            sw = float(np.sum(ww * nn))
            m_w = float(np.sum(ww * kk) / sw)
            # Σ w² (y - m)² over records: cell c holds kk events and nn - kk non-events
            var = float(np.sum(ww**2 * (kk * (1 - m_w) ** 2 + (nn - kk) * m_w**2)) / sw**2)
            ess = sw**2 / float(np.sum(ww**2 * nn))
            stats_[side] = (m_w, var, float(nn.sum()), float(kk.sum() / nn.sum()), ess)
        (mg, vg, ng, rg, essg), (mr, vr, nr, rr_, essr) = stats_["g"], stats_["r"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = mg / mr
            se = np.sqrt(vg / mg**2 + vr / mr**2)
        lo, hi, p = _wald(np.log(ratio), se, z)
        # balance
        smds_b, smds_a = [], []
        for c, lv, x in balance_cols:
            xp = x[pair]
            out = {}
            for side, mask in (("g", treat == 1), ("r", treat == 0)):
                nn, ww = np_[mask], w[mask]
                mu = np.average(xp[mask], weights=nn)
                var_ = np.average((xp[mask] - mu) ** 2, weights=nn)
                mu_w = np.average(xp[mask], weights=nn * ww)
                out[side] = (mu, var_, mu_w)
            s = (
                np.sqrt(out["g"][1])
                if estimand == "att"
                else np.sqrt((out["g"][1] + out["r"][1]) / 2)
            )
            if not s > 0:
                s = np.sqrt((out["g"][1] + out["r"][1]) / 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                smd_b = (out["g"][0] - out["r"][0]) / s if s > 0 else np.nan
                smd_a = (out["g"][2] - out["r"][2]) / s if s > 0 else np.nan
            smds_b.append(abs(smd_b))
            smds_a.append(abs(smd_a))
            bal_rows.append(
                {"group": g, "variable": c, "level": lv, "mean_group": out["g"][0],
                 "mean_reference": out["r"][0], "smd_before": smd_b,
                 "weighted_mean_group": out["g"][2], "weighted_mean_reference": out["r"][2],
                 "smd_after": smd_a}
            )  # fmt: skip
        no_overlap = []
        for c, lv, x in balance_cols:
            if lv is None:
                continue
            xp = x[pair]
            in_g = float(np.sum(np_[treat == 1] * xp[treat == 1]))
            in_r = float(np.sum(np_[treat == 0] * xp[treat == 0]))
            if (in_g > 0) != (in_r > 0):
                no_overlap.append(f"{c}={lv} (records: {g} {int(in_g)}, {ref} {int(in_r)})")
        if no_overlap:
            message = (
                f"{func}: no overlap between {g} and {ref} for {no_overlap}: weighting cannot "
                "balance these levels (positivity fails); consider merging or excluding them"
            )
            warnings.warn(message, DataQualityWarning, stacklevel=2)
            notes.append(message + ".")
        rows.append(
            {"group": g, "weighted_rate": mg, "weighted_reference_rate": mr, "weighted_rr": ratio,
             "ci_lower": float(np.exp(lo)), "ci_upper": float(np.exp(hi)), "p_value": float(p),
             "rate": rg, "reference_rate": rr_, "rri": rg / rr_ if rr_ > 0 else np.nan,
             "records": ng, "reference_records": nr, "effective_n": essg,
             "reference_effective_n": essr, "max_abs_smd_before": float(np.nanmax(smds_b)),
             "max_abs_smd_after": float(np.nanmax(smds_a))}
        )  # fmt: skip
        frame = cells.loc[pair].copy()
        frame.insert(0, "comparison", g)
        frame["propensity"] = e
        frame["weight"] = w
        frames.append(frame)
    table = pd.DataFrame(rows, columns=list(IPW_COLUMNS))
    balance = pd.DataFrame(bal_rows, columns=list(BALANCE_COLUMNS))
    data = pd.concat(frames, ignore_index=True)
    notes.append(
        f"Inverse-probability weighting ({estimand.upper()}): propensity of each group against "
        f"{ref!r} from an unpenalised scikit-learn LogisticRegression on the controls "
        f"{prep.controls} (main effects), fitted on {len(cells):,} cells ({prep.n_used:,} "
        "records); intervals treat the weights as fixed."
    )
    fitted = {"data": cells, "formula": f"{group} ~ " + " + ".join(prep.controls), "level": "cells",
              "control_reference": control_ref, "names": [], "separated": set()}  # fmt: skip
    info = _base_info(
        func, prep, fitted, alpha, "propensity (logistic)", notes=notes, estimand=estimand
    )
    _finish(prep, table, func, notes)
    ledger.carry(table, balance)
    return ModelResult(
        table=table, adjusted=None, model=models, data=data, info=info, balance=balance
    )


# --------------------------------------------------------------------------------------------
# E-values and odds to probabilities
# --------------------------------------------------------------------------------------------


def e_value(rr, ci_limit=None, *, scale: str = "rr") -> pd.DataFrame:
    """E-values for unmeasured confounding (VanderWeele & Ding 2017).

    The E-value is the minimum strength of association, on the risk-ratio scale, that an
    unmeasured confounder would need with both the group and the outcome, beyond the measured
    controls, to fully explain away the observed ratio. For the interval limit nearest 1 it is the
    strength needed to move the interval to include 1.

    Parameters
    ----------
    rr : float or array-like
        The estimate(s): risk ratios (e.g. ``adjusted_rr`` from :func:`logistic`'s ``.adjusted``,
        or an incidence rate ratio) or odds ratios (see ``scale``).
    ci_limit : float or array-like, optional
        The confidence limit nearest 1 (the lower limit when ``rr > 1``, the upper when
        ``rr < 1``). A limit on the other side of 1 from ``rr`` (an interval that includes 1)
        gives an E-value of 1.
    scale : {"rr", "or_rare", "or_common"}
        ``"rr"`` (default): the estimate is a risk or rate ratio. ``"or_rare"``: an odds ratio of a
        rare outcome (below about 15%), used as a risk ratio. ``"or_common"``: an odds ratio of a
        common outcome (custody, charge), converted by ``RR ≈ sqrt(OR)`` (VanderWeele 2017) before
        the E-value. dispro reports E-values of the marginal adjusted risk ratio, which needs no
        conversion; the conversions are for odds ratios taken from elsewhere.

    Returns
    -------
    DataFrame
        One row per estimate, exactly :data:`E_VALUE_COLUMNS`: ``estimate`` and ``ci_limit`` as
        given, ``scale``, ``rr`` and ``rr_ci_limit`` (on the risk-ratio scale after any
        conversion), ``e_value`` and ``e_value_ci`` (missing when no limit was given).

    Raises
    ------
    ParameterError
        A ratio is not positive, or ``scale`` is unknown.

    Notes
    -----
    ``E = RR + sqrt(RR · (RR - 1))`` for ``RR >= 1``; for ``RR < 1`` the same with ``1/RR``. An
    estimate of exactly 1 has E-value 1.

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational research: introducing
    the E-value. Ann Intern Med 167:268-274. VanderWeele TJ (2017). On a square-root
    transformation of the odds ratio for a common outcome. Epidemiology 28:e58-e60.

    Examples
    --------
    The paper's worked example (breastfeeding and infant infection): RR 3.9, interval 1.8 to 8.7.

    >>> from dispro.models import e_value
    >>> e_value(3.9, 1.8)[["rr", "e_value", "e_value_ci"]].round(2)
        rr  e_value  e_value_ci
    0  3.9     7.26         3.0
    """
    check_choice("scale", scale, E_VALUE_SCALES)
    est = np.atleast_1d(np.asarray(rr, dtype=float))
    lim = (
        np.full(est.shape, np.nan)
        if ci_limit is None
        else np.broadcast_to(np.atleast_1d(np.asarray(ci_limit, dtype=float)), est.shape)
    )
    for name, arr in (("rr", est), ("ci_limit", lim)):
        if np.any(arr[~np.isnan(arr)] <= 0):
            raise ParameterError(
                f"`{name}` must hold positive ratios, but {arr.tolist()} was passed"
            )
    if scale == "or_common":
        conv, conv_lim = np.sqrt(est), np.sqrt(lim)
    else:
        conv, conv_lim = est, lim
    return pd.DataFrame(
        {
            "estimate": est,
            "ci_limit": lim,
            "scale": scale,
            "rr": conv,
            "rr_ci_limit": conv_lim,
            "e_value": _e_value_kernel(conv),
            "e_value_ci": _e_value_limit(conv, conv_lim),
        },
        columns=list(E_VALUE_COLUMNS),
    )


def odds_to_probability(or_, p0):
    """The probability implied by an odds ratio at a baseline probability.

    How the Sentencing Council explains its odds ratios: at a baseline probability ``p0`` (e.g.
    the reference group's custody rate), an odds ratio ``OR`` corresponds to

    ``p1 = OR · p0/(1-p0) / (1 + OR · p0/(1-p0))``.

    Parameters
    ----------
    or_ : float or array-like
        Odds ratio(s), >= 0.
    p0 : float or array-like
        Baseline probability, strictly between 0 and 1.

    Returns
    -------
    float or ndarray
        ``p1`` (a float for scalar inputs).

    Raises
    ------
    ParameterError
        An odds ratio is negative or a baseline is not strictly between 0 and 1.

    Examples
    --------
    >>> from dispro.models import odds_to_probability
    >>> round(odds_to_probability(1.5, 0.37), 3)
    0.468
    """
    o = np.asarray(or_, dtype=float)
    p = np.asarray(p0, dtype=float)
    if np.any(o < 0) or np.any(np.isnan(o)):
        raise ParameterError(f"`or_` must hold odds ratios of 0 or more, but {or_!r} was passed")
    if np.any((p <= 0) | (p >= 1)) or np.any(np.isnan(p)):
        raise ParameterError(f"`p0` must be strictly between 0 and 1, but {p0!r} was passed")
    odds = o * p / (1 - p)
    out = odds / (1 + odds)
    return float(out) if out.ndim == 0 else out
