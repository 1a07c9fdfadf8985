"""Hostile input to the rates (issue 12, "Hostile input"): booleans are not counts."""

from __future__ import annotations

import pandas as pd
import pytest

import dispro
from dispro.errors import ValidationError


def test_rri_refuses_booleans_as_counts():
    counts = pd.DataFrame(
        {"ethnicity": ["White", "Black"], "events": [True, False], "base": [100, 50]}
    )
    with pytest.raises(ValidationError, match="column 'events' \\(given as `events`\\)") as info:
        dispro.rri(counts)
    assert "True/False" in str(info.value) and "0: True" in str(info.value)
    mixed = counts.assign(events=pd.Series([3, True], dtype=object))
    with pytest.raises(ValidationError, match="1 row\\(s\\) \\(index: value\\) 1: True"):
        dispro.rri(mixed)
    with pytest.raises(ValidationError, match="given as `base`"):
        dispro.rri(counts.assign(events=[3, 1], base=[True, True]))
