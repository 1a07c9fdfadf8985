"""Change over time in stop-and-search disparity: has a group's RRI changed between periods?"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from ..errors import ValidationError, did_you_mean

__all__ = ["TREND_TEST_COLUMNS", "trend_test"]


# --------------------------------------------------------------------------------------------
# trends: has the disparity changed?
# --------------------------------------------------------------------------------------------

#: Columns of :func:`trend_test`.
TREND_TEST_COLUMNS = (
    "group", "test", "periods", "estimate", "ci_lower", "ci_upper", "statistic", "df", "p_value",
    "dispersion",
)  # fmt: skip


def trend_test(
    counts: pd.DataFrame,
    *,
    group: str = "ethnicity",
    reference: str = "White",
    period: str = "period",
    events: str = "events",
    exposure: str = "base",
    groups: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Test whether a group's disparity changed between periods (Poisson model, log exposure).

    For each group compared with the reference, fits ``events ~ group * period`` (Poisson GLM,
    offset ``log(exposure)``) on the two groups' rows and tests the group x period interaction:

    - ``test = "change"``: the likelihood-ratio test of all interaction terms (has the RRI been
      the same in every period?), with ``df`` = periods − 1;
    - ``test = "trend"``: a group x linear-time term (periods in order, 0, 1, 2...): ``estimate``
      is the factor by which the RRI changes per period, with its interval and Wald p-value.

    With exactly two periods, ``test = "change"`` also carries ``estimate``: the ratio of the
    last period's RRI to the first's, with its interval.

    When the Pearson dispersion exceeds 1, standard errors and tests use the quasi-Poisson scale
    (``dispersion`` reports it; the LR statistic is divided by it and referred to F).

    Returns
    -------
    DataFrame
        :data:`TREND_TEST_COLUMNS`, two rows per group.
    """
    for c in (group, period, events, exposure):
        if c not in counts.columns:
            raise ValidationError(
                f"column {c!r} is not in the counts{did_you_mean(c, counts.columns)}"
            )
    data = counts.groupby([group, period], observed=True)[[events, exposure]].sum().reset_index()
    data = data[data[exposure] > 0]
    order = sorted(data[period].unique())
    if len(order) < 2:
        raise ValidationError(f"a trend test needs at least two periods; {period!r} has {order}")
    if reference not in set(data[group]):
        raise ValidationError(f"the reference group {reference!r} is not in column {group!r}")
    groups = (
        list(groups) if groups is not None else [g for g in data[group].unique() if g != reference]
    )
    rows = []
    for g in groups:
        d = data[data[group].isin([g, reference])].rename(columns={events: "y", exposure: "n"})
        d = d.assign(
            is_group=(d[group] == g).astype(int),
            t=d[period].map({p: i for i, p in enumerate(order)}).astype(float),
            per=pd.Categorical(d[period], categories=order),
        )
        if d.loc[d.is_group == 1, "y"].sum() == 0 or d.loc[d.is_group == 0, "y"].sum() == 0:
            continue
        offset = np.log(d["n"].to_numpy(dtype=float))
        with warnings.catch_warnings():
            # a model with one row per group and period is saturated: a perfect fit is expected
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # zero residual df in statsmodels
            full, reduced, lin, refit = _trend_fits(d, offset, dispersion=None)
        dispersion = (
            max(1.0, float(full.pearson_chi2 / full.df_resid)) if full.df_resid > 0 else 1.0
        )
        if dispersion > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PerfectSeparationWarning)
                full, reduced, lin, refit = _trend_fits(d, offset, dispersion=dispersion)
        df = len(order) - 1
        lr = max(0.0, reduced.deviance - full.deviance)
        if dispersion > 1:
            stat = lr / df / dispersion
            p = float(stats.f.sf(stat, df, max(full.df_resid, 1)))
        else:
            stat = lr
            p = float(stats.chi2.sf(stat, df))
        est = lo = hi = np.nan
        if len(order) == 2:
            name = [k for k in refit.params.index if k.startswith("is_group:")][0]
            est = float(np.exp(refit.params[name]))
            lo, hi = (float(np.exp(v)) for v in refit.conf_int(alpha).loc[name])
        rows.append(
            {
                "group": g,
                "test": "change",
                "periods": f"{order[0]} to {order[-1]} ({len(order)})",
                "estimate": est,
                "ci_lower": lo,
                "ci_upper": hi,
                "statistic": stat,
                "df": df,
                "p_value": p,
                "dispersion": dispersion,
            }
        )
        ci = lin.conf_int(alpha).loc["is_group:t"]
        rows.append(
            {
                "group": g,
                "test": "trend",
                "periods": f"{order[0]} to {order[-1]} ({len(order)})",
                "estimate": float(np.exp(lin.params["is_group:t"])),
                "ci_lower": float(np.exp(ci.iloc[0])),
                "ci_upper": float(np.exp(ci.iloc[1])),
                "statistic": float(lin.tvalues["is_group:t"]),
                "df": 1,
                "p_value": float(lin.pvalues["is_group:t"]),
                "dispersion": dispersion,
            }
        )
    return pd.DataFrame(rows, columns=list(TREND_TEST_COLUMNS))


def _trend_fits(d: pd.DataFrame, offset: np.ndarray, dispersion: float | None):
    """The four Poisson fits of :func:`trend_test` (scale fixed at ``dispersion`` if given)."""
    family = sm.families.Poisson()
    scale = dispersion if dispersion else None
    fit = lambda formula: smf.glm(formula, data=d, family=family, offset=offset).fit(scale=scale)  # noqa: E731
    full = fit("y ~ is_group * per")
    reduced = fit("y ~ is_group + per")
    lin = fit("y ~ per + is_group + is_group:t")
    return full, reduced, lin, full
