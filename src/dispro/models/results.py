"""What the models return: :class:`ModelResult`, the columns of its tables, and the options
the model functions accept (the constants re-exported by :mod:`dispro.models`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from .. import ledger
from ..errors import DisproWarning

#: Columns of every model's term table (``ModelResult.table``), in order.
TERM_COLUMNS = (
    "term",
    "variable",
    "level",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "status",
)

#: Values of ``status`` in term tables: ``separated`` marks a term whose estimate runs to 0 or
#: infinity (complete or quasi-complete separation); its estimate, interval and p-value are missing.
TERM_STATUSES = ("ok", "separated")

#: Columns of the adjusted-rate table (``ModelResult.adjusted``), in order.
ADJUSTED_COLUMNS = (
    "group",
    "adjusted_rate",
    "adjusted_rr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "rate_ci_lower",
    "rate_ci_upper",
    "events",
    "base",
    "rate",
    "rri",
    "rri_ci_lower",
    "rri_ci_upper",
    "share_explained",
    "e_value",
    "e_value_ci",
)

#: Columns of :func:`change_over_time`'s table of per-period odds ratios.
PERIOD_COLUMNS = (
    "period",
    "group",
    "term",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "status",
)

#: Columns of :func:`change_over_time`'s test table (``ModelResult.tests``).
TEST_COLUMNS = (
    "test", "group", "statistic", "df", "p_value", "method", "dispersion", "dispersion_df",
)  # fmt: skip

#: Columns of :func:`ipw_check`'s table of weighted rates.
IPW_COLUMNS = (
    "group",
    "weighted_rate",
    "weighted_reference_rate",
    "weighted_rr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "rate",
    "reference_rate",
    "rri",
    "records",
    "reference_records",
    "effective_n",
    "reference_effective_n",
    "max_abs_smd_before",
    "max_abs_smd_after",
)

#: Columns of :func:`ipw_check`'s covariate balance table (``ModelResult.balance``).
BALANCE_COLUMNS = (
    "group",
    "variable",
    "level",
    "mean_group",
    "mean_reference",
    "smd_before",
    "weighted_mean_group",
    "weighted_mean_reference",
    "smd_after",
)

#: Columns of :func:`e_value`.
E_VALUE_COLUMNS = ("estimate", "ci_limit", "scale", "rr", "rr_ci_limit", "e_value", "e_value_ci")


DATA_LEVELS = ("auto", "cells", "records")

FAMILIES = ("poisson", "negative_binomial", "quasi")

LENGTH_METHODS = ("gamma", "log_ols")

RR_METHODS = ("delta", "bootstrap")

E_VALUE_SCALES = ("rr", "or_rare", "or_common")

ESTIMANDS = ("att", "ate")

#: The default ``among`` of :func:`sentence_length`: sentences of immediate custody.
IMMEDIATE_CUSTODY = MappingProxyType({"outcome": ("immediate_custody",)})

#: Above this Pearson dispersion a Poisson fit warns of overdispersion (dispro's convention).
OVERDISPERSION = 1.5

#: Fewer clusters than this give a warning: cluster-robust errors need many clusters.
FEW_CLUSTERS = 20


class SeparationWarning(DisproWarning):
    """Complete or quasi-complete separation: some estimates run to 0 or infinity."""


@dataclass(frozen=True, repr=False, eq=False)
class ModelResult:
    """What every model function in :mod:`dispro.models` returns.

    Attributes
    ----------
    table : DataFrame
        The tidy table of estimates (see the function for its columns).
    adjusted : DataFrame or None
        Adjusted rates and ratios by marginal standardisation (:data:`ADJUSTED_COLUMNS`).
    model : object
        The fitted statsmodels results (``.model.summary()``, ``.model.cov_params()``); for
        :func:`ipw_check` a dict ``{group: fitted LogisticRegression}``.
    data : DataFrame
        The frame the model was fitted on: the collapsed cells (one row per pattern of the group,
        controls and cluster, with ``_events``, ``_nonevents`` and ``_n`` records for
        :func:`logistic`; ``_n``, ``_s1`` = Σy, ``_s2`` = Σy², ``_mean`` and ``_months`` for
        :func:`sentence_length`), or the records used, or the counts rows for
        :func:`poisson_rates` (``_events``, ``_exposure``).
    info : dict
        Formula, family, data level, counts, controls used and dropped, reference levels, cluster,
        covariance type, alpha and ``notes`` (plain English, for a report's methods appendix).
    tests : DataFrame or None
        :func:`change_over_time`'s tests (:data:`TEST_COLUMNS`).
    balance : DataFrame or None
        :func:`ipw_check`'s covariate balance (:data:`BALANCE_COLUMNS`).
    """

    table: pd.DataFrame
    adjusted: pd.DataFrame | None
    model: Any
    data: pd.DataFrame
    info: dict
    tests: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    _spec: dict = field(default_factory=dict)

    @property
    def exclusions(self) -> pd.DataFrame:
        """The exclusions ledger: every rule that dropped records, with counts."""
        return ledger.exclusions(self.table)

    def __repr__(self) -> str:
        info = self.info
        lines = [
            f"<ModelResult of {info.get('function')}: {info.get('family', '')}, "
            f"{info.get('records', '?'):,} records fitted as {info.get('rows_fitted', '?'):,} "
            f"{info.get('data_level', '')}>",
            f"formula: {info.get('formula', '')}",
            ".table:",
            self.table.to_string(max_rows=20),
        ]
        if self.adjusted is not None:
            lines += [".adjusted:", self.adjusted.to_string(max_rows=20)]
        return "\n".join(lines)
