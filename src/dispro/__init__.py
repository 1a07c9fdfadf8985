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
