"""Change over time in stop-and-search disparity: has a group's RRI changed between periods?"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import as_list, check_alpha, check_counts, require_columns
from .._stats import dispersion, quasi_chi2, quasi_wald
from ..errors import DataQualityWarning, ValidationError
from ..models import fit_binomial_batch

__all__ = ["TREND_TEST_COLUMNS", "trend_test"]

#: Columns of :func:`trend_test` (after any ``by`` columns).
TREND_TEST_COLUMNS = (
    "group", "test", "periods", "estimate", "ci_lower", "ci_upper", "statistic", "df", "p_value",
    "dispersion", "dispersion_df",
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
    time: str | None = None,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Test whether a group's disparity changed between periods (quasi-Poisson, log exposure).

    Each group is compared with the reference on the two groups' counts at the finest time unit
    available: the rows of ``time`` (e.g. months) where given, which nest inside ``period``
    (e.g. quarters), otherwise the periods themselves. Two tests per group:

    - ``test = "change"``: the **latest period against all the earlier ones together** (with
      two periods, the second against the first). ``estimate`` is the ratio of the latest
      period's RRI to the earlier periods' RRI, with its interval.
    - ``test = "trend"``: a group x linear-period term (periods in order, 0, 1, 2...):
      ``estimate`` is the factor by which the RRI changes per period.

    Both scale their standard errors and tests by the dispersion estimated from the model's
    residual degrees of freedom (Notes). Real counts vary from month to month far more than
    Poisson; a test that ignores it finds changes that are not there.

    Parameters
    ----------
    counts : DataFrame
        One row per group and period (and ``time`` unit, and ``by`` value); other columns are
        summed over.
    group, reference : str
        Column of groups and the reference group.
    period : str
        Column of periods, in sorted order (or the order of a categorical's categories).
    events, exposure : str
        Columns of counts and of their exposure (e.g. person-years); rows with exposure 0 are
        left out.
    groups : sequence of str, optional
        The groups to compare with the reference (default: all others).
    alpha : float
        1 - the confidence level of the intervals.
    time : str, optional
        Column of time units within periods (e.g. ``"month"`` with quarterly periods): each value
        must fall in a single period. Pass it whenever the periods are made of months: with
        only two periods it is the only source of a dispersion estimate.
    by : str or sequence of str, optional
        Columns that split the counts into separate comparisons (e.g. ``"force"``); they lead
        the output, and each comparison's latest period is the latest it has.

    Returns
    -------
    DataFrame
        The ``by`` columns, then exactly :data:`TREND_TEST_COLUMNS`, two rows per group:
        ``group``; ``test`` (``"change"`` or ``"trend"``); ``periods`` (first to last, and how
        many); ``estimate``, ``ci_lower``, ``ci_upper`` (the ratio of RRIs, or the factor per
        period, and its interval; missing where the estimate runs to 0 or infinity, e.g. no
        events in the latest period); ``statistic`` (change: ``F = LR/φ``, or the likelihood
        ratio ``LR`` where there is no dispersion estimate; trend: its signed root, a ``t`` or
        ``z``); ``df`` (1, the terms tested); ``p_value``; ``dispersion`` (``φ``, NaN where it
        cannot be estimated); ``dispersion_df`` (the residual df it came from, 0 where none).
        A group with no events (or whose reference has none) has no rows.

    Raises
    ------
    ValidationError
        A named column is missing or has missing values; a count or exposure is negative or
        not a number;
        fewer than two periods have exposure; the reference is not in the data; or a ``time``
        value falls in more than one period.

    Warns
    -----
    DataQualityWarning
        Where a comparison has no residual degrees of freedom (two periods of one row each):
        its tests assume Poisson variation (``dispersion`` NaN, ``dispersion_df`` 0).

    Notes
    -----
    For time units ``u`` (months, or periods), with ``a_u`` the group's events, ``b_u`` the
    reference's, ``n`` their exposures and ``x_u`` the tested covariate (the period index for
    ``trend``; 1 in the latest period, else 0, for ``change``), the model is the Poisson GLM

    ``log E[y_gu] = log n_gu + α_u + β·[g = group] + γ·[g = group]·x_u``

    with a fixed effect ``α_u`` for every time unit, absorbing the movement the two groups share.
    Conditioning on each unit's total ``m_u = a_u + b_u`` gives the same estimates, deviance and
    Pearson statistic from the binomial model ``logit P(a_u | m_u) = log(n_au / n_bu) + β + γ x_u``,
    which is what is fitted (by IRLS, for every comparison at once). ``exp(γ)`` is the estimate.

    The dispersion is ``φ = X² / (U - 2)`` with ``X²`` the Pearson statistic and ``U`` the time
    units with events. For ``change`` its residuals are the spread of the months within periods
    and of the earlier periods around their common RRI; for ``trend``, the spread around the
    line. Both tests refer ``F = (D₀ - D₁) / φ`` (the deviances without and with ``γ``) to
    ``F(1, U - 2)``, ``trend`` reporting its signed root ``t = sign(γ̂)·√F``: the likelihood
    ratio keeps its size at a few events a month, where the Wald ``t`` is conservative (4.4%
    against 4.8%, simulated at 4 events a month and 4 df). Intervals are Wald,
    ``γ̂ ± t_{1-α/2}(U - 2)·se·√φ``. Where ``U = 2`` there are no residual df and no
    dispersion: the unscaled likelihood ratio is referred to ``χ²(1)`` and the interval takes
    the normal quantile (Poisson variation assumed), and a warning says so. ``φ`` is not floored
    at 1: with few residual df a floor makes the tests conservative (a size of 0.5% instead of 5%
    at 4 df, simulated), and the F and t references already allow for the noise in ``φ``. With
    two periods of one row each and no ``time``, the ``change`` row equals the Wald ratio of the
    two RRIs and the LR test on it.

    The size of both tests (3.5-7% at alpha 0.05 with 0-5% month-to-month variation and 20 to
    60,000 events a month) is checked by simulation in ``tests/stopsearch/test_trend_size.py``.
    """
    check_alpha(alpha)
    by = as_list(by)
    cols = {group: "group", period: "period", events: "events", exposure: "exposure"}
    cols.update({c: "by" for c in by})
    if time is not None:
        cols[time] = "time"
    require_columns(counts, cols, "the counts")
    missing = [c for c in cols if counts[c].isna().any()]
    if missing:
        raise ValidationError(
            f"columns {missing} of the counts have missing values (a missing count is not a zero, "
            "and a row without its group or period cannot be placed); fill or drop those rows"
        )
    for column, param in ((events, "events"), (exposure, "exposure")):
        counts, _ = check_counts(counts, column, param, integer=False, dropna=False)
    units = [*by, period] + ([time] if time is not None and time != period else [])
    data = counts.groupby([*units, group], observed=True)[[events, exposure]].sum().reset_index()
    data = data[data[exposure] > 0]
    order = _period_order(counts[period], data[period])
    if len(order) < 2:
        raise ValidationError(
            f"a trend test needs at least two periods with exposure; column {period!r} (given as "
            f"`period`) has {order}"
        )
    if time is not None and time != period:
        spans = data.groupby([*by, time], observed=True)[period].nunique()
        if (spans > 1).any():
            raise ValidationError(
                f"each value of column {time!r} (given as `time`) must fall in one period of "
                f"{period!r}, but {list(spans[spans > 1].index[:5])} fall in several; pass the "
                "finer time column as `time` and the coarser one as `period`"
            )
    if reference not in set(data[group]):
        raise ValidationError(
            f"the reference group {reference!r} (given as `reference`) is not in column {group!r}"
        )
    if groups is None:
        groups = [g for g in pd.unique(data[group]) if g != reference]
    pairs = _pairs(data, group, reference, list(groups), units, events, exposure)
    key = [*by, group]
    cid = pairs.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    names = pairs[key].drop_duplicates().set_axis([*by, "group"], axis=1)
    p = pairs[period].astype(object).map({p: i for i, p in enumerate(order)}).to_numpy(int)
    a, b, na, nb = (pairs[c].to_numpy(float) for c in ("a", "b", "na", "nb"))
    # periods are numbered within each comparison (0, 1, 2...), over the periods it has
    present = np.zeros((len(names), len(order)), dtype=bool)
    present[cid, p] = True
    some = (np.bincount(cid, a, len(names)) > 0) & (np.bincount(cid, b, len(names)) > 0)
    keep = (present.sum(axis=1) > 1) & some
    rows, cid = keep[cid], (np.cumsum(keep) - 1)[cid]
    present, names = present[keep], names[keep].reset_index(drop=True)
    k = len(names)
    if k == 0:
        return pd.DataFrame(columns=[*by, *TREND_TEST_COLUMNS])
    cid, p, a, b, na, nb = cid[rows], p[rows], a[rows], b[rows], na[rows], nb[rows]
    t = (np.cumsum(present, axis=1) - 1)[cid, p]
    last = t == present.sum(axis=1)[cid] - 1
    out, untestable = _tests(cid, k, a, b, np.log(na / nb), t, last, alpha)
    _warn_no_df(out["change"]["dispersion_df"] == 0, untestable, names, by)
    first, final = present.argmax(axis=1), len(order) - 1 - present[:, ::-1].argmax(axis=1)
    table = names.loc[np.repeat(np.arange(k), 2)].reset_index(drop=True)
    table["test"] = np.tile(["change", "trend"], k)
    spans = zip(first, final, present.sum(axis=1), strict=True)
    table["periods"] = np.repeat([f"{order[i]} to {order[j]} ({n})" for i, j, n in spans], 2)
    table["df"] = 1
    for c in out["change"]:
        table[c] = np.column_stack([out["change"][c], out["trend"][c]]).ravel()
    return table[[*by, *TREND_TEST_COLUMNS]]


