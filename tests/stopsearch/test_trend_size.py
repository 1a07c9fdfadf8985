"""Size and power of :func:`dispro.stopsearch.trend_test` by simulation with a known truth.

Series of monthly counts for a reference group and a minority group with a constant RRI (4):
a common month-to-month movement (lognormal, sd 0.10, shared by both groups: the seasonality of
policing) times an independent lognormal variation of sd 0%, 2% or 5% in each group's monthly
rate, then Poisson counts. The reference group has 20, 600 or 60,000 events a month, the minority
about a fifth of that. Two designs: (a) 15 monthly periods; (b) two quarterly periods built from
six monthly counts (``time="month"``). Each setting is one call of ``trend_test`` with the series
as ``by``, so every series is a separate comparison.

Acceptance (issue 11): at alpha 0.05 the false-positive rate of ``change`` and ``trend`` lies
within 3.5%-7%; a planted 15% step up in the RRI in the latest period is found by ``change`` at
least 80% of the time at the largest counts wherever that is attainable.

The information limit. At 60,000 events a month the variance of a month's log RRI is
``v = 2σ² + 1/12,000 + 1/60,000``. The ``change`` contrast has variance ``v·(1 + 1/14)`` in (a)
and ``v·(1/3 + 1/3)`` in (b); a step ``δ = ln 1.15 = 0.140`` is found by the best two-sided 5% test
(the z test with ``v`` known) with probability ``Φ(δ/se - 1.96) + Φ(-δ/se - 1.96)``. At σ = 5%
that is 0.47 in (a) (``δ/se = 1.89``) and 0.67 in (b) (``δ/se = 2.40``): no valid test reaches 80%,
so there the power is checked against what a t test on the residual df can attain (non-central t,
0.42 and 0.45) and the oracle bound. At σ = 0% and 2% the z bound is above 0.99 and 80% is
asserted. Measured (seed below): change 1.00, 0.98, 0.45 in (a) and 1.00, 0.99, 0.45 in (b) at
σ = 0, 2, 5%; the trend test, not built for a step in the last month, finds it 8%, 14%, 9% of the
time in (a) (in (b), with two periods, it is the change test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dispro.stopsearch import trend_test

pytestmark = pytest.mark.slow

N_SIZE = 5_000  # series per null setting: the binomial SE of a 5% rate is 0.31%
N_POWER = 1_000
MEANS = (20, 600, 60_000)  # reference events a month; the minority has a fifth
SIGMAS = (0.0, 0.02, 0.05)
DESIGNS = {
    "a": {"months": 15, "per_period": 1},  # 15 monthly periods
    "b": {"months": 6, "per_period": 3},  # two quarters of three months
}
STEP = np.log(1.15)


def simulate(rng, design, sigma, mean, n, step=1.0):
    """``n`` series of monthly counts (long table: series, month, period, ethnicity, ...)."""
    months = DESIGNS[design]["months"]
    period = np.arange(months) // DESIGNS[design]["per_period"]
    common = rng.lognormal(0.0, 0.10, (n, months))
    lift = np.where(period == period.max(), step, 1.0)
    white = rng.poisson(mean * common * rng.lognormal(0.0, sigma, (n, months)))
    black = rng.poisson(mean / 5 * common * lift * rng.lognormal(0.0, sigma, (n, months)))
    series = np.repeat(np.arange(n), months)
    month = np.tile(np.arange(months), n)
    frame = pd.DataFrame({"series": series, "month": month, "period": np.tile(period, n)})
    return pd.concat(
        [
            frame.assign(ethnicity="White", events=white.ravel(), base=1_000_000.0),
            frame.assign(ethnicity="Black", events=black.ravel(), base=50_000.0),
        ],
        ignore_index=True,
    )


def run(design, frame):
    time = "month" if DESIGNS[design]["per_period"] > 1 else None
    return trend_test(frame, by="series", time=time).set_index(["test", "series"])


def rejection(out, test):
    return float((out.loc[test, "p_value"] < 0.05).mean())


def limit(design, sigma, mean=60_000):
    """The oracle z power and the non-central t power of ``change`` for the planted step."""
    months = DESIGNS[design]["months"]
    v = 2 * sigma**2 + 5 / mean + 1 / mean
    factor = 1 + 1 / (months - 1) if design == "a" else 2 / 3
    ncp = STEP / np.sqrt(v * factor)
    z = stats.norm.sf(1.96 - ncp) + stats.norm.cdf(-1.96 - ncp)
    df = months - 2
    crit = stats.t.ppf(0.975, df)
    t = stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp)
    return z, t


@pytest.mark.parametrize("design", ["a", "b"])
def test_size_of_change_and_trend(design):
    rng = np.random.default_rng(20261122 + ord(design))
    rates = {}
    for sigma in SIGMAS:
        for mean in MEANS:
            out = run(design, simulate(rng, design, sigma, mean, N_SIZE))
            assert (
                len(out) == 2 * N_SIZE
                and out["dispersion_df"].eq(DESIGNS[design]["months"] - 2).all()
            )
            rates[sigma, mean] = {t: rejection(out, t) for t in ("change", "trend")}
    print(f"\nsize ({design}):", rates)
    for key, found in rates.items():
        for test, rate in found.items():
            assert 0.035 <= rate <= 0.07, (design, key, test, rate)


@pytest.mark.parametrize("design", ["a", "b"])
def test_power_for_a_15_percent_step_at_the_largest_counts(design):
    rng = np.random.default_rng(20261123 + ord(design))
    power = {}
    for sigma in SIGMAS:
        out = run(design, simulate(rng, design, sigma, MEANS[-1], N_POWER, step=1.15))
        power[sigma] = {t: rejection(out, t) for t in ("change", "trend")}
        estimate = np.exp(np.log(out.loc["change", "estimate"]).mean())
        assert estimate == pytest.approx(1.15, abs=0.01)
        z_limit, t_power = limit(design, sigma)
        se = np.sqrt(t_power * (1 - t_power) / N_POWER)
        if z_limit >= 0.9:
            assert power[sigma]["change"] >= 0.8, (design, sigma, power[sigma])
        else:  # the information limit: 80% is out of reach (module docstring)
            assert t_power - 3 * se <= power[sigma]["change"] <= z_limit + 3 * se
    print(f"\npower ({design}):", power)
