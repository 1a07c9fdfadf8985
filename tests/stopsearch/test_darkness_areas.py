"""The veil-of-darkness test by area (dispro.stopsearch.darkness_areas): eligibility, findings,
and a reason that publishes no small count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dispro.stopsearch import veil_of_darkness
from dispro.stopsearch.darkness_areas import (
    DARKNESS_AREA_COLUMNS,
    POOLED,
    _finding,
    _short_reason,
    darkness_by_area,
)


def evening_searches(n: int = 3000, force: str = "Hampshire", seed: int = 1) -> pd.DataFrame:
    """Evening searches at Southampton with the Black share the same in light and dark."""
    rng = np.random.default_rng(seed)
    wall = (
        pd.Timestamp("2023-01-01 16:00")
        + pd.to_timedelta(rng.integers(0, 365, n), "D")
        + pd.to_timedelta(rng.uniform(0, 390, n), "min")
    )
    records = pd.DataFrame(
        {
            "date": wall.tz_localize(
                "Europe/London", ambiguous=True, nonexistent="shift_forward"
            ).tz_convert("UTC"),
            "force": force,
            "latitude": 50.90,
            "longitude": -1.40,
            "ethnicity": rng.choice(["Black", "White"], n, p=[0.3, 0.7]),
            "vehicle_only": False,
        }
    )
    records.attrs["clock"] = "utc"
    return records


def test_each_force_is_the_librarys_test_and_the_pooled_one_is_added_for_wessex():
    records = pd.concat(
        [evening_searches(force="Hampshire"), evening_searches(force="Dorset", seed=2)],
        ignore_index=True,
    )
    records.attrs["clock"] = "utc"
    table = darkness_by_area(records, area="Wessex", alpha=0.1)
    assert list(table.columns) == list(DARKNESS_AREA_COLUMNS)
    assert list(table["area"]) == ["Dorset", "Hampshire", POOLED]
    alone = veil_of_darkness(
        records[records["force"] == "Hampshire"], minority="Black", reference="White", alpha=0.1
    ).iloc[0]
    row = table.set_index("area").loc["Hampshire"]
    assert row["status"] == "ok"
    for c in ("odds_ratio", "ci_lower", "ci_upper", "p_value", "n"):
        assert row[c] == pytest.approx(alone[c], rel=1e-12)
    # no planted difference: no clear evidence either way
    assert (table["finding"] == "no_clear_difference").all()
    # one force: no pooled row
    one = darkness_by_area(records[records["force"] == "Dorset"], area="Dorset")
    assert list(one["area"]) == ["Dorset"]


def test_findings_need_p_below_alpha_and_an_interval_excluding_one():
    ok = {"status": "ok", "p_value": 0.01, "ci_lower": 0.6, "ci_upper": 0.9, "odds_ratio": 0.75}
    assert _finding(ok, 0.05) == "lower_after_dark"
    assert _finding({**ok, "ci_lower": 1.1, "ci_upper": 1.5, "odds_ratio": 1.3}, 0.05) == (
        "higher_after_dark"
    )
    assert _finding({**ok, "p_value": 0.2}, 0.05) == "no_clear_difference"
    assert _finding({**ok, "ci_upper": 1.02}, 0.05) == "no_clear_difference"
    assert _finding({**ok, "status": "ineligible"}, 0.05) == "not_eligible"


def test_the_reason_drops_its_small_counts():
    reason = (
        "fewer than 100 stops of each group in 2 of 2 area-years (stops in the window after "
        "exclusions; min_per_group=100): Dorset 2023: 3 Black, 60 White; Dorset 2024: 1 "
        "Black, 22 White. Note: 3 person searches of Black or White people were excluded "
        "because they fall in 1 area-month(s) ...: Dorset 2023-01"
    )
    out = _short_reason(reason, 4)
    assert out.startswith(
        "fewer than 100 stops of each group in 2 of 2 area-years (stops in the "
        "window after exclusions; min_per_group=100). Note: [c] person searches"
    )
    assert "Dorset 2023: 3" not in out and out.endswith("Dorset 2023-01")
    # a count above the threshold is kept
    assert _short_reason(reason.replace("Note: 3 ", "Note: 30 "), 4).count("Note: 30 ") == 1


def test_ineligible_data_get_a_short_reason():
    table = darkness_by_area(evening_searches(n=150), area="Hampshire", threshold=4)
    row = table.iloc[0]
    assert row["status"] == "ineligible" and row["finding"] == "not_eligible"
    assert "): " not in row["reason"]  # the per-area-year counts are left out


# --------------------------------------------------------------------------------------------
# the forces pooled: eligibility per year of the pool, force a control
# --------------------------------------------------------------------------------------------


def _year_of_searches(n: int, force: str, start: str, seed: int, black: float) -> pd.DataFrame:
    """Evening searches through the 12 months from ``start`` at one place per force."""
    rng = np.random.default_rng(seed)
    wall = (
        pd.Timestamp(f"{start}-01 16:00")
        + pd.to_timedelta(rng.integers(0, 365, n), "D")
        + pd.to_timedelta(rng.uniform(0, 390, n), "min")
    )
    place = {"Hampshire": (50.90, -1.40), "Dorset": (50.72, -1.88), "Wiltshire": (51.07, -1.80)}
    return pd.DataFrame(
        {
            "date": wall.tz_localize(
                "Europe/London", ambiguous=True, nonexistent="shift_forward"
            ).tz_convert("UTC"),
            "force": force,
            "latitude": place[force][0],
            "longitude": place[force][1],
            "ethnicity": rng.choice(["Black", "White"], n, p=[black, 1 - black]),
            "vehicle_only": False,
        }
    )


def test_the_pool_is_eligible_on_the_forces_together_when_no_force_is():
    # each force about 65 Black searches in the window a year (fewer than 100): alone
    # ineligible; together about 130 a year: the pooled test runs, with force a fixed effect
    records = pd.concat(
        [
            _year_of_searches(1400, f, "2023-01", i, 0.08)
            for i, f in enumerate(["Dorset", "Hampshire"])
        ],
        ignore_index=True,
    )
    records.attrs["clock"] = "utc"
    table = darkness_by_area(records, area="Wessex").set_index("area")
    assert (table.loc[["Dorset", "Hampshire"], "status"] == "ineligible").all()
    pooled = table.loc[POOLED]
    assert pooled["status"] == "ok" and pooled["areas"] == "Dorset; Hampshire"
    n_black = pooled["n_minority"]
    assert 100 <= n_black and all(table.loc[f, "n_minority"] < 100 for f in ("Dorset", "Hampshire"))
    # the same pool with one force thinned below 100 together: ineligible, and the reason
    # says it counted the years of the forces pooled
    thin = records[(records["force"] == "Hampshire") | (records.index % 4 == 0)]
    thin = thin[(thin["force"] == "Dorset") | (thin.index % 3 == 0)]
    thin.attrs = dict(records.attrs)
    row = darkness_by_area(thin, area="Wessex").set_index("area").loc[POOLED]
    assert row["status"] == "ineligible" and "years of the areas pooled" in row["reason"]


def test_a_year_is_twelve_months_from_the_first_month_of_the_data():
    # April 2022 to March 2023 is one year of data (not the stubs 2022 and 2023); the reason
    # names it as a span
    records = _year_of_searches(400, "Hampshire", "2022-04", 3, 0.3)
    records.attrs["clock"] = "utc"
    row = veil_of_darkness(records, min_per_group=10_000).iloc[0]
    assert "in 1 of 1 area-years" in row["reason"]
    assert "Hampshire 2022-04 to 2023-03:" in row["reason"]
    # data starting in January: calendar years, named as before
    january = _year_of_searches(400, "Hampshire", "2023-01", 3, 0.3)
    january.attrs["clock"] = "utc"
    assert "Hampshire 2023:" in veil_of_darkness(january, min_per_group=10_000).iloc[0]["reason"]
    with pytest.raises(Exception, match="pooled"):
        veil_of_darkness(records, pooled="yes")


def _reference_sample(records: pd.DataFrame) -> pd.DataFrame:
    """The analysis sample built from the raw rows with astral directly: Black and White person
    searches with coordinates, UK local clock time within each force's earliest to latest civil
    dusk, the time between sunset and civil dusk dropped, dark from civil dusk on."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from astral import Observer
    from astral.sun import dusk, sunset

    uk = ZoneInfo("Europe/London")
    rows = records[
        records["ethnicity"].isin(["Black", "White"])
        & ~records["vehicle_only"].astype(bool)
        & records["latitude"].notna()
        & records["longitude"].notna()
    ].copy()
    local = rows["date"].dt.tz_convert(uk)
    rows["clock_minute"] = local.dt.hour * 60 + local.dt.minute + local.dt.second / 60
    sun = [
        (sunset(Observer(la, lo), d, tzinfo=uk), dusk(Observer(la, lo), d, tzinfo=uk))
        for la, lo, d in zip(rows["latitude"], rows["longitude"], local.dt.date, strict=True)
    ]
    rows["sunset"] = [s.timestamp() for s, _ in sun]
    rows["dusk"] = [k.timestamp() for _, k in sun]
    rows["dusk_minute"] = [k.hour * 60 + k.minute + (k.second + k.microsecond / 1e6) / 60
                           for _, k in sun]  # fmt: skip
    bounds = rows.groupby("force")["dusk_minute"].agg(["min", "max"])
    lo = rows["force"].map(bounds["min"])
    hi = rows["force"].map(bounds["max"])
    rows = rows[(rows["clock_minute"] >= lo) & (rows["clock_minute"] <= hi)]
    t = rows["date"].map(dt.datetime.timestamp)
    rows = rows[~((t >= rows["sunset"]) & (t < rows["dusk"]))].copy()
    rows["dark"] = (rows["date"].map(dt.datetime.timestamp) >= rows["dusk"]).astype(int)
    rows["black"] = (rows["ethnicity"] == "Black").astype(int)
    kept = local.loc[rows.index]
    rows["fy"] = kept.dt.year - (kept.dt.month < 4)
    return rows