def _period_order(column: pd.Series, present: pd.Series) -> list:
    """Periods in sorted order, or a categorical's order; only those present."""
    have = set(present)
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [p for p in column.cat.categories if p in have]
    return sorted(have)


def _pairs(data, group, reference, groups, units, events, exposure) -> pd.DataFrame:
    """One row per compared group and time unit: ``a``, ``b`` events, ``na``, ``nb`` exposure."""
    ref = data[data[group] == reference].drop(columns=group)
    ref = ref.rename(columns={events: "b", exposure: "nb"})
    others = data[data[group].isin(groups) & (data[group] != reference)]
    others = others.rename(columns={events: "a", exposure: "na"})
    return others.merge(ref, on=units, how="inner").reset_index(drop=True)


def _tests(cid, k, a, b, off, t, last, alpha) -> tuple[dict, np.ndarray]:
    """The change and trend tests of ``k`` comparisons at once (see :func:`trend_test`).

    One entry per comparison and time unit: ``cid`` (the comparison), ``a``, ``b`` (the two
    groups' events), ``off`` (the log ratio of their exposures), ``t`` (the period index),
    ``last`` (in the latest period).
    """
    sort = np.argsort(cid, kind="stable")
    size = np.bincount(cid, minlength=k)
    pos = np.empty_like(cid)
    pos[sort] = np.arange(len(cid)) - np.repeat(np.cumsum(size) - size, size)
    shape = (k, int(size.max()))

    def grid(values):
        out = np.zeros(shape)
        out[cid, pos] = values
        return out

    a, b, off = grid(a), grid(b), grid(off)
    m = a + b
    used = m > 0
    df_resid = used.sum(axis=1) - 2
    one = np.ones(shape)
    dev0 = fit_binomial_batch(a, m, one[..., None], offset=off).deviance
    results, untestable = {}, np.zeros(k, dtype=bool)
    for test, x in (("change", grid(last.astype(float))), ("trend", grid(t))):
        # a covariate constant over the units with events cannot be tested
        ok = np.where(used, x, -np.inf).max(axis=1) > np.where(used, x, np.inf).min(axis=1)
        coef, se, dev, x2, fine = fit_binomial_batch(a, m, np.stack([one, x], axis=-1), offset=off)
        phi = np.where(ok, dispersion(x2, df_resid), np.nan)
        # the likelihood ratio scaled by phi (better sized at small counts than Wald's t)
        stat, p = quasi_chi2(np.maximum(dev0 - dev, 0.0), 1, phi, df_resid)
        if test == "trend":  # its signed root, a t (or z) statistic
            stat = np.sign(coef[:, 1]) * np.sqrt(stat)
        _, lo, hi, _ = quasi_wald(coef[:, 1], se[:, 1], phi, df_resid, alpha)
        wald = ok & fine
        untestable |= ~ok
        with np.errstate(over="ignore"):
            lo, hi = np.exp(lo), np.exp(hi)
        results[test] = {
            "estimate": np.where(wald, np.exp(coef[:, 1]), np.nan),
            "ci_lower": np.where(wald, lo, np.nan),
            "ci_upper": np.where(wald, hi, np.nan),
            "statistic": np.where(ok, stat, np.nan),
            "p_value": np.where(ok, p, np.nan),
            "dispersion": phi,
            "dispersion_df": np.where(ok, df_resid, 0).astype(int),
        }
    return results, untestable


def _warn_no_df(no_df, untestable, names: pd.DataFrame, by: list) -> None:
    none = np.asarray(no_df) & ~np.asarray(untestable)
    if none.any():
        which = names.loc[none, [*by, "group"]].astype(str).agg(" ".join, axis=1).tolist()
        warnings.warn(
            f"trend_test: no residual degrees of freedom to estimate the dispersion for {which} "
            "(two periods of one row each): the tests assume Poisson variation, which monthly "
            "counts usually exceed (dispersion NaN, dispersion_df 0). Pass counts by month with "
            "`time=` naming the month column to estimate it.",
            DataQualityWarning,
            stacklevel=3,
        )
