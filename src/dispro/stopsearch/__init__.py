"""Stop-and-search scrutiny: rates per 1,000, hit rates, veil of darkness, strip search, s60,
ethnicity concordance, missing-ethnicity bounds and trends.

Every function takes stop-and-search records (from :func:`dispro.read_police_uk`) or counts and
returns a tidy table; :mod:`dispro.plots` draws them.
"""

from .rates import (
    add_period,
    missing_ethnicity_bounds,
    search_counts,
    search_rates,
    trend_test,
)

__all__ = [
    "add_period",
    "missing_ethnicity_bounds",
    "search_counts",
    "search_rates",
    "trend_test",
]
