"""Numpy kernels shared by the measures: arrays in, arrays out; no labels, no checks.

One definition each: the Katz, Poisson (exact and Wald) and Wilson intervals, the Newcombe
difference, Benjamini-Hochberg q-values, the normal quantile and the quasi-likelihood dispersion
rule of the change-over-time tests. Every module that needs one imports it from here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "z",
    "log_ratio_interval",
    "katz",
    "poisson_wald",
    "poisson_exact",
    "bh",
    "wilson",
    "newcombe",
    "dispersion",
    "quasi_chi2",
    "quasi_wald",
]


def z(alpha: float) -> float:
    """The normal quantile ``Φ⁻¹(1 - alpha/2)`` of a two-sided interval."""
    from scipy import stats  # SciPy is imported when an interval is first computed

    return float(stats.norm.ppf(1 - alpha / 2))


def log_ratio_interval(ratio, se, z):
    """Interval ``exp(ln ratio ± z·se)`` and the two-sided p-value of ``ln ratio / se``."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(ratio)
        lower = np.exp(log_r - z * se)
        upper = np.exp(log_r + z * se)
        p = 2 * stats.norm.sf(np.abs(log_r / se))
    return lower, upper, p


def katz(a, A, b, B, z):
    """Katz log interval for a ratio of two proportions ``(a/A) / (b/B)``.

    ``SE = sqrt(1/a - 1/A + 1/b - 1/B)``; returns ``(ratio, lower, upper, p_value)``.
    """
    a, A, b, B = (np.asarray(x, dtype=float) for x in (a, A, b, B))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / A) / (b / B)
        se = np.sqrt(1 / a - 1 / A + 1 / b - 1 / B)
    return (ratio, *log_ratio_interval(ratio, se, z))


def poisson_wald(a, P, b, Q, z):
    """Wald interval for a ratio of two Poisson rates ``(a/P) / (b/Q)``: ``SE = sqrt(1/a + 1/b)``."""
    a, P, b, Q = (np.asarray(x, dtype=float) for x in (a, P, b, Q))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / P) / (b / Q)
        se = np.sqrt(1 / a + 1 / b)
    return (ratio, *log_ratio_interval(ratio, se, z))


def poisson_exact(a, P, b, Q, alpha):
    """Exact conditional interval and test for a ratio of two Poisson rates.

    Conditional on ``n = a + b``, ``a ~ Binomial(n, π)`` with ``π = R·P / (R·P + Q)``. The
    Clopper-Pearson interval for ``π`` is mapped to ``R = π / (1 - π) · Q / P``. The two-sided
    p-value is the doubled smaller one-sided exact p-value (the "central" test), which is the test
    the Clopper-Pearson interval inverts: the interval excludes 1 exactly when ``p < alpha``.
    With ``a = 0`` the lower limit is 0 and the upper limit finite.
    """
    from scipy import special, stats

    a, P, b, Q = (np.asarray(x, dtype=float) for x in (a, P, b, Q))
    n = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / P) / (b / Q)
        pi_lo = np.where(a > 0, special.betaincinv(a, n - a + 1, alpha / 2), 0.0)
        pi_hi = np.where(b > 0, special.betaincinv(a + 1, n - a, 1 - alpha / 2), 1.0)
        odds_scale = Q / P
        lower = pi_lo / (1 - pi_lo) * odds_scale
        upper = np.where(pi_hi < 1, pi_hi / (1 - pi_hi) * odds_scale, np.inf)
        pi0 = P / (P + Q)
        p_le = stats.binom.cdf(a, n, pi0)
        p_ge = stats.binom.sf(a - 1, n, pi0)
        p = np.minimum(1.0, 2 * np.minimum(p_le, p_ge))
    return ratio, lower, upper, p


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of a 1-D array; NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv)
    scaled = pv[order] * m / np.arange(1, m + 1)
    scaled = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(scaled, 1.0)
    q[ok] = out
    return q


def wilson(k, n, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``k / n`` (statsmodels ``proportion_confint``); NaN where n = 0."""
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    lower = np.full(k.shape, np.nan)
    upper = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], n[ok], alpha=alpha, method="wilson")
        lower[ok] = lo
        upper[ok] = hi
    return lower, upper


def newcombe(k1, n1, k0, n0, alpha: float):
    """Difference ``k1/n1 - k0/n0`` with the Newcombe hybrid score interval (his method 10).

    ``L = d - sqrt((p1 - l1)^2 + (u0 - p0)^2)``, ``U = d + sqrt((u1 - p1)^2 + (p0 - l0)^2)``,
    with ``(l, u)`` the Wilson intervals of each proportion. NaN where either base is 0.
    """
    k1, n1, k0, n0 = (np.asarray(x, dtype=float) for x in (k1, n1, k0, n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.where(n1 > 0, k1 / n1, np.nan)
        p0 = np.where(n0 > 0, k0 / n0, np.nan)
    l1, u1 = wilson(k1, n1, alpha)
    l0, u0 = wilson(k0, n0, alpha)
    d = p1 - p0
    lower = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, lower, upper


# Quasi-likelihood scaling (METHODS.md section 5): one rule for every change-over-time test.


def dispersion(pearson_chi2, df_resid):
    """The dispersion ``φ = X² / df_resid`` (Pearson chi-squared over the residual df).

    NaN where ``df_resid`` is 0: a saturated model gives no estimate. Not floored at 1: with few
    residual df a floor makes the F and t tests below conservative (a size of 0.5% instead of 5%
    at 4 df), and the F and t references already allow for the estimate's noise.
    """
    x2 = np.asarray(pearson_chi2, dtype=float)
    df = np.asarray(df_resid, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(df > 0, x2 / df, np.nan)


def quasi_chi2(chi2, df, phi, df_resid):
    """A chi-squared test of ``df`` terms (likelihood ratio or Wald) scaled by the dispersion.

    ``F = χ² / df / φ`` referred to ``F(df, df_resid)``; where ``phi`` is NaN (no residual df),
    ``χ²`` itself referred to ``χ²(df)``. Returns ``(statistic, p_value)``.
    """
    from scipy import stats

    chi2, phi, df_resid = (np.asarray(x, dtype=float) for x in (chi2, phi, df_resid))
    scaled = ~np.isnan(phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(scaled, chi2 / df / phi, chi2)
        p = np.where(scaled, stats.f.sf(stat, df, np.maximum(df_resid, 1)), stats.chi2.sf(stat, df))
    return stat, p


def quasi_wald(b, se, phi, df_resid, alpha):
    """Wald test and interval of a coefficient whose standard error is scaled by ``sqrt(phi)``.

    ``t = b / (se·√φ)`` referred to ``t(df_resid)``, interval ``b ± t_{1-α/2}·se·√φ``; where
    ``phi`` is NaN (no residual df), the unscaled ``z = b / se`` and the normal quantile. Returns
    ``(statistic, lower, upper, p_value)`` on the scale of ``b``.
    """
    from scipy import stats

    b, se, phi, df_resid = (np.asarray(x, dtype=float) for x in (b, se, phi, df_resid))
    scaled = ~np.isnan(phi)
    df = np.maximum(df_resid, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(scaled, se * np.sqrt(phi), se)
        q = np.where(scaled, stats.t.ppf(1 - alpha / 2, df), stats.norm.ppf(1 - alpha / 2))
        stat = b / se
        p = np.where(scaled, 2 * stats.t.sf(np.abs(stat), df), 2 * stats.norm.sf(np.abs(stat)))
    return stat, b - q * se, b + q * se, p
