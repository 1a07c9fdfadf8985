"""Rates and relative rate indices (RRIs) with intervals, p-values, q-values and statuses.

The maths lives in small private kernels on numpy arrays (``_katz``, ``_poisson_wald``,
``_poisson_exact``, ``_bh``); :func:`rri` does the grouping, the joins, the statuses and the
schema. Every kernel is vectorised: there is no Python loop per group.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from . import ledger
from ._checks import as_list as _as_list
from ._checks import check_counts as _check_counts
from ._checks import describe_rows as _describe_rows
from ._checks import require_columns as _require_columns
from ._stats import bh as _bh
from ._stats import katz as _katz
from ._stats import poisson_exact as _poisson_exact
from ._stats import poisson_wald as _poisson_wald
from ._stats import z as _z
from .counts import count_events
from .errors import (
    DataQualityWarning,
    LowCountWarning,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
    ZeroCellWarning,
    check_choice,
    did_you_mean,
)
from .population import join_population

__all__ = [
    "RRI_COLUMNS",
    "STATUSES",
    "METHODS",
    "BAND_LABELS",
    "rri",
    "rri_from_records",
    "practical_band",
]

#: The columns of an RRI table, in order, after the ``by`` columns.
RRI_COLUMNS = (
    "group", "events", "base", "rate", "reference_events", "reference_base", "reference_rate",
    "rri", "ci_lower", "ci_upper", "p_value", "q_value", "significant", "status",
)  # fmt: skip

#: Row statuses, in order of precedence (the first that applies wins).
STATUSES = ("no_base", "suppressed", "reference_zero", "zero_events", "too_few", "ok")

METHODS = ("katz", "poisson_exact", "poisson_wald")
ADJUSTMENTS = ("bh", None)

#: Values of :func:`practical_band`.
BAND_LABELS = ("notably_higher", "notably_lower", "not_notable", "unclear")


# --------------------------------------------------------------------------------------------
# kernels: numpy arrays in, numpy arrays out; no labels, no checks
# --------------------------------------------------------------------------------------------


_KERNELS: dict[str, Callable] = {
    "katz": lambda a, A, b, B, alpha: _katz(a, A, b, B, _z(alpha)),
    "poisson_wald": lambda a, A, b, B, alpha: _poisson_wald(a, A, b, B, _z(alpha)),
    "poisson_exact": _poisson_exact,
}


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


def _check_params(method, alpha, adjust, per, suppress, min_events, min_share, correction):
    check_choice("method", method, METHODS)
    check_choice("adjust", adjust, ADJUSTMENTS)
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ParameterError(
            f"`alpha` must be a number strictly between 0 and 1, but {alpha!r} was passed"
        )
    if per is not None and not (isinstance(per, int | float) and per > 0):
        raise ParameterError(f"`per` must be a positive number (e.g. 1000), but {per!r} was passed")
    for name, value in (("suppress", suppress), ("min_events", min_events)):
        if value is not None and not (isinstance(value, int | np.integer) and value >= 0):
            raise ParameterError(
                f"`{name}` must be None or a non-negative integer, but {value!r} was passed"
            )
    if min_share is not None and not (isinstance(min_share, float | int) and 0 <= min_share < 1):
        raise ParameterError(
            f"`min_share` must be None or a fraction in [0, 1) (e.g. 0.01), but {min_share!r} was passed"
        )
    if correction is not None and not (isinstance(correction, float | int) and correction > 0):
        raise ParameterError(
            f"`correction` must be None or a positive number (e.g. 0.5), but {correction!r} was passed"
        )


# --------------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------------


def _population_base(
    agg: pd.DataFrame, population: pd.DataFrame, group: str, by: list[str], column: str, per
) -> tuple[np.ndarray, str]:
    """The population base of each aggregated row (the one safe join), and the rate's unit."""
    base, unit = join_population(agg, population, group=group, by=by, population_column=column)
    if unit == "person-years":
        return base, f"per {per:,g} person-years (a rate a year)"
    warnings.warn(
        "the population base is a head count of residents, not person-years: `rate` is per "
        f"{per:,g} residents over the whole period the counts cover, not a rate a year. For "
        "rates a year pass dispro.population.person_years(population, coverage) as the base "
        "(coverage: dispro.coverage(records), or the number of months the counts cover).",
        DataQualityWarning,
        stacklevel=3,
    )
    return base, f"per {per:,g} residents over the period of the counts (not a rate a year)"


