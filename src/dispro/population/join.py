"""Population tables joined to counts safely: on the column that names the area, never a sum.

A population table (e.g. :func:`dispro.population.census2021`) is keyed by ``area``; counts
split by ``force`` must be matched force to area, or every force would be rated against the
population of all the areas in the table together. :func:`join_population` is the one join
behind :func:`dispro.rri` with a population base (and so behind every rate per resident
population).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DisproError, ValidationError, did_you_mean
from .exposure import AREA_COLUMNS, area_key

__all__ = ["join_population", "UNITS"]

#: What a population base holds: ``"person-years"`` (rates a year) or ``"residents"``.
UNITS = ("person-years", "residents")


def _value_column(population: pd.DataFrame, population_column: str) -> str:
    if population_column == "population" and "person_years" in population.columns:
        return "person_years"  # a person_years() result: rates a year
    if population_column not in population.columns:
        raise ValidationError(
            f"the population table has no {population_column!r} column"
            f"{did_you_mean(population_column, population.columns)}; columns present: "
            f"{list(population.columns)}"
        )
    return population_column


def _pairs(counts_areas: list[str], population: pd.DataFrame, by: list[str]) -> list[tuple]:
    """(counts column, population column, is an area) for each join key other than the group."""
    pairs = [(c, c, c in AREA_COLUMNS) for c in by if c in population.columns]
    joined_area = any(is_area for _, _, is_area in pairs)
    loose = [c for c in counts_areas if c not in population.columns]
    if "area" in population.columns and not joined_area:
        if len(loose) == 1:
            pairs.append((loose[0], "area", True))
            return pairs
        if len(loose) > 1:
            raise DisproError(
                f"the `by` columns {loose} all name areas and the population table has only "
                "'area': say which one it matches by renaming its 'area' column to it"
            )
        areas = pd.unique(population["area"].dropna())
        if len(areas) > 1:
            raise DisproError(
                f"the population table holds {len(areas)} areas ({list(areas)[:6]}) but no "
                "`by` column names the area, so every row of the counts would be rated against "
                "the population of all of them together. Pass the column that names each row's "
                "area in `by` (e.g. by='force': it is matched to the population's 'area'), or "
                "the population of one area."
            )
    missing = [c for c in loose if not any(c == p[0] for p in pairs)]
    if missing:
        raise DisproError(
            f"the `by` column {missing[0]!r} names areas, but the population table has no "
            f"{missing[0]!r} or 'area' column (columns: {list(population.columns)}): every "
            "area would get the same population. Give the population table an 'area' column "
            "naming each area (dispro.population.census2021 has one)."
        )
    return pairs


def join_population(
    counts: pd.DataFrame,
    population: pd.DataFrame,
    *,
    group: str,
    by: Sequence[str] = (),
    population_column: str = "population",
) -> tuple[np.ndarray, str]:
    """The population of each row of ``counts``, matched on the group and the area.

    Parameters
    ----------
    counts : DataFrame
        One row per (``by``..., ``group``).
    population : DataFrame
        Residents (:func:`dispro.population.census2021`) or person-years
        (:func:`dispro.population.person_years`, whose ``person_years`` column is then used).
    group : str
        The group column, in both tables.
    by : list of str
        The counts' splits. A ``by`` column the population also has is joined on (area columns
        through :func:`dispro.population.area_key`); a ``by`` column that names areas
        (:data:`dispro.population.AREA_COLUMNS`, e.g. ``force``) and that the population lacks
        is matched to the population's ``area`` column. Other ``by`` columns (a period, a
        legislation) share the population. Population columns not joined on (``sex`` when the
        counts are not split by sex) are summed over.
    population_column : str
        The population's value column.

    Returns
    -------
    (ndarray, str)
        The base of each row of ``counts`` (NaN where no population row matches: status
        ``no_base``), and what it is: ``"person-years"`` or ``"residents"`` (:data:`UNITS`).

    Raises
    ------
    DisproError
        The population holds several areas and no ``by`` column names the area (a sum over
        areas would be wrong); a ``by`` column names areas and the population has no area
        column; the join matches no area at all (both lists are given).
    ValidationError
        The population lacks the group or value column.
    """
    by = list(by)
    if group not in population.columns:
        raise ValidationError(
            f"column {group!r} (given as `group`) is not in the population table"
            f"{did_you_mean(group, population.columns)}; columns present: "
            f"{list(population.columns)}"
        )
    column = _value_column(population, population_column)
    person_years = column == "person_years" or population.attrs.get("unit") == "person-years"
    pairs = _pairs([c for c in by if c in AREA_COLUMNS], population, by)
    left = pd.DataFrame({"__row": np.arange(len(counts)), group: counts[group].to_numpy()})
    right = population[[group]].copy()
    right["__value"] = pd.to_numeric(population[column], errors="coerce").astype(float)
    keys = [group]
    for i, (mine, theirs, is_area) in enumerate(pairs):
        name = f"__k{i}"
        keys.append(name)
        left[name] = area_key(counts[mine]).to_numpy() if is_area else counts[mine].to_numpy()
        right[name] = (
            area_key(population[theirs]).to_numpy() if is_area else population[theirs].to_numpy()
        )
    summed = right.groupby(keys, observed=True, sort=False, dropna=False)["__value"].sum(
        min_count=1
    )
    joined = left.merge(summed.reset_index(), on=keys, how="left").sort_values("__row")
    for i, (mine, theirs, is_area) in enumerate(pairs):
        if is_area and not set(left[f"__k{i}"].dropna()) & set(right[f"__k{i}"].dropna()):
            raise DisproError(
                f"no area of the counts' {mine!r} column ({list(pd.unique(counts[mine]))[:8]}) "
                f"matches the population table's {theirs!r} column "
                f"({list(pd.unique(population[theirs]))[:8]}): name the same areas (force names "
                "are matched in any spelling dispro.forces knows)"
            )
    return joined["__value"].to_numpy(dtype=float), (
        "person-years" if person_years else "residents"
    )
