"""Resident populations: bundled Census 2021 denominators, age bands and person-years.

- :func:`census2021` (by area, ethnic group and sex) and :func:`areas_table`: the denominators
  of rates per resident population, by police force area, local authority, Wessex or England
  and Wales, from the local-authority table or Census 2021 TS021 by police force area (the
  City of London's), and :func:`population_source`, which source each area's figure came from
  (:mod:`dispro.population.census`).
- :func:`census2021_age`, :func:`age_shortfall`, :func:`allocate_shortfall`, :func:`age_bands`:
  the same by data.police.uk age band, for age standardisation (:mod:`dispro.population.age`).
- :func:`person_years`: residents times the months covered / 12, the exposure of every rate per
  resident population, and :func:`area_key`, the one rule for matching area names
  (:mod:`dispro.population.exposure`); :func:`join_population`, the one join of a
  population table to counts (:mod:`dispro.population.join`).

Contains public sector information licensed under the Open Government Licence v3.0 (Crown
copyright, Office for National Statistics, Census 2021).
"""

from __future__ import annotations

from ._tables import META_FILE, TABLE_FILE
from ._ts021 import TS021_FILE
from .age import (
    AGE_BANDS,
    CENSUS2021_AGE_COLUMNS,
    SHORTFALL_COLUMNS,
    SMALLEST_PUBLISHED_CELL,
    age_bands,
    age_shortfall,
    allocate_shortfall,
    census2021_age,
)
from .census import (
    AREAS_COLUMNS,
    CENSUS2021_COLUMNS,
    POPULATION_SOURCES,
    areas_table,
    census2021,
    population_source,
)
from .exposure import AREA_COLUMNS, PERSON_YEARS_COLUMNS, area_key, person_years
from .join import join_population

__all__ = [
    "census2021",
    "areas_table",
    "population_source",
    "census2021_age",
    "age_shortfall",
    "allocate_shortfall",
    "age_bands",
    "person_years",
    "area_key",
    "join_population",
    "CENSUS2021_COLUMNS",
    "AREAS_COLUMNS",
    "POPULATION_SOURCES",
    "CENSUS2021_AGE_COLUMNS",
    "SHORTFALL_COLUMNS",
    "AGE_BANDS",
    "SMALLEST_PUBLISHED_CELL",
    "AREA_COLUMNS",
    "PERSON_YEARS_COLUMNS",
    "TABLE_FILE",
    "META_FILE",
    "TS021_FILE",
]
