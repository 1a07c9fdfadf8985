"""dispro: disproportionality analysis for the criminal justice system of England and Wales."""

from __future__ import annotations

from .errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    LowCountWarning,
    ValidationError,
    ZeroCellWarning,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DisproError",
    "DisproWarning",
    "DataQualityWarning",
    "LowCountWarning",
    "ValidationError",
    "ZeroCellWarning",
]

from . import ledger  # noqa: E402
from .rates import RRI_COLUMNS, count_events, practical_band, rri, rri_from_records  # noqa: E402

__all__ += ["RRI_COLUMNS", "rri", "count_events", "rri_from_records", "practical_band"]

from . import dictionary, disclosure, ethnicity, population  # noqa: E402
from .dictionary import validate  # noqa: E402

__all__ += ["dictionary", "disclosure", "ethnicity", "ledger", "population", "validate"]
