"""The data standard: loads ``data_dictionary/``, validates frames against it, renders it.

The field definitions and code lists live in plain YAML and CSV files under ``data_dictionary/``
(see its README for the format). Nothing here restates them: every check reads them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import yaml

from ._paths import dictionary_dir
from .errors import ParameterError, did_you_mean

__all__ = ["datasets", "dataset", "codelist", "codelists", "codes"]


def _dir() -> Path:
    return dictionary_dir()


@functools.cache
def datasets() -> tuple[str, ...]:
    """Names of the datasets the standard defines."""
    return tuple(sorted(p.stem for p in (_dir() / "datasets").glob("*.yaml")))


@functools.cache
def _dataset(name: str) -> dict:
    path = _dir() / "datasets" / f"{name}.yaml"
    if not path.is_file():
        raise ParameterError(
            f"`dataset` must be one of {datasets()}, but {name!r} was passed"
            f"{did_you_mean(name, datasets())}"
        )
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    spec.setdefault("name", name)
    return spec


def dataset(name: str) -> dict:
    """The specification of one dataset: a dict with ``name``, ``description`` and ``fields``.

    Each field is a dict with ``name``, ``type``, ``required``, ``nullable``, ``description`` and,
    where relevant, ``codes`` (the name of a code list), ``min`` and ``max``.
    """
    spec = _dataset(name)
    return {**spec, "fields": [dict(f) for f in spec["fields"]]}


@functools.cache
def codelists() -> tuple[str, ...]:
    """Names of the code lists in the standard."""
    return tuple(sorted(p.stem for p in (_dir() / "codelists").glob("*.csv")))


@functools.cache
def _codelist(name: str) -> pd.DataFrame:
    path = _dir() / "codelists" / f"{name}.csv"
    if not path.is_file():
        raise ParameterError(
            f"code list {name!r} is not in data_dictionary/codelists/{did_you_mean(name, codelists())}"
        )
    # keep_default_na=False: labels such as "None" or "NA" are codes, not missing values
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def codelist(name: str) -> pd.DataFrame:
    """One code list as a DataFrame of strings (a copy: safe to modify)."""
    return _codelist(name).copy()


def codes(name: str, column: str = "code") -> list[str]:
    """The allowed values of a code list, in file order."""
    return _codelist(name)[column].tolist()