def rri(
    counts: pd.DataFrame,
    *,
    group: str = "ethnicity",
    reference: str = "White",
    events: str = "events",
    base: str | pd.DataFrame = "base",
    by: str | Sequence[str] | None = None,
    per: float | None = None,
    method: str | None = None,
    alpha: float = 0.05,
    family: str | Sequence[str] | None = None,
    adjust: str | None = "bh",
    suppress: int | None = None,
    min_events: int | None = None,
    min_share: float | None = None,
    correction: float | None = None,
    population_column: str = "population",
    dropna: bool = False,
) -> pd.DataFrame:
    """Relative rate indices of each group against a reference group, with intervals and tests.

    Parameters
    ----------
    counts : DataFrame
        Dimension columns plus an events column and (unless ``base`` is a population table) a base
        column. Rows that share the same ``by`` and ``group`` values are summed first, so a table
        with more dimensions than ``by`` is collapsed over the others.
    group : str
        Column holding the groups compared (default ``"ethnicity"``).
    reference : str
        The reference group (default ``"White"``); its own row is reported with ``rri = 1`` and no
        interval.
    events : str
        Column of event counts (e.g. searches).
    base : str or DataFrame
        Column of the numbers at risk (a count of people: the rate is a proportion), or a
        population table joined by :func:`dispro.population.join_population`: on ``group``, on
        the ``by`` columns it has, and on the area: a ``by`` column naming areas (``force``,
        ``area``...: :data:`dispro.population.AREA_COLUMNS`) is matched to the population's
        ``area`` column through the force-name normaliser; any other columns it has are summed
        over. A group or area with no matching population gets status ``no_base``; a join that
        matches no area at all, a population of several areas with no ``by`` column naming the
        area, or an area ``by`` column the population cannot match, is an error (never a sum
        over areas). Person-years (:func:`dispro.population.person_years`, the residents times
        the months the counts cover / 12) give rates a year; a head count of residents (e.g.
        :func:`dispro.population.census2021`) gives rates over the whole period of the counts,
        with a warning.
    by : str or list of str, optional
        Columns that split the table (e.g. ``["force", "quarter"]``); each slice has its own
        reference.
    per : float, optional
        Rates are multiplied by ``per`` (the RRI does not depend on it). Default 1000 when ``base``
        is a population table (rate per 1,000), otherwise 1 (a proportion).
    method : {"katz", "poisson_exact", "poisson_wald"}, optional
        Interval and test. Default ``"katz"`` when ``base`` is a column of people at risk and
        ``"poisson_exact"`` when ``base`` is a population table.
    alpha : float
        1 - confidence level of the intervals, and the significance level.
    family : str or list of str, optional
        Columns defining the families over which Benjamini-Hochberg q-values are computed (e.g.
        ``"force"``: one family per force). Default: the whole table is one family.
    adjust : {"bh", None}
        ``"bh"`` (default): ``significant`` means ``q_value < alpha``. ``None``: ``significant``
        means ``p_value < alpha`` (unadjusted, as official UK tables flag); q-values are still
        reported.
    suppress : int, optional
        Disclosure threshold k: a row whose events, or whose reference's events, are between 1 and k
        gets status ``suppressed`` and no rate, ratio or test (counts stay, for analysts; publish
        through :func:`dispro.disclosure.suppress`).
    min_events : int, optional
        Minimum events (in the group and in the reference) for a stable estimate; fewer gives
        status ``too_few`` and no ratio.
    min_share : float, optional
        The OJJDP option: compute RRIs only for groups whose base is at least this share of the
        slice's total base (e.g. 0.01); smaller groups get status ``too_few``.
    correction : float, optional
        An explicit continuity correction (e.g. 0.5) for rows with a zero count: added to the
        events (and, for proportions, to the non-events) of both groups. Never applied unless
        asked; recorded in ``attrs["correction"]``; the status still says ``zero_events`` or
        ``reference_zero``.
    population_column : str
        Name of the population column when ``base`` is a population table.
    dropna : bool
        Drop rows whose events or base are missing (counted in the exclusions ledger) instead of
        raising.

    Returns
    -------
    DataFrame
        One row per (``by``..., group), the ``by`` columns then exactly :data:`RRI_COLUMNS`:

        - ``group``: the group; ``events``, ``base``: the (summed) counts;
        - ``rate``: ``events / base × per``;
        - ``reference_events``, ``reference_base``, ``reference_rate``: the same for the reference;
        - ``rri``: ``rate / reference_rate`` from unrounded counts (1 for the reference);
        - ``ci_lower``, ``ci_upper``: the ``1 - alpha`` interval (missing for the reference);
        - ``p_value``: test of RRI = 1; ``q_value``: Benjamini-Hochberg over the family;
        - ``significant``: nullable boolean (see ``adjust``), missing where there is no test;
        - ``status``: one of :data:`STATUSES`.

        ``attrs`` records the method, alpha, adjust, family, per, ``rate_unit`` (what ``rate``
        is per: e.g. ``"per 1,000 person-years (a rate a year)"``), suppress, min_events,
        min_share, correction and the exclusions ledger.

    Raises
    ------
    ValidationError
        A named column is missing (with a did-you-mean), a count is negative, non-integer, infinite
        or missing (unless ``dropna``), or events exceed the base for the ``katz`` method.
    ReferenceGroupError
        The reference group is absent from the table (the message lists the groups present) or
        from some ``by`` slices (the message lists them).
    DisproError
        A population base that cannot be joined safely (see ``base``).
    ParameterError
        A parameter is outside what is allowed.

    Warns
    -----
    LowCountWarning
        Katz or Wald intervals computed with a count below 5.
    ZeroCellWarning
        A continuity correction was applied.
    DataQualityWarning
        The base is a head count of residents, so the rate is over the counts' whole period,
        not a rate a year.

    Notes
    -----
    Rate ``r_g = a_g / A_g``; ``RRI_g = r_g / r_ref``. Katz: ``SE = sqrt(1/a - 1/A + 1/b - 1/B)``
    and interval ``exp(ln RRI ± z SE)``, ``z = Φ⁻¹(1 - alpha/2)``, p from ``ln RRI / SE``.
    Poisson Wald: ``SE = sqrt(1/a + 1/b)``. Poisson exact: conditional on ``a + b``, ``a`` is
    binomial with ``π = R P_a / (R P_a + P_b)``; the Clopper-Pearson interval for ``π`` is
    inverted to one for ``R`` and the p-value is the doubled smaller one-sided exact p-value
    (consistent with the interval). Zero events give RRI 0 (status ``zero_events``; the exact
    method gives a finite upper limit); a reference with no events gives no ratio (status
    ``reference_zero``). Precedence of statuses: ``no_base``, ``suppressed``,
    ``reference_zero``, ``zero_events``, ``too_few``, ``ok``.

    References
    ----------
    Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence intervals for the risk ratio
    in cohort studies. Biometrics 34:469-474. Benjamini Y, Hochberg Y (1995). JRSS B 57:289-300.

    Examples
    --------
    >>> import pandas as pd
    >>> import dispro
    >>> counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [400, 120],
    ...                        "base": [5000, 1000]})
    >>> out = dispro.rri(counts)
    >>> out[["group", "rri", "ci_lower", "ci_upper"]].round(4)
       group  rri  ci_lower  ci_upper
    0  White  1.0       NaN       NaN
    1  Black  1.5    1.2375    1.8182
    """
    if not isinstance(counts, pd.DataFrame):
        raise ParameterError(
            f"`counts` must be a pandas DataFrame, but {type(counts).__name__} was passed"
        )
    by = _as_list(by)
    family = _as_list(family)
    population = isinstance(base, pd.DataFrame)
    if method is None:
        method = "poisson_exact" if population else "katz"
    if per is None:
        per = 1000 if population else 1
    _check_params(method, alpha, adjust, per, suppress, min_events, min_share, correction)
    required = {group: "group", events: "events", **{c: "by" for c in by}}
    if not population:
        required[base] = "base"
    _require_columns(counts, required)
    for c in family:
        if c not in by:
            raise ParameterError(
                f"`family` columns must be among the `by` columns {by}, but {c!r} was passed"
            )
    if group in by:
        raise ParameterError(f"the `group` column {group!r} must not also be a `by` column")

    frame = counts
    frame, dropped_events = _check_counts(frame, events, "events", integer=True, dropna=dropna)
    dropped_base = 0
    if not population:
        frame, dropped_base = _check_counts(frame, base, "base", integer=False, dropna=dropna)
    missing_group = frame[group].isna().to_numpy()
    if missing_group.any():
        if not dropna:
            raise ValidationError(
                f"column {group!r} (given as `group`) has missing values in "
                f"{_describe_rows(frame, missing_group, group)}. Label them (e.g. 'Not stated') or "
                "pass dropna=True to exclude them (they are counted in the exclusions ledger)."
            )
    keys = [*by, group]
    # --- aggregate to one row per (by..., group)
    value_cols = [events] if population else [events, base]
    agg = frame.groupby(keys, observed=True, sort=True, dropna=True)[value_cols].sum().reset_index()
    agg = agg.rename(columns={events: "__events", **({} if population else {base: "__base"})})
    if population:
        agg["__base"], rate_unit = _population_base(agg, base, group, by, population_column, per)
    else:
        rate_unit = f"per {per:,g} of the base column {base!r}"
    present = pd.unique(agg[group])
    if reference not in set(present):
        raise ReferenceGroupError(
            f"the reference group {reference!r} is not in column {group!r}"
            f"{did_you_mean(str(reference), [str(p) for p in present])}; groups present: "
            f"{[str(p) for p in present]}"
        )
    if method == "katz":
        over = (agg["__events"] > agg["__base"]).to_numpy()
        if over.any():
            raise ValidationError(
                f"events exceed the base in {int(over.sum())} row(s) of the aggregated table, e.g. "
                f"{agg.loc[over, keys].head(5).to_dict('records')}; the 'katz' method needs a base of "
                "people at risk. Check the counts, or use method='poisson_exact' for rates per "
                "person-time."
            )

    # --- the reference of each slice
    ref = agg.loc[agg[group] == reference, [*by, "__events", "__base"]].rename(
        columns={"__events": "__ref_events", "__base": "__ref_base"}
    )
    if by:
        out = agg.merge(ref, on=by, how="left")
        lacking = out["__ref_events"].isna().to_numpy()
        if lacking.any():
            slices = out.loc[lacking, by].drop_duplicates().head(10).to_dict("records")
            raise ReferenceGroupError(
                f"the reference group {reference!r} is absent from {int(out.loc[lacking, by].drop_duplicates().shape[0])} "
                f"slice(s) of {by}, e.g. {slices}. Add rows with explicit zero counts where the "
                "reference truly had none, or drop those slices."
            )
    else:
        out = agg.assign(
            __ref_events=ref["__ref_events"].iloc[0], __ref_base=ref["__ref_base"].iloc[0]
        )

    a = out["__events"].to_numpy(dtype=float)
    A = out["__base"].to_numpy(dtype=float)
    b = out["__ref_events"].to_numpy(dtype=float)
    B = out["__ref_base"].to_numpy(dtype=float)
    is_ref = (out[group] == reference).to_numpy()

    # --- statuses, in order of precedence
    no_base = np.isnan(A) | (A <= 0) | np.isnan(B) | (B <= 0)
    if suppress:
        small = ((a >= 1) & (a <= suppress)) | ((b >= 1) & (b <= suppress))
    else:
        small = np.zeros_like(a, dtype=bool)
    ref_zero = b == 0
    zero = a == 0
    too_few = np.zeros_like(a, dtype=bool)
    if min_events:
        too_few |= (a < min_events) | (b < min_events)
    if min_share:
        totals = (
            out.groupby(by, sort=False)["__base"].transform("sum") if by else out["__base"].sum()
        )
        share = A / np.asarray(totals, dtype=float)
        too_few |= share < min_share
    status = np.select(
        [no_base, small, ref_zero, zero, too_few],
        ["no_base", "suppressed", "reference_zero", "zero_events", "too_few"],
        default="ok",
    )

    # --- the ratio and its interval, for rows that can have one
    ratio = np.full_like(a, np.nan)
    lower = np.full_like(a, np.nan)
    upper = np.full_like(a, np.nan)
    p = np.full_like(a, np.nan)
    compute = ~is_ref & np.isin(status, ["ok", "zero_events"])
    ca, cA, cb, cB = a.copy(), A.copy(), b.copy(), B.copy()
    corrected = np.zeros_like(a, dtype=bool)
    if correction is not None:
        corrected = ~is_ref & ~no_base & ~small & ((a == 0) | (b == 0))
        if corrected.any():
            ca[corrected] += correction
            cb[corrected] += correction
            if not population and method == "katz":
                cA[corrected] += 2 * correction
                cB[corrected] += 2 * correction
            compute |= corrected
            warnings.warn(
                f"a continuity correction of {correction} was added to {int(corrected.sum())} "
                "row(s) with a zero count; their status still records the zero",
                ZeroCellWarning,
                stacklevel=2,
            )
    if compute.any():
        idx = np.flatnonzero(compute)
        r, lo, hi, pv = _KERNELS[method](ca[idx], cA[idx], cb[idx], cB[idx], alpha)
        ratio[idx], lower[idx], upper[idx], p[idx] = r, lo, hi, pv
        # zero events without correction: the ratio is 0; Wald-type methods have no interval
        zero_rows = idx[(ca[idx] == 0)]
        ratio[zero_rows] = 0.0
        if method != "poisson_exact":
            lower[zero_rows] = upper[zero_rows] = p[zero_rows] = np.nan
        if method in ("katz", "poisson_wald"):
            low = idx[(np.minimum(ca[idx], cb[idx]) < 5) & (ca[idx] > 0)]
            if low.size:
                groups = out.iloc[low[:10]][keys].astype(str).agg(" / ".join, axis=1).tolist()
                warnings.warn(
                    f"{method} intervals computed from a count below 5 in {low.size} row(s), e.g. "
                    f"{groups}; the normal approximation is "
                    "doubtful there: consider method='poisson_exact' or a suppression threshold",
                    LowCountWarning,
                    stacklevel=2,
                )
    ratio[is_ref & ~no_base & ~small & (b > 0)] = 1.0

    # --- q-values over families
    q = np.full_like(p, np.nan)
    if family:
        fam = out[family].astype(str).agg("\x1f".join, axis=1).to_numpy()
        for key in pd.unique(fam):
            sel = fam == key
            q[sel] = _bh(p[sel])
    else:
        q = _bh(p)
    test = q if adjust == "bh" else p
    significant = pd.array(np.where(np.isnan(test), False, test < alpha), dtype="boolean")
    significant[np.isnan(test)] = pd.NA

    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(A > 0, a / A * per, np.nan)
        ref_rate = np.where(B > 0, b / B * per, np.nan)
    if suppress:
        rate = np.where((a >= 1) & (a <= suppress), np.nan, rate)
        ref_rate = np.where((b >= 1) & (b <= suppress), np.nan, ref_rate)

    result = out[by].copy() if by else pd.DataFrame(index=out.index)
    result["group"] = out[group].to_numpy()
    result["events"] = out["__events"].to_numpy()
    result["base"] = out["__base"].to_numpy()
    result["rate"] = rate
    result["reference_events"] = out["__ref_events"].to_numpy()
    result["reference_base"] = out["__ref_base"].to_numpy()
    result["reference_rate"] = ref_rate
    result["rri"] = ratio
    result["ci_lower"] = lower
    result["ci_upper"] = upper
    result["p_value"] = p
    result["q_value"] = q
    result["significant"] = significant
    result["status"] = status
    # reference first within each slice, then the other groups in table order
    slice_id = out.groupby(by, sort=False).ngroup().to_numpy() if by else np.zeros(len(out))
    order = np.lexsort((~is_ref, slice_id))
    result = result.iloc[order].reset_index(drop=True)
    result.attrs.update(
        {
            "method": method,
            "alpha": alpha,
            "adjust": adjust,
            "family": family or "whole table",
            "per": per,
            "rate_unit": rate_unit,
            "reference": reference,
            "suppress": suppress,
            "min_events": min_events,
            "min_share": min_share,
            "correction": correction,
        }
    )
    ledger.carry(counts, result)
    if dropped_events or dropped_base:
        ledger.record(
            result,
            "rri",
            "rows with a missing events or base count (dropna=True)",
            dropped_events + dropped_base,
        )
    n_missing_group = int(missing_group.sum())
    if n_missing_group:
        ledger.record(
            result, "rri", f"rows with a missing {group!r} (dropna=True)", n_missing_group
        )
    return result


