"""Poisson (quasi-Poisson, negative binomial) rate models with a log-exposure offset, and the
test of change over time (a group x period interaction in the logistic model)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from .. import ledger
from .._checks import check_alpha as _check_alpha
from .._checks import check_counts as _check_counts
from .._checks import require_columns as _require_columns
from .._stats import dispersion as _dispersion
from .._stats import poisson_wald as _poisson_wald
from .._stats import quasi_chi2 as _quasi_chi2
from .._stats import quasi_wald as _quasi_wald
from .._stats import z as _z
from ..errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from ._design import _cat_term, _terms
from ._fit import _base_info, _finish, _fit_binomial, _group_sums, _spec, _with_adjusted
from ._glm import _IRLS, _cluster_fix, _model, _quiet_fit, _term_table
from ._kernels import _wald_chi2
from ._prepare import (
    _check_frame,
    _condition,
    _control_reference,
    _prepare,
    _record_frame,
    _take,
)
from ._separation import _check_separation
from .results import (
    DATA_LEVELS,
    FAMILIES,
    OVERDISPERSION,
    PERIOD_COLUMNS,
    TEST_COLUMNS,
    ModelResult,
)

__all__ = ["poisson_rates", "change_over_time"]


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
        ``α`` is in ``info["nb_alpha"]``. When the counts show no overdispersion the estimate of
        ``α`` is 0, its boundary: the Poisson fit is then reported with ``nb_alpha = 0``,
        ``info["nb_boundary"]`` True and a note saying so.
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
        is the Pearson dispersion ``X² / df`` of the fitted family (also in
        ``table.attrs["dispersion"]``), with ``info["pearson_chi2"]`` = ``X²`` and its degrees of
        freedom ``info["dispersion_df"]`` (= ``info["df_resid"]``): ``n - k`` rows less
        coefficients, one fewer for the negative binomial's ``α``.

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
    nb_boundary = None
    if family == "negative_binomial":
        poisson_model = _model(smf.glm, formula, data, family=sm.families.Poisson(), offset=offset)
        start, _, _ = _quiet_fit(poisson_model, tol=1e-10)
        result, converged, nb_boundary = _fit_nb(model, start, ev, func)
        if nb_boundary:  # alpha at 0: the Poisson fit is the maximum-likelihood fit
            result, converged, _ = _quiet_fit(poisson_model, **_IRLS, maxiter=100)
            mu = np.asarray(result.fittedvalues)
            nb_alpha = 0.0
        else:
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
    if nb_boundary:
        notes.append(
            "The negative binomial's alpha is estimated at its boundary, 0: the counts vary no "
            "more than a Poisson model allows (the score for alpha at 0, "
            "½·Σ((y - μ)² - y) over the Poisson fit, is not positive), so the fit reported is the "
            "Poisson fit, with alpha = 0."
        )
    notes.append(
        f"{ {'poisson': 'Poisson GLM', 'quasi': 'quasi-Poisson GLM (Pearson scale)', 'negative_binomial': 'Negative binomial (NB2) regression'}[family] } "
        f"with a log({exposure}) offset on {len(data):,} rows: {formula}. Pearson dispersion "
        f"{dispersion:.3g} (chi-squared {pearson:.4g} on {df_resid} df). Estimates are incidence "
        f"rate ratios with Wald {100 * (1 - alpha):g}% intervals."
    )
    fitted = {"data": data, "formula": formula, "level": "rows", "control_reference": control_ref, "names": names, "separated": separated}  # fmt: skip
    info = _base_info(
        func, prep, fitted, alpha, family, notes=notes, dispersion=dispersion, pearson_chi2=pearson,
        df_resid=df_resid, dispersion_df=df_resid, nb_alpha=nb_alpha, nb_boundary=nb_boundary,
        per=per, events=events, exposure=exposure,
    )  # fmt: skip
    info["records"] = len(data)
    table.attrs.update(dispersion=dispersion, dispersion_df=df_resid)
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


def _has_errors(result) -> bool:
    """Finite estimates with finite standard errors (statsmodels raises "need covariance of
    parameters" when the Hessian was singular)."""
    try:
        bse = np.asarray(result.bse)
    except ValueError:
        return False
    return bool(np.all(np.isfinite(np.asarray(result.params))) and np.all(np.isfinite(bse)))


def _fit_nb(model, start, ev, func):
    """The NB2 fit from the Poisson fit ``start``: ``(result, converged, at_boundary)``.

    The maximum-likelihood alpha is 0 (the boundary; statsmodels' optimiser then runs log(alpha)
    towards minus infinity and its Hessian is singular) when the profile log-likelihood falls
    from alpha = 0: its slope there is the score ``½·Σ((y - μ)² - y)`` at the Poisson fit
    (Cameron & Trivedi 1990). Then, or when the fit ends with no usable covariance and no gain in
    log-likelihood over the Poisson fit, ``at_boundary`` is True and the caller reports the
    Poisson fit with alpha = 0. A fit that fails otherwise raises a DisproError.
    """
    mu0 = np.asarray(start.fittedvalues)
    if float(np.sum((ev - mu0) ** 2 - ev)) <= 0:
        return None, True, True
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
        if _has_errors(polished) and polished.params.iloc[-1] > 0:
            result, converged = polished, conv2
    if not np.all(np.isfinite(result.params)):
        raise DisproError(
            f"{func}: the negative binomial fit failed (non-finite estimates); try family='quasi'"
        )
    if not _has_errors(result):
        if float(result.llf) <= float(start.llf) + 1e-8 * max(1.0, abs(float(start.llf))):
            return None, True, True  # no gain over alpha = 0: the boundary
        raise DisproError(
            f"{func}: the negative binomial fit gave no standard errors (alpha = "
            f"{float(result.params.iloc[-1]):.3g}, a singular information matrix); try "
            "family='quasi'"
        )
    return result, converged, False


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
        (does that group's odds ratio change over the periods?); ``dispersion`` and
        ``dispersion_df`` say how the tests were scaled (Notes).

        ``.model``: the interaction model; ``info["restricted_model"]`` the model without it.
        ``.adjusted`` is ``None``.

    Notes
    -----
    Likelihood ratio ``LR = 2 (ℓ_full - ℓ_restricted) ~ χ²`` with degrees of freedom the number of
    interaction terms. With clustering the likelihood ratio is not valid, so the Wald statistic
    ``d̂ᵀ V_d⁻¹ d̂`` with the cluster-robust covariance is used. Per-period log odds ratio
    ``b_g + d_gt`` with variance ``V_gg + V_dd + 2 V_gd``. The per-group tests are Wald tests on that
    group's interaction terms. Trends are tested, not just plotted (METHODS.md section 5).

    Overdispersion, by the rule of :func:`dispro.stopsearch.trend_test`: fitted on cells, the
    dispersion ``φ = X² / df_resid`` (Pearson chi-squared of the cells over the model's residual
    df) scales the tests: ``F = χ² / df / φ`` on ``(df, df_resid)`` degrees of freedom, standard
    errors ``se·√φ`` with ``t(df_resid)`` intervals. Where there is no residual df (the cells are
    only group x period) or the fit is on records (whose patterns do not repeat), there is no
    estimate: ``dispersion`` is NaN, ``dispersion_df`` 0, the tests assume binomial variation and
    a :class:`~dispro.errors.DataQualityWarning` says so. With ``cluster`` the cluster-robust
    covariance takes the place of the dispersion.
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
    # the dispersion rule of every change-over-time test (dispro._stats, as in trend_test)
    df_resid = int(round(full.df_resid)) if fitted["level"] == "cells" and cluster is None else 0
    phi = float(_dispersion(full.pearson_chi2, df_resid))  # NaN without residual df
    if cluster is None and df_resid == 0:
        warnings.warn(
            f"{func}: no residual degrees of freedom to estimate the dispersion (the fit is on "
            f"{'records' if fitted['level'] == 'records' else 'group x period cells only'}): the "
            "tests assume binomial variation; pass `cluster=` for cluster-robust tests.",
            DataQualityWarning,
            stacklevel=2,
        )
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
            _, lo, hi, p = _quasi_wald(b, se, phi, df_resid, alpha)
            se = se * np.sqrt(phi) if df_resid else se
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
        dfree = len(all_inter)
        stat, p = _quasi_chi2(2 * (full.llf - restricted.llf), dfree, phi, df_resid)
        tests.append(("group x period interaction", "all groups", float(stat), dfree, float(p),
                      "likelihood ratio", phi, df_resid))  # fmt: skip
    else:
        stat, dfree = _wald_chi2(beta, V, all_inter)
        p = float(stats.chi2.sf(stat, dfree))
        tests.append(("group x period interaction", "all groups", stat, dfree, p,
                      "Wald (cluster-robust)", phi, 0))  # fmt: skip
    for g, idx in inter_idx.items():
        stat, dfree = _wald_chi2(beta, V, idx)
        stat, p = _quasi_chi2(stat, dfree, phi, df_resid)
        tests.append(("group x period interaction", g, float(stat), dfree, float(p),
                      "Wald (cluster-robust)" if cluster else "Wald", phi, df_resid))  # fmt: skip
    tests = pd.DataFrame(tests, columns=list(TEST_COLUMNS))
    notes = list(prep.notes)
    notes.append(
        f"Change over time: logistic regression with a {group} x {period} interaction on "
        f"{len(data):,} {'cells' if fitted['level'] == 'cells' else 'records'} ({prep.n_used:,} "
        f"records), periods compared with {pref!r}: {fitted['formula']}."
    )
    if separated:
        notes.append("Some terms are separated; the likelihood-ratio test uses the limiting fit.")
    if df_resid:
        notes.append(f"Tests and intervals scaled by the dispersion {phi:.3g} (Pearson X² of the "
                     f"cells / {df_resid:,} residual df): F and t references.")  # fmt: skip
    info = _base_info(
        func, prep, fitted, alpha, "binomial (logit)", notes=notes, period=period,
        period_reference=pref, periods=periods, restricted_model=restricted,
        restricted_formula=restricted_formula,
    )  # fmt: skip
    _finish(prep, table, func, notes)
    ledger.carry(table, tests)
    return ModelResult(table=table, adjusted=None, model=full, data=data, info=info, tests=tests)
