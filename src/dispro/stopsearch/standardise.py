"""Directly age-standardised stop-and-search rates by ethnic group, and their ratios.

Minority ethnic populations in England and Wales are younger than the White population, and
people in their late teens and twenties are searched far more than older people, so a crude rate
per 1,000 mixes two things: how much each age group is searched and how many of the group are of
an age to be searched. Direct standardisation (METHODS.md section 3) applies each group's
age-specific rates to one standard population, so that groups are compared as if they had the
same age structure.

The maths lives in two kernels on numpy arrays (:func:`_dsr_dobson`, :func:`_dsr_ratio`);
:func:`age_standardised_rates` does the counting, the joins, the statuses and the schema.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import ledger
from .._checks import check_counts as _check_counts
from .._checks import plain_records as _plain_records
from .._checks import require_columns as _require_columns
from ..errors import (
    AreaError,
    DataQualityWarning,
    LowCountWarning,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
    did_you_mean,
)
from ..population import AGE_BANDS, census2021_age, person_years
from .rates import search_counts

__all__ = [
    "AGE_STANDARDISED_COLUMNS",
    "STANDARDISED_STATUSES",
    "STANDARDS",
    "age_standardised_rates",
]

#: Columns of :func:`age_standardised_rates`, in order, after the area column.
AGE_STANDARDISED_COLUMNS = (
    "period",
    "group",
    "events",
    "person_years",
    "crude_rate",
    "standardised_rate",
    "ci_lower",
    "ci_upper",
    "rri_crude",
    "rri_standardised",
    "rri_ci_lower",
    "rri_ci_upper",
    "events_missing_age",
    "missing_age_share",
    "suppressed_cells",
    "months_covered",
    "status",
    "note",
)

#: Row statuses, in order of precedence (the first that applies wins).
STANDARDISED_STATUSES = (
    "no_population",
    "no_exposure",
    "population_missing",
    "zero_population",
    "zero_events",
    "too_few",
    "reference_unavailable",
    "ok",
)

#: Named standard populations (a Series or DataFrame of weights is also accepted).
STANDARDS = ("area_total", "national")

STEP = "age_standardised_rates"
_NATIONAL = "England and Wales"


# --------------------------------------------------------------------------------------------
# kernels: numpy arrays in, numpy arrays out; no labels, no checks
# --------------------------------------------------------------------------------------------


def _poisson_limits(observed, alpha):
    """Exact (Garwood) Poisson limits for a count: chi-squared quantiles halved."""
    observed = np.asarray(observed, dtype=float)
    with np.errstate(invalid="ignore"):
        lower = np.where(observed > 0, stats.chi2.ppf(alpha / 2, 2 * observed) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2
    return lower, upper


def _dsr_dobson(events, exposure, weights, alpha):
    """Directly standardised rates with Dobson et al. (1991) intervals, one per row.

    ``events`` and ``exposure`` (person-years) are ``(k, B)`` arrays over ``B`` age bands,
    ``weights`` the standard population's shares (``(k, B)`` or ``(B,)``, each row summing to 1).
    Bands with weight 0 contribute nothing (even with no exposure).

    ``DSR = Σ w_a O_a / n_a``, ``Var(DSR) = Σ w_a² O_a / n_a²``. With ``O = Σ O_a`` and its exact
    Poisson limits ``O_L``, ``O_U``, the interval is ``DSR + sqrt(Var/O) (O_L − O)`` to
    ``DSR + sqrt(Var/O) (O_U − O)``. With ``O = 0`` the DSR is 0, the lower limit 0 and the
    upper limit the conservative ``O_U · max_a(w_a / n_a)`` (the most the DSR can be if the
    expected total is ``O_U``). Returns ``(dsr, variance, lower, upper)``.
    """
    events = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    weights = np.broadcast_to(np.asarray(weights, dtype=float), events.shape)
    used = weights > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_person = np.where(used, weights / exposure, 0.0)
        dsr = np.sum(per_person * np.where(used, events, 0.0), axis=1)
        var = np.sum(per_person**2 * np.where(used, events, 0.0), axis=1)
        total = events.sum(axis=1)
        o_lo, o_hi = _poisson_limits(total, alpha)
        scale = np.sqrt(var / total)
        lower = np.where(total > 0, dsr + scale * (o_lo - total), 0.0)
        upper = np.where(total > 0, dsr + scale * (o_hi - total), o_hi * per_person.max(axis=1))
    return dsr, var, lower, upper


def _dsr_ratio(dsr, var, ref_dsr, ref_var, z):
    """Ratio of two DSRs with a log-normal interval from their variances (delta method).

    ``Var(ln DSR) ≈ Var(DSR) / DSR²``, so ``SE(ln ratio) = sqrt(V1/D1² + V0/D0²)`` and the
    interval is ``exp(ln ratio ± z·SE)``. Returns ``(ratio, lower, upper)``; no interval where
    either DSR is 0.
    """
    dsr, var, ref_dsr, ref_var = (np.asarray(x, dtype=float) for x in (dsr, var, ref_dsr, ref_var))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = dsr / ref_dsr
        se = np.sqrt(var / dsr**2 + ref_var / ref_dsr**2)
        ok = (dsr > 0) & (ref_dsr > 0)
        lower = np.where(ok, np.exp(np.log(ratio) - z * se), np.nan)
        upper = np.where(ok, np.exp(np.log(ratio) + z * se), np.nan)
    return ratio, lower, upper


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def _is_records(frame: pd.DataFrame) -> bool:
    return "vehicle_only" in frame.columns and "coverage" in frame.attrs


def _counts_from(
    data: pd.DataFrame, *, period: str, ethnicity: str, area: str, group: str, age: str
) -> pd.DataFrame:
    """Counts per (area, period, group, age band) with months_covered, from records or counts."""
    if _is_records(data):
        if age not in data.columns:
            raise ValidationError(
                f"column {age!r} (given as `age`) is not in the records"
                f"{did_you_mean(age, data.columns)}; read the files with dispro.read_police_uk"
            )
        counts = search_counts(data, period=period, by=[age], ethnicity=ethnicity, area=area)
        return counts.rename(columns={"ethnicity": group})
    required = {area: "area", "period": "period", group: "group", age: "age",
                "events": "events", "months_covered": "months_covered"}  # fmt: skip
    _require_columns(data, required, "the counts")
    counts, _ = _check_counts(data, "events", "events", integer=True, dropna=False)
    months = pd.to_numeric(counts["months_covered"], errors="coerce")
    if months.isna().any() or (months < 0).any():
        raise ValidationError(
            "column 'months_covered' must hold the number of months of data behind each "
            "area-period (12 for a whole year), a number >= 0, with no missing values"
        )
    return counts.assign(months_covered=months)


def _population_table(
    population: pd.DataFrame | None,
    areas: Sequence[str],
    *,
    area: str,
    group: str,
    age: str,
) -> tuple[pd.DataFrame, dict[str, str], list[dict], list, tuple[int, int]]:
    """Population per (area, group, age band), notes for areas with none, and the shortfalls."""
    notes: dict[str, str] = {}
    shortfalls: list[dict] = []
    cells = [0, 0]  # suppressed and all source cells behind the bundled populations
    caught: list[warnings.WarningMessage] = []
    if population is None:
        pops = []
        for name in areas:
            try:
                with warnings.catch_warnings(record=True) as got:
                    warnings.simplefilter("always", DataQualityWarning)
                    pop = census2021_age(name, scheme="5+1")
            except AreaError as exc:
                notes[name] = "no resident population: " + str(exc).split(". ")[0]
                continue
            caught.extend(got)
            shortfalls.extend({area: name, **row} for row in pop.attrs["shortfall"])
            cells[0] += pop.attrs["suppressed_source_cells"]
            cells[1] += pop.attrs["source_cells"]
            pops.append(pop.assign(**{area: name}))
        if pops:
            population = pd.concat(pops, ignore_index=True)
        else:
            population = pd.DataFrame(
                columns=[area, "ethnicity", "age_band", "population", "suppressed_cells"]
            )
        population = population.rename(columns={"ethnicity": group, "age_band": age})
    else:
        if not isinstance(population, pd.DataFrame):
            raise ParameterError(
                "`population` must be None (the bundled Census 2021 table) or a DataFrame, but "
                f"{type(population).__name__} was passed"
            )
        if area not in population.columns and "area" in population.columns:
            population = population.rename(columns={"area": area})
        if group not in population.columns and "ethnicity" in population.columns:
            population = population.rename(columns={"ethnicity": group})
        if age not in population.columns and "age_band" in population.columns:
            population = population.rename(columns={"age_band": age})
        _require_columns(
            population,
            {area: "area", group: "group", age: "age", "population": "population"},
            "the population table",
        )
    if "suppressed_cells" not in population.columns:
        population = population.assign(suppressed_cells=pd.NA)
    keys = [area, group, age]
    grouped = population.groupby(keys, sort=False, observed=True, dropna=False)
    pop = pd.DataFrame(
        {
            "population": grouped["population"].sum(min_count=1).astype("Float64"),
            "suppressed_cells": grouped["suppressed_cells"].sum(min_count=1).astype("Float64"),
        }
    ).reset_index()
    return pop, notes, shortfalls, caught, tuple(cells)


def _standard_weights(
    standard, pop: pd.DataFrame, bands: list[str], *, area: str, age: str
) -> pd.DataFrame:
    """Standard population shares per (area, age band): columns area, age, weight."""
    areas = pd.unique(pop[area])
    if isinstance(standard, str):
        if standard not in STANDARDS:
            raise ParameterError(
                f"`standard` must be one of {STANDARDS}, a Series of weights indexed by age band, "
                f"or a DataFrame with an age band column and a weight or population column, but "
                f"{standard!r} was passed{did_you_mean(standard, STANDARDS)}"
            )
        if standard == "area_total":
            total = pop.groupby([area, age], sort=False)["population"].sum(min_count=1)
            weights = total.rename("weight").reset_index()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                national = census2021_age(_NATIONAL, scheme="5+1")
            total = national.groupby("age_band")["population"].sum(min_count=1)
            weights = pd.DataFrame(
                [(a, b, total.get(b, np.nan)) for a in areas for b in bands],
                columns=[area, age, "weight"],
            )
    else:
        if isinstance(standard, pd.DataFrame):
            column = next((c for c in ("weight", "population") if c in standard.columns), None)
            band_col = age if age in standard.columns else "age_band"
            if column is None or band_col not in standard.columns:
                raise ParameterError(
                    "a `standard` DataFrame needs an age band column (named like `age`, "
                    f"{age!r}) and a 'weight' or 'population' column; columns present: "
                    f"{list(standard.columns)}"
                )
            series = standard.groupby(band_col)[column].sum(min_count=1)
        elif isinstance(standard, pd.Series):
            series = standard
        else:
            raise ParameterError(
                f"`standard` must be one of {STANDARDS}, a Series or a DataFrame, but "
                f"{type(standard).__name__} was passed"
            )
        values = pd.to_numeric(series, errors="coerce")
        if lacking := [b for b in bands if b not in values.index]:
            raise ParameterError(
                f"the `standard` weights lack the age band(s) {lacking}; they must give a weight "
                f"(0 is allowed) for every band in the data: {bands}"
            )
        values = values.reindex(bands)
        if values.isna().any() or (values < 0).any() or not np.isfinite(values).all():
            raise ParameterError(
                f"the `standard` weights must be finite numbers >= 0, but got {values.to_dict()}"
            )
        if values.sum() <= 0:
            raise ParameterError("the `standard` weights sum to 0: give at least one band weight")
        weights = pd.DataFrame(
            [(a, b, float(values[b])) for a in areas for b in bands],
            columns=[area, age, "weight"],
        )
    weights = weights[weights[age].isin(bands)].copy()
    weights["weight"] = weights["weight"].astype(float)
    weights["weight"] = weights["weight"] / weights.groupby(area)["weight"].transform("sum")
    return weights


# --------------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------------


def age_standardised_rates(
    records_or_counts: pd.DataFrame,
    *,
    population: pd.DataFrame | None = None,
    standard: str | pd.Series | pd.DataFrame = "area_total",
    period: str = "financial_year",
    ethnicity: str = "self_defined",
    area: str = "force",
    group: str = "ethnicity",
    age: str = "age_band",
    reference: str = "White",
    alpha: float = 0.05,
    per: float = 1000,
    min_events: int | None = 10,
) -> pd.DataFrame:
    """Directly age-standardised search rates by ethnic group, with Dobson intervals and ratios.

    Parameters
    ----------
    records_or_counts : DataFrame
        Either stop-and-search records from :func:`dispro.read_police_uk` (they carry the
        coverage table; person searches are counted by :func:`dispro.stopsearch.search_counts`
        per area, period, ethnic group and age band), or counts with the columns ``area``,
        ``period``, ``group``, ``age``, ``events`` and ``months_covered`` (the months of data
        behind each area-period: 12 for a whole year).
    population : DataFrame, optional
        Residents by ``area`` (named like the records' area column, or ``area``), ``group`` (or
        ``ethnicity``), ``age`` (or ``age_band``) and ``population``; ``suppressed_cells`` if it
        has one. Default: the bundled Census 2021 table by data.police.uk age band
        (:func:`dispro.population.census2021_age`, 5 groups) of each area.
    standard : {"area_total", "national"} or Series or DataFrame
        The standard population whose age shares weight the age-specific rates.
        ``"area_total"`` (default): each area's whole resident population, all ethnic groups
        together, so a standardised rate is what the group's rate would be with the area's age
        structure. ``"national"``: the Census 2021 population of England and Wales, all groups
        (comparable across areas). Or weights by age band: a Series indexed by band, or a
        DataFrame with the ``age`` (or ``age_band``) column and a ``weight`` or ``population``
        column; they are rescaled to sum to 1 and must cover every band (0 allowed).
    period : {"quarter", "financial_year", "year", "month", "rolling_12", "all"}
        Periods of the records (ignored for counts, which carry theirs). Default
        ``"financial_year"``: age-specific counts are thin, and the Home Office publishes
        stop-and-search statistics by financial year.
    ethnicity : {"self_defined", "officer_defined", "fallback"}
        Which ethnicity of the records (as :func:`dispro.stopsearch.search_rates`).
    area, group, age : str
        Column names of the area (default ``"force"``), the ethnic group and the age band.
    reference : str
        The reference group of the ratios (default ``"White"``).
    alpha : float
        1 - confidence level of the intervals.
    per : float
        Rates per this many person-years (default 1000).
    min_events : int, optional
        Minimum searches (with a known age band) for a standardised rate: fewer gives status
        ``too_few`` and no standardised rate, interval or ratio (OHID/PHE do not publish DSRs
        from fewer than 10 events: the Dobson interval is unreliable there). ``None``: always
        compute.

    Returns
    -------
    DataFrame
        One row per area x period x group: the area column (named as ``area``), then
        :data:`AGE_STANDARDISED_COLUMNS`:

        ``period``, ``group``
            The period and the ethnic group.
        ``events``
            Person searches with a known age band (those standardised).
        ``person_years``
            Exposure: the group's population over all bands × ``months_covered`` / 12.
        ``crude_rate``
            ``events / person_years × per``.
        ``standardised_rate``
            The directly age-standardised rate per ``per`` person-years:
            ``Σ_a w_a · O_a / n_a × per``.
        ``ci_lower``, ``ci_upper``
            Its ``1 - alpha`` interval (Dobson et al. 1991).
        ``rri_crude``
            ``crude_rate`` over the reference group's (1 for the reference).
        ``rri_standardised``
            ``standardised_rate`` over the reference group's (1 for the reference).
        ``rri_ci_lower``, ``rri_ci_upper``
            Its ``1 - alpha`` interval (log-normal, delta method; missing for the reference).
        ``events_missing_age``
            Person searches of the group with no age band: excluded from ``events`` (and from
            the rates), counted here and in the exclusions ledger.
        ``missing_age_share``
            ``events_missing_age / (events + events_missing_age)``.
        ``suppressed_cells``
            Suppressed (``c``) Census cells behind the group's population (missing when the
            population table has no ``suppressed_cells`` column).
        ``months_covered``
            Months of data behind the area-period (exposure is ``population × months / 12``).
        ``status``
            One of :data:`STANDARDISED_STATUSES` (below); ``note`` says why in words.

        ``attrs`` records alpha, per, min_events, the standard (``attrs["standard"]``: the
        weight of each band per area), the interval methods, the population's shortfall against
        the Census sex table (``attrs["shortfall"]``, bundled population only) and the
        exclusions ledger. Tables in ``attrs`` are lists of row dicts (``pd.DataFrame(...)``
        makes them tables), so that results can still be concatenated.

    Raises
    ------
    ValidationError
        A named column is missing, a count is negative, fractional or missing, an age band is
        not one of the population's bands, or ``months_covered`` is missing.
    ReferenceGroupError
        The reference group is not in the data.
    ParameterError
        A parameter is outside what is allowed.

    Warns
    -----
    DataQualityWarning
        Searches without an age band were excluded (how many, what share); the populations rest
        on suppressed Census cells (how many, what share, and the shortfall against the sex
        table: standardised rates of groups with a large shortfall are biased upward); and the
        caveats of :func:`dispro.population.census2021_age` (Metropolitan Police).
    LowCountWarning
        Groups with fewer than ``min_events`` searches.

    Notes
    -----
    For group ``g`` in an area and period, with ``O_a`` searches in age band ``a``, exposure
    ``n_a = population_a × months_covered / 12`` person-years and standard shares ``w_a``
    (``Σ w_a = 1``): age-specific rates ``r_a = O_a / n_a``; ``DSR = Σ w_a r_a``;
    ``Var(DSR) = Σ w_a² O_a / n_a²`` (Poisson counts).

    Interval (Dobson, Kuulasmaa, Eberle and Scherer 1991, the method OHID and formerly Public
    Health England use for DSRs): with ``O = Σ O_a`` and its exact Poisson limits
    ``O_L = χ²(alpha/2; 2O) / 2`` and ``O_U = χ²(1 - alpha/2; 2O + 2) / 2``,
    ``DSR ± sqrt(Var(DSR) / O) · (O_{L,U} − O)``. With ``O = 0`` the rate is 0 and the upper
    limit the conservative ``O_U · max_a(w_a / n_a)``.

    Ratio of standardised rates: ``DSR_g / DSR_ref`` with the interval
    ``exp(ln ratio ± z · sqrt(Var_g / DSR_g² + Var_ref / DSR_ref²))`` (the log-normal
    approximation, the delta method applied to each DSR, treating the two groups as
    independent; Breslow and Day 1987, section 2.3; Rothman, Greenland and Lash 2008,
    chapter 15). Its coverage is checked by simulation in ``tests/test_standardise.py``.

    Statuses, in order of precedence: ``no_population`` (the group, e.g. Not stated, or the
    area, e.g. the City of London, has no population); ``no_exposure`` (no months covered);
    ``population_missing`` (a band with a positive standard weight has no population: every
    Census cell behind it is suppressed; the rate cannot be standardised without guessing);
    ``zero_population`` (a band with weight has population 0); ``zero_events`` (rate 0,
    conservative upper limit, ratio 0 without interval); ``too_few`` (fewer than
    ``min_events``); ``reference_unavailable`` (the group's rate is fine but the reference's is
    not, so no ratio); ``ok``. The ``under 10`` band may have no searches: that is a zero, not
    missing.

    Caveats to state with every table: the resident population is not the population available
    to be stopped; it has changed since March 2021; searches with ethnicity not stated have no
    population; the Census age table suppresses most small cells, so minority groups'
    populations are undercounted and their standardised rates biased upward (see
    ``attrs["shortfall"]``); the Census age table has no sex split, so this is age
    standardisation only.

    References
    ----------
    Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991). Confidence intervals for weighted sums of
    Poisson parameters. Statistics in Medicine 10:457-462.
    Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol. II. IARC.
    Public Health England (2018, now OHID). Technical guide: confidence intervals (DSRs).

    Examples
    --------
    Two groups with the same age-specific rates but different age structures:

    >>> import pandas as pd
    >>> from dispro.stopsearch.standardise import age_standardised_rates
    >>> counts = pd.DataFrame({
    ...     "force": "Anyshire", "period": "2023-24", "months_covered": 12,
    ...     "ethnicity": ["White"] * 2 + ["Black"] * 2, "age_band": ["18-24", "over 34"] * 2,
    ...     "events": [100, 100, 100, 10]})
    >>> population = pd.DataFrame({
    ...     "force": "Anyshire", "ethnicity": ["White"] * 2 + ["Black"] * 2,
    ...     "age_band": ["18-24", "over 34"] * 2, "population": [10_000, 100_000, 10_000, 10_000]})
    >>> out = age_standardised_rates(counts, population=population, standard="area_total")
    >>> out[["group", "crude_rate", "standardised_rate", "rri_crude", "rri_standardised"]].round(3)
       group  crude_rate  standardised_rate  rri_crude  rri_standardised
    0  Black       5.500              2.385      3.025               1.0
    1  White       1.818              2.385      1.000               1.0
    >>> out[["group", "rri_ci_lower", "rri_ci_upper"]].round(3)
       group  rri_ci_lower  rri_ci_upper
    0  Black         0.747         1.339
    1  White           NaN           NaN
    """
    if not isinstance(records_or_counts, pd.DataFrame):
        raise ParameterError(
            "`records_or_counts` must be a pandas DataFrame of records (dispro.read_police_uk) "
            f"or counts, but {type(records_or_counts).__name__} was passed"
        )
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ParameterError(
            f"`alpha` must be a number strictly between 0 and 1, but {alpha!r} was passed"
        )
    if not (isinstance(per, int | float) and per > 0):
        raise ParameterError(f"`per` must be a positive number (e.g. 1000), but {per!r} was passed")
    if min_events is not None and not (
        isinstance(min_events, int | np.integer) and min_events >= 0
    ):
        raise ParameterError(
            f"`min_events` must be None or a non-negative integer, but {min_events!r} was passed"
        )
    z = float(stats.norm.ppf(1 - alpha / 2))

    counts = _counts_from(
        records_or_counts, period=period, ethnicity=ethnicity, area=area, group=group, age=age
    )
    missing_group = counts[group].isna()
    if missing_group.any():
        raise ValidationError(
            f"column {group!r} (given as `group`) has {int(missing_group.sum())} missing values; "
            "label them (e.g. 'Not stated')"
        )
    groups_present = list(pd.unique(counts[group]))
    if reference not in groups_present:
        raise ReferenceGroupError(
            f"the reference group {reference!r} is not in column {group!r}"
            f"{did_you_mean(str(reference), [str(g) for g in groups_present])}; groups present: "
            f"{[str(g) for g in groups_present]}"
        )

    # --- months covered per area-period (one value each)
    months = counts.groupby([area, "period"], sort=False)["months_covered"].agg(["min", "max"])
    if (months["min"] != months["max"]).any():
        bad = months[months["min"] != months["max"]].index[:5].tolist()
        raise ValidationError(
            f"'months_covered' differs within an area-period, e.g. {bad}; it must be one value "
            "per area and period"
        )
    months = months["min"].rename("months_covered").reset_index()

    # --- searches without an age band: excluded and counted
    no_age = counts[age].isna()
    n_missing_age = int(counts.loc[no_age, "events"].sum())
    n_total = int(counts["events"].sum())
    missing_age = (
        counts[no_age].groupby([area, "period", group], sort=False)["events"].sum()
        .rename("events_missing_age")
    )  # fmt: skip
    known = counts[~no_age]

    # --- population and the bands
    areas = list(pd.unique(counts[area]))
    pop, area_notes, shortfalls, caught, source_cells = _population_table(
        population, areas, area=area, group=group, age=age
    )
    pop_bands = list(pd.unique(pop[age].dropna()))
    if population is None:
        bands = list(AGE_BANDS)
    else:
        order = {b: i for i, b in enumerate(AGE_BANDS)}
        bands = sorted(pop_bands, key=lambda b: (order.get(b, len(order)), str(b)))
    if unknown := sorted(set(map(str, known[age])) - set(map(str, bands))):
        raise ValidationError(
            f"age bands in column {age!r} (given as `age`) that the population does not have: "
            f"{unknown}; the population's bands are {bands}"
            + "".join(did_you_mean(u, bands) for u in unknown[:1])
        )
    weights = _standard_weights(standard, pop, bands, area=area, age=age)

    # --- the grid: every area x period x group x band, zeros where no searches
    cells = counts[[area, "period", group]].drop_duplicates()
    grid = cells.merge(pd.DataFrame({age: bands}), how="cross")
    events = known.groupby([area, "period", group, age], sort=False)["events"].sum()
    grid = grid.merge(events.reset_index(), on=[area, "period", group, age], how="left")
    grid["events"] = grid["events"].fillna(0).astype(float)
    grid = grid.merge(months, on=[area, "period"], how="left")
    grid = grid.merge(pop, on=[area, group, age], how="left")
    grid = grid.merge(weights, on=[area, age], how="left")
    grid["exposure"] = _person_years(grid, pop, months, area=area, group=group, age=age)

    keys = [area, "period", group]
    n_bands = len(bands)
    grid = grid.sort_values(keys, kind="stable")  # rows of one key are contiguous, bands in order
    grid["_band"] = grid[age].map({b: i for i, b in enumerate(bands)})
    grid = grid.sort_values([*keys, "_band"], kind="stable").reset_index(drop=True)
    rows = grid.drop_duplicates(keys)[keys].reset_index(drop=True)
    shape = (len(rows), n_bands)
    O = grid["events"].to_numpy(dtype=float).reshape(shape)  # noqa: E741
    pop_arr = grid["population"].astype(float).to_numpy().reshape(shape)
    n = grid["exposure"].to_numpy(dtype=float).reshape(shape)
    w = grid["weight"].fillna(0.0).to_numpy(dtype=float).reshape(shape)
    w_missing = grid["weight"].isna().to_numpy().reshape(shape)
    supp = grid["suppressed_cells"].astype(float).to_numpy().reshape(shape)
    months_row = grid["months_covered"].to_numpy(dtype=float).reshape(shape)[:, 0]

    # --- statuses, in order of precedence
    listed = pop[[area, group]].drop_duplicates().assign(_listed=True)
    no_population = ~(
        rows.merge(listed, on=[area, group], how="left")["_listed"].notna().to_numpy()
    )  # the group (e.g. Not stated) or the whole area has no population rows
    no_exposure = ~no_population & ~(months_row > 0)
    band_missing = (w > 0) & np.isnan(pop_arr) | w_missing
    population_missing = ~no_population & ~no_exposure & band_missing.any(axis=1)
    band_zero = (w > 0) & (pop_arr == 0)
    zero_population = ~no_population & ~no_exposure & ~population_missing & band_zero.any(axis=1)
    total = O.sum(axis=1)
    computable = ~(no_population | no_exposure | population_missing | zero_population)
    zero_events = computable & (total == 0)
    too_few = (
        computable
        & ~zero_events
        & ((total < min_events) if min_events else np.zeros(len(total), dtype=bool))
    )
    has_dsr = computable & ~too_few

    dsr = np.full(len(rows), np.nan)
    var = np.full(len(rows), np.nan)
    lower = np.full(len(rows), np.nan)
    upper = np.full(len(rows), np.nan)
    if has_dsr.any():
        d, v, lo, hi = _dsr_dobson(O[has_dsr], n[has_dsr], w[has_dsr], alpha)
        dsr[has_dsr], var[has_dsr], lower[has_dsr], upper[has_dsr] = d, v, lo, hi

    with np.errstate(divide="ignore", invalid="ignore"):
        person_years = np.where(np.isnan(n).any(axis=1), np.nan, np.nansum(n, axis=1))
        crude = np.where(person_years > 0, total / person_years, np.nan)

    out = rows.copy()
    out["events"] = total.astype("int64")
    out["person_years"] = person_years
    out["crude_rate"] = crude * per
    out["standardised_rate"] = dsr * per
    out["ci_lower"] = lower * per
    out["ci_upper"] = upper * per
    out["_var"] = var
    out["_has_dsr"] = has_dsr

    # --- ratios against the reference of the same area-period
    ref = out.loc[out[group] == reference, [area, "period", "standardised_rate", "_var",
                                            "crude_rate", "_has_dsr", "events"]]  # fmt: skip
    ref = ref.rename(columns={"standardised_rate": "_ref_dsr", "_var": "_ref_var",
                              "crude_rate": "_ref_crude", "_has_dsr": "_ref_ok",
                              "events": "_ref_events"})  # fmt: skip
    out = out.merge(ref, on=[area, "period"], how="left")
    ref_ok = out["_ref_ok"].fillna(False).to_numpy(dtype=bool) & (
        out["_ref_dsr"].to_numpy(dtype=float) > 0
    )
    is_ref = (out[group] == reference).to_numpy()
    ratio, r_lo, r_hi = _dsr_ratio(
        out["standardised_rate"].to_numpy(dtype=float) / per,
        out["_var"].to_numpy(dtype=float),
        out["_ref_dsr"].to_numpy(dtype=float) / per,
        out["_ref_var"].to_numpy(dtype=float),
        z,
    )
    own_ok = has_dsr | zero_events
    use = own_ok & ref_ok & ~is_ref
    zero_dsr = zero_events & ref_ok & ~is_ref
    out["rri_standardised"] = np.where(use, np.where(zero_dsr, 0.0, ratio), np.nan)
    out.loc[is_ref & has_dsr, "rri_standardised"] = 1.0
    out["rri_ci_lower"] = np.where(use & ~zero_dsr, r_lo, np.nan)
    out["rri_ci_upper"] = np.where(use & ~zero_dsr, r_hi, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_crude = out["_ref_crude"].to_numpy(dtype=float)
        out["rri_crude"] = np.where(
            ref_crude > 0, out["crude_rate"].to_numpy(dtype=float) / ref_crude, np.nan
        )
    reference_unavailable = own_ok & ~zero_events & ~is_ref & ~ref_ok

    status = np.select(
        [no_population, no_exposure, population_missing, zero_population, zero_events, too_few,
         reference_unavailable],
        list(STANDARDISED_STATUSES[:-1]),
        default="ok",
    )  # fmt: skip
    out["status"] = status
    ref_rows = out[is_ref]
    ref_status = dict(
        zip(zip(ref_rows[area], ref_rows["period"], strict=True), ref_rows["status"], strict=True)
    )

    # --- notes in words
    note = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(no_population):
        name = out.at[i, area]
        note[i] = area_notes.get(
            name, f"no resident population for {out.at[i, group]!r} in {name!r}"
        )
    for i in np.flatnonzero(no_exposure):
        note[i] = "no months of data in the period"
    for i in np.flatnonzero(population_missing):
        lacking = [bands[j] for j in np.flatnonzero(band_missing[i])]
        note[i] = (
            f"no population for age band(s) {lacking}: every Census cell behind them is "
            "suppressed ('c'), so the rate cannot be standardised"
        )
    for i in np.flatnonzero(zero_population):
        lacking = [bands[j] for j in np.flatnonzero(band_zero[i])]
        note[i] = f"population 0 in age band(s) {lacking}"
    for i in np.flatnonzero(zero_events):
        note[i] = "no searches with a known age band: rate 0, upper limit conservative"
    for i in np.flatnonzero(too_few):
        note[i] = f"{int(total[i])} searches, fewer than min_events={min_events}"
    for i in np.flatnonzero(
        reference_unavailable & (np.asarray(status) == "reference_unavailable")
    ):
        why = ref_status.get((out.at[i, area], out.at[i, "period"]), "absent")
        note[i] = f"the reference group {reference!r} has no standardised rate here ({why})"
    out["note"] = note

    missing_age = missing_age.reindex(pd.MultiIndex.from_frame(out[keys])).fillna(0).astype("int64")
    out["events_missing_age"] = missing_age.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = out["events"] + out["events_missing_age"]
        out["missing_age_share"] = np.where(denom > 0, out["events_missing_age"] / denom, np.nan)
    supp_total = np.where(np.isnan(supp).all(axis=1), np.nan, np.nansum(supp, axis=1))
    out["suppressed_cells"] = pd.array(
        [pd.NA if np.isnan(s) else int(s) for s in supp_total], dtype="Int64"
    )
    out["months_covered"] = months_row
    out = out.rename(columns={group: "group"})
    table = out[[area, *AGE_STANDARDISED_COLUMNS]].reset_index(drop=True)

    # --- attrs, ledger, warnings
    table.attrs = {
        "alpha": alpha,
        "per": per,
        "min_events": min_events,
        "reference": reference,
        "standard": _plain_records(weights),
        "standard_name": standard if isinstance(standard, str) else "user weights",
        "interval": "Dobson et al. (1991), exact Poisson limits for the total events",
        "ratio_interval": "log-normal (delta method) from the two DSR variances",
        "exposure": "population x months covered / 12 (person-years)",
        "exclusions": list(counts.attrs.get("exclusions", [])),
    }
    if shortfalls:
        table.attrs["shortfall"] = shortfalls
    ledger.record(
        table, STEP, "person searches with no age band (excluded from age-standardised rates)",
        n_missing_age,
    )  # fmt: skip
    if population is None:
        table.attrs["suppressed_source_cells"], table.attrs["source_cells"] = source_cells
    _warn(table, n_missing_age=n_missing_age, n_total=n_total, caught=caught,
          min_events=min_events, source_cells=source_cells)  # fmt: skip
    return table


def _person_years(grid, pop, months, *, area: str, group: str, age: str) -> np.ndarray:
    """The grid's exposure from :func:`dispro.population.person_years` (residents of each band x
    the area-period's months covered / 12), the one person-years of every rate per resident."""
    if pop.empty:
        return np.full(len(grid), np.nan)
    residents = pop[[area, group, age, "population"]].rename(columns={area: "area"})
    years = person_years(residents, months, area=area, period="period")
    years = years.rename(columns={"area": area})[[area, "period", group, age, "person_years"]]
    keys = [area, "period", group, age]
    return grid[keys].merge(years, on=keys, how="left")["person_years"].to_numpy(dtype=float)


