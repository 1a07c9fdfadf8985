"""Shared fixtures: the real data folder, a seeded generator, matplotlib without a screen."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata``, read in place. Its absence is an error, not a skip."""
    if not REALDATA.is_dir():
        raise FileNotFoundError(
            f"the real test data are expected at {REALDATA} (../shared/realdata beside the project)"
        )
    return REALDATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


def _planted_searches(counts: dict[str, dict[str, int]], force: str = "Dorset") -> pd.DataFrame:
    """Person searches in a force: ``counts[quarter][group]`` spread over the quarter's months,
    with the coverage table read_police_uk would attach."""
    rows, months = [], []
    for quarter, groups in counts.items():
        q = pd.Period(quarter, "Q")
        q_months = [str(m) for m in pd.period_range(q.asfreq("M", "start"), q.asfreq("M", "end"))]
        months += q_months
        for group, n in groups.items():
            rows += [{"month": q_months[i % 3], "ethnicity": group} for i in range(n)]
    records = pd.DataFrame(rows).assign(force=force, vehicle_only=False)
    records.attrs["coverage"] = [
        {"force": force, "month": m, "present": True, "rows": int((records["month"] == m).sum()),
         "source": "planted"}
        for m in months
    ]  # fmt: skip
    return records


@pytest.fixture
def planted_searches():
    """Build planted person searches: ``planted_searches({quarter: {group: n}}, force=...)``."""
    return _planted_searches
