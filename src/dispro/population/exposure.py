"""Person-years: the exposure of every rate per resident population, and how areas are matched.

A rate per resident population is events over person-years: residents times the months the
events cover, over 12 (METHODS.md section 3). A month with no data reduces the exposure; it is
never a month of zero events. Every such rate in dispro (:func:`dispro.stopsearch.search_rates`,
:func:`dispro.pathway.pathway_matrix` with ``basis="population"``, :func:`dispro.rri` with a
population base) takes its person-years from :func:`person_years`, and the months from the
coverage of the records actually passed (:func:`dispro.coverage`).

Areas are matched by :func:`area_key`: force names through the force-name normaliser of
:mod:`dispro.forces` (so ``"dorset"``, ``"Dorset Police"`` and ``"Dorset"`` are one area), other
names (local authorities, ``"Wessex"``) by their text, ignoring case, ``&`` and punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import DisproError, ParameterError, ValidationError, did_you_mean
from ..forces import normalise_force

__all__ = ["person_years", "area_key", "AREA_COLUMNS", "PERSON_YEARS_COLUMNS", "MONTH_PATTERN"]

#: Column names that identify areas: a ``by`` column with one of these names is matched to a
#: population table's ``area`` column, never summed over.
AREA_COLUMNS = (
    "area",
    "force",
    "police_force_area",
    "pfa",
    "local_authority",
    "la",
    "region",
    "cps_area",
)

#: Columns :func:`person_years` adds to the population table.
PERSON_YEARS_COLUMNS = ("months_covered", "person_years")

#: A month label: ``YYYY-MM``.
MONTH_PATTERN = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _text_key(name: str) -> str:
    text = str(name).casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def area_key(values: Iterable) -> pd.Series:
    """The key on which area names are matched: the official force name where the value names a
    police force (any spelling :func:`dispro.forces.normalise_force` knows), else the text
    without case, ``&`` or punctuation.

    Examples
    --------
    >>> area_key(["dorset", "Dorset Police", "Avon & Somerset", "Wessex"]).tolist()
    ['Dorset', 'Dorset', 'Avon and Somerset', 'wessex']
    """
    series = pd.Series(values)
    out = {}
    for value in pd.unique(series.dropna()):
        try:
            out[value] = normalise_force(str(value))
        except ValidationError:
            out[value] = _text_key(value)
    return series.map(out).astype(object)


def _months(coverage, area: str | None, period: str | None) -> pd.DataFrame:
    """Months covered per (area, period) from a coverage table (present months only), or from a
    table that already counts them (a ``months_covered`` column, one value per area and period)."""
    if "month" not in coverage.columns and "months_covered" in coverage.columns:
        return _counted_months(coverage, area, period)
    if "month" not in coverage.columns:
        raise ValidationError(
            "the coverage table has no 'month' column"
            f"{did_you_mean('month', coverage.columns)}; columns present: "
            f"{list(coverage.columns)}. Get it with dispro.coverage(records)."
        )
    cov = coverage
    if "present" in cov.columns:
        cov = cov[cov["present"].fillna(False).astype(bool).to_numpy()]
    month = cov["month"].astype(str)
    bad = ~month.str.fullmatch(MONTH_PATTERN.pattern)
    if bad.any():
        raise ValidationError(
            f"the coverage table's 'month' column must hold YYYY-MM months, but it holds "
            f"{sorted(set(month[bad]))[:5]}"
        )
    if period is not None and period not in cov.columns:
        raise ParameterError(
            f"`period` names column {period!r}, which the coverage table lacks"
            f"{did_you_mean(period, cov.columns)}; columns present: {list(cov.columns)}"
        )
    keys = [c for c in (area, period) if c is not None]
    frame = cov[keys].assign(month=month.to_numpy())
    if keys:
        return frame.groupby(keys, sort=False)["month"].nunique().rename("months").reset_index()
    return pd.DataFrame({"months": [frame["month"].nunique()]})


def _counted_months(coverage, area: str | None, period: str | None) -> pd.DataFrame:
    """A table of months already counted: checked, one value per (area, period)."""
    keys = [c for c in (area, period) if c is not None]
    missing = [c for c in keys if c not in coverage.columns]
    if missing:
        raise ParameterError(
            f"the coverage table lacks the column(s) {missing}; columns present: "
            f"{list(coverage.columns)}"
        )
    months = pd.to_numeric(coverage["months_covered"], errors="coerce")
    if months.isna().any() or (months < 0).any():
        raise ValidationError(
            "column 'months_covered' of the coverage table must hold the number of months of "
            "data (0 or more) for every row"
        )
    frame = coverage[keys].assign(months=months.to_numpy(dtype=float))
    if keys:
        spread = frame.groupby(keys, sort=False)["months"].agg(["min", "max"])
        if (spread["min"] != spread["max"]).any():
            bad = spread[spread["min"] != spread["max"]].index[:5].tolist()
            raise ValidationError(
                f"'months_covered' differs within {keys}, e.g. {bad}: give one value per key"
            )
        return spread["min"].rename("months").reset_index()
    if frame["months"].nunique() > 1:
        raise ValidationError("'months_covered' differs between rows of a coverage of one area")
    return frame.iloc[:1].reset_index(drop=True)


def person_years(
    population: pd.DataFrame,
    coverage: pd.DataFrame | float,
    *,
    area: str | None = None,
    period: str | None = None,
    population_column: str = "population",
) -> pd.DataFrame:
    """Residents times the months covered / 12: person-years, the base of a rate a year.

    Parameters
    ----------
    population : DataFrame
        Residents (a head count), e.g. :func:`dispro.population.census2021`: an ``area`` column
        (optional when the coverage is of one area), any dimension columns (``ethnicity``,
        ``sex``...) and a ``population`` column.
    coverage : DataFrame or number
        The months the events cover: :func:`dispro.coverage` of the records (one row per area x
        month; rows with ``present`` False are not covered), or any table with a ``month``
        (``YYYY-MM``) column, an area column and optionally a ``period`` column, or a table that
        has counted them (a ``months_covered`` column, one value per area and period). A number is a
        count of months, the same for every area (e.g. 12 for counts of one year).
    area : str, optional
        The coverage's column naming the area, matched to the population's ``area`` column by
        :func:`area_key`. Default ``"area"`` if the coverage has it, else ``"force"`` if it has
        it, else none (the coverage is of one area).
    period : str, optional
        A coverage column labelling periods (e.g. quarters): then one row per population row
        and period, with the months of each period.
    population_column : str
        The residents column of ``population``.

    Returns
    -------
    DataFrame
        The population's rows (for the areas covered), then ``period`` (if given),
        ``months_covered`` (distinct months present) and ``person_years``
        (``population × months_covered / 12``; missing where the population is). ``attrs``:
        ``unit`` = ``"person-years"``, ``exposure`` and the population's ``source``.

    Raises
    ------
    DisproError
        The population already holds person-years; the coverage names areas and no area matches
        the population's (the message lists both); the coverage holds several areas and the
        population has no ``area`` column, or the population holds several areas and the
        coverage none (a sum over areas would be wrong).
    ValidationError, ParameterError
        A missing column, a month that is not ``YYYY-MM``, a count of months that is not
        positive.

    Notes
    -----
    Rate a year = events / person-years. A quarter with all three months covered has
    person-years = population / 4, so its rate is an annual rate; a period with a month missing
    uses the months it has (METHODS.md section 3).

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"area": ["Dorset", "Dorset"], "ethnicity": ["White", "Black"],
    ...                     "population": [733_925, 5_315]})
    >>> cov = pd.DataFrame({"force": "dorset", "month": ["2024-01", "2024-02", "2024-03"]})
    >>> person_years(pop, cov)[["area", "ethnicity", "months_covered", "person_years"]]
         area ethnicity  months_covered  person_years
    0  Dorset     White               3     183481.25
    1  Dorset     Black               3       1328.75
    """
    if not isinstance(population, pd.DataFrame):
        raise ParameterError(
            f"`population` must be a DataFrame of residents, but {type(population).__name__} "
            "was passed"
        )
    if population_column not in population.columns:
        raise ValidationError(
            f"the population table has no {population_column!r} column"
            f"{did_you_mean(population_column, population.columns)}; columns present: "
            f"{list(population.columns)}"
        )
    if "person_years" in population.columns or population.attrs.get("unit") == "person-years":
        raise DisproError(
            "the population table already holds person-years (a result of person_years): pass "
            "the residents (e.g. dispro.population.census2021(...)) instead"
        )
    if isinstance(coverage, pd.DataFrame):
        if area is None:
            area = next((c for c in ("area", "force") if c in coverage.columns), None)
        elif area not in coverage.columns:
            raise ParameterError(
                f"`area` names column {area!r}, which the coverage table lacks"
                f"{did_you_mean(area, coverage.columns)}; columns present: "
                f"{list(coverage.columns)}"
            )
        months = _months(coverage, area, period)
    elif isinstance(coverage, int | float | np.integer | np.floating) and not isinstance(
        coverage, bool
    ):
        if not coverage > 0:
            raise ParameterError(
                f"`coverage` as a number of months must be positive, but {coverage!r} was passed"
            )
        months = pd.DataFrame({"months": [coverage]})
    else:
        raise ParameterError(
            "`coverage` must be a coverage table (dispro.coverage(records)) or a number of "
            f"months, but {type(coverage).__name__} was passed"
        )
    if isinstance(coverage, pd.DataFrame):
        out = _join(population, months, area)
    else:  # the same months for every area
        out = population.merge(months, how="cross")
    out["months_covered"] = out.pop("months")
    values = pd.to_numeric(out[population_column], errors="coerce").astype(float)
    out["person_years"] = values * out["months_covered"].to_numpy(dtype=float) / 12
    out = out.reset_index(drop=True)
    out.attrs = {
        "unit": "person-years",
        "exposure": "population x months covered / 12 (person-years)",
        **({"source": population.attrs["source"]} if "source" in population.attrs else {}),
    }
    return out


def _join(pop: pd.DataFrame, months: pd.DataFrame, area: str | None) -> pd.DataFrame:
    """Each population row with the months of its area (one row per period if any)."""
    pop_areas = pd.unique(pop["area"].dropna()) if "area" in pop.columns else []
    if area is None:
        if len(pop_areas) > 1:
            raise DisproError(
                f"the population table holds {len(pop_areas)} areas ({list(pop_areas)[:5]}), "
                "but the coverage names none: its months cannot be given to an area, and a sum "
                "over areas would be wrong. Pass a coverage table with an area column "
                "(dispro.coverage(records, area='force')) or the population of one area."
            )
        return pop.merge(months, how="cross")
    cov_areas = pd.unique(months[area].dropna())
    if "area" not in pop.columns:
        if len(cov_areas) > 1:
            raise DisproError(
                f"the coverage holds {len(cov_areas)} areas in column {area!r} "
                f"({list(cov_areas)[:5]}), but the population table has no 'area' column: one "
                "population cannot be every area's. Add an 'area' column naming each area."
            )
        return pop.merge(months.drop(columns=area), how="cross")
    left = pop.assign(__key=area_key(pop["area"]).to_numpy())
    right = months.assign(__key=area_key(months[area]).to_numpy()).drop(columns=area)
    out = left.merge(right, on="__key", how="inner")
    if out.empty:
        raise DisproError(
            f"no area of the coverage ({list(cov_areas)[:8]}, column {area!r}) matches an area "
            f"of the population table ({list(pop_areas)[:8]}): name the same areas (force names "
            "are matched in any spelling dispro.forces knows)"
        )
    return out.drop(columns="__key")
