"""Adjusted rates and adjusted risk ratios by marginal standardisation (g-computation), with
delta-method or bootstrap intervals, for any fit of :mod:`dispro.models` that has them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special

from .. import ledger
from .._checks import check_alpha as _check_alpha
from .._stats import z as _z
from ..errors import ParameterError, check_choice, did_you_mean
from ._glm import _blas
from ._kernels import _e_value_kernel, _e_value_limit, _share_explained, _standardise, _wald
from .results import ADJUSTED_COLUMNS, RR_METHODS, ModelResult

__all__ = ["adjusted_rates"]


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
