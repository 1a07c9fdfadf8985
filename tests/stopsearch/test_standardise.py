"""Tests of dispro.population.age (Census 2021 by age band) and dispro.stopsearch.standardise.

The population reference figures are computed here from the ONS single-year-of-age export itself
(read in place from ``../shared/realdata``) with the csv module, the Wessex local authority codes
written out below (METHODS.md section 3), the 5-group roll-up read off the ONS headers and the
age bands written as integer ranges, so that nothing is borrowed from the package's lookups, code
lists or pandas code. The standardisation reference values are hand computations of the
formulas (Dobson et al. 1991), written independently of the package's kernels.
"""

from __future__ import annotations

import csv
import doctest
import gzip
import importlib.util
import re
import shutil
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, norm

import dispro
import dispro.population as population
import dispro.population.age as population_age
import dispro.stopsearch.standardise as standardise
from dispro.errors import (
    AreaError,
    DataQualityWarning,
    LowCountWarning,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
)
from dispro.population import census2021
from dispro.population.age import (
    CENSUS2021_AGE_COLUMNS,
    SHORTFALL_COLUMNS,
    age_shortfall,
    allocate_shortfall,
    census2021_age,
)
from dispro.stopsearch.standardise import (
    AGE_STANDARDISED_COLUMNS,
    STANDARDISED_STATUSES,
    age_standardised_rates,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared"
SOURCE = SHARED / "realdata" / "ons_census2021_ethnic_group_la" / "census.csv"

if not SOURCE.is_file():  # an error, never a skip: these tests are the independent reference
    raise FileNotFoundError(
        f"real data not found at {SOURCE} (../shared/realdata beside the project)"
    )

# The independent reference: Wessex police force areas as lists of Census 2021 LA codes.
HAMPSHIRE = [f"E070000{n}" for n in range(84, 95)] + ["E06000044", "E06000045", "E06000046"]
DORSET = ["E06000058", "E06000059"]
WILTSHIRE = ["E06000054", "E06000030"]
FORCES = {"Hampshire": HAMPSHIRE, "Dorset": DORSET, "Wiltshire": WILTSHIRE}
WESSEX_LAS = HAMPSHIRE + DORSET + WILTSHIRE
HIGH_LEVEL = {
    "Asian, Asian British or Asian Welsh": "Asian",
    "Black, Black British, Black Welsh, Caribbean or African": "Black",
    "Mixed or Multiple ethnic groups": "Mixed",
    "White": "White",
    "Other ethnic group": "Other",
}
GROUPS_5 = ["Asian", "Black", "Mixed", "White", "Other"]
BANDS = ["under 10", "10-17", "18-24", "25-34", "over 34"]
LA_CODE = re.compile(r"^(E06|E07|E08|E09|W06)\d{6}$")


def band_of(age: str) -> str:
    years = 100 if age == "100 or over" else int(age)
    if years <= 9:
        return "under 10"
    if years <= 17:
        return "10-17"
    if years <= 24:
        return "18-24"
    if years <= 34:
        return "25-34"
    return "over 34"


@pytest.fixture(scope="module")
def source():
    """{(la_code, 19-category, band): [sum of published cells, c cells, cells]} and the header."""
    cells = defaultdict(lambda: [0, 0, 0])
    smallest = None
    with SOURCE.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header[:3] == ["Geography Code", "Geography Name", "Age"]
        groups = header[3:]
        for row in reader:
            if not LA_CODE.match(row[0]):
                continue
            band = band_of(row[2])
            for group, value in zip(groups, row[3:], strict=True):
                entry = cells[(row[0], group, band)]
                entry[2] += 1
                if value == "c":
                    entry[1] += 1
                else:
                    entry[0] += int(value)
                    smallest = int(value) if smallest is None else min(smallest, int(value))
    return {"cells": dict(cells), "groups": groups, "smallest": smallest}


def reference(source, codes, scheme="5+1"):
    """Independent figures {(ethnicity, band): (population or None, c cells, cells)}."""
    out = {}
    for (code, group, band), (total, n_c, n) in source["cells"].items():
        if code not in codes:
            continue
        label = group if scheme == "19" else HIGH_LEVEL[group.split(": ", 1)[0]]
        pop, c, cells, published = out.get((label, band), (0, 0, 0, 0))
        out[(label, band)] = (pop + total, c + n_c, cells + n, published + (n - n_c))
    return {k: (p if pub > 0 else None, c, n) for k, (p, c, n, pub) in out.items()}


def assert_matches(got: pd.DataFrame, expected: dict) -> None:
    assert len(got) == len(expected)
    for row in got.itertuples():
        pop, n_c, _ = expected[(row.ethnicity, row.age_band)]
        if pop is None:  # every cell `c`: missing, never 0
            assert pd.isna(row.population), (row.ethnicity, row.age_band)
        else:
            assert row.population == pop, (row.ethnicity, row.age_band)
        assert row.suppressed_cells == n_c, (row.ethnicity, row.age_band)


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return func(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# census2021_age against the source
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["5+1", "19"])
@pytest.mark.parametrize("force", sorted(FORCES))
def test_wessex_force_areas_equal_independent_sums(source, force, scheme):
    got = quiet(census2021_age, force, scheme=scheme)
    assert list(got.columns) == list(CENSUS2021_AGE_COLUMNS)
    assert set(got["area"]) == {force} and set(got["area_level"]) == {"pfa"}
    assert_matches(got, reference(source, FORCES[force], scheme))


def test_wessex_equals_independent_sums_and_its_three_forces(source):
    got = quiet(census2021_age, "Wessex")
    assert set(got["area_code"]) == {"WESSEX"}
    assert_matches(got, reference(source, WESSEX_LAS))
    forces = quiet(census2021_age, sorted(FORCES))
    summed = forces.groupby(["ethnicity", "age_band"])["population"].sum()
    assert (
        got.set_index(["ethnicity", "age_band"])["population"]
        == summed.loc[got.set_index(["ethnicity", "age_band"]).index]
    ).all()


@pytest.mark.parametrize(
    "code",
    ["E06000045", "E06000046", "E06000030", "E07000088", "E08000025", "W06000015"],
)  # Southampton, Isle of Wight, Swindon, Gosport, Birmingham, Cardiff
@pytest.mark.parametrize("scheme", ["5+1", "19"])
def test_local_authorities_equal_independent_sums(source, code, scheme):
    got = quiet(census2021_age, code, scheme=scheme)
    assert set(got["area_code"]) == {code} and set(got["area_level"]) == {"la"}
    assert_matches(got, reference(source, [code], scheme))


def test_wessex_at_la_level_is_its_18_local_authorities(source):
    got = quiet(census2021_age, "Wessex", level="la")
    assert sorted(got["area_code"].unique()) == sorted(WESSEX_LAS)
    for code, part in got.groupby("area_code"):
        assert_matches(part, reference(source, [code]))


def test_c_is_never_counted_as_0(source):
    got = quiet(census2021_age, "Wessex", level="la", scheme="19")
    every_c = [(k, v) for k, v in source["cells"].items() if k[0] in WESSEX_LAS and v[1] == v[2]]
    assert len(every_c) > 100
    indexed = got.set_index(["area_code", "ethnicity", "age_band"])
    for (code, group, band), (_, n_c, _) in every_c:
        row = indexed.loc[(code, group, band)]
        assert pd.isna(row["population"]) and row["suppressed_cells"] == n_c
    # no figure is 0: the export publishes no 0, so a 0 could only come from summing `c` as 0
    assert not (got["population"].dropna() == 0).any()
    # the Isle of Wight's Black residents under 25: every cell `c`, so missing at 5 groups too
    iow = quiet(census2021_age, "E06000046").set_index(["ethnicity", "age_band"])
    assert iow.loc[[("Black", b) for b in BANDS[:3]], "population"].isna().all()


def test_the_smallest_published_cell_is_as_stated(source):
    assert source["smallest"] == population_age.SMALLEST_PUBLISHED_CELL == 10


@pytest.mark.parametrize("force", [*sorted(FORCES), "Wessex"])
def test_warning_counts_the_suppressed_cells(source, force):
    codes = WESSEX_LAS if force == "Wessex" else FORCES[force]
    n_c = sum(v[1] for k, v in source["cells"].items() if k[0] in codes)
    n = sum(v[2] for k, v in source["cells"].items() if k[0] in codes)
    assert n == len(codes) * 19 * 101
    with pytest.warns(DataQualityWarning, match="suppressed Census cells") as record:
        got = census2021_age(force)
    message = next(str(w.message) for w in record if "suppressed Census cells" in str(w.message))
    found = re.search(
        r"([\d,]+) of the ([\d,]+) single-year source cells .*?\(([\d.]+)%\)", message
    )
    assert found, message
    assert int(found.group(1).replace(",", "")) == n_c
    assert int(found.group(2).replace(",", "")) == n
    assert float(found.group(3)) == pytest.approx(100 * n_c / n, abs=0.05)
    assert got.attrs["suppressed_source_cells"] == n_c and got.attrs["source_cells"] == n
    assert "fewer than 10 people" in message and "underestimates" in message
    assert "fall short by" in message


def test_shortfall_against_the_sex_table(source):
    got = quiet(census2021_age, sorted(FORCES))
    short = pd.DataFrame(got.attrs["shortfall"])
    assert list(short.columns) == list(SHORTFALL_COLUMNS)
    sex = quiet(census2021, sorted(FORCES), by=()).set_index(["area", "ethnicity"])
    for row in short.itertuples():
        ref = reference(source, FORCES[row.area])
        age_total = sum(ref[(row.ethnicity, b)][0] or 0 for b in BANDS)
        assert row.population_age_table == age_total
        assert row.population_sex_table == sex.loc[(row.area, row.ethnicity), "population"]
        assert row.shortfall == row.population_sex_table - age_total
        assert row.shortfall_share == pytest.approx(row.shortfall / row.population_sex_table)
        assert row.suppressed_cells_age_table == sum(ref[(row.ethnicity, b)][1] for b in BANDS)
    # suppression only removes people: every Wessex group total falls short
    assert (short["shortfall"] > 0).all()
    pd.testing.assert_frame_equal(quiet(age_shortfall, sorted(FORCES)), short, check_dtype=False)


def test_city_of_london_is_refused_as_census2021_refuses_it():
    for name in ("City of London", "E23000034", "E09000001"):
        with pytest.raises(AreaError) as age_error:
            census2021_age(name)
        with pytest.raises(AreaError) as sex_error:
            census2021(name)
        assert str(age_error.value) == str(sex_error.value)


def test_metropolitan_police_caveat_and_unknown_area():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        census2021_age("Metropolitan Police")
    assert any("includes the City of London's residents" in str(w.message) for w in record)
    with pytest.raises(AreaError, match="did you mean 'Hampshire'"):
        census2021_age("Hampshrie")
    with pytest.raises(ParameterError, match="`level`"):
        census2021_age("Dorset", level="region")


def test_every_force_area_and_national_total(source):
    every = quiet(census2021_age)
    assert every["area_code"].nunique() == 42
    national = quiet(census2021_age, "England and Wales")
    total = sum(v[0] for v in source["cells"].values())
    assert int(national["population"].sum()) == total == int(every["population"].sum())


def test_allocate_shortfall_restores_group_totals():
    table = quiet(census2021_age, sorted(FORCES))
    filled = allocate_shortfall(table)
    assert list(filled.columns) == list(CENSUS2021_AGE_COLUMNS)
    sex = quiet(census2021, sorted(FORCES), by=()).set_index(["area", "ethnicity"])["population"]
    totals = filled.groupby(["area", "ethnicity"])["population"].sum()
    np.testing.assert_allclose(totals.to_numpy(), sex.loc[totals.index].to_numpy(dtype=float))
    # bands with no `c` are unchanged; each `c` counts for S / C people (under 10 here)
    same = table["suppressed_cells"] == 0
    assert (filled.loc[same, "population"] == table.loc[same, "population"].astype(float)).all()
    per_c = pd.DataFrame(filled.attrs["people_per_suppressed_cell"])
    assert per_c["people_per_suppressed_cell"].between(0, 10).all()
    iow = allocate_shortfall(quiet(census2021_age, "E06000046"))
    assert iow["population"].notna().all()  # all-`c` bands get a share
    with pytest.raises(ParameterError, match="census2021_age"):
        allocate_shortfall(pd.DataFrame({"population": [1]}))


def test_results_can_be_concatenated():
    parts = [quiet(census2021_age, f) for f in ("Dorset", "Wiltshire")]
    assert len(pd.concat(parts)) == 50


def test_build_script_reproduces_the_bundled_table(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_census2021_age", PROJECT_ROOT / "scripts" / "build_census2021_age.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.copy(population.TABLE_FILE, tmp_path / "census2021_la.csv.gz")
    assert module.main(["--shared", str(SHARED), "--out-dir", str(tmp_path)]) == 0
    rebuilt = gzip.decompress((tmp_path / "census2021_la_age.csv.gz").read_bytes())
    bundled = gzip.decompress(population_age.TABLE_FILE.read_bytes())
    assert rebuilt == bundled
    section = (tmp_path / "SOURCES.md").read_text(encoding="utf-8")
    assert section.count(module.SECTION_START) == 1
    # running it again replaces its section, it does not append a second one
    assert module.main(["--shared", str(SHARED), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "SOURCES.md").read_text(encoding="utf-8") == section
    bundled_sources = (population_age.TABLE_FILE.parent / "SOURCES.md").read_text(encoding="utf-8")
    assert module.SECTION_START in bundled_sources


def test_docstring_examples_run():
    for module in (population_age, standardise):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------------
# direct standardisation: hand computations
# --------------------------------------------------------------------------------------------


def dobson_by_hand(obs, n, w, alpha=0.05):
    """DSR and Dobson interval from the formulas, written out for the test (w sums to 1)."""
    obs, n, w = (np.asarray(x, dtype=float) for x in (obs, n, w))
    dsr = float(np.sum(w * obs / n))
    var = float(np.sum(w**2 * obs / n**2))
    total = float(obs.sum())
    o_lower = chi2.ppf(alpha / 2, 2 * total) / 2  # exact Poisson limits for the total
    o_upper = chi2.ppf(1 - alpha / 2, 2 * total + 2) / 2
    factor = np.sqrt(var / total)
    return dsr, var, dsr + factor * (o_lower - total), dsr + factor * (o_upper - total)


def made_up(events_white, events_black, pop_white, pop_black, bands=BANDS[1:4], months=12):
    counts = pd.DataFrame(
        {
            "force": "Anyshire",
            "period": "2023-24",
            "months_covered": months,
            "ethnicity": ["White"] * len(bands) + ["Black"] * len(bands),
            "age_band": list(bands) * 2,
            "events": [*events_white, *events_black],
        }
    )
    population = pd.DataFrame(
        {
            "force": "Anyshire",
            "ethnicity": ["White"] * len(bands) + ["Black"] * len(bands),
            "age_band": list(bands) * 2,
            "population": [*pop_white, *pop_black],
        }
    )
    return counts, population


def test_dsr_and_dobson_interval_match_a_hand_computation():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    weights = pd.Series({"10-17": 0.2, "18-24": 0.3, "25-34": 0.5})
    out = age_standardised_rates(counts, population=population, standard=weights)
    assert list(out.columns) == ["force", *AGE_STANDARDISED_COLUMNS]
    got = out.set_index("group")
    for group, obs, n in (
        ("White", [12, 30, 25], [4000, 9000, 30000]),
        ("Black", [8, 21, 4], [500, 1200, 2500]),
    ):
        dsr, _, lower, upper = dobson_by_hand(obs, n, [0.2, 0.3, 0.5])
        row = got.loc[group]
        assert row["standardised_rate"] == pytest.approx(1000 * dsr, rel=1e-12)
        assert row["ci_lower"] == pytest.approx(1000 * lower, rel=1e-10)
        assert row["ci_upper"] == pytest.approx(1000 * upper, rel=1e-10)
        assert row["crude_rate"] == pytest.approx(1000 * sum(obs) / sum(n))
        assert row["events"] == sum(obs) and row["status"] == "ok"
    # the hand computation in numbers (White): 0.2·12/4000 + 0.3·30/9000 + 0.5·25/30000
    assert got.loc["White", "standardised_rate"] == pytest.approx(
        1000 * (0.0006 + 0.001 + 0.000416666667)
    )
    # ratio of DSRs: log-normal interval from the two variances
    d1, v1, *_ = dobson_by_hand([8, 21, 4], [500, 1200, 2500], [0.2, 0.3, 0.5])
    d0, v0, *_ = dobson_by_hand([12, 30, 25], [4000, 9000, 30000], [0.2, 0.3, 0.5])
    se = np.sqrt(v1 / d1**2 + v0 / d0**2)
    z = norm.ppf(0.975)
    black = got.loc["Black"]
    assert black["rri_standardised"] == pytest.approx(d1 / d0)
    assert black["rri_ci_lower"] == pytest.approx(d1 / d0 * np.exp(-z * se))
    assert black["rri_ci_upper"] == pytest.approx(d1 / d0 * np.exp(z * se))
    assert got.loc["White", "rri_standardised"] == 1.0
    assert np.isnan(got.loc["White", "rri_ci_lower"])
    assert out.attrs["interval"].startswith("Dobson")


def test_area_total_standard_is_the_whole_population_of_the_area():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    out = age_standardised_rates(counts, population=population).set_index("group")
    totals = np.array([4500, 10200, 32500], dtype=float)
    dsr, _, lower, upper = dobson_by_hand([8, 21, 4], [500, 1200, 2500], totals / totals.sum())
    assert out.loc["Black", "standardised_rate"] == pytest.approx(1000 * dsr)
    assert out.loc["Black", "ci_lower"] == pytest.approx(1000 * lower)
    assert out.loc["Black", "ci_upper"] == pytest.approx(1000 * upper)
    standard = pd.DataFrame(out.attrs["standard"])
    np.testing.assert_allclose(standard["weight"], totals / totals.sum())


def test_exposure_is_population_times_months_over_12():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    full = age_standardised_rates(counts, population=population).set_index("group")
    half = age_standardised_rates(counts.assign(months_covered=6), population=population)
    half = half.set_index("group")
    for col in ("standardised_rate", "ci_lower", "ci_upper", "crude_rate"):
        np.testing.assert_allclose(half[col], 2 * full[col])
    np.testing.assert_allclose(half["rri_standardised"], full["rri_standardised"])
    assert (half["months_covered"] == 6).all()


def test_a_single_age_band_gives_the_crude_rate_and_its_exact_poisson_interval():
    counts, population = made_up([37], [15], [20000], [2500], bands=["18-24"])
    out = age_standardised_rates(counts, population=population).set_index("group")
    for group, obs, n in (("White", 37, 20000), ("Black", 15, 2500)):
        row = out.loc[group]
        assert row["standardised_rate"] == pytest.approx(row["crude_rate"], rel=1e-12)
        # one band: Dobson reduces to the exact (Garwood) Poisson interval of the crude rate
        assert row["ci_lower"] == pytest.approx(1000 * chi2.ppf(0.025, 2 * obs) / 2 / n)
        assert row["ci_upper"] == pytest.approx(1000 * chi2.ppf(0.975, 2 * obs + 2) / 2 / n)
    assert out.loc["Black", "rri_standardised"] == pytest.approx(out.loc["Black", "rri_crude"])


# --------------------------------------------------------------------------------------------
# simulation: a known truth
# --------------------------------------------------------------------------------------------

TRUE_RATES = np.array([0.0005, 0.03, 0.04, 0.015, 0.001])  # per person-year, by band
YOUNG = np.array([30000, 25000, 20000, 15000, 20000])  # an age structure like a minority group's
OLD = np.array([40000, 30000, 25000, 45000, 360000])  # like the White population's


def simulated_counts(rng, months=12):
    events = {
        g: rng.poisson(TRUE_RATES * pop * months / 12)
        for g, pop in (("White", OLD), ("Black", YOUNG))
    }
    counts = pd.DataFrame(
        [
            ("Anyshire", "2023-24", months, g, b, int(e))
            for g in events
            for b, e in zip(BANDS, events[g], strict=True)
        ],
        columns=["force", "period", "months_covered", "ethnicity", "age_band", "events"],
    )
    population = pd.DataFrame(
        [
            ("Anyshire", g, b, int(p))
            for g, pop in (("White", OLD), ("Black", YOUNG))
            for b, p in zip(BANDS, pop, strict=True)
        ],
        columns=["force", "ethnicity", "age_band", "population"],
    )
    return counts, population


def test_identical_age_specific_rates_give_a_crude_rri_far_from_1_and_a_standardised_one_near_1(
    rng,
):
    counts, population = simulated_counts(rng)
    out = age_standardised_rates(counts, population=population).set_index("group")
    black = out.loc["Black"]
    expected_crude = (TRUE_RATES @ YOUNG / YOUNG.sum()) / (TRUE_RATES @ OLD / OLD.sum())
    assert expected_crude > 2.5  # the truth: age structure alone makes the crude RRI large
    assert black["rri_crude"] > 2.2
    assert black["rri_standardised"] == pytest.approx(1, abs=0.12)
    assert black["rri_ci_lower"] < 1 < black["rri_ci_upper"]


def test_dobson_and_ratio_intervals_cover_the_truth(rng):
    """2,000 simulated areas: the 95% intervals cover the true DSR and the true ratio (1)."""
    reps = 2000
    weights = (OLD + YOUNG) / (OLD + YOUNG).sum()
    true_dsr = float(TRUE_RATES @ weights)
    young = rng.poisson(TRUE_RATES * YOUNG, size=(reps, 5))
    old = rng.poisson(TRUE_RATES * OLD, size=(reps, 5))
    d1, v1, lo1, hi1 = standardise._dsr_dobson(young, np.tile(YOUNG, (reps, 1)), weights, 0.05)
    d0, v0, lo0, hi0 = standardise._dsr_dobson(old, np.tile(OLD, (reps, 1)), weights, 0.05)
    for lo, hi in ((lo1, hi1), (lo0, hi0)):
        coverage = np.mean((lo <= true_dsr) & (true_dsr <= hi))
        assert 0.93 <= coverage <= 0.98, coverage
    _, rlo, rhi = standardise._dsr_ratio(d1, v1, d0, v0, norm.ppf(0.975))
    coverage = np.mean((rlo <= 1) & (1 <= rhi))
    assert 0.93 <= coverage <= 0.975, coverage


# --------------------------------------------------------------------------------------------
# missing age, missing population, statuses
# --------------------------------------------------------------------------------------------


def test_searches_without_an_age_band_are_excluded_and_counted():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    extra = pd.DataFrame(
        {"force": "Anyshire", "period": "2023-24", "months_covered": 12,
         "ethnicity": ["White", "Black"], "age_band": [None, None], "events": [7, 3]}
    )  # fmt: skip
    with pytest.warns(DataQualityWarning, match=r"10 of 110 person searches \(9.1%\) have no age"):
        out = age_standardised_rates(pd.concat([counts, extra]), population=population)
    clean = age_standardised_rates(counts, population=population)
    got = out.set_index("group")
    assert (
        got.loc["White", "events_missing_age"] == 7 and got.loc["Black", "events_missing_age"] == 3
    )
    assert got.loc["Black", "missing_age_share"] == pytest.approx(3 / 36)
    np.testing.assert_allclose(out["standardised_rate"], clean["standardised_rate"])
    entry = dispro.ledger.exclusions(out).iloc[-1]
    assert entry["step"] == "age_standardised_rates" and entry["rows"] == 10
    assert entry["action"] == "excluded"


def test_a_band_with_no_searches_is_a_zero_not_missing():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    population = pd.concat(
        [population, pd.DataFrame({"force": "Anyshire", "ethnicity": ["White", "Black"],
                                   "age_band": ["under 10"] * 2, "population": [5000, 900]})]
    )  # fmt: skip
    out = age_standardised_rates(counts, population=population).set_index("group")
    w = np.array([5900, 4500, 10200, 32500], dtype=float)
    dsr, *_ = dobson_by_hand([0, 8, 21, 4], [900, 500, 1200, 2500], w / w.sum())
    assert out.loc["Black", "standardised_rate"] == pytest.approx(1000 * dsr)
    assert out.loc["Black", "status"] == "ok"


def test_a_band_whose_census_cells_are_all_suppressed_blocks_the_group():
    # the Isle of Wight: every cell for Black residents under 25 is `c` in the export
    counts = pd.DataFrame(
        [
            ("Isle of Wight", "2023-24", 12, g, b, 20)
            for g in ("White", "Black", "Asian")
            for b in BANDS
        ],
        columns=["force", "period", "months_covered", "ethnicity", "age_band", "events"],
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = age_standardised_rates(counts)
    got = out.set_index("group")
    black = got.loc["Black"]
    assert black["status"] == "population_missing"
    assert np.isnan(black["standardised_rate"]) and np.isnan(black["rri_standardised"])
    assert (
        "under 10" in black["note"] and "18-24" in black["note"] and "suppressed" in black["note"]
    )
    assert got.loc["White", "status"] == "ok" and got.loc["Asian", "status"] == "ok"
    iow = quiet(census2021_age, "Isle of Wight").set_index(["ethnicity", "age_band"])
    assert black["suppressed_cells"] == iow.loc["Black", "suppressed_cells"].sum()
    messages = " ".join(str(w.message) for w in record)
    assert "suppressed ('c'" in messages and "biased upward" in messages
    # an explicit, opt-in allocation of the shortfall gives those bands a population
    filled = allocate_shortfall(quiet(census2021_age, "Isle of Wight"))
    out = quiet(age_standardised_rates, counts, population=filled)
    assert out.set_index("group").loc["Black", "status"] == "ok"


def test_statuses_zero_events_too_few_and_reference_unavailable():
    counts, population = made_up([12, 30, 25], [0, 0, 0], [4000, 9000, 30000], [500, 1200, 2500])
    out = age_standardised_rates(counts, population=population).set_index("group")
    black = out.loc["Black"]
    assert black["status"] == "zero_events" and black["standardised_rate"] == 0
    assert black["ci_lower"] == 0 and black["ci_upper"] > 0
    assert black["rri_standardised"] == 0 and np.isnan(black["rri_ci_upper"])

    counts, population = made_up([12, 30, 25], [1, 2, 1], [4000, 9000, 30000], [500, 1200, 2500])
    with pytest.warns(LowCountWarning, match="fewer than min_events=10"):
        out = age_standardised_rates(counts, population=population).set_index("group")
    assert out.loc["Black", "status"] == "too_few" and np.isnan(
        out.loc["Black", "standardised_rate"]
    )
    out = age_standardised_rates(counts, population=population, min_events=None).set_index("group")
    assert out.loc["Black", "status"] == "ok" and out.loc["Black", "standardised_rate"] > 0

    counts, population = made_up([1, 2, 1], [12, 30, 25], [4000, 9000, 30000], [500, 1200, 2500])
    with pytest.warns(LowCountWarning):
        out = age_standardised_rates(counts, population=population).set_index("group")
    assert out.loc["Black", "status"] == "reference_unavailable"
    assert (
        np.isnan(out.loc["Black", "rri_standardised"]) and out.loc["Black", "standardised_rate"] > 0
    )
    assert set(out["status"]) <= set(STANDARDISED_STATUSES)


def test_bad_input_is_refused_with_a_clear_message():
    counts, population = made_up([12, 30, 25], [8, 21, 4], [4000, 9000, 30000], [500, 1200, 2500])
    with pytest.raises(ReferenceGroupError, match="'Whte'.*did you mean 'White'"):
        age_standardised_rates(counts, population=population, reference="Whte")
    with pytest.raises(ParameterError, match="`standard` must be one of"):
        age_standardised_rates(counts, population=population, standard="european")
    with pytest.raises(ParameterError, match=r"lack the age band\(s\) \['25-34'\]"):
        age_standardised_rates(
            counts, population=population, standard=pd.Series({"10-17": 1, "18-24": 1})
        )
    with pytest.raises(ValidationError, match="'months_covered'"):
        age_standardised_rates(counts.drop(columns="months_covered"), population=population)
    with pytest.raises(ValidationError, match="age bands .* that the population does not have"):
        age_standardised_rates(counts.replace({"18-24": "18-25"}), population=population)
    with pytest.raises(ValidationError, match="must not be negative"):
        age_standardised_rates(counts.assign(events=-1), population=population)
    with pytest.raises(ParameterError, match="`alpha`"):
        age_standardised_rates(counts, population=population, alpha=5)


# --------------------------------------------------------------------------------------------
# records end to end, with the bundled Census population
# --------------------------------------------------------------------------------------------

HEADER = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]  # fmt: skip
LABELS = {
    "White": ("White - English/Welsh/Scottish/Northern Irish/British", "White"),
    "Black": ("Black/African/Caribbean/Black British - African", "Black"),
    "Not stated": ("Other ethnic group - Not stated", "Black"),
}
SLUG = {"Dorset": "dorset", "Wiltshire": "wiltshire"}
PER_MONTH = {  # searches per month by group and age band ("" = no age recorded)
    "White": {"10-17": 6, "18-24": 10, "25-34": 8, "over 34": 6, "": 2},
    "Black": {"10-17": 2, "18-24": 4, "25-34": 2, "over 34": 1, "": 1},
    "Not stated": {"18-24": 2},
}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Dorset and Wiltshire, financial year 2023-24; Wiltshire lacks 2023-09."""
    folder = tmp_path_factory.mktemp("standardise")
    for force in SLUG:
        for month in pd.period_range("2023-04", "2024-03", freq="M").strftime("%Y-%m"):
            if force == "Wiltshire" and month == "2023-09":
                continue
            rows = []
            for group, bands in PER_MONTH.items():
                for band, n in bands.items():
                    for i in range(n):
                        rows.append(["Person search", f"{month}-{1 + i % 28:02d}T10:00:00+00:00",
                                     "", "", "50.9", "-1.4", "Male", band, *LABELS[group],
                                     "Misuse of Drugs Act 1971 (section 23)", "Controlled drugs",
                                     "A no further action disposal", "False", "False"])  # fmt: skip
            path = folder / month / f"{month}-{SLUG[force]}-stop-and-search.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False)
    return dispro.read_police_uk(folder)


def test_records_with_the_bundled_population_match_a_hand_computation(records, source):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = age_standardised_rates(records)
    assert list(out.columns) == ["force", *AGE_STANDARDISED_COLUMNS]
    assert set(out["period"]) == {"2023-24"}
    for force, codes in (("Dorset", DORSET), ("Wiltshire", WILTSHIRE)):
        months = 11 if force == "Wiltshire" else 12
        ref = reference(source, codes)
        area_total = np.array([sum(ref[(g, b)][0] or 0 for g in GROUPS_5) for b in BANDS], float)
        weights = area_total / area_total.sum()
        for group in ("White", "Black"):
            obs = [PER_MONTH[group].get(b, 0) * months for b in BANDS]
            n = [ref[(group, b)][0] * months / 12 for b in BANDS]
            dsr, _, lower, upper = dobson_by_hand(obs, n, weights)
            row = out[(out["force"] == force) & (out["group"] == group)].iloc[0]
            assert row["events"] == sum(obs)
            assert row["events_missing_age"] == PER_MONTH[group][""] * months
            assert row["standardised_rate"] == pytest.approx(1000 * dsr)
            assert row["ci_lower"] == pytest.approx(1000 * lower)
            assert row["ci_upper"] == pytest.approx(1000 * upper)
            assert row["person_years"] == pytest.approx(sum(n))
            assert row["months_covered"] == months
            assert row["suppressed_cells"] == sum(ref[(group, b)][1] for b in BANDS)
        not_stated = out[(out["force"] == force) & (out["group"] == "Not stated")].iloc[0]
        assert not_stated["status"] == "no_population"
    # the under 10 band had no searches and is a zero, not missing
    assert (out.loc[out["group"] != "Not stated", "status"] == "ok").all()
    missing = sum(PER_MONTH[g].get("", 0) for g in PER_MONTH) * 23
    assert dispro.ledger.exclusions(out).iloc[-1]["rows"] == missing
    messages = [str(w.message) for w in record]
    assert any("have no age band" in m for m in messages)
    assert any("suppressed ('c'" in m and "Shortfall" in m for m in messages)
    shortfall = pd.DataFrame(out.attrs["shortfall"])
    assert set(shortfall["force"]) == {"Dorset", "Wiltshire"}


def test_national_standard_uses_england_and_wales(records, source):
    out = quiet(age_standardised_rates, records, standard="national")
    ref = reference(source, {k[0] for k in source["cells"]})
    national = np.array([sum(ref[(g, b)][0] or 0 for g in GROUPS_5) for b in BANDS], float)
    standard = pd.DataFrame(out.attrs["standard"])
    for force in ("Dorset", "Wiltshire"):
        got = standard[standard["force"] == force]["weight"].to_numpy()
        np.testing.assert_allclose(got, national / national.sum())


def test_standardised_results_can_be_concatenated(records):
    a = quiet(age_standardised_rates, records)
    b = quiet(age_standardised_rates, records, standard="national")
    assert len(pd.concat([a, b])) == 2 * len(a)