def _warn(table, *, n_missing_age, n_total, caught, min_events, source_cells) -> None:
    if n_missing_age:
        warnings.warn(
            f"{n_missing_age:,} of {n_total:,} person searches ({n_missing_age / n_total:.1%}) "
            "have no age band and are excluded from the age-standardised rates (the "
            "events_missing_age column gives them per group; they are in the exclusions ledger). "
            "If age is missing more often for some groups, their standardised rates are "
            "understated relative to others.",
            DataQualityWarning,
            stacklevel=3,
        )
    suppressed = [w for w in caught if "suppressed Census cells" in str(w.message)]
    if suppressed:
        short = pd.DataFrame(table.attrs.get("shortfall", []))
        text = ""
        if len(short):
            both = short.dropna(subset=["population_age_table", "population_sex_table"])
            both = both[both["ethnicity"].isin(set(table["group"])) & (both["shortfall"] > 0)]
            worst = both.sort_values("shortfall_share", ascending=False).head(3)
            text = " Shortfall of the age table against the Census sex table: " + "; ".join(
                f"{a} {e} {float(p):.1%}"
                for a, e, p in zip(
                    worst["area"], worst["ethnicity"], worst["shortfall_share"], strict=True
                )  # fmt: skip
            )
            text += " (attrs['shortfall'] has every area and group)."
        n_supp, n_cells = source_cells
        warnings.warn(
            f"the age-band populations rest on Census cells of which {n_supp:,} of {n_cells:,} "
            f"({n_supp / n_cells:.1%}) are suppressed ('c', each fewer than 10 people, treated "
            "as missing): populations of small groups are undercounted, so their rates, crude "
            "and standardised, are biased upward (dispro.population.allocate_shortfall "
            "offers an explicit correction)." + text,
            DataQualityWarning,
            stacklevel=3,
        )
    for message in dict.fromkeys(
        str(w.message) for w in caught if "suppressed Census cells" not in str(w.message)
    ):
        warnings.warn(message, DataQualityWarning, stacklevel=3)
    few = table["status"] == "too_few"
    if few.any():
        warnings.warn(
            f"{int(few.sum())} group(s) have fewer than min_events={min_events} searches with a "
            "known age band: no standardised rate is given for them (status 'too_few')",
            LowCountWarning,
            stacklevel=3,
        )
