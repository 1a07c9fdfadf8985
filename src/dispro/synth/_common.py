"""Shared pieces of the synthetic data generator: the section 60 label, the stages that
:func:`~dispro.synth.true_marginal_rr` knows, code lists, the checks of ``start``, ``end`` and
``scale``, and small vectorised kernels. Nothing here depends on :data:`dispro.synth.TRUTH`
(the truth module imports from here)."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

from ..dictionary import codelist, codes
from ..errors import ParameterError

_S60 = "Criminal Justice and Public Order Act 1994 (section 60)"

# stages that true_marginal_rr knows: dataset, where the model lives in TRUTH, the group ratio key
_STAGES = {
    "hit_rate": ("stop_search", ("stop_search", "hit_rate"), "odds_ratio"),
    "strip_search": ("stop_search", ("stop_search", "strip_search"), "rate_ratio"),
    "out_of_court": ("disposals", ("disposals", "out_of_court"), "odds_ratio"),
    "charge": ("charging", ("charging", "charge"), "odds_ratio"),
    "custody": ("sentencing", ("sentencing", "custody"), "odds_ratio"),
    "sentence_length": ("sentencing", ("sentencing", "sentence_length"), "ratio_of_means"),
}
_DEFAULT_STAGE = {
    "stop_search": "hit_rate",
    "disposals": "out_of_court",
    "charging": "charge",
    "sentencing": "custody",
}


# ---------------------------------------------------------------------------------------------
# code lists (cached: they never change within a run)
# ---------------------------------------------------------------------------------------------


@functools.cache
def _groups() -> tuple[str, ...]:
    """The five Census groups in the code list's order (``Not stated`` has no population)."""
    table = codelist("ethnicity_groups")
    table = table[table["not_recorded"].str.lower() != "true"]
    return tuple(table.sort_values("order", key=lambda s: s.astype(int))["code"])


def _ordered(name: str) -> tuple[str, ...]:
    table = codelist(name)
    if "order" in table.columns:
        table = table.sort_values("order", key=lambda s: s.astype(int))
    return tuple(table["code"])


@functools.cache
def _levels() -> dict[str, tuple[str, ...]]:
    return {
        "offence_group": _ordered("offence_group"),
        "age_band": _ordered("age_band"),
        "age_band_police_uk": _ordered("age_band_police_uk"),
        "previous_convictions": _ordered("previous_convictions"),
        "plea": tuple(codes("plea")),
        "remand_status": tuple(codes("remand_status")),
        "court_type": tuple(codes("court_type")),
        "sex": ("Female", "Male"),
    }


# ---------------------------------------------------------------------------------------------
# small vectorised kernels
# ---------------------------------------------------------------------------------------------


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _vector(mapping: dict, levels) -> np.ndarray:
    """Coefficients (or weights) in the order of ``levels``; unlisted levels get 0."""
    return np.array([float(mapping.get(level, 0.0)) for level in levels])


def _group_log_ratio(spec: dict, key: str) -> np.ndarray:
    return np.log(_vector(spec[key], _groups()))


def _months(start: str, end: str) -> pd.PeriodIndex:
    out = []
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ParameterError(
                f"`{name}` must be a month written YYYY-MM (e.g. '2021-04'), but {value!r} was "
                "passed"
            )
        out.append(pd.Period(value, freq="M"))
    if out[1] < out[0]:
        raise ParameterError(f"`end` ({end!r}) must not be before `start` ({start!r})")
    return pd.period_range(out[0], out[1], freq="M")


def _check_scale(scale) -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(f"`scale` must be a positive number, but {scale!r} was passed")
    return value
