"""dispro: disproportionality analysis for the criminal justice system of England and Wales.

The public API: :func:`rri` (relative rate indices), :func:`count_events` and
:func:`rri_from_records` (records to counts to RRIs), :func:`validate` (the data standard),
the modules :mod:`~dispro.counts` (records to counts), :mod:`~dispro.population` (Census 2021
denominators), :mod:`~dispro.disclosure` (suppression), :mod:`~dispro.ethnicity` (classification
schemes), :mod:`~dispro.dictionary` and :mod:`~dispro.ledger` (the exclusions ledger).
"""

from __future__ import annotations

from . import counts, dictionary, disclosure, ethnicity, ledger, population, synth
from ._version import __version__
from .counts import count_events
from .dictionary import validate
from .errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    LowCountWarning,
    ValidationError,
    ZeroCellWarning,
)
from .rates import RRI_COLUMNS, practical_band, rri, rri_from_records
from .readers import coverage, person_searches, read_counts, read_police_uk, read_records

__all__ = [
    "__version__",
    "RRI_COLUMNS",
    "DataQualityWarning",
    "DisproError",
    "DisproWarning",
    "LowCountWarning",
    "ValidationError",
    "ZeroCellWarning",
    "count_events",
    "counts",
    "coverage",
    "dictionary",
    "disclosure",
    "ethnicity",
    "ledger",
    "population",
    "person_searches",
    "practical_band",
    "read_counts",
    "read_police_uk",
    "read_records",
    "rri",
    "rri_from_records",
    "synth",
    "validate",
]
