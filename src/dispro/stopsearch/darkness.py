"""The veil of darkness test (Grogger & Ridgeway 2006, as the Stanford Open Policing Project runs it).

If officers pick whom to search partly by ethnicity, and ethnicity is harder to see after dark,
the minority share of searches should be lower after dark than in daylight *at the same clock
time*. Clock time fixes the mix of people about; the season moves dusk across it. Within the
inter-twilight window (the clock times between the earliest and the latest civil dusk of the
period) the same clock time is light in summer and dark in winter, and the comparison is made
there.

:func:`veil_of_darkness` fits the model and returns a one-row tidy table; :func:`darkness_shares`
returns the minority share by clock-time bin, light and dark (the table behind
:func:`dispro.plots.darkness.plot_darkness`). The sun's position comes from ``astral``; the work
per stop is on numpy arrays, and sun times are computed once per place and date
(:mod:`dispro.stopsearch._sun`); the analysis sample is built in
:mod:`dispro.stopsearch._darkness_sample`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import stats

from .._stats import wilson
from ..errors import DataQualityWarning, ParameterError
from ._darkness_sample import (  # noqa: F401 (CLOCKS, STEP: re-exported)
    CLOCKS,
    MISSING_COORDINATES,
    STEP,
    WINDOWS,
    _check_params,
    _eligibility,
    _prepare,
)
from ._sun import UK, _hhmm  # noqa: F401 (UK: re-exported)

__all__ = [
    "DARKNESS_COLUMNS",
    "SHARES_COLUMNS",
    "STATUSES",
    "WINDOWS",
    "MISSING_COORDINATES",
    "KeptModel",
    "veil_of_darkness",
    "darkness_shares",
]

#: The columns of :func:`veil_of_darkness`'s table, in order.
DARKNESS_COLUMNS = (
    "status",
    "reason",
    "minority",
    "reference",
    "coefficient",
    "odds_ratio",
    "ci_lower",
    "ci_upper",
    "p_value",
    "n",
    "n_minority",
    "n_reference",
    "n_dark",
    "n_light",
    "window",
    "clock_assumption",
    "excluded_no_coordinates",
    "excluded_twilight",
    "spline_df",
    "areas",
)

#: The columns of :func:`darkness_shares`'s table, in order.
SHARES_COLUMNS = (
    "bin_start",
    "bin_end",
    "clock_time",
    "darkness",
    "n",
    "n_minority",
    "n_reference",
    "minority_share",
    "ci_lower",
    "ci_upper",
)

#: Values of ``status``.
STATUSES = ("ok", "ineligible")


# --------------------------------------------------------------------------------------------
# a holder that keeps the fitted model in attrs without pandas deep-copying it
# --------------------------------------------------------------------------------------------


class KeptModel:
    """The fitted statsmodels result, kept in a table's ``attrs["model"]``.

    pandas deep-copies ``attrs`` whenever a frame is derived from another (``copy``, ``round``,
    ``loc``...); this holder hands back itself instead, so the fitted model (and its data) is
    shared, not copied. Attribute access passes through to the result (``.params``, ``.bse``,
    ``.summary()``); ``.result`` is the bare
    :class:`statsmodels.genmod.generalized_linear_model.GLMResultsWrapper`.
    """

    def __init__(self, result):
        self.result = result

    def __getattr__(self, name):
        if name == "result":  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.result, name)

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __repr__(self) -> str:
        return f"KeptModel({type(self.result).__name__})"


# --------------------------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------------------------


def veil_of_darkness(
    records: pd.DataFrame,
    *,
    minority: str = "Black",
    reference: str = "White",
    ethnicity: str = "ethnicity",
    clock: str | None = None,
    window="inter_twilight",
    around_clock_change_days: float | None = None,
    spline_df: int = 6,
    area: str | None = "force",
    min_per_group: int = 100,
    alpha: float = 0.05,
    missing_coordinates: str = "exclude",
    pooled: bool = False,
) -> pd.DataFrame:
    """The veil of darkness test: is the minority share of searches lower after dark?

    Keeps person searches (not ``vehicle_only``) of the two groups compared; finds the sunset and
    civil dusk at each stop's place and UK local date (``astral``); keeps stops whose UK local
    clock time lies in the inter-twilight window of their area; drops those between sunset and
    civil dusk; and fits a binomial GLM of ``is_minority`` on darkness, a natural cubic spline of
    clock time and area fixed effects.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records as :func:`dispro.read_police_uk` returns them: ``date``
        (timestamps), ``latitude``, ``longitude``, ``vehicle_only``, the ``ethnicity`` column and
        the ``area`` column. ``attrs["clock"]`` says how the ``+00:00`` stamps were read.
    minority, reference : str
        The two groups compared (values of the ``ethnicity`` column). The outcome is
        ``is_minority`` among stops of these two groups.
    ethnicity : str
        The column holding the groups (e.g. ``"officer_ethnicity"`` for officer-defined).
    clock : {None, "utc", "uk_local"}
        The time zone assumption. ``None`` (default): the one the reader declared in
        ``records.attrs["clock"]``; an error if there is none. ``"utc"``: the stamps are UTC
        instants. ``"uk_local"``: they are UK local clock time (Europe/London) labelled
        ``+00:00``. When it differs from ``attrs["clock"]``, the stamps as written are recovered
        and re-read, so in British Summer Time the clock times move by one hour.
    window : "inter_twilight" or (str, str)
        ``"inter_twilight"`` (default): per area, the UK local clock times between the earliest
        and the latest civil dusk of the stops analysed (their places and dates). A pair of
        ``"HH:MM"`` clock times fixes the window instead (the same for every area).
    around_clock_change_days : float, optional
        Keep only stops whose UK local date lies within this many days of a clock change (e.g.
        30): the change moves darkness by an hour overnight while little else changes.
    spline_df : int
        Degrees of freedom of the natural cubic spline of clock time (patsy
        ``cr(clock_minute, df=spline_df, constraints="center")``); 6, as Stanford uses.
    area : str or None
        The column whose values get fixed effects and define the area-years of the eligibility
        rule (default ``"force"``). ``None``: one area, no fixed effects.
    min_per_group : int
        At least this many stops of each group in every area-year (a 12-month year of the data,
        see Notes), in the window after exclusions, or the model is not fitted (status
        ``ineligible``). 100, as the Stanford Open Policing Project asks.
    alpha : float
        1 - the confidence level of the interval.
    missing_coordinates : {"exclude", "area_median", "error"}
        Stops without coordinates (20 to 30% of data.police.uk rows). ``"exclude"`` (default):
        left out and counted in ``excluded_no_coordinates``. ``"area_median"``: placed at the
        median of the coordinates present in their area (a data-derived stand-in for the area's
        centroid; dusk moves about 4 minutes per degree of longitude). ``"error"``: raise.
    pooled : bool
        ``False`` (default): each area is tested for eligibility on its own (every area-year).
        ``True``: the areas are one pooled test, the area tested being their union: the rule
        counts the stops of all areas together in each year, and the areas stay in the model
        as fixed effects (a control for where the stop was, not units that must each qualify).
        An area with no stops of one group makes its fixed effect diverge: the model then does
        not converge and the status is ``ineligible``.

    Returns
    -------
    DataFrame
        One row, columns :data:`DARKNESS_COLUMNS`:

        - ``status``: ``"ok"`` (fitted) or ``"ineligible"`` (not fitted; see ``reason``).
        - ``reason``: why not fitted (which area-years, how many stops of each group, the
          threshold), or ``""``.
        - ``minority``, ``reference``: the groups compared.
        - ``coefficient``: the darkness coefficient (log odds of a stop being of the minority
          group, dark vs light at the same clock time and area). Negative: a smaller minority
          share when ethnicity is harder to see, which indicates disparity.
        - ``odds_ratio``: ``exp(coefficient)``; ``ci_lower``, ``ci_upper``: its Wald interval
          at level ``1 - alpha``; ``p_value``: the Wald test of no darkness effect.
        - ``n``, ``n_minority``, ``n_reference``, ``n_dark``, ``n_light``: stops analysed (in the
          window, after every exclusion), also filled when ineligible.
        - ``window``: the window used, per area, in words.
        - ``clock_assumption``: ``"utc"`` or ``"uk_local"``, the assumption used.
        - ``excluded_no_coordinates``: person searches of the two groups left out for want of
          coordinates (counted after the 12-hour-clock and clock-change exclusions, see Notes).
        - ``excluded_twilight``: stops in the window between sunset and civil dusk, dropped.
        - ``spline_df``: the spline's degrees of freedom.
        - ``areas``: the areas analysed, ``"; "``-separated.

        ``attrs`` holds ``"model"`` (a :class:`KeptModel`, passing attribute access through to
        the fitted statsmodels ``GLMResults``; ``None`` when ineligible), ``"exclusions"`` (the
        ledger: the records' own entries, then every rule applied here with its count),
        ``"clock_source"`` (who declared the clock assumption), ``"window_bounds"`` (area ->
        (start, end) in minutes after midnight) and ``"formula"``.

    Raises
    ------
    ParameterError
        An option outside what is allowed; no clock assumption declared anywhere.
    ValidationError
        A required column missing (with a did-you-mean), a group not in the data, dates or areas
        missing for some stops (with counts), no coordinates at all (or any, with
        ``missing_coordinates="error"``), coordinates out of range.

    Warns
    -----
    DataQualityWarning
        Area-months whose clock times look like a 12-hour clock (excluded, see Notes); the
        model did not converge (status ``ineligible``, with the reason).

    Notes
    -----
    The model (Grogger & Ridgeway 2006; Pierson et al. 2020)::

        logit P(minority) = b0 + beta * dark + s(clock time; df) + area effects

    ``dark`` is 1 when the stop is at or after civil dusk (the sun 6 degrees below the horizon)
    at its place and date, 0 when before sunset. The comparison is identified by the season (and
    the clock changes) moving dusk across fixed clock times; the spline absorbs how the mix of
    people about changes through the evening. Clock time is UK local time under the stated
    assumption, which matters: read the other way, summer times move by an hour and stops change
    between light and dark.

    The test assumes that the mix of people at risk of a stop at a given clock time does not
    change between light and dark (no seasonal change in who is out at 18:00 other than through
    darkness), and that artificial light does not restore visibility. Eligibility is checked
    per area-year (per year of the pool with ``pooled``) but the model pools the years (one
    darkness coefficient, area fixed effects).

    The rules, in the order applied (each counted in ``attrs["exclusions"]``):

    1. vehicle-only searches; searches of neither group (other groups and not stated);
    2. area-months (UK local month) in which at least 20 searches of any kind are recorded and
       none at 13:00 or later: a 12-hour clock with AM/PM lost is suspected (the City of London
       files from 2019-01 on look like this), so their times of day cannot be trusted;
    3. with ``around_clock_change_days``, stops further than that from a clock change;
    4. stops without coordinates (or placed at their area's median, if asked);
    5. stops on a day without civil dusk at their place (none in England and Wales);
    6. stops outside the window of clock times;
    7. stops between sunset and civil dusk (``excluded_twilight``).

    Sun times are computed at each stop's own coordinates (data.police.uk snaps them to
    anonymised points, a few hundred metres at most: seconds of dusk) and its UK local date. The
    inter-twilight window is taken from the civil dusks of the stops left after rule 5, so it
    follows the period and places actually analysed. A year in the eligibility rule is a 12-month
    span of UK local months counted from the first month of the stops of the two groups: the
    calendar year when the data start in January, the financial year (April to March) when they
    start in April, so that a period is not cut into short calendar-year stubs at its ends (a
    last span shorter than 12 months is still held to the full count). The interval is Wald's (``exp(beta +/- z se)``), from the model-based
    (not robust) covariance.

    References
    ----------
    Grogger, J. and Ridgeway, G. (2006). Testing for racial profiling in traffic stops from
    behind a veil of darkness. JASA 101(475), 878-887.
    Pierson, E. et al. (2020). A large-scale analysis of racial disparities in police stops
    across the United States. Nature Human Behaviour 4, 736-745.

    Examples
    --------
    Synthetic evening searches at Southampton through 2023, the share of Black people among
    those searched the same in light and dark:

    >>> import numpy as np, pandas as pd
    >>> from dispro.stopsearch.darkness import veil_of_darkness
    >>> rng = np.random.default_rng(1)
    >>> n = 3000
    >>> wall = (pd.Timestamp("2023-01-01 16:00") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    ...         + pd.to_timedelta(rng.uniform(0, 390, n), "min"))
    >>> records = pd.DataFrame({
    ...     "date": wall.tz_localize("Europe/London", ambiguous=True,
    ...                              nonexistent="shift_forward").tz_convert("UTC"),
    ...     "force": "Hampshire", "latitude": 50.90, "longitude": -1.40,
    ...     "ethnicity": rng.choice(["Black", "White"], n, p=[0.3, 0.7]), "vehicle_only": False})
    >>> records.attrs["clock"] = "utc"  # as read_police_uk(..., clock="utc") records it
    >>> table = veil_of_darkness(records)
    >>> table[["status", "n", "n_minority", "n_dark", "clock_assumption"]]
      status     n  n_minority  n_dark clock_assumption
    0     ok  2266         660    1234              utc
    >>> bool(table.loc[0, "ci_lower"] < 1 < table.loc[0, "ci_upper"])
    True

    Real files: ``veil_of_darkness(dispro.read_police_uk("2024-03.zip"),
    around_clock_change_days=30)``.
    """
    _check_params(
        clock=clock, window=window, around_clock_change_days=around_clock_change_days,
        spline_df=spline_df, min_per_group=min_per_group, alpha=alpha,
        missing_coordinates=missing_coordinates, minority=minority, reference=reference,
    )  # fmt: skip
    if not isinstance(pooled, bool | np.bool_):
        raise ParameterError(f"`pooled` must be True or False, but {pooled!r} was passed")
    sample, info = _prepare(
        records, minority=minority, reference=reference, ethnicity=ethnicity, clock=clock,
        window=window, around_clock_change_days=around_clock_change_days, area=area,
        missing_coordinates=missing_coordinates,
    )  # fmt: skip
    n_min = int(sample["is_minority"].sum())
    n_dark = int(sample["dark"].sum())
    areas = sorted(map(str, sample["area"].unique()))
    row = {
        "status": "ineligible",
        "reason": "",
        "minority": minority,
        "reference": reference,
        "coefficient": np.nan,
        "odds_ratio": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "p_value": np.nan,
        "n": len(sample),
        "n_minority": n_min,
        "n_reference": len(sample) - n_min,
        "n_dark": n_dark,
        "n_light": len(sample) - n_dark,
        "window": info["window"],
        "clock_assumption": info["clock"],
        "excluded_no_coordinates": info["excluded_no_coordinates"],
        "excluded_twilight": info["excluded_twilight"],
        "spline_df": int(spline_df),
        "areas": "; ".join(areas),
    }
    spline = f'cr(clock_minute, df={int(spline_df)}, constraints="center")'
    formula = f"is_minority ~ dark + {spline}" + (" + C(area)" if len(areas) > 1 else "")
    model = None
    reason = _eligibility(sample, info, min_per_group, minority, reference, pooled=pooled)
    if reason is None:
        model, reason = _fit(sample, formula)
    if model is not None:
        z = stats.norm.ppf(1 - alpha / 2)
        beta, se = float(model.params["dark"]), float(model.bse["dark"])
        row.update(
            status="ok",
            coefficient=beta,
            odds_ratio=math.exp(beta),
            ci_lower=math.exp(beta - z * se),
            ci_upper=math.exp(beta + z * se),
            p_value=float(2 * stats.norm.sf(abs(beta / se))),
        )
    else:
        row["reason"] = reason
    table = pd.DataFrame([row], columns=list(DARKNESS_COLUMNS))
    for col in ("n", "n_minority", "n_reference", "n_dark", "n_light", "excluded_no_coordinates",
                "excluded_twilight", "spline_df"):  # fmt: skip
        table[col] = table[col].astype("int64")
    table.attrs["exclusions"] = list(records.attrs.get("exclusions", [])) + info["entries"]
    table.attrs.update(
        model=KeptModel(model) if model is not None else None,
        clock_source=info["clock_source"],
        window_bounds=info["bounds"],
        formula=formula,
    )
    return table


def _fit(sample: pd.DataFrame, formula: str):
    """Fit the GLM (dispro's engine, stopped where statsmodels' own fit with its default
    tolerance stops); returns (result, None) or (None, reason)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    from ..models import fit_glm

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit_glm(sample, formula, family="binomial", tol=1e-8, polish=False)
    except Exception as exc:  # patsy (too few distinct clock times for the knots), linear algebra
        return None, f"the model could not be fitted: {type(exc).__name__}: {exc}"
    trouble = [
        w for w in caught if issubclass(w.category, ConvergenceWarning | PerfectSeparationWarning)
    ]
    if not result.converged or trouble or not np.isfinite(result.bse["dark"]):
        why = "; ".join(str(w.message) for w in trouble) or "the iterations did not converge"
        reason = (
            f"the model did not converge ({why}); too few stops, or a group absent from some cells"
        )
        warnings.warn(reason, DataQualityWarning, stacklevel=3)
        return None, reason
    return result, None


def darkness_shares(
    records: pd.DataFrame,
    *,
    minority: str = "Black",
    reference: str = "White",
    ethnicity: str = "ethnicity",
    clock: str | None = None,
    window="inter_twilight",
    around_clock_change_days: float | None = None,
    area: str | None = "force",
    missing_coordinates: str = "exclude",
    bin_minutes: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The minority share of searches by clock time, in daylight and in darkness.

    The descriptive table behind the veil of darkness test (and
    :func:`dispro.plots.darkness.plot_darkness`): the same analysis sample as
    :func:`veil_of_darkness` (same options, same exclusions), pooled over areas, in bins of UK
    local clock time. A lower share in darkness than in daylight within the same bin points the
    way a negative darkness coefficient does (the model adds the spline and the area effects).

    Parameters
    ----------
    records, minority, reference, ethnicity, clock, window, around_clock_change_days, area, missing_coordinates
        As :func:`veil_of_darkness`.
    bin_minutes : int
        Width of the clock-time bins, in minutes (bins start at multiples of it after midnight).
    alpha : float
        1 - the confidence level of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per (bin, light or dark) with stops, columns :data:`SHARES_COLUMNS`:
        ``bin_start``, ``bin_end`` (minutes after midnight, UK local clock), ``clock_time``
        (``"HH:MM-HH:MM"``), ``darkness`` (``"light"`` before sunset, ``"dark"`` after civil
        dusk), ``n``, ``n_minority``, ``n_reference``, ``minority_share``
        (``n_minority / n``), ``ci_lower``, ``ci_upper`` (Wilson interval of the share).
        ``attrs`` holds ``minority``, ``reference``, ``clock_assumption``, ``window`` and the
        ``exclusions`` ledger.

    Raises
    ------
    ParameterError, ValidationError
        As :func:`veil_of_darkness`; ``bin_minutes`` not a whole number from 1 to 720.
    """
    _check_params(
        clock=clock, window=window, around_clock_change_days=around_clock_change_days,
        spline_df=6, min_per_group=0, alpha=alpha, missing_coordinates=missing_coordinates,
        minority=minority, reference=reference,
    )  # fmt: skip
    if (
        isinstance(bin_minutes, bool)
        or not isinstance(bin_minutes, Integral)
        or not 1 <= bin_minutes <= 720
    ):
        raise ParameterError(
            f"`bin_minutes` must be a whole number from 1 to 720, but {bin_minutes!r} was passed"
        )
    sample, info = _prepare(
        records, minority=minority, reference=reference, ethnicity=ethnicity, clock=clock,
        window=window, around_clock_change_days=around_clock_change_days, area=area,
        missing_coordinates=missing_coordinates,
    )  # fmt: skip
    start = (np.floor(sample["clock_minute"].to_numpy() / bin_minutes) * bin_minutes).astype(
        np.int64
    )
    grouped = (
        sample.assign(bin_start=start, darkness=np.where(sample["dark"] == 1, "dark", "light"))
        .groupby(["bin_start", "darkness"], sort=True)["is_minority"]
        .agg(n="size", n_minority="sum")
        .reset_index()
    )
    grouped["n_minority"] = grouped["n_minority"].astype("int64")
    grouped["n"] = grouped["n"].astype("int64")
    grouped["bin_end"] = grouped["bin_start"] + bin_minutes
    grouped["clock_time"] = [
        f"{_hhmm(a)}-{_hhmm(b % 1440)}"
        for a, b in zip(grouped["bin_start"], grouped["bin_end"], strict=True)
    ]
    grouped["n_reference"] = grouped["n"] - grouped["n_minority"]
    n = grouped["n"].to_numpy(dtype=float)
    k = grouped["n_minority"].to_numpy(dtype=float)
    grouped["minority_share"] = k / n
    lower, upper = wilson(k, n, alpha)
    grouped["ci_lower"], grouped["ci_upper"] = lower, upper
    grouped["_order"] = grouped["darkness"].map({"light": 0, "dark": 1})
    grouped = grouped.sort_values(["bin_start", "_order"], kind="stable")
    table = grouped[list(SHARES_COLUMNS)].reset_index(drop=True)
    table.attrs = {
        "minority": minority,
        "reference": reference,
        "clock_assumption": info["clock"],
        "window": info["window"],
        "exclusions": list(records.attrs.get("exclusions", [])) + info["entries"],
    }
    return table
