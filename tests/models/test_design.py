"""Tests of dispro.models._design: the design from categorical codes equals patsy's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from dispro.models._design import _cat_term, _design, _formula_name
from dispro.models._glm import _model


def _design_frame(rng, n=400):
    """Categoricals with unused categories and category orders that are not alphabetical, numeric
    columns (float, integer, a name that needs ``Q()``), and two responses."""
    offence = pd.Categorical(
        rng.choice(["theft", "robbery", "drugs"], n),
        categories=["theft", "robbery", "drugs", "fraud"],  # "fraud" unused
    )
    band = pd.Categorical(
        rng.choice(["0", "1-2", "3-6"], n), categories=["3-6", "0", "1-2", "15+"], ordered=True
    )
    return pd.DataFrame(
        {
            "ethnicity": pd.Categorical(rng.choice(["White", "Black", "Asian", "Mixed"], n)),
            "offence": offence,
            "previous band": band,
            "year": pd.Categorical(rng.choice(["2022", "2023", "2024"], n)),
            "age": rng.normal(35, 10, n),
            "count": rng.integers(0, 5, n),
            "days in custody": rng.gamma(2, 30, n),
            "_events": rng.integers(0, 10, n),
            "_nonevents": rng.integers(0, 10, n),
        }
    )


@pytest.mark.parametrize(
    "rhs",
    [
        # non-default references, an ordered categorical, an unused category, Q() names
        ["ethnicity:Black", "offence:drugs", "previous band:1-2", "days in custody"],
        # numeric controls first and between categoricals: patsy moves them to the end
        ["age", "ethnicity:White", "count", "offence:theft"],
        # a group x period interaction with its main effects, as change_over_time writes it
        ["ethnicity:White", "year:2023", "ethnicity:White*year:2023", "offence:robbery", "age"],
        ["year:2022*ethnicity:Mixed", "ethnicity:Mixed", "year:2022"],
    ],
)
def test_design_from_codes_equals_patsy(rng, rhs):
    """dispro's design (names, order and values) equals the one patsy builds for the formula."""
    import patsy

    frame = _design_frame(rng)

    def term(spec):
        if "*" in spec:
            return ":".join(term(part) for part in spec.split("*"))
        column, _, reference = spec.partition(":")
        return _cat_term(column, reference) if reference else _formula_name(column)

    formula = "_events + _nonevents ~ " + " + ".join(term(t) for t in rhs)
    endog, exog = _design(formula, frame)
    p_endog, p_exog = patsy.dmatrices(formula, frame, return_type="dataframe")
    assert list(exog.columns) == list(p_exog.columns)
    assert list(endog.columns) == list(p_endog.columns) == ["_events", "_nonevents"]
    np.testing.assert_array_equal(exog.to_numpy(), p_exog.to_numpy())
    np.testing.assert_array_equal(endog.to_numpy(), p_endog.to_numpy())


def test_design_leaves_other_formulas_to_patsy(rng):
    frame = _design_frame(rng)
    for formula in (
        "_events ~ np.log(age)",  # a transform
        "_events ~ C(offence)",  # no stated reference
        "_events ~ 0 + age",  # no intercept
        "_events ~ age:count",  # a numeric interaction
        '_events ~ C(offence, Treatment(reference="theft")):year',  # no main effects
        '_events ~ C(offence, Treatment(reference="shoplifting"))',  # not a level
    ):
        assert _design(formula, frame) is None, formula
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _model(smf.glm, "_events ~ np.log(age)", frame)
    assert isinstance(model, sm.GLM) and "np.log(age)" in model.exog_names
