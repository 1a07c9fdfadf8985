"""Sensitivity of the adjusted disparities: inverse-probability weighting with a balance table,
E-values for unmeasured confounding, and odds ratios read as probabilities."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import ledger
from .._checks import check_alpha as _check_alpha
from .._stats import z as _z
from ..errors import DataQualityWarning, ParameterError, check_choice
from ._fit import _base_info, _finish
from ._glm import _blas
from ._kernels import _e_value_kernel, _e_value_limit, _wald
from ._prepare import _check_frame, _collapse, _condition, _control_reference, _prepare, _take
from .results import (
    BALANCE_COLUMNS,
    E_VALUE_COLUMNS,
    E_VALUE_SCALES,
    ESTIMANDS,
    IPW_COLUMNS,
    ModelResult,
)

__all__ = ["ipw_check", "e_value", "odds_to_probability"]


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
