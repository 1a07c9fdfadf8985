"""Numpy kernels of the models: Wald intervals and tests, E-values, the share of a disparity
explained, and marginal standardisation on a design matrix (numpy in, numpy out)."""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def _wald(b, se, z):
    """Interval ``b ± z·se`` and two-sided p-value of ``b / se`` (all on the log scale)."""
    b, se = np.asarray(b, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(b / se))
    return b - z * se, b + z * se, p


def _wald_chi2(beta, V, idx):
    if not idx:
        return np.nan, 0
    b = beta[idx]
    sub = V[np.ix_(idx, idx)]
    stat = float(b @ np.linalg.pinv(sub) @ b)
    return stat, len(idx)


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
