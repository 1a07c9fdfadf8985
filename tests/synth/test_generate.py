"""Tests of dispro.synth.generate: the synthetic Wessex records and the truths planted in them.

Every planted effect is recovered here by a simple computation written in the test (counts
against Census 2021 populations, statsmodels formula fits), independently of the generator.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

import dispro
from dispro import stopsearch, synth
from dispro.errors import ParameterError
from dispro.population import census2021

GROUPS = ("Asian", "Black", "Mixed", "White", "Other")
WHITE = 'C(ethnicity, Treatment(reference="White"))'
#: Recovery checks use 99% intervals: a fixed seed makes each check deterministic, and a 99%
#: interval keeps a change of generator from failing a correct check by chance.
ALPHA = 0.01


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    """Census 2021 residents by Wessex force, group and sex, read independently of synth."""
    table = census2021(list(synth.FORCES), by=("sex",))
    return table.assign(population=table["population"].astype(float))


@pytest.fixture(scope="module")
def sentences() -> pd.DataFrame:
    """Sentencing alone, at the demo volume, for the model checks."""
    return synth.wessex(scale=1, seed=5, datasets="sentencing")["sentencing"]


CONTROLS = ("C(offence_group) + C(previous_convictions) + C(plea) + C(remand_status) + "
            "C(age_band) + C(sex) + C(court_type)")  # fmt: skip


@pytest.fixture(scope="module")
def custody_fit(sentences):
    """A record-level logistic fit of immediate custody, written here (rows with a blank
    control are dropped, as the formula interface does)."""
    rows = _stated(sentences)
    rows = rows.assign(custody=(rows["outcome"] == "immediate_custody").astype(int))
    rows = rows.dropna(subset=["offence_group", "previous_convictions", "plea", "remand_status"])
    return rows, smf.logit(f"custody ~ {WHITE} + {CONTROLS}", data=rows).fit(disp=0)


def _person_searches(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["vehicle_only"].astype(bool)]


def _stated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["ethnicity"].isin(GROUPS)]


# --------------------------------------------------------------------------------------------
# the standard, the labels and the parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", synth.DATASETS)
def test_every_dataset_meets_the_standard(data, dataset):
    frame = data[dataset]
    problems = dispro.validate(frame, dataset)  # raises on any error
    assert problems.empty, problems
    spec = dispro.dictionary.dataset(dataset)
    required = [f["name"] for f in spec["fields"] if f.get("required")]
    assert set(required) <= set(frame.columns)
    assert set(frame["force"].dropna()) == set(synth.FORCES)
    assert len(frame) > 1000


@pytest.mark.parametrize("dataset", synth.DATASETS)
def test_every_frame_says_it_is_synthetic(data, dataset):
    attrs = data[dataset].attrs
    assert attrs["synthetic"] is True
    assert "SYNTHETIC" in attrs["description"] and "Not real" in attrs["description"]
    assert attrs["dataset"] == dataset
    assert attrs["seed"] == 11 and attrs["scale"] == 0.5
    assert attrs["start"] == "2021-04" and attrs["end"] == "2024-03"
    assert attrs["truth"]["expected"]
    json.dumps(attrs["truth"])  # plain data, as written to synthetic_metadata.json


def test_every_month_and_force_has_records(data):
    months = set(pd.period_range("2021-04", "2024-03", freq="M").strftime("%Y-%m"))
    for name, frame in data.items():
        month = frame["month"] if name == "stop_search" else frame["date"].dt.strftime("%Y-%m")
        cells = set(zip(frame["force"].dropna(), month[frame["force"].notna()], strict=True))
        assert cells == {(f, m) for f in synth.FORCES for m in months}, name


def test_stop_search_dates_are_utc_instants_inside_their_month(data):
    frame = data["stop_search"]
    assert str(frame["date"].dt.tz) == "UTC"
    local_month = frame["date"].dt.tz_convert("Europe/London").dt.strftime("%Y-%m")
    assert (local_month == frame["month"]).all()
    # spread over the day, with a few stamped exactly midnight
    hours = frame["date"].dt.tz_convert("Europe/London").dt.hour
    assert hours.nunique() == 24
    midnight = (frame["date"].dt.strftime("%H:%M:%S") == "00:00:00").mean()
    assert 0.002 < midnight < 0.02


def test_bad_parameters_raise():
    for kwargs in ({"start": "2021/04"}, {"end": "2024-13"}, {"start": "2024-01", "end": "2023-12"},
                   {"scale": 0}, {"scale": -1}, {"scale": "big"}, {"scale": float("nan")},
                   {"seed": -1}, {"seed": 1.5}, {"datasets": "stops"}):  # fmt: skip
        with pytest.raises(ParameterError):
            synth.wessex(**kwargs)


# --------------------------------------------------------------------------------------------
# seeds
# --------------------------------------------------------------------------------------------


def test_same_seed_same_frames_different_seed_different():
    one = synth.wessex(scale=0.05, seed=3)
    two = synth.wessex(scale=0.05, seed=3)
    other = synth.wessex(scale=0.05, seed=4)
    for name in synth.DATASETS:
        pd.testing.assert_frame_equal(one[name], two[name])
        assert one[name].attrs["truth"] == two[name].attrs["truth"]
        same_shape = one[name].shape == other[name].shape
        assert not (same_shape and one[name].equals(other[name])), name


def test_one_dataset_alone_is_the_same_as_in_the_full_draw():
    full = synth.wessex(scale=0.05, seed=8)
    for name in synth.DATASETS:
        alone = synth.wessex(scale=0.05, seed=8, datasets=[name])
        assert list(alone) == [name]
        pd.testing.assert_frame_equal(alone[name], full[name])


# --------------------------------------------------------------------------------------------
# populations: Census 2021 shares
# --------------------------------------------------------------------------------------------


def _group_population(
    census: pd.DataFrame, force: str, sex_weight: dict | None = None
) -> pd.Series:
    rows = census[census["area"] == force]
    weight = rows["sex"].map(sex_weight) if sex_weight else 1.0
    return (rows["population"] * weight).groupby(rows["ethnicity"]).sum().reindex(GROUPS)


@pytest.mark.parametrize("dataset", synth.DATASETS)
def test_group_shares_follow_census_2021(data, census, dataset):
    """Within each force, recorded groups are in proportion to Census 2021 residents times the
    planted per-resident multipliers (chi-square goodness of fit)."""
    frame = _stated(data[dataset])
    if dataset == "stop_search":
        frame = _person_searches(frame)
    for force in synth.FORCES:
        if dataset == "stop_search":
            spec = synth.TRUTH["stop_search"]
            weight = _group_population(census, force) * pd.Series(spec["rri"][force])
        else:
            spec = synth.TRUTH[dataset]
            people = _group_population(census, force, spec["sex_multiplier"])
            weight = people * pd.Series(spec["group_multiplier"])
        observed = frame[frame["force"] == force]["ethnicity"].value_counts().reindex(GROUPS)
        observed = observed.fillna(0).to_numpy()
        expected = (weight / weight.sum()).reindex(GROUPS).to_numpy() * observed.sum()
        assert stats.chisquare(observed, expected).pvalue > 1e-3, (dataset, force)


def test_sex_shares_follow_census_2021(data, census):
    """Sentenced women per man, by group, follow the Census sex ratio times the multiplier."""
    frame = _stated(data["sentencing"])
    female = synth.TRUTH["sentencing"]["sex_multiplier"]["Female"]
    wessex = census.groupby(["ethnicity", "sex"])["population"].sum().unstack()
    for group in ("White", "Asian"):
        counts = frame[frame["ethnicity"] == group]["sex"].value_counts()
        share = counts["Female"] / counts.sum()
        p = wessex.loc[group, "Female"] * female
        p = p / (p + wessex.loc[group, "Male"])
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / counts.sum()), group


# --------------------------------------------------------------------------------------------
# stop and search: rates, not stated, hit rates, strip search, section 60, darkness
# --------------------------------------------------------------------------------------------


def test_crude_stop_rate_ratio_against_census_is_the_planted_one(data, census):
    frame = _person_searches(data["stop_search"])
    counts = frame.groupby(["force", "ethnicity"]).size()
    spec = synth.TRUTH["stop_search"]
    for force in synth.FORCES:
        pop = _group_population(census, force)
        for group in ("Black", "Asian", "Mixed"):
            a, b = counts[force, group], counts[force, "White"]
            observed = (a / pop[group]) / (b / pop["White"])  # per 1,000: the 1,000 cancels
            se = math.sqrt(1 / a + 1 / b)
            assert abs(math.log(observed / spec["rri"][force][group])) < 4 * se, (force, group)
    # Wessex: the population-weighted truth, computed here from TRUTH and the Census
    rate = {g: sum(spec["rate_per_1000_white"][f] * spec["rri"][f][g] * _group_population(census, f)[g]
                   for f in synth.FORCES) for g in GROUPS}  # fmt: skip
    people = {g: sum(_group_population(census, f)[g] for f in synth.FORCES) for g in GROUPS}
    planted = (rate["Black"] / people["Black"]) / (rate["White"] / people["White"])
    table = synth.expected_stop_rates().set_index(["area", "ethnicity"])
    assert table.loc[("Wessex", "Black"), "rri"] == pytest.approx(planted)
    assert table.loc[("Hampshire", "Black"), "rri"] == pytest.approx(3.5)
    total = frame.groupby("ethnicity").size()
    observed = (total["Black"] / people["Black"]) / (total["White"] / people["White"])
    assert abs(math.log(observed / planted)) < 4 * math.sqrt(
        1 / total["Black"] + 1 / total["White"]
    )
    # the yearly rate of White people: planted rate x the mean time factor, at scale 0.5
    white = counts["Hampshire", "White"] / 0.5 / 3 / _group_population(census, "Hampshire")["White"]
    stated = 1 - spec["not_stated_share"]["Hampshire"]
    expected = table.loc[("Hampshire", "White"), "rate"] / 1000 * stated
    assert white == pytest.approx(expected, rel=0.08)


def test_self_defined_not_stated_at_random_with_officer_defined_filled_in(data):
    frame = _person_searches(data["stop_search"])
    spec = synth.TRUTH["stop_search"]
    not_stated = frame["ethnicity"] == "Not stated"
    for force in synth.FORCES:
        share = not_stated[frame["force"] == force].mean()
        assert share == pytest.approx(spec["not_stated_share"][force], abs=0.02)
    labels = frame.loc[not_stated, "self_defined_ethnicity"]
    assert labels.isna().mean() == pytest.approx(spec["not_stated_blank_share"], abs=0.03)
    assert set(labels.dropna()) == {"Other ethnic group - Not stated"}
    assert frame.loc[not_stated, "officer_defined_ethnicity"].notna().all()
    # at random: the officer-defined mix of not-stated searches is that of stated ones
    seen = (frame["force"] == "Hampshire") & (frame["officer_ethnicity"] != "Not stated")
    officer = pd.crosstab(not_stated[seen], frame.loc[seen, "officer_ethnicity"])
    assert stats.chi2_contingency(officer).pvalue > 1e-3
    # officer-defined ethnicity has no Mixed group: Mixed people are seen as White or Black
    mixed = frame[frame["ethnicity"] == "Mixed"]["officer_ethnicity"].value_counts(normalize=True)
    assert "Mixed" not in mixed and mixed["White"] > 0.3 and mixed["Black"] > 0.25


def test_hit_rate_model_recovers_the_planted_lower_threshold():
    frame = synth.wessex(scale=1, seed=21, datasets="stop_search")["stop_search"]
    s60 = "Criminal Justice and Public Order Act 1994 (section 60)"
    rows = _stated(_person_searches(frame))
    rows = rows[(rows["legislation"] != s60) & rows["outcome_linked"].notna()]
    rows = rows.assign(hit=rows["outcome_linked"].astype(int))
    fit = smf.logit(f"hit ~ {WHITE} + C(force) + C(object_of_search)", data=rows).fit(disp=0)
    term = f"{WHITE}[T.Black]"
    low, high = np.exp(fit.conf_int(alpha=ALPHA).loc[term])
    assert low < 0.75 < high
    assert np.exp(fit.params[term]) < 0.9
    # the same with dispro's own model
    table = stopsearch.hit_rate_model(frame, alpha=ALPHA).set_index("term")
    assert table.loc[term, "ci_lower"] < 0.75 < table.loc[term, "ci_upper"]


def test_strip_searches_and_section_60(data):
    frame = _stated(_person_searches(data["stop_search"]))
    spec = synth.TRUTH["stop_search"]
    strip = frame.groupby("ethnicity")["removal_outer_clothing"].agg(["sum", "count"])
    # the planted rate ratio, standardised over force (share_white differs by force)
    white = frame[frame["ethnicity"] == "White"]
    black = frame[frame["ethnicity"] == "Black"]
    expected_black = black["force"].map(spec["strip_search"]["share_white"]).sum() * 2.0
    assert abs(strip.loc["Black", "sum"] - expected_black) < 4 * math.sqrt(expected_black)
    expected_white = white["force"].map(spec["strip_search"]["share_white"]).sum()
    assert abs(strip.loc["White", "sum"] - expected_white) < 4 * math.sqrt(expected_white)
    assert (
        data["stop_search"]["removal_outer_clothing"][data["stop_search"]["vehicle_only"]]
        .isna()
        .all()
    )
    # section 60: only Hampshire, only in the two middle months
    s60 = (
        data["stop_search"]["legislation"]
        == "Criminal Justice and Public Order Act 1994 (section 60)"
    )
    where = data["stop_search"].loc[s60, ["force", "month"]].drop_duplicates()
    assert set(where["force"]) == {"Hampshire"}
    assert sorted(where["month"]) == ["2022-09", "2022-10"]
    assert data["stop_search"].attrs["section60_months"] == ["2022-09", "2022-10"]
    period = frame[(frame["force"] == "Hampshire") & frame["month"].isin(["2022-09", "2022-10"])]
    share = (
        period.assign(s60=period["legislation"].str.contains("section 60"))
        .groupby("ethnicity")["s60"]
        .mean()
    )
    assert share["White"] == pytest.approx(0.10, abs=0.03)
    assert share["Black"] > share["White"]
    objects = data["stop_search"].loc[s60, "object_of_search"]
    assert set(objects) <= {"Offensive weapons", "Anything to threaten or harm anyone"}


def test_no_darkness_effect_the_black_share_does_not_depend_on_the_hour(data):
    frame = _stated(_person_searches(data["stop_search"]))
    frame = frame[frame["ethnicity"].isin(["Black", "White"])]
    hour = frame["date"].dt.tz_convert("Europe/London").dt.hour
    table = pd.crosstab(hour, frame["ethnicity"])
    assert stats.chi2_contingency(table).pvalue > 1e-3
    located = frame["latitude"].notna()
    assert located.mean() == pytest.approx(0.75, abs=0.02)
    assert frame.loc[located, "latitude"].between(50.4, 51.8).all()
    assert frame.loc[located, "longitude"].between(-3.0, -0.5).all()


def test_police_uk_quirks_are_present(data):
    frame = data["stop_search"]
    raw = set(frame["outcome_raw"].dropna())
    assert {"A no further action disposal", "Arrest"} <= raw  # current wording
    assert {"Nothing found - no further action", "Suspect arrested"} <= raw  # older wording
    assert (frame["outcome"] == "not_recorded").sum() == frame["outcome_raw"].isna().sum() > 0
    vehicle = frame[frame["vehicle_only"]]
    assert 0.02 < len(vehicle) / len(frame) < 0.04
    assert (
        vehicle[["sex", "age_band", "self_defined_ethnicity", "officer_defined_ethnicity"]]
        .isna()
        .all()
        .all()
    )
    assert (vehicle["ethnicity"] == "Not stated").all()
    # outcome_linked not supplied by Wiltshire for the first three months
    first = frame["month"].isin(["2021-04", "2021-05", "2021-06"])
    wilts = frame["force"] == "Wiltshire"
    assert frame.loc[first & wilts, "outcome_linked"].isna().all()
    assert frame.loc[~(first & wilts), "outcome_linked"].notna().all()
    coverage = dispro.coverage(frame).set_index(["force", "month"])
    assert not coverage.loc[("Wiltshire", "2021-04"), "outcome_linked_supplied"]
    assert coverage["present"].all() and len(coverage) == 3 * 36
    assert not coverage.loc[("Dorset", "2022-01"), "part_of_policing_operation_supplied"]


# --------------------------------------------------------------------------------------------
# police outcomes, charging and sentencing: the planted adjusted effects and confounding
# --------------------------------------------------------------------------------------------


def test_custody_logit_recovers_the_planted_adjusted_odds_ratio(custody_fit):
    _, fit = custody_fit
    interval = np.exp(fit.conf_int(alpha=ALPHA))
    for group, planted in synth.TRUTH["sentencing"]["custody"]["odds_ratio"].items():
        if group == "White":
            continue
        term = f"{WHITE}[T.{group}]"
        assert interval.loc[term, 0] < planted < interval.loc[term, 1], group
    assert np.exp(fit.params[f"{WHITE}[T.Black]"]) == pytest.approx(1.25, rel=0.25)


def test_unadjusted_custody_rri_exceeds_the_adjusted_ratio(sentences, custody_fit):
    rows = _stated(sentences)
    custody = rows["outcome"] == "immediate_custody"
    rate = custody.groupby(rows["ethnicity"]).mean()
    crude = rate["Black"] / rate["White"]
    # adjusted risk ratio by marginal standardisation of the fitted model, computed here
    complete, fit = custody_fit
    as_black = fit.predict(complete.assign(ethnicity="Black")).mean()
    as_white = fit.predict(complete.assign(ethnicity="White")).mean()
    adjusted = as_black / as_white
    assert crude > 1.35
    assert crude > adjusted * 1.2  # the planted confounding
    truth = synth.true_marginal_rr(sentences).set_index("group").loc["Black"]
    assert truth["crude_rri"] > truth["adjusted_rr"] * 1.3
    assert crude == pytest.approx(truth["crude_rri"], rel=0.1)
    assert adjusted == pytest.approx(truth["adjusted_rr"], rel=0.12)
    # the odds ratio overstates the risk ratio for a common outcome
    assert truth["adjusted_rr"] < truth["conditional_ratio"]


def test_confounding_is_planted_heavier_offences_and_more_previous_convictions(sentences):
    rows = _stated(sentences)
    serious = rows["offence_group"].isin(["robbery", "drug_offences", "possession_of_weapons"])
    prolific = rows["previous_convictions"].isin(["11-14", "15+"])
    by = (
        rows.assign(serious=serious, prolific=prolific)
        .groupby("ethnicity")[["serious", "prolific"]]
        .mean()
    )
    assert by.loc["Black", "serious"] > 1.5 * by.loc["White", "serious"]
    assert by.loc["Black", "prolific"] > 1.2 * by.loc["White", "prolific"]


def test_sentence_length_gamma_ratio_of_means(sentences):
    rows = _stated(sentences)
    rows = rows[(rows["outcome"] == "immediate_custody") & rows["custody_months"].notna()]
    assert (rows["custody_months"] >= 0.1).all()
    fit = smf.glm(f"custody_months ~ {WHITE} + {CONTROLS}", data=rows,
                  family=sm.families.Gamma(sm.families.links.Log())).fit()  # fmt: skip
    low, high = np.exp(fit.conf_int(alpha=ALPHA).loc[f"{WHITE}[T.Black]"])
    assert low < 1.1 < high
    assert sentences.loc[sentences["outcome"] != "immediate_custody", "custody_months"].isna().all()
    indeterminate = (sentences["outcome"] == "immediate_custody") & sentences[
        "custody_months"
    ].isna()
    assert indeterminate.sum() > 0
    assert set(sentences.loc[indeterminate, "court_type"]) == {"crown"}


@pytest.mark.parametrize(
    ("dataset", "stage", "event"),
    [("disposals", "out_of_court", ("disposal", "charge_summons", False)),
     ("charging", "charge", ("decision", "charge", True))],
)  # fmt: skip
def test_out_of_court_and_charge_logits_recover_the_planted_odds_ratios(dataset, stage, event):
    frame = synth.wessex(scale=1, seed=9, datasets=dataset)[dataset]
    column, code, equal = event
    rows = _stated(frame).assign(y=((frame[column] == code) == equal).astype(int))
    formula = f"y ~ {WHITE} + C(offence_group) + C(age_band) + C(sex) + C(force)"
    fit = smf.logit(formula, data=rows).fit(disp=0)
    planted = synth.TRUTH[dataset][stage]["odds_ratio"]["Black"]
    low, high = np.exp(fit.conf_int(alpha=ALPHA).loc[f"{WHITE}[T.Black]"])
    assert low < planted < high
    truth = synth.true_marginal_rr(frame, stage).set_index("group")
    assert truth.loc["Black", "conditional_ratio"] == pytest.approx(planted)


def test_disposal_types_fit_age_and_offence(data):
    frame = data["disposals"]
    youth = frame["age_band"] == "10-17"
    youth_only = frame["disposal"].isin(["youth_caution", "youth_conditional_caution"])
    assert (youth[youth_only]).all()
    adult_only = frame["disposal"].isin(["penalty_notice", "cannabis_khat_warning", "caution"])
    assert (~youth[adult_only]).all()
    warnings = (frame["disposal"] == "cannabis_khat_warning") & frame["offence_group"].notna()
    assert (frame.loc[warnings, "offence_group"] == "drug_offences").all()
    assert data["charging"]["area"].eq("CPS Wessex").all()