# --------------------------------------------------------------------------------------------
# from records to counts
# --------------------------------------------------------------------------------------------


def rri_from_records(
    records: pd.DataFrame,
    *,
    events,
    at_risk=None,
    group: str = "ethnicity",
    by: str | Sequence[str] | None = None,
    dropna: bool = False,
    **kwargs,
) -> pd.DataFrame:
    """Records to an RRI table in one call: :func:`dispro.counts.count_events` then :func:`rri`.

    ``kwargs`` go to :func:`rri` (``reference``, ``method``, ``alpha``, ``base`` as a population
    table...). With a population table as ``base``, ``at_risk`` is ignored and the events are
    rated against the population.

    Examples
    --------
    >>> import pandas as pd, dispro
    >>> recs = pd.DataFrame({"ethnicity": ["White"] * 50 + ["Black"] * 50,
    ...                      "arrest": [True] * 10 + [False] * 40 + [True] * 20 + [False] * 30})
    >>> dispro.rri_from_records(recs, events="arrest")[["group", "rate", "rri"]]
       group  rate  rri
    0  White   0.2  1.0
    1  Black   0.4  2.0
    """
    counts = count_events(
        records, events=events, at_risk=at_risk, group=group, by=by, dropna=dropna
    )
    return rri(counts, group=group, by=by, **kwargs)


