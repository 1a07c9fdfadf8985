"""Tests of dispro.models.results: the schema of the tables and the result object."""

from __future__ import annotations

from statsmodels.genmod.generalized_linear_model import GLMResultsWrapper

import dispro
from dispro import models


def test_schema_and_result_object(fit_big):
    assert tuple(fit_big.table.columns) == models.TERM_COLUMNS
    assert tuple(fit_big.adjusted.columns) == models.ADJUSTED_COLUMNS
    # the public contract's columns, in its order
    contract = ["group", "adjusted_rate", "adjusted_rr", "ci_lower", "ci_upper"]
    assert list(fit_big.adjusted.columns[:5]) == contract
    assert {"term", "estimate", "ci_lower", "ci_upper", "p_value"} <= set(fit_big.table.columns)
    assert isinstance(fit_big.model, GLMResultsWrapper)
    assert fit_big.info["data_level"] == "cells"
    assert fit_big.info["rows_fitted"] == len(fit_big.data) < 60_000 / 10
    # group rows in code-list order after the intercept, reference first in .adjusted
    assert list(fit_big.table["level"][1:6]) == ["Asian", "Black", "Mixed", "Other", "Not stated"]
    assert fit_big.adjusted["group"].iloc[0] == "White"
    assert fit_big.adjusted["adjusted_rr"].iloc[0] == 1.0
    assert "logistic" in repr(fit_big)
    assert list(fit_big.exclusions.columns) == list(dispro.ledger.LEDGER_COLUMNS)
