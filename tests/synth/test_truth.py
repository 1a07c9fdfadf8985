"""Tests of dispro.synth.truth: the planted parameters use real codes and the Wessex forces."""

from __future__ import annotations

import pytest

import dispro
from dispro import synth
from dispro.forces import wessex_forces

GROUPS = ("Asian", "Black", "Mixed", "White", "Other")


def test_forces_are_the_wessex_forces():
    assert set(synth.FORCES) == set(wessex_forces())


def test_truth_uses_only_codes_from_the_code_lists():
    """A misspelt code in TRUTH would silently get weight 0: every key must be a real code."""
    codes = dispro.dictionary.codes
    offences, ages = set(codes("offence_group")), set(codes("age_band"))
    previous = set(codes("previous_convictions"))
    for name in ("disposals", "charging", "sentencing"):
        spec = synth.TRUTH[name]
        assert set(spec["offence_mix"]) == offences, name
        assert set(spec["age_mix"]) == ages, name
        assert sum(spec["offence_mix"].values()) == pytest.approx(1, abs=0.01), name
        assert sum(spec["age_mix"].values()) == pytest.approx(1, abs=0.01), name
        for tilt in spec["offence_tilt"].values():
            assert set(tilt) == offences
        for tilt in spec["age_tilt"].values():
            assert set(tilt) == ages
        assert set(spec["group_multiplier"]) == set(GROUPS)
    allowed = {
        "offence_group": offences, "age_band": ages, "previous_convictions": previous,
        "plea": set(codes("plea")), "remand_status": set(codes("remand_status")),
        "court_type": set(codes("court_type")), "sex": {"Male", "Female"},
        "force": set(synth.FORCES), "object_of_search": set(codes("object_of_search")),
        "legislation": set(codes("legislation")),
    }  # fmt: skip
    models = [synth.TRUTH["stop_search"]["hit_rate"], synth.TRUTH["disposals"]["out_of_court"],
              synth.TRUTH["charging"]["charge"], synth.TRUTH["sentencing"]["custody"],
              synth.TRUTH["sentencing"]["sentence_length"], synth.TRUTH["sentencing"]["remand"]]  # fmt: skip
    for model in models:
        for column, coefs in model["terms"].items():
            assert set(coefs) <= allowed[column], (model["outcome"], column)
        ratios = model.get("odds_ratio") or model.get("ratio_of_means") or {}
        assert set(ratios) == set(GROUPS) or model is synth.TRUTH["sentencing"]["remand"]
    sentencing = synth.TRUTH["sentencing"]
    assert set(sentencing["previous_mix"]) == previous
    assert set(sentencing["crown_share"]) == offences
    for mix in sentencing["non_custody"].values():
        assert set(mix) <= set(codes("sentencing_outcome"))
    for mix in synth.TRUTH["disposals"]["oocd_type"].values():
        assert set(mix) <= set(codes("disposal"))
    assert set(synth.TRUTH["charging"]["not_charged"]) <= set(codes("charging_decision"))
    stop = synth.TRUTH["stop_search"]
    for mix in stop["legislation_mix"].values():
        assert set(mix) <= allowed["legislation"]
        assert sum(mix.values()) == pytest.approx(1)
    for legislation, mix in stop["object_mix"].items():
        assert legislation in allowed["legislation"] and set(mix) <= allowed["object_of_search"]
    for table in stop["outcome_given_hit"].values():
        assert set(table) <= set(codes("stop_search_outcome"))
        assert sum(table.values()) == pytest.approx(1)
    for force in synth.FORCES:
        assert set(stop["rri"][force]) == set(GROUPS)
    assert set(stop["age_propensity"]) == set(codes("age_band_police_uk"))
