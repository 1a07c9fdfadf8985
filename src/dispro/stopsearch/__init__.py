"""Stop-and-search scrutiny: rates per 1,000, hit rates, veil of darkness, strip search, s60,
ethnicity concordance, missing-ethnicity bounds and trends.

Every function takes stop-and-search records (from :func:`dispro.read_police_uk`) or counts and
returns a tidy table; :mod:`dispro.plots` draws them.
"""

from .concordance import concordance, concordance_summary, not_stated_by_officer_group
from .darkness import DARKNESS_COLUMNS, SHARES_COLUMNS, darkness_shares, veil_of_darkness
from .hitrate import hit_rate_model, hit_rates
from .rates import (
    add_period,
    missing_ethnicity_bounds,
    search_counts,
    search_rates,
)
from .reconcile import RECONCILE_COLUMNS, reconcile_totals
from .shares import section60_shares, strip_search_shares
from .standardise import AGE_STANDARDISED_COLUMNS, age_standardised_rates
from .trend import TREND_TEST_COLUMNS, trend_test

__all__ = [
    "AGE_STANDARDISED_COLUMNS",
    "age_standardised_rates",
    "DARKNESS_COLUMNS",
    "SHARES_COLUMNS",
    "darkness_shares",
    "veil_of_darkness",
    "add_period",
    "concordance",
    "concordance_summary",
    "hit_rate_model",
    "hit_rates",
    "not_stated_by_officer_group",
    "RECONCILE_COLUMNS",
    "reconcile_totals",
    "section60_shares",
    "strip_search_shares",
    "missing_ethnicity_bounds",
    "search_counts",
    "search_rates",
    "TREND_TEST_COLUMNS",
    "trend_test",
]
