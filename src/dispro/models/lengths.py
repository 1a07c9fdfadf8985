"""Sentence length among immediate custody: Gamma GLM with log link, or least squares on log
months, on collapsed cells; ratios of (geometric) means, adjusted."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from .._checks import check_alpha as _check_alpha
from .._checks import require_columns as _require_columns
from .._stats import z as _z
from ..errors import DisproWarning, ValidationError, check_choice
from ._design import _group_columns, _terms
from ._fit import _base_info, _choose_level, _finish, _group_sums, _spec, _with_adjusted
from ._glm import _IRLS, _cluster_fix, _model, _quiet_fit, _term_table
from ._prepare import (
    _check_frame,
    _collapse,
    _condition,
    _control_reference,
    _prepare,
    _record_frame,
    _take,
)
from .results import DATA_LEVELS, IMMEDIATE_CUSTODY, LENGTH_METHODS, ModelResult

__all__ = ["sentence_length"]


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
