"""Tests of dispro.stopsearch.hitrate, dispro.stopsearch.shares and dispro.plots.hitrate.

Every number is checked against an independent computation written here: the raw
data.police.uk CSVs read with the csv module (ethnic groups, outcomes and section 60 mapped by hand
in this file), Wilson intervals by their formula, statsmodels' two-sample intervals, or a
record-level statsmodels fit.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.special import expit  # noqa: E402
from statsmodels.stats.proportion import confint_proportions_2indep  # noqa: E402

import dispro  # noqa: E402
from dispro.errors import (  # noqa: E402
    DataQualityWarning,
    DisproError,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
)
from dispro.plots.hitrate import plot_hit_rates  # noqa: E402
from dispro.stopsearch.hitrate import (  # noqa: E402
    HIT_RATE_COLUMNS,
    INFRA_MARGINALITY,
    MISSING_LEVEL,
    MODEL_COLUMNS,
    hit_rate_model,
    hit_rates,
)
from dispro.stopsearch.shares import (  # noqa: E402
    SHARE_COLUMNS,
    section60_shares,
    strip_search_shares,
)

ROOT = Path(__file__).resolve().parents[2]
COL = "police_uk_stop_search_city_of_london"
GROUPS = ["Asian", "Black", "Mixed", "White", "Other", "Not stated"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ independent reading


def _legislation_flags() -> tuple[list[str], list[str]]:
    """(section 60 codes, other codes), read from the code list file with the csv module."""
    s60, other = [], []
    path = ROOT / "data_dictionary" / "codelists" / "legislation.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            (s60 if row["section60"].strip().lower() == "true" else other).append(row["code"])
    return s60, other


S60_CODES, OTHER_CODES = _legislation_flags()
PACE = OTHER_CODES[0]
S60 = S60_CODES[0]

_PREFIX = {
    "White": "White",
    "Black/African/Caribbean/Black British": "Black",
    "Asian/Asian British": "Asian",
    "Mixed/Multiple ethnic groups": "Mixed",
    "Other ethnic group": "Other",
}
_NO_FURTHER_ACTION = {"A no further action disposal", "Nothing found - no further action"}


def _self_group(label: str) -> str:
    """Self-defined label to the 5+1 group, by hand (every label in these files is 2011-style)."""
    if label == "" or label == "Other ethnic group - Not stated":
        return "Not stated"
    return _PREFIX[label.split(" - ")[0]]


def _raw_rows(realdata) -> list[dict]:
    rows = []
    for path in sorted((realdata / COL).rglob("*-stop-and-search.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


@pytest.fixture(scope="module")
def raw(realdata):
    return _raw_rows(realdata)


@pytest.fixture(scope="module")
def records(realdata):
    return dispro.read_police_uk(realdata / COL)


def _wilson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval by its formula."""
    z = stats.norm.ppf(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _independent_hits(raw, field: str) -> dict[str, dict[str, int]]:
    """Per group: searches, hits and exclusions, counted row by row from the raw CSVs."""
    out = {g: Counter() for g in GROUPS}
    for row in raw:
        g = _self_group(row["Self-defined ethnicity"])
        if row["Type"] == "Vehicle search":
            out[g]["vehicle"] += 1
        elif row["Legislation"] in S60_CODES:
            out[g]["s60"] += 1
        else:
            if field == "linked":
                value = row["Outcome linked to object of search"]
                if value == "":
                    out[g]["not_recorded"] += 1
                    continue
                hit = value == "True"
            else:
                value = row["Outcome"]
                if value == "":
                    out[g]["not_recorded"] += 1
                    continue
                hit = value not in _NO_FURTHER_ACTION
            out[g]["searches"] += 1
            out[g]["hits"] += int(hit)
    return out


# ------------------------------------------------------------------ hit rates on the real data


def test_columns_are_the_contract(records):
    assert list(hit_rates(records).columns) == list(HIT_RATE_COLUMNS)
    by = hit_rates(records, by=["force", "object_of_search"])
    assert list(by.columns) == ["force", "object_of_search", *HIT_RATE_COLUMNS]
    assert list(strip_search_shares(records, by="month").columns) == ["month", *SHARE_COLUMNS]


@pytest.mark.parametrize("outcome", ["linked", "any_further_action"])
def test_city_of_london_hit_rates_match_the_raw_csv(records, raw, outcome):
    expected = _independent_hits(raw, outcome)
    out = hit_rates(records, outcome=outcome).set_index("group")
    assert list(out.index) == GROUPS
    for g in GROUPS:
        e, row = expected[g], out.loc[g]
        assert row["searches"] == e["searches"]
        assert row["hits"] == e["hits"]
        assert row["excluded_vehicle_only"] == e["vehicle"]
        assert row["excluded_s60"] == e["s60"]
        assert row["excluded_not_recorded"] == e["not_recorded"]
        assert row["excluded_not_supplied"] == 0  # City of London supplied every month
        assert row["hit_rate"] == pytest.approx(e["hits"] / e["searches"], rel=1e-12)
        lo, hi = _wilson(e["hits"], e["searches"])
        assert row["ci_lower"] == pytest.approx(lo, rel=1e-10)
        assert row["ci_upper"] == pytest.approx(hi, rel=1e-10)
        assert row["status"] == "ok"
    total = sum(sum(c.values()) - c["hits"] for c in expected.values())
    assert total == len(raw) == 6855


def test_city_of_london_hit_rate_values(records):
    """The figures quoted in the report (outcome linked, self-defined groups), pinned."""
    out = hit_rates(records).set_index("group")
    assert out.loc["White", ["searches", "hits"]].tolist() == [2303, 876]
    assert out.loc["Black", ["searches", "hits"]].tolist() == [803, 294]
    assert out.loc["Asian", ["searches", "hits"]].tolist() == [860, 317]
    assert out.loc["White", "hit_rate"] == pytest.approx(0.380373, abs=1e-6)
    assert out.loc["Black", "hit_rate"] == pytest.approx(0.366127, abs=1e-6)


def test_difference_and_ratio_intervals_match_statsmodels(records):
    out = hit_rates(records, alpha=0.1).set_index("group")
    ref = out.loc["White"]
    assert ref["difference"] == 0 and ref["ratio"] == 1
    assert np.isnan(ref[["difference_ci_lower", "difference_ci_upper", "ratio_ci_lower",
                         "ratio_ci_upper"]].to_numpy(dtype=float)).all()  # fmt: skip
    for g in ["Asian", "Black", "Mixed", "Other", "Not stated"]:
        row = out.loc[g]
        args = (row["hits"], row["searches"], ref["hits"], ref["searches"])
        lo, hi = confint_proportions_2indep(*args, method="newcomb", compare="diff", alpha=0.1)
        assert (row["difference_ci_lower"], row["difference_ci_upper"]) == pytest.approx(
            (lo, hi), rel=1e-9
        )
        lo, hi = confint_proportions_2indep(*args, method="log", compare="ratio", alpha=0.1)
        assert (row["ratio_ci_lower"], row["ratio_ci_upper"]) == pytest.approx((lo, hi), rel=1e-9)
        assert row["ratio"] == pytest.approx((args[0] / args[1]) / (args[2] / args[3]), rel=1e-12)
        assert row["difference"] == pytest.approx(args[0] / args[1] - args[2] / args[3], abs=1e-12)


def test_by_slices_add_up_and_match_pandas(records):
    by = hit_rates(records, by="object_of_search")
    total = hit_rates(records)
    summed = by.groupby("group", sort=False)[["searches", "hits", "excluded_s60"]].sum()
    assert summed.loc[GROUPS].to_numpy().tolist() == total.set_index("group").loc[
        GROUPS, ["searches", "hits", "excluded_s60"]].to_numpy().tolist()  # fmt: skip
    # one slice by plain pandas on the rows
    keep = (
        ~records["vehicle_only"].fillna(False).astype(bool)
        & ~records["legislation"].isin(S60_CODES)
        & records["outcome_linked"].notna()
        & (records["object_of_search"] == "Stolen goods")
    )
    rows = records[keep]
    expected = rows.groupby("ethnicity")["outcome_linked"].agg(["size", "sum"])
    cell = by[by["object_of_search"] == "Stolen goods"].set_index("group")
    for g, e in expected.iterrows():
        assert cell.loc[g, "searches"] == e["size"] and cell.loc[g, "hits"] == e["sum"]
    # each slice has its own reference
    white = cell.loc["White"]
    assert cell.loc["Black", "reference_hit_rate"] == pytest.approx(
        white["hits"] / white["searches"]
    )
    # missing object of search forms its own slice
    assert by["object_of_search"].isna().any()


def test_caveat_and_ledger_are_carried(records):
    out = hit_rates(records)
    assert out.attrs["notes"][0] == INFRA_MARGINALITY
    for name in ("Ayres", "Knowles, Persico and Todd 2001", "Simoiu"):
        assert name in INFRA_MARGINALITY
        assert name in hit_rates.__doc__
    assert "Newcombe" in " ".join(out.attrs["notes"]) and "Katz" in " ".join(out.attrs["notes"])
    ledger = dispro.ledger.exclusions(out)
    mine = ledger[ledger["step"] == "hit_rates"].set_index("rule")["rows"]
    assert mine.sum() == out[["excluded_vehicle_only", "excluded_s60", "excluded_not_supplied",
                              "excluded_not_recorded"]].to_numpy().sum()  # fmt: skip
    assert (ledger["step"] == "read_police_uk").any()  # the reader's entries come first


# ------------------------------------------------------------------ synthetic records


def _frame(ethnicity, linked, *, month="2024-01", legislation=None, force="Demo", **extra):
    n = len(ethnicity)
    return pd.DataFrame(
        {
            "force": force,
            "month": month,
            "vehicle_only": pd.array([False] * n, dtype="boolean"),
            "legislation": PACE if legislation is None else legislation,
            "ethnicity": ethnicity,
            "outcome_linked": pd.array(linked, dtype="boolean"),
            "removal_outer_clothing": pd.array(linked, dtype="boolean"),
            **extra,
        }
    )


def test_group_with_zero_searches_gets_a_row_and_a_status():
    frame = _frame(["White"] * 5 + ["Black"] * 5 + ["Mixed"] * 2,
                   [True, False, False, True, False] * 2 + [True, True],
                   legislation=[PACE] * 10 + [S60] * 2)  # fmt: skip
    out = hit_rates(frame).set_index("group")
    mixed = out.loc["Mixed"]
    assert mixed["searches"] == 0 and mixed["excluded_s60"] == 2
    assert mixed["status"] == "no_searches"
    assert np.isnan(
        mixed[["hit_rate", "ci_lower", "difference", "ratio"]].to_numpy(dtype=float)
    ).all()


def test_no_hits_in_a_group_and_in_the_reference():
    frame = _frame(["White"] * 5 + ["Black"] * 5, [False] * 5 + [True, False, False, False, False])
    out = hit_rates(frame).set_index("group")
    assert out.loc["White", "hit_rate"] == 0
    assert np.isnan(out.loc["Black", "ratio"])  # no ratio to a reference with no hits
    assert out.loc["Black", "difference"] == pytest.approx(0.2)
    frame = _frame(["White"] * 5 + ["Black"] * 5, [True] * 5 + [False] * 5)
    out = hit_rates(frame).set_index("group")
    assert out.loc["Black", "ratio"] == 0
    assert np.isnan(out.loc["Black", "ratio_ci_lower"])
    assert out.loc["Black", "ci_lower"] == 0 and out.loc["Black", "ci_upper"] > 0


def test_a_month_not_supplied_is_never_zero():
    jan = _frame(["White", "White", "Black", "Black"], [True, False, True, False], month="2024-01")
    feb = _frame(["White", "Black", "Black"], [None, None, None], month="2024-02")
    frame = pd.concat([jan, feb], ignore_index=True)
    overall = hit_rates(frame).set_index("group")
    assert overall.loc["Black", "excluded_not_supplied"] == 2
    assert overall.loc["Black", "searches"] == 2
    assert overall.loc["Black", "status"] == "partly_supplied"
    monthly = hit_rates(frame, by="month")
    feb_rows = monthly[monthly["month"] == "2024-02"]
    assert (feb_rows["status"] == "not_supplied").all()
    assert feb_rows["hit_rate"].isna().all()
    # a blank in a supplied month is "not recorded", not "not supplied"
    mar = _frame(["White", "Black"], [True, None], month="2024-03")
    out = hit_rates(pd.concat([jan, mar], ignore_index=True)).set_index("group")
    assert out.loc["Black", "excluded_not_recorded"] == 1
    assert out.loc["Black", "excluded_not_supplied"] == 0


def test_coverage_flags_keep_a_filtered_subset_honest(records):
    """A subset whose rows in a month are all blank is 'not recorded' if the force supplied it."""
    month = "2019-01"
    edited = records.copy()
    blank = (edited["month"] == month) & (edited["ethnicity"] == "Black")
    edited.loc[blank, "outcome_linked"] = pd.NA
    black = edited[edited["ethnicity"] == "Black"]
    assert black.attrs.get("coverage")  # pandas carries attrs through the filter
    row = hit_rates(black, reference="Black").set_index("group").loc["Black"]
    person = blank & ~edited["vehicle_only"].astype(bool) & ~edited["legislation"].isin(S60_CODES)
    assert row["excluded_not_supplied"] == 0
    assert row["excluded_not_recorded"] == 23 + int(person.sum())
    # without the coverage table the subset's month looks not supplied
    bare = black.copy()
    bare.attrs = {}
    row = hit_rates(bare, reference="Black").set_index("group").loc["Black"]
    assert row["excluded_not_supplied"] == int(person.sum())


def test_field_entirely_not_supplied_raises():
    frame = _frame(["White", "Black", "Black"], [None, None, None])
    with pytest.raises(DisproError, match=r"'outcome_linked'.*not supplied.*all 3 row\(s\)"):
        hit_rates(frame)
    with pytest.raises(DisproError, match="'outcome_linked'"):
        hit_rate_model(frame)
    with pytest.raises(DisproError, match=r"'removal_outer_clothing'.*all 3 row\(s\)"):
        strip_search_shares(frame)


@pytest.mark.parametrize(
    ("drop", "kwargs", "pattern"),
    [
        ("legislation", {}, "no 'legislation' column, needed to exclude section 60"),
        ("outcome_linked", {}, "no 'outcome_linked' column"),
        ("vehicle_only", {}, "no 'vehicle_only' column"),
        ("month", {}, "no 'month' column"),
        (
            None,
            {"group": "ethnicty"},
            "'ethnicty' \\(given as `group`\\).*did you mean 'ethnicity'",
        ),
        (None, {"by": "forse"}, "'forse' \\(given as `by`\\).*did you mean 'force'"),
    ],
)
def test_missing_columns_are_named(records, drop, kwargs, pattern):
    frame = records.drop(columns=drop) if drop else records
    with pytest.raises(ValidationError, match=pattern):
        hit_rates(frame, **kwargs)


def test_bad_parameters_and_inputs():
    frame = _frame(["White", "Black"], [True, False])
    with pytest.raises(ParameterError, match="`outcome` must be one of"):
        hit_rates(frame, outcome="arrest")
    with pytest.raises(ParameterError, match="`alpha`"):
        hit_rates(frame, alpha=5)
    with pytest.raises(ParameterError, match="must not also be a `by`"):
        hit_rates(frame, by="ethnicity")
    with pytest.raises(ReferenceGroupError, match="'Whit'.*did you mean 'White'"):
        hit_rates(frame, reference="Whit")
    with pytest.raises(DisproError, match="0 rows"):
        hit_rates(frame.iloc[:0])
    with pytest.raises(ParameterError, match="DataFrame"):
        hit_rates([1, 2])
    gaps = frame.assign(ethnicity=["White", None])
    with pytest.raises(ValidationError, match=r"no value in 1 of 2 row\(s\)"):
        hit_rates(gaps)


# ------------------------------------------------------------------ coverage of the intervals


@pytest.mark.slow
def test_intervals_cover_in_simulation(rng):
    """Wilson, Newcombe and Katz intervals cover about 95% over 2,000 simulated slices."""
    reps, n_white, n_black, p_white, p_black = 2000, 200, 120, 0.35, 0.25
    rep = np.repeat(np.arange(reps), n_white + n_black)
    ethnicity = np.tile(np.array(["White"] * n_white + ["Black"] * n_black), reps)
    p = np.where(ethnicity == "White", p_white, p_black)
    frame = _frame(ethnicity, rng.random(len(p)) < p, rep=rep)
    out = hit_rates(frame, by="rep")
    black = out[out["group"] == "Black"]
    cover = {
        "wilson": ((black["ci_lower"] <= p_black) & (p_black <= black["ci_upper"])).mean(),
        "newcombe": ((black["difference_ci_lower"] <= p_black - p_white)
                     & (p_black - p_white <= black["difference_ci_upper"])).mean(),
        "katz": ((black["ratio_ci_lower"] <= p_black / p_white)
                 & (p_black / p_white <= black["ratio_ci_upper"])).mean(),
    }  # fmt: skip
    for name, value in cover.items():
        assert 0.93 <= value <= 0.97, (name, value)


# ------------------------------------------------------------------ the model


def _simulate(rng, *, n=30_000, thresholds=None, spread=None, s60_black=0):
    """Searches by officers who search when P(carrying) exceeds a group's threshold.

    P(carrying) = expit(-1.5 + force effect + object effect + N(0, spread_g)); the share of Black
    people differs by force (so raw rates are confounded by force); a hit is Bernoulli(P).
    ``s60_black`` adds that many section 60 searches of Black people with a 5% hit rate, which
    must be excluded.
    """
    thresholds = thresholds or {"White": 0.45, "Black": 0.45}
    spread = spread or {"White": 1.2, "Black": 1.2}
    force = rng.choice(np.array(["Alpha", "Bravo", "Charlie"]), n)
    black = rng.random(n) < np.select([force == "Alpha", force == "Bravo"], [0.5, 0.25], 0.1)
    ethnicity = np.where(black, "Black", "White")
    obj = rng.choice(np.array(["drugs", "weapons"]), n, p=[0.7, 0.3])
    effect = np.select([force == "Alpha", force == "Bravo"], [-0.5, 0.0], 0.5) + np.where(
        obj == "drugs", 0.0, -0.7
    )
    sd = np.where(black, spread["Black"], spread["White"])
    prob = expit(-1.5 + effect + rng.normal(0, 1, n) * sd)
    searched = prob > np.where(black, thresholds["Black"], thresholds["White"])
    frame = _frame(ethnicity[searched], rng.random(searched.sum()) < prob[searched],
                   force=force[searched], object_of_search=obj[searched])  # fmt: skip
    if s60_black:
        extra = _frame(["Black"] * s60_black, rng.random(s60_black) < 0.05, legislation=S60,
                       force=rng.choice(np.array(["Alpha", "Bravo", "Charlie"]), s60_black),
                       object_of_search="weapons")  # fmt: skip
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def test_model_columns_and_city_of_london(records):
    with pytest.warns(DataQualityWarning, match=r"\['force'\] have a single level"):
        out = hit_rate_model(records)
    assert list(out.columns) == list(MODEL_COLUMNS)
    assert out.attrs["dropped_controls"] == ["force"]
    assert out.attrs["controls"] == ["object_of_search"]
    assert any("single level" in n for n in out.attrs["notes"])
    assert out.attrs["notes"][0] == INFRA_MARGINALITY
    group_rows = out[out["variable"] == "ethnicity"]
    assert group_rows["level"].tolist() == ["Asian", "Black", "Mixed", "Other", "Not stated"]
    # the model uses the same searches as the table
    assert out.attrs["cells"]["searches"].sum() == hit_rates(records)["searches"].sum()
    model = out.attrs["model"]
    assert np.allclose(out["estimate"], np.exp(model.params[out["term"]].to_numpy()))
    assert any("Fireworks" in n and "no hits or only hits" in n for n in out.attrs["notes"])


def test_collapsed_fit_equals_record_level_fit_on_real_data(records):
    """Fit by hand on the rows (pandas + statsmodels) and compare to 1e-8."""
    keep = (
        ~records["vehicle_only"].fillna(False).astype(bool)
        & ~records["legislation"].isin(S60_CODES)
        & records["outcome_linked"].notna()
    )
    rows = records.loc[keep, ["ethnicity", "object_of_search"]].copy()
    rows["object_of_search"] = rows["object_of_search"].fillna(MISSING_LEVEL)
    rows["hit"] = records.loc[keep, "outcome_linked"].astype(int).to_numpy()
    reference = rows["object_of_search"].value_counts().idxmax()
    formula = (
        'hit ~ C(ethnicity, Treatment(reference="White")) '
        f'+ C(object_of_search, Treatment(reference="{reference}"))'
    )
    full = smf.glm(formula, data=rows, family=sm.families.Binomial()).fit(tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        out = hit_rate_model(records)
    collapsed = out.attrs["model"]
    assert collapsed.params.index.tolist() == full.params.index.tolist()
    # two levels are not identified (1 crossbow search, all hits; 11 fireworks searches, none):
    # their estimates run off towards +-infinity and stop wherever IRLS converges, so they are
    # compared only in sign and size; every identified parameter agrees to 1e-8
    identified = full.bse.to_numpy() < 100
    assert identified.sum() == len(identified) - 2
    np.testing.assert_allclose(
        collapsed.params.to_numpy()[identified],
        full.params.to_numpy()[identified],
        rtol=0,
        atol=1e-8,
    )
    np.testing.assert_allclose(
        collapsed.bse.to_numpy()[identified], full.bse.to_numpy()[identified], rtol=0, atol=1e-8
    )
    assert (np.abs(collapsed.params.to_numpy()[~identified]) > 20).all()
    ethn = out.set_index("level").loc["Black"]
    term = 'C(ethnicity, Treatment(reference="White"))[T.Black]'
    assert ethn["estimate"] == pytest.approx(math.exp(full.params[term]), abs=1e-8)
    lo, hi = np.exp(full.conf_int().loc[term])
    assert (ethn["ci_lower"], ethn["ci_upper"]) == pytest.approx((lo, hi), abs=1e-8)
    assert ethn["p_value"] == pytest.approx(full.pvalues[term], abs=1e-8)


def test_collapsed_fit_equals_record_level_fit_with_two_controls(rng):
    frame = _simulate(rng, n=8000, thresholds={"White": 0.4, "Black": 0.3})
    out = hit_rate_model(frame, controls=["force", "object_of_search"])
    rows = frame.assign(hit=frame["outcome_linked"].astype(int))
    force_ref = rows["force"].value_counts().idxmax()  # the commonest level is the reference
    formula = (
        'hit ~ C(ethnicity, Treatment(reference="White")) '
        f'+ C(force, Treatment(reference="{force_ref}"))'
        ' + C(object_of_search, Treatment(reference="drugs"))'
    )
    assert out.attrs["control_reference"] == {"force": force_ref, "object_of_search": "drugs"}
    full = smf.glm(formula, data=rows, family=sm.families.Binomial()).fit(tol=1e-12)
    model = out.attrs["model"]
    np.testing.assert_allclose(model.params.to_numpy(), full.params.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(model.bse.to_numpy(), full.bse.to_numpy(), atol=1e-8)
    assert len(out.attrs["cells"]) == 2 * 3 * 2


@pytest.mark.slow
def test_model_detects_a_lower_threshold_with_power(rng):
    """Black people searched at a lower threshold (0.30 against 0.45): lower hit rate, OR < 1."""
    reps, rejected, ratios = 30, 0, []
    for _ in range(reps):
        frame = _simulate(rng, thresholds={"White": 0.45, "Black": 0.30}, s60_black=300)
        out = hit_rate_model(frame).set_index("level")
        rejected += out.loc["Black", "ci_upper"] < 1
        ratios.append(out.loc["Black", "estimate"])
    assert rejected / reps >= 0.9
    assert np.mean(ratios) < 0.8
    table = hit_rates(frame).set_index("group")
    assert table.loc["Black", "excluded_s60"] == 300
    assert table.loc["Black", "difference_ci_upper"] < 0


@pytest.mark.slow
def test_model_holds_its_size_with_equal_thresholds(rng):
    """Equal thresholds, equal risk distributions, s60 searches of Black people mixed in and
    confounding by force: the odds ratio test rejects at about its nominal 5%."""
    reps, rejected, ratios = 60, 0, []
    for _ in range(reps):
        frame = _simulate(rng, thresholds={"White": 0.4, "Black": 0.4}, s60_black=300)
        out = hit_rate_model(frame).set_index("level")
        rejected += out.loc["Black", "p_value"] < 0.05
        ratios.append(out.loc["Black", "estimate"])
    assert rejected / reps <= 0.12
    assert abs(np.mean(np.log(ratios))) < 0.05


def test_infra_marginality_equal_thresholds_can_differ_in_hit_rate(rng):
    """The caveat in numbers: one threshold for all, but Black people's risks are less spread
    out, so fewer of those searched are far above it and the hit rate is lower."""
    frame = _simulate(rng, n=60_000, thresholds={"White": 0.4, "Black": 0.4},
                      spread={"White": 1.5, "Black": 0.6})  # fmt: skip
    row = hit_rates(frame).set_index("group").loc["Black"]
    assert row["difference_ci_upper"] < 0


def test_model_degenerate_inputs():
    frame = _frame(["White"] * 6 + ["Black"] * 6, [True, False] * 6, object_of_search="drugs")
    frame["force"] = ["A", "B"] * 6
    with pytest.warns(DataQualityWarning, match="object_of_search"):
        out = hit_rate_model(frame)
    assert out.attrs["controls"] == ["force"]
    with pytest.raises(ValidationError, match="'area' \\(given as `controls`\\)"):
        hit_rate_model(frame, controls=["area"])
    with pytest.raises(ReferenceGroupError, match="no searches left"):
        hit_rate_model(frame.assign(legislation=np.where(frame["ethnicity"] == "White", S60, PACE)),
                       controls=None)  # fmt: skip
    with pytest.raises(DisproError, match="only one group"):
        hit_rate_model(frame[frame["ethnicity"] == "White"], controls=None)
    with pytest.raises(ParameterError, match="twice"):
        hit_rate_model(frame, controls=["force", "force"])


# ------------------------------------------------------------------ shares on the real data


def _independent_shares(raw) -> tuple[dict, dict]:
    strip, s60 = {g: Counter() for g in GROUPS}, {g: Counter() for g in GROUPS}
    for row in raw:
        if row["Type"] == "Vehicle search":
            continue
        g = _self_group(row["Self-defined ethnicity"])
        value = row["Removal of more than just outer clothing"]
        if value != "":
            strip[g]["n"] += 1
            strip[g]["k"] += value == "True"
        if row["Legislation"] != "":
            s60[g]["n"] += 1
            s60[g]["k"] += row["Legislation"] in S60_CODES
    return strip, s60


def test_city_of_london_strip_search_and_s60_shares_match_the_raw_csv(records, raw):
    strip, s60 = _independent_shares(raw)
    for func, expected in ((strip_search_shares, strip), (section60_shares, s60)):
        out = func(records).set_index("group")
        for g in GROUPS:
            row = out.loc[g]
            assert (row["searches"], row["events"]) == (expected[g]["n"], expected[g]["k"]), (
                func,
                g,
            )
            assert row["share"] == pytest.approx(expected[g]["k"] / expected[g]["n"], rel=1e-12)
            lo, hi = _wilson(expected[g]["k"], expected[g]["n"])
            assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi), rel=1e-10)
            assert row["status"] == "ok"
    out = strip_search_shares(records).set_index("group")
    assert out.loc["Asian", ["searches", "events"]].tolist() == [878, 57]
    assert section60_shares(records)["events"].sum() == 123


def test_strip_search_not_supplied_is_reported_as_such():
    jan = _frame(["White", "White", "Black"], [True, False, False], month="2024-01")
    feb = _frame(["White", "Black"], [None, None], month="2024-02")
    frame = pd.concat([jan, feb], ignore_index=True)
    out = strip_search_shares(frame, by="month")
    feb_rows = out[out["month"] == "2024-02"]
    assert (feb_rows["status"] == "not_supplied").all() and feb_rows["share"].isna().all()
    assert feb_rows["excluded_not_supplied"].sum() == 2
    overall = strip_search_shares(frame).set_index("group")
    assert overall.loc["Black", "status"] == "partly_supplied"
    assert overall.loc["Black", "share"] == 0 and overall.loc["Black", "searches"] == 1
    assert "never 0%" in " ".join(overall.attrs["notes"])


def test_section60_shares_exclude_blank_legislation():
    frame = _frame(["White"] * 3 + ["Black"] * 3, [True] * 6,
                   legislation=[S60, PACE, None, S60, S60, PACE])  # fmt: skip
    out = section60_shares(frame).set_index("group")
    assert out.loc["White", ["searches", "events", "excluded_not_recorded"]].tolist() == [2, 1, 1]
    assert out.loc["Black", "share"] == pytest.approx(2 / 3)
    with pytest.raises(ValidationError, match="no 'legislation' column"):
        section60_shares(frame.drop(columns="legislation"))


# ------------------------------------------------------------------ the plot


def test_plot_hit_rates_draws_one_point_per_rate(records):
    table = hit_rates(records)
    ax = plot_hit_rates(table)
    assert isinstance(ax, matplotlib.axes.Axes)
    points = ax.lines[0].get_xdata()
    np.testing.assert_allclose(np.sort(points), np.sort(table["hit_rate"].to_numpy()))
    assert [t.get_text() for t in ax.get_yticklabels()] == GROUPS
    _, given = plt.subplots()
    assert plot_hit_rates(strip_search_shares(records), ax=given) is given


def test_plot_marks_rows_without_a_rate():
    jan = _frame(["White", "Black"], [True, False], month="2024-01")
    feb = _frame(["White", "Black"], [None, None], month="2024-02")
    table = hit_rates(pd.concat([jan, feb], ignore_index=True), by="month")
    ax = plot_hit_rates(table)
    assert sum(t.get_text() == "not supplied" for t in ax.texts) == 2
    assert len(ax.lines[0].get_xdata()) == 2
    with pytest.raises(ValidationError, match="lacks the column"):
        plot_hit_rates(table.drop(columns="ci_upper"))
