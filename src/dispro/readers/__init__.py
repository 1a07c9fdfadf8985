"""Readers: published files and extracts to validated records or counts."""

from .mapping import Mapping, apply_mapping, builtin_mappings, load_mapping
from .months import coverage, record_months
from .official import read_official_totals
from .police_uk import person_searches, read_police_uk
from .records import read_counts, read_records, read_table

__all__ = [
    "Mapping",
    "apply_mapping",
    "builtin_mappings",
    "coverage",
    "load_mapping",
    "person_searches",
    "read_counts",
    "read_official_totals",
    "read_police_uk",
    "read_records",
    "read_table",
    "record_months",
]
