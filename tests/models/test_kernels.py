"""Tests of dispro.models._kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dispro.models._kernels import _share_explained


def test_share_explained_only_on_the_same_side():
    share = _share_explained(
        np.array([1.2, 0.9, 1.1, 0.8, 1.0]), np.array([1.5, 1.2, 1.1, 0.5, 1.3])
    )
    assert share[0] == pytest.approx(1 - math.log(1.2) / math.log(1.5))
    assert np.isnan(share[1])  # opposite sides of 1
    assert share[2] == pytest.approx(0.0)
    assert share[3] == pytest.approx(1 - math.log(0.8) / math.log(0.5))
    assert np.isnan(share[4])  # adjusted exactly 1