def test_the_demo_pooled_test_is_eligible_and_is_a_logit_with_force_as_a_control():
    import statsmodels.formula.api as smf

    from dispro import synth

    demo = synth.wessex(datasets="stop_search")["stop_search"]  # the demo's defaults
    table = darkness_by_area(demo, area="Wessex").set_index("area")
    pooled = table.loc[POOLED]
    assert pooled["status"] == "ok" and pooled["areas"] == "Dorset; Hampshire; Wiltshire"
    assert (table.drop(index=POOLED)["status"] == "ineligible").all()

    rows = _reference_sample(demo)
    # eligible on the forces together (every financial year of the demo's April-to-March
    # period), not force by force
    black_by_year = rows.groupby("fy")["black"].sum()
    assert len(black_by_year) == 3 and (black_by_year >= 100).all()
    white_by_year = (1 - rows["black"]).groupby(rows["fy"]).sum()
    assert (white_by_year >= 100).all()
    assert (rows.groupby(["force", "fy"])["black"].sum() < 100).any()
    assert pooled["n"] == len(rows) and pooled["n_minority"] == rows["black"].sum()

    fit = smf.logit(
        'black ~ dark + cr(clock_minute, df=6, constraints="center") + C(force)', rows
    ).fit(disp=0, tol=1e-10)
    beta, se = fit.params["dark"], fit.bse["dark"]
    assert pooled["odds_ratio"] == pytest.approx(np.exp(beta), rel=1e-6)
    assert pooled["ci_lower"] == pytest.approx(np.exp(beta - 1.959963984540054 * se), rel=1e-6)
    assert pooled["ci_upper"] == pytest.approx(np.exp(beta + 1.959963984540054 * se), rel=1e-6)
    assert pooled["p_value"] == pytest.approx(fit.pvalues["dark"], rel=1e-5)
    # the planted truth (no darkness effect) is inside the interval
    truth = synth.TRUTH["stop_search"]["darkness"]["odds_ratio"]
    assert pooled["ci_lower"] <= truth <= pooled["ci_upper"]
    assert pooled["finding"] == "no_clear_difference"