# --------------------------------------------------------------------------------------------
# practical significance
# --------------------------------------------------------------------------------------------


def practical_band(table: pd.DataFrame, *, band: tuple[float, float] = (0.8, 1.25)) -> pd.Series:
    """Judge each RRI's interval against a practical-significance band.

    This is dispro's convention, not an official UK rule (official practice flags on statistical
    significance alone). The default band borrows the US "four-fifths rule": an RRI is
    ``notably_higher`` only when its whole interval lies above 1.25, ``notably_lower`` only when it
    lies wholly below 0.8, ``not_notable`` when the whole interval lies inside the band, and
    ``unclear`` when it straddles a band limit. Rows without an interval (the reference, statuses
    other than ``ok``) get missing.

    Parameters
    ----------
    table : DataFrame
        An RRI table (columns ``ci_lower`` and ``ci_upper``).
    band : (float, float)
        Lower and upper limits, ``0 < lower < 1 < upper``.

    Returns
    -------
    Series
        Named ``"magnitude"``, values in :data:`BAND_LABELS` or missing.
    """
    lower_lim, upper_lim = band
    if not (0 < lower_lim < 1 < upper_lim):
        raise ParameterError(f"`band` must satisfy 0 < lower < 1 < upper, but {band!r} was passed")
    _require_columns(table, {"ci_lower": "table", "ci_upper": "table"}, "the RRI table")
    lo = table["ci_lower"].to_numpy(dtype=float)
    hi = table["ci_upper"].to_numpy(dtype=float)
    label = np.select(
        [lo > upper_lim, hi < lower_lim, (lo >= lower_lim) & (hi <= upper_lim)],
        ["notably_higher", "notably_lower", "not_notable"],
        default="unclear",
    ).astype(object)
    label[np.isnan(lo) | np.isnan(hi)] = None
    return pd.Series(label, index=table.index, name="magnitude", dtype="string")
