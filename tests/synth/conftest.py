"""Fixtures of the synth tests: one draw of the four datasets, shared by the test modules."""

from __future__ import annotations

import pandas as pd
import pytest

from dispro import synth


@pytest.fixture(scope="session")
def data() -> dict[str, pd.DataFrame]:
    """The four datasets over the default three years at half the demo volume."""
    return synth.wessex(scale=0.5, seed=11)
