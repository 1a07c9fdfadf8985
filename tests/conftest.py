"""Shared fixtures: the real data folder, a seeded generator, matplotlib without a screen."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
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
