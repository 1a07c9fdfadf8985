"""Fixtures of the dispro.models tests: seeded records and fits, shared by the test modules."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared generator, sentencing.py

from sentencing import CONTROLS, make_sentencing  # noqa: E402

from dispro import models  # noqa: E402


@pytest.fixture(scope="session")
def big() -> pd.DataFrame:
    return make_sentencing(60_000, seed=11)


@pytest.fixture(scope="session")
def fit_big(big):
    return models.logistic(big, outcome="custody", controls=CONTROLS)


@pytest.fixture(scope="session")
def mid() -> pd.DataFrame:
    """Smaller records for comparisons with record-level statsmodels fits (slow to build)."""
    return make_sentencing(15_000, seed=13)


@pytest.fixture(scope="session")
def fit_mid(mid):
    return models.logistic(mid, outcome="custody", controls=CONTROLS)


@pytest.fixture(scope="session")
def stop_counts() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    rate = {"White": 0.006, "Black": 0.030, "Asian": 0.011, "Mixed": 0.015, "Other": 0.008}
    area_effect = {"Hampshire": 1.0, "Dorset": 0.7, "Wiltshire": 0.85}
    for area, ae in area_effect.items():
        for q in ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]:
            for g, r in rate.items():
                pop = (
                    int(rng.integers(20_000, 400_000))
                    if g == "White"
                    else int(rng.integers(3_000, 40_000))
                )
                rows.append({"force": area, "quarter": q, "ethnicity": g, "population": pop,
                             "events": int(rng.poisson(pop * r * ae / 4))})  # fmt: skip
    return pd.DataFrame(rows)
