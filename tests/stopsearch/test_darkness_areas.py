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
