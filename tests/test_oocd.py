"""The OOCD pack's analysis (dispro.oocd) against a hand count from the raw rows, an independent
Katz interval, and the full report's out-of-court stage (dispro.pathway.stage_matrix)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dispro import oocd
from dispro.pathway import stage_matrix

OOCD = ["caution", "conditional_caution", "community_resolution", "penalty_notice",
        "cannabis_khat_warning", "youth_caution", "youth_conditional_caution"]  # fmt: skip


def _records(seed=3, months=("2023-01", "2024-06"), forces=("Dorset", "Wiltshire"), n=6000):
    """Disposals records with planted shares (Black detected offenders less often out of court)."""
    rng = np.random.default_rng(seed)
    groups = np.array(["White", "Asian", "Black", "Mixed", "Other", "Not stated"])
    share = {
        "White": 0.5,
        "Asian": 0.45,
        "Black": 0.3,
        "Mixed": 0.5,
        "Other": 0.5,
        "Not stated": 0.5,
    }
    ethnicity = rng.choice(groups, size=n, p=[0.7, 0.08, 0.08, 0.05, 0.04, 0.05])
    out_of_court = rng.random(n) < np.vectorize(share.get)(ethnicity)
    days = pd.date_range(f"{months[0]}-01", pd.Period(months[1], freq="M").end_time, freq="D")
    youth = rng.random(n) < 0.15
    disposal = np.where(
        out_of_court,
        np.where(youth, rng.choice(["youth_caution", "youth_conditional_caution",
                                    "community_resolution"], size=n),
                 rng.choice(OOCD[:5], size=n)),
        "charge_summons",
    )  # fmt: skip
    return pd.DataFrame({
        "date": rng.choice(days, size=n),
        "force": rng.choice(list(forces), size=n),
        "ethnicity": ethnicity,
        "sex": rng.choice(["Male", "Female"], size=n, p=[0.8, 0.2]),
        "age_band": np.where(youth, "10-17", rng.choice(["18-20", "30-39", "50-59"], size=n)),
        "offence_group": rng.choice(["drug_offences", "theft_offences"], size=n),
        "disposal": disposal,
    })  # fmt: skip


@pytest.fixture(scope="module")
def pack():
    records = _records()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quarterly = oocd.quarterly_shares(
            records, period_start="2023-01", period_end="2024-06", area="Wessex", threshold=0
        )
    return records, quarterly


def _hand(records, quarter=None, **where):
    """OOCD disposals and detected offenders by group from the raw rows."""
    rows = records
    if quarter is not None:
        rows = rows[rows["date"].dt.to_period("Q").astype(str) == quarter]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    events = rows["disposal"].isin(OOCD).groupby(rows["ethnicity"]).sum()
    return pd.DataFrame({"events": events, "base": rows.groupby("ethnicity").size()})


def _katz(a, n, b, m, alpha=0.05):
    ratio = (a / n) / (b / m)
    se = np.sqrt(1 / a - 1 / n + 1 / b - 1 / m)
    z = stats.norm.ppf(1 - alpha / 2)
    return ratio, ratio * np.exp(-z * se), ratio * np.exp(z * se)


def test_the_quarters_end_at_the_last_quarter_with_every_month():
    records = _records()
    short = records[records["date"] < "2024-05-01"]  # 2024Q2 has April only
    pack, info = oocd.oocd_quarters(short, period_start="2023-01", period_end="2024-06")
    assert pack[-1] == "2024Q1" and info["latest"] == "2024Q1"
    assert info["incomplete"] == {"2024Q2": ["2024-04"]}
    # one force missing a month makes the quarter incomplete for the pack
    gap = records[
        ~((records["force"] == "Dorset") & (records["date"].dt.strftime("%Y-%m") == "2024-05"))
    ]
    pack, info = oocd.oocd_quarters(gap, period_start="2023-01", period_end="2024-06")
    assert pack[-1] == "2024Q1"


def test_shares_and_ratios_match_a_hand_count(pack):
    records, quarterly = pack
    assert quarterly.attrs["quarters"][-1] == "2024Q2"
    for area, quarter in [("Dorset", "2024Q2"), ("Wiltshire", "2023Q3"), ("Wessex", "2024Q2")]:
        rows = quarterly[(quarterly["area"] == area) & (quarterly["period"] == quarter)]
        subset = records if area == "Wessex" else records[records["force"] == area]
        hand = _hand(subset, quarter)
        white = hand.loc["White"]
        for _, row in rows.iterrows():
            a, n = hand.loc[row["group"]]
            assert (row["events"], row["base"]) == (a, n)
            assert row["rate"] == pytest.approx(100 * a / n)
            if row["group"] != "White":
                ratio, lo, hi = _katz(a, n, white["events"], white["base"])
                assert (row["rri"], row["ci_lower"], row["ci_upper"]) == pytest.approx(
                    (ratio, lo, hi)
                )


def test_a_quarter_is_the_full_reports_out_of_court_stage_for_the_same_records(pack):
    records, quarterly = pack
    quarter = records[records["date"].dt.to_period("Q").astype(str) == "2023Q4"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = stage_matrix({"disposals": quarter}, "out_of_court", by="force")
    mine = quarterly[(quarterly["period"] == "2023Q4") & (quarterly["area"] != "Wessex")]
    merged = full.merge(mine, left_on=["force", "group"], right_on=["area", "group"])
    assert len(merged) == len(full) == len(mine)
    for c in ("events", "base", "rate", "rri", "ci_lower", "ci_upper"):
        assert np.allclose(
            merged[f"{c}_x"].astype(float), merged[f"{c}_y"].astype(float), equal_nan=True
        )


def test_disposal_types_add_up_and_match_a_hand_count(pack):
    records, quarterly = pack
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = oocd.share_breakdowns(records, quarterly, threshold=0)
    types = parts["disposal"]
    assert set(types["disposal"]) == set(OOCD) == set(oocd.DISPOSAL_TYPES)
    summed = types.groupby(["area", "period", "group"])["events"].sum()
    whole = quarterly[quarterly["period"] == "2024Q2"].set_index(["area", "period", "group"])[
        "events"
    ]
    assert summed.sort_index().tolist() == whole.sort_index().tolist()
    dorset = records[records["force"] == "Dorset"]
    last = dorset[dorset["date"].dt.to_period("Q").astype(str) == "2024Q2"]
    row = types[
        (types["area"] == "Dorset") & (types["disposal"] == "caution") & (types["group"] == "Black")
    ].iloc[0]
    assert row["events"] == ((last["ethnicity"] == "Black") & (last["disposal"] == "caution")).sum()
    assert row["base"] == (last["ethnicity"] == "Black").sum()
    youth = parts["age_group"]
    row = youth[
        (youth["area"] == "Wessex") & (youth["age_group"] == "youth") & (youth["group"] == "White")
    ].iloc[0]
    hand = _hand(records, "2024Q2", age_band="10-17").loc["White"]
    assert (row["events"], row["base"]) == (hand["events"], hand["base"])
    sex = parts["sex"]
    row = sex[
        (sex["area"] == "Wiltshire") & (sex["sex"] == "Female") & (sex["group"] == "Asian")
    ].iloc[0]
    hand = _hand(records[records["force"] == "Wiltshire"], "2024Q2", sex="Female").loc["Asian"]
    assert (row["events"], row["base"]) == (hand["events"], hand["base"])


def test_the_change_test_finds_a_planted_change_and_not_an_absent_one():
    records = _records(n=20000, forces=("Hampshire",))
    q2 = records["date"].dt.to_period("Q").astype(str).eq("2024Q2").to_numpy()
    black = (records["ethnicity"] == "Black").to_numpy()
    # in 2024Q2, 85% of the Black out-of-court disposals become charges (the monthly test has
    # 4 degrees of freedom for the dispersion, so only a large change is clear)
    rng = np.random.default_rng(1)
    flip = (
        q2 & black & records["disposal"].isin(OOCD).to_numpy() & (rng.random(len(records)) < 0.85)
    )
    records.loc[flip, "disposal"] = "charge_summons"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quarterly = oocd.quarterly_shares(records, period_start="2023-01", period_end="2024-06",
                                          area="Hampshire", threshold=0)  # fmt: skip
        changes = oocd.share_changes(records, quarterly)
    black_rows = changes[changes["group"] == "Black"]
    assert (black_rows["estimate"] < 1).all() and black_rows["significant"].all()
    assert not changes.loc[changes["group"] == "Mixed", "significant"].any()
    before, after = black_rows.iloc[0][["earlier_rri", "latest_rri"]]
    assert black_rows.iloc[0]["estimate"] == pytest.approx(after / before, rel=0.02)
