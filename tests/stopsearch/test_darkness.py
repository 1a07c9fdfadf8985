"""Tests of the veil of darkness (dispro.stopsearch.darkness) and its plot.

Reference values come from outside the module under test: the sun from an independent
implementation of the NOAA solar calculator equations (Meeus) and from astral called directly;
the City of London counts from a row-by-row pandas + astral recomputation written here; the
statistical behaviour from simulations with a planted truth.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import math
import re
import warnings
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from astral import Observer  # noqa: E402
from astral.sun import dusk, sunset  # noqa: E402

import dispro  # noqa: E402
from dispro.errors import DataQualityWarning, ParameterError, ValidationError  # noqa: E402
from dispro.plots.darkness import plot_darkness  # noqa: E402
from dispro.stopsearch import _darkness_sample, _sun  # noqa: E402
from dispro.stopsearch.darkness import (  # noqa: E402
    DARKNESS_COLUMNS,
    SHARES_COLUMNS,
    darkness_shares,
    veil_of_darkness,
)

UK = ZoneInfo("Europe/London")
CITY = "police_uk_stop_search_city_of_london"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# synthetic Wessex stops with a planted truth
# --------------------------------------------------------------------------------------------

#: (force, latitude, longitude): Southampton, Portsmouth, Bournemouth.
PLACES = (("Hampshire", 50.90, -1.40), ("Hampshire", 50.80, -1.09), ("Dorset", 50.72, -1.88))
YEAR_DAYS = [dt.date(2023, 1, 1) + dt.timedelta(days=i) for i in range(365)]


def _dusk_table() -> np.ndarray:
    """Civil dusk (UTC epoch seconds) for each place and day of 2023, from astral directly."""
    out = np.empty((len(PLACES), len(YEAR_DAYS)))
    for k, (_, lat, lon) in enumerate(PLACES):
        observer = Observer(latitude=lat, longitude=lon)
        for i, day in enumerate(YEAR_DAYS):
            out[k, i] = dusk(observer, day, tzinfo=UK).timestamp()
    return out


DUSK = _dusk_table()


def simulate(rng, n=2000, odds_ratio=1.0, *, clock="utc", start=16 * 60, end=22.5 * 60):
    """Stops across 2023 at three Wessex places, UK local clock times uniform over the evening.

    ``logit P(Black) = logit(0.35) + 0.003 (minute - 19:00) + 0.3 [Dorset] + log(odds_ratio) dark``
    where ``dark`` means after civil dusk: the share of Black people among those stopped
    drifts with clock time (which the spline must absorb) and changes with darkness only
    through ``odds_ratio``.
    """
    place = rng.choice(len(PLACES), size=n, p=[0.35, 0.25, 0.40])
    day = rng.integers(0, len(YEAR_DAYS), n)
    minute = rng.uniform(start, end, n)
    wall = pd.Timestamp("2023-01-01") + pd.to_timedelta(day, "D") + pd.to_timedelta(minute, "min")
    instant = wall.tz_localize(UK, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")
    epoch = (instant - pd.Timestamp("1970-01-01", tz="UTC")).total_seconds().to_numpy()
    dark = epoch >= DUSK[place, day]
    logit = (
        math.log(0.35 / 0.65)
        + 0.003 * (minute - 19 * 60)
        + np.where(place == 2, 0.3, 0.0)
        + math.log(odds_ratio) * dark
    )
    black = rng.random(n) < 1 / (1 + np.exp(-logit))
    records = pd.DataFrame(
        {
            "date": instant,
            "force": [PLACES[p][0] for p in place],
            "latitude": [PLACES[p][1] for p in place],
            "longitude": [PLACES[p][2] for p in place],
            "ethnicity": np.where(black, "Black", "White"),
            "vehicle_only": False,
        }
    )
    records.attrs["clock"] = clock
    return records


@contextlib.contextmanager
def one_blas_thread():
    """Run with a single BLAS thread, restoring the previous count afterwards.

    Hundreds of small GLM fits spend most of their time in OpenBLAS thread hand-offs when the
    machine is busy (measured here: lstsq + svd of a 1,500 x 9 matrix took 200 ms with 2 threads
    on a loaded 2-core machine, 3 ms with 1). Uses threadpoolctl when installed, else the
    set/get functions of the OpenBLAS that numpy loaded; does nothing if neither is found.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    setters = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(
                {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
            )
        for path in paths:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        setters.append((put, get()))
    except OSError:
        setters = []
    for put, _ in setters:
        put(1)
    try:
        yield
    finally:
        for put, before in setters:
            put(before)


def _run(rng, replicates, odds_ratio):
    with one_blas_thread():
        rows = [veil_of_darkness(simulate(rng, odds_ratio=odds_ratio)) for _ in range(replicates)]
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------------------------
# (1) simulation: calibration under no effect, power under a planted effect
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_interval_covers_no_effect_about_95_percent(rng):
    table = _run(rng, 200, odds_ratio=1.0)
    assert (table["status"] == "ok").all()
    covers = (table["ci_lower"] <= 1) & (table["ci_upper"] >= 1)
    assert 0.90 <= covers.mean() <= 0.99
    assert 0.9 < np.exp(table["coefficient"].mean()) < 1.1
    assert 0.01 <= (table["p_value"] < 0.05).mean() <= 0.10


@pytest.mark.slow
def test_planted_lower_share_after_dark_is_found(rng):
    table = _run(rng, 100, odds_ratio=0.6)
    assert (table["status"] == "ok").all()
    assert table["odds_ratio"].mean() < 0.75
    assert (table["coefficient"] < 0).mean() > 0.95
    assert (table["p_value"] < 0.05).mean() > 0.8
    covers = (table["ci_lower"] <= 0.6) & (table["ci_upper"] >= 0.6)
    assert covers.mean() > 0.85


def test_result_schema_and_model(rng):
    table = veil_of_darkness(simulate(rng, odds_ratio=0.6))
    assert tuple(table.columns) == DARKNESS_COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert row["status"] == "ok" and row["reason"] == ""
    assert row["areas"] == "Dorset; Hampshire"
    assert row["n"] == row["n_minority"] + row["n_reference"] == row["n_dark"] + row["n_light"]
    assert row["odds_ratio"] == pytest.approx(math.exp(row["coefficient"]))
    assert row["ci_lower"] < row["odds_ratio"] < row["ci_upper"]
    model = table.attrs["model"]
    assert model.params["dark"] == pytest.approx(row["coefficient"])
    # the interval is the Wald interval of the fitted model
    lo, hi = np.exp(model.result.conf_int(alpha=0.05).loc["dark"])
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))
    assert model.nobs == row["n"]
    assert "C(area)" in table.attrs["formula"] and "cr(clock_minute, df=6" in table.attrs["formula"]
    # 6 spline columns, one area effect, darkness and the intercept
    assert len(model.params) == 9
    # derived frames share the model rather than deep-copying it
    assert table.copy().attrs["model"] is model
    assert table.round(3).attrs["model"].result is model.result


def test_spline_df_changes_the_basis(rng):
    records = simulate(rng)
    assert len(veil_of_darkness(records, spline_df=4).attrs["model"].params) == 7
    assert veil_of_darkness(records, spline_df=4)["spline_df"].iloc[0] == 4


# --------------------------------------------------------------------------------------------
# (2) the sun, against independent computations
# --------------------------------------------------------------------------------------------


def noaa_evening_utc(lat: float, lon: float, date: dt.date, zenith: float) -> dt.datetime:
    """The NOAA solar calculator equations (Meeus, Astronomical Algorithms), written here.

    ``zenith`` 90.833 gives sunset (refraction and the sun's radius), 96 civil dusk.
    Iterated three times so the sun's position is taken at the event itself.
    """
    rad, deg = math.radians, math.degrees
    jd0 = date.toordinal() + 1721424.5  # Julian day at 0h UTC
    minutes = 1080.0
    for _ in range(3):
        t = (jd0 + minutes / 1440 - 2451545.0) / 36525
        l0 = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360
        m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
        e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
        c = (
            math.sin(rad(m)) * (1.914602 - t * (0.004817 + 0.000014 * t))
            + math.sin(rad(2 * m)) * (0.019993 - 0.000101 * t)
            + math.sin(rad(3 * m)) * 0.000289
        )
        omega = 125.04 - 1934.136 * t
        apparent = l0 + c - 0.00569 - 0.00478 * math.sin(rad(omega))
        eps = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
        eps += 0.00256 * math.cos(rad(omega))
        decl = math.asin(math.sin(rad(eps)) * math.sin(rad(apparent)))
        y = math.tan(rad(eps) / 2) ** 2
        eqtime = 4 * deg(
            y * math.sin(2 * rad(l0))
            - 2 * e * math.sin(rad(m))
            + 4 * e * y * math.sin(rad(m)) * math.cos(2 * rad(l0))
            - 0.5 * y * y * math.sin(4 * rad(l0))
            - 1.25 * e * e * math.sin(2 * rad(m))
        )
        ha = deg(
            math.acos(
                math.cos(rad(zenith)) / (math.cos(rad(lat)) * math.cos(decl))
                - math.tan(rad(lat)) * math.tan(decl)
            )
        )
        minutes = 720 - 4 * lon - eqtime + 4 * ha
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC) + dt.timedelta(
        minutes=minutes
    )


SUN_CASES = [
    (51.5074, -0.1278, dt.date(2020, 6, 21)),  # London, midsummer (BST)
    (51.5074, -0.1278, dt.date(2020, 12, 21)),  # London, midwinter (GMT)
    (50.90, -1.40, dt.date(2023, 3, 26)),  # Southampton, the day the clocks go forward
    (50.90, -1.40, dt.date(2023, 10, 29)),  # Southampton, the day they go back
    (50.72, -1.88, dt.date(2024, 2, 29)),  # Bournemouth, a leap day
]


@pytest.mark.parametrize(("lat", "lon", "date"), SUN_CASES)
def test_sun_times_match_noaa_equations_and_astral(lat, lon, date):
    set_epoch, dusk_epoch, set_minute, dusk_minute = _sun._sun_one(lat, lon, date.toordinal())
    for got, zenith in ((set_epoch, 90.833), (dusk_epoch, 96.0)):
        expected = noaa_evening_utc(lat, lon, date, zenith).timestamp()
        assert abs(got - expected) < 60  # within a minute of the independent equations
    observer = Observer(latitude=lat, longitude=lon)
    assert set_epoch == pytest.approx(sunset(observer, date).timestamp(), abs=1)
    assert dusk_epoch == pytest.approx(dusk(observer, date).timestamp(), abs=1)
    # clock minutes are UK local time (BST in summer)
    local = dt.datetime.fromtimestamp(dusk_epoch, UK)
    assert dusk_minute == pytest.approx(
        local.hour * 60 + local.minute + local.second / 60, abs=0.02
    )
    assert 25 < dusk_minute - set_minute < 60  # civil twilight in southern England


def test_london_midsummer_dusk_is_after_ten_pm_bst():
    # London, 21 June 2020: sunset about 21:21 BST, civil dusk about 22:09 BST
    _, _, set_minute, dusk_minute = _sun._sun_one(
        51.5074, -0.1278, dt.date(2020, 6, 21).toordinal()
    )
    assert 21 * 60 + 19 < set_minute < 21 * 60 + 24
    assert 22 * 60 + 5 < dusk_minute < 22 * 60 + 13


def test_clock_change_dates():
    changes = _sun._clock_changes(2023, 2024)
    dates = {dt.date.fromordinal(int(o)) for o in changes}
    # the last Sundays of March and October
    assert {
        dt.date(2023, 3, 26),
        dt.date(2023, 10, 29),
        dt.date(2024, 3, 31),
        dt.date(2024, 10, 27),
    } <= dates
    ordinals = np.array([dt.date(2023, 3, 20).toordinal(), dt.date(2023, 7, 1).toordinal()])
    assert _sun._days_to_change(ordinals, changes).tolist() == [6, 97]


# --------------------------------------------------------------------------------------------
# (3) the real City of London records
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city(realdata):
    return dispro.read_police_uk(realdata / CITY)


def independent_city_counts(records: pd.DataFrame) -> dict:
    """The analysis sample rebuilt row by row with pandas and astral, for Black vs White."""
    local = records["date"].dt.tz_convert(UK)  # clock "utc": the stamps are UTC instants
    month = local.dt.strftime("%Y-%m")
    per_month = pd.DataFrame({"month": month, "late": local.dt.hour >= 13}).groupby("month")["late"]
    twelve_hour = set(per_month.size()[(per_month.size() >= 20) & (per_month.sum() == 0)].index)
    person = records["vehicle_only"] == False  # noqa: E712
    pair = records["ethnicity"].isin(["Black", "White"])
    frame = records[person & pair].assign(local=local, month=month)
    frame = frame[~frame["month"].isin(twelve_hour)]
    no_coords = frame["latitude"].isna() | frame["longitude"].isna()
    frame = frame[~no_coords].copy()
    suns = [
        (
            sunset(Observer(r.latitude, r.longitude), r.local.date(), tzinfo=UK),
            dusk(Observer(r.latitude, r.longitude), r.local.date(), tzinfo=UK),
        )
        for r in frame.itertuples()
    ]
    frame["sunset"] = [s for s, _ in suns]
    frame["dusk"] = [d for _, d in suns]
    clock = frame["local"].dt.hour * 60 + frame["local"].dt.minute + frame["local"].dt.second / 60
    dusk_clock = np.array(
        [d.hour * 60 + d.minute + (d.second + d.microsecond / 1e6) / 60 for d in frame["dusk"]]
    )
    inside = (clock >= dusk_clock.min()) & (clock <= dusk_clock.max())
    frame = frame[inside.to_numpy()]
    ts = frame["local"].to_numpy()
    after_sunset = np.array([t >= s for t, s in zip(frame["local"], frame["sunset"], strict=True)])
    after_dusk = np.array([t >= d for t, d in zip(frame["local"], frame["dusk"], strict=True)])
    twilight = after_sunset & ~after_dusk
    kept = frame[~twilight]
    assert len(ts) == len(frame)
    # the eligibility rule's years: 12-month spans from the first month of the pair's searches
    pair_months = records.loc[person & pair, "date"].dt.tz_convert(UK)
    first = pd.Period(pair_months.min().strftime("%Y-%m"), freq="M")

    def span(when) -> str:
        start = first + 12 * ((pd.Period(when.strftime("%Y-%m"), freq="M") - first).n // 12)
        return str(start.year) if first.month == 1 else f"{start} to {start + 11}"

    return {
        "twelve_hour_months": sorted(twelve_hour),
        "excluded_no_coordinates": int(no_coords.sum()),
        "excluded_twilight": int(twilight.sum()),
        "n": len(kept),
        "n_minority": int((kept["ethnicity"] == "Black").sum()),
        "n_dark": int(after_dusk[~twilight].sum()),
        "by_year": kept.groupby([kept["local"].map(span), "ethnicity"])
        .size()
        .unstack(fill_value=0),
        "years": sorted(set(pair_months.map(span))),
    }


def test_city_of_london_is_ineligible_with_the_counts_stated(city):
    expected = independent_city_counts(city)
    with pytest.warns(DataQualityWarning, match="12-hour clock"):
        table = veil_of_darkness(city)
    row = table.iloc[0]
    assert row["status"] == "ineligible"
    assert np.isnan(row["coefficient"]) and table.attrs["model"] is None
    assert row["clock_assumption"] == "utc"
    assert row["areas"] == "City of London"
    for key in ("excluded_no_coordinates", "excluded_twilight", "n", "n_minority", "n_dark"):
        assert row[key] == expected[key], key
    assert row["n_reference"] == expected["n"] - expected["n_minority"]
    # every area-year is named with its counts and the threshold
    reason = row["reason"]
    assert "fewer than 100 stops of each group" in reason and "min_per_group=100" in reason
    for year in expected["years"]:
        counts = expected["by_year"].reindex(index=[year], fill_value=0).iloc[0]
        black, white = int(counts.get("Black", 0)), int(counts.get("White", 0))
        assert f"City of London {year}: {black:,} Black, {white:,} White" in reason
    # the months whose times stop at 12:59 (2019-01 to 2020-11) are named
    assert (
        expected["twelve_hour_months"][0] == "2019-01"
        and expected["twelve_hour_months"][-1] == "2020-11"
    )
    assert len(expected["twelve_hour_months"]) == 23
    assert "City of London 2019-01 to 2020-11" in reason


def test_city_of_london_fits_when_the_threshold_is_waived(city):
    expected = independent_city_counts(city)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = veil_of_darkness(city, min_per_group=0)
    row = table.iloc[0]
    assert row["status"] == "ok"
    assert row["n"] == expected["n"]
    assert row["ci_lower"] < row["odds_ratio"] < row["ci_upper"]


def test_city_of_london_shares_add_up(city):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        shares = darkness_shares(city, bin_minutes=30)
        table = veil_of_darkness(city)
    assert tuple(shares.columns) == SHARES_COLUMNS
    assert shares["n"].sum() == table["n"].iloc[0]
    assert shares["n_minority"].sum() == table["n_minority"].iloc[0]
    dark = shares[shares["darkness"] == "dark"]
    assert dark["n"].sum() == table["n_dark"].iloc[0]
    assert np.allclose(shares["minority_share"], shares["n_minority"] / shares["n"])
    assert (shares["ci_lower"] <= shares["minority_share"]).all()
    assert (shares["minority_share"] <= shares["ci_upper"]).all()
    assert shares["clock_time"].str.fullmatch(r"\d\d:\d\d-\d\d:\d\d").all()
    ax = plot_darkness(shares)
    assert ax.get_xlabel().startswith("Clock time (UK local")
    assert len(ax.collections) > 0


def test_city_of_london_area_median_fills_coordinates(city):
    expected = independent_city_counts(city)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = veil_of_darkness(city, missing_coordinates="area_median")
    assert table["excluded_no_coordinates"].iloc[0] == 0
    ledger = dispro.ledger.exclusions(table)
    filled = ledger[ledger["rule"].str.contains("median")]
    assert filled["rows"].tolist() == [expected["excluded_no_coordinates"]]
    assert filled["action"].tolist() == ["relabelled"]


def test_ledger_counts_every_row(city):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = veil_of_darkness(city)
    ledger = dispro.ledger.exclusions(table)
    ours = ledger[(ledger["step"] == "veil_of_darkness") & (ledger["action"] == "excluded")]
    assert ours["rows"].sum() + table["n"].iloc[0] == len(city)


# --------------------------------------------------------------------------------------------
# (4) missing fields, bad options, the clock assumption
# --------------------------------------------------------------------------------------------


def test_missing_column_is_named(rng):
    records = simulate(rng, n=300).drop(columns="latitude")
    with pytest.raises(ValidationError, match="'latitude'"):
        veil_of_darkness(records)
    with pytest.raises(ValidationError, match="did you mean 'ethnicity'"):
        veil_of_darkness(simulate(rng, n=300), ethnicity="ethnicty")


def test_missing_coordinates_are_counted_or_raise(rng):
    records = simulate(rng, n=2000)
    records.loc[records.index[:137], "latitude"] = np.nan
    table = veil_of_darkness(records)
    assert table["excluded_no_coordinates"].iloc[0] == 137
    with pytest.raises(ValidationError, match=r"no coordinates for 137 of 2,000 person searches"):
        veil_of_darkness(records, missing_coordinates="error")
    records["longitude"] = np.nan
    with pytest.raises(ValidationError, match=r"no coordinates for 2,000 of 2,000 person searches"):
        veil_of_darkness(records)


def test_missing_dates_and_areas_raise_with_counts(rng):
    records = simulate(rng, n=500)
    records["ethnicity"] = records["ethnicity"].astype(object)
    records.loc[records.index[:3], "ethnicity"] = "Asian"
    records.loc[records.index[:5], "date"] = pd.NaT  # 3 of them are not compared: only 2 count
    with pytest.raises(ValidationError, match=r"no date and time for 2 of 497 person searches"):
        veil_of_darkness(records)
    records = simulate(rng, n=500)
    records.loc[records.index[:7], "force"] = None
    with pytest.raises(ValidationError, match=r"no area for 7 of 500 .*column 'force'"):
        veil_of_darkness(records)
    assert veil_of_darkness(records, area=None, min_per_group=0)["areas"].iloc[0] == "all areas"


def test_unknown_group_and_bad_options(rng):
    records = simulate(rng, n=300)
    with pytest.raises(ValidationError, match="did you mean 'Black'"):
        veil_of_darkness(records, minority="Blak")
    for kwargs, word in [
        ({"window": "dusk"}, "window"),
        ({"window": ("21:00", "17:00")}, "window"),
        ({"window": ("17:00", "25:00")}, "window"),
        ({"alpha": 1.5}, "alpha"),
        ({"spline_df": 2}, "spline_df"),
        ({"min_per_group": -1}, "min_per_group"),
        ({"around_clock_change_days": 0}, "around_clock_change_days"),
        ({"clock": "bst"}, "clock"),
        ({"missing_coordinates": "centroid"}, "missing_coordinates"),
        ({"reference": "Black"}, "differ"),
    ]:
        with pytest.raises(ParameterError, match=word):
            veil_of_darkness(records, **kwargs)


def test_no_clock_assumption_anywhere_raises(rng):
    records = simulate(rng, n=300)
    records.attrs = {}
    with pytest.raises(ParameterError, match="clock='utc'"):
        veil_of_darkness(records)
    table = veil_of_darkness(records, clock="utc", min_per_group=0)
    assert table["clock_assumption"].iloc[0] == "utc"
    assert "declared by the caller" in table.attrs["clock_source"]


def _stamped(times: list[str], clock: str) -> pd.DataFrame:
    """Records whose stamps read ``times`` (as written, '+00:00'), read as read_police_uk would."""
    raw = pd.to_datetime(pd.Series(times))
    if clock == "utc":
        date = raw.dt.tz_localize("UTC")
    else:
        date = raw.dt.tz_localize(UK, ambiguous=np.ones(len(raw), dtype=bool)).dt.tz_convert("UTC")
    n = len(times)
    records = pd.DataFrame(
        {
            "date": date,
            "force": "Hampshire",
            "latitude": 50.90,
            "longitude": -1.40,
            "ethnicity": np.where(np.arange(n) % 3 == 0, "Black", "White"),
            "vehicle_only": False,
        }
    )
    records.attrs["clock"] = clock
    return records


@pytest.mark.parametrize("declared", ["utc", "uk_local"])
def test_clock_assumption_moves_summer_times_by_one_hour(declared):
    summer = [f"2023-07-{d:02d}T19:10:00" for d in range(1, 29)]
    winter = [f"2023-01-{d:02d}T19:10:00" for d in range(1, 29)]
    records = _stamped(summer + winter, declared)
    window = ("12:00", "23:30")
    by_clock = {}
    for clock in ("utc", "uk_local"):
        sample, info = _darkness_sample._prepare(
            records, minority="Black", reference="White", ethnicity="ethnicity", clock=clock,
            window=window, around_clock_change_days=None, area="force", missing_coordinates="exclude",
        )  # fmt: skip
        assert info["clock"] == clock
        by_clock[clock] = sample
    # 19:10 as written: UK local 20:10 in summer if it is UTC, 19:10 if it is already UK local
    summer_utc = by_clock["utc"]["clock_minute"].iloc[:28]
    summer_local = by_clock["uk_local"]["clock_minute"].iloc[:28]
    assert np.allclose(summer_utc, 20 * 60 + 10) and np.allclose(summer_local, 19 * 60 + 10)
    assert np.allclose(by_clock["utc"]["clock_minute"].iloc[28:], 19 * 60 + 10)
    assert np.allclose(by_clock["uk_local"]["clock_minute"].iloc[28:], 19 * 60 + 10)
    # in July at Southampton 19:10 and 20:10 are before sunset; in January both are after dusk
    assert (by_clock["utc"]["dark"].iloc[28:] == 1).all()
    # the public table states the assumption and re-reads the stamps when it is overridden
    other = "uk_local" if declared == "utc" else "utc"
    shares = darkness_shares(records, clock=other, window=window, bin_minutes=60)
    assert shares.attrs["clock_assumption"] == other
    summer_bin = 20 * 60 if other == "utc" else 19 * 60
    assert shares.loc[shares["darkness"] == "light", "bin_start"].tolist() == [summer_bin]
    table = veil_of_darkness(records, clock=other, window=window, min_per_group=0)
    assert table["clock_assumption"].iloc[0] == other
    assert "overrides" in table.attrs["clock_source"]


def test_clock_assumption_changes_darkness_in_summer_evenings():
    # 21:40 as written, Southampton, 1-28 June: civil dusk is about 22:00 BST. Read as UTC it is
    # 22:40 BST (dark); read as UK local it is 21:40 BST (before dusk: twilight, dropped).
    records = _stamped([f"2023-06-{d:02d}T21:40:00" for d in range(1, 29)], "utc")
    window = ("12:00", "23:59")
    utc = veil_of_darkness(records, window=window, min_per_group=0)
    local = veil_of_darkness(records, clock="uk_local", window=window, min_per_group=0)
    assert utc["n_dark"].iloc[0] == 28 and utc["excluded_twilight"].iloc[0] == 0
    assert local["n_dark"].iloc[0] == 0 and local["excluded_twilight"].iloc[0] == 28


def test_around_clock_change_keeps_only_nearby_dates(rng):
    records = simulate(rng, n=3000)
    full = veil_of_darkness(records, min_per_group=0)
    near = veil_of_darkness(records, around_clock_change_days=30, min_per_group=0)
    assert "within 30 days of a clock change" in near["window"].iloc[0]
    assert near["n"].iloc[0] < full["n"].iloc[0]
    ledger = dispro.ledger.exclusions(near)
    far = ledger.loc[ledger["rule"].str.contains("from a clock change"), "rows"].iloc[0]
    local = records["date"].dt.tz_convert(UK).dt.date
    changes = [dt.date(2023, 3, 26), dt.date(2023, 10, 29)]
    expected_far = sum(min(abs((d - c).days) for c in changes) > 30 for d in local)
    assert far == expected_far


def test_vehicle_only_and_other_groups_are_left_out(rng):
    records = simulate(rng, n=2000)
    base = veil_of_darkness(records)
    extra = records.iloc[:50].copy()
    extra["vehicle_only"] = True
    other = records.iloc[50:90].copy()
    other["ethnicity"] = "Not stated"
    more = pd.concat([records, extra, other], ignore_index=True)
    more.attrs = records.attrs
    again = veil_of_darkness(more)
    assert again["coefficient"].iloc[0] == pytest.approx(base["coefficient"].iloc[0])
    assert again["n"].iloc[0] == base["n"].iloc[0]


def test_too_few_stops_is_ineligible_with_area_years(rng):
    records = simulate(rng, n=600)
    table = veil_of_darkness(records)
    row = table.iloc[0]
    assert row["status"] == "ineligible"
    sample, _ = _darkness_sample._prepare(
        records, minority="Black", reference="White", ethnicity="ethnicity", clock=None,
        window="inter_twilight", around_clock_change_days=None, area="force",
        missing_coordinates="exclude",
    )  # fmt: skip
    for force, part in sample.groupby("area"):
        black = int(part["is_minority"].sum())
        assert f"{force} 2023: {black:,} Black, {len(part) - black:,} White" in row["reason"]
    assert re.search(r"in \d of 2 area-years", row["reason"])


def test_plot_darkness_checks_its_input():
    with pytest.raises(ValidationError, match="minority_share"):
        plot_darkness(pd.DataFrame({"bin_start": [0]}))
    fig, ax = plt.subplots()
    table = pd.DataFrame(
        {
            "bin_start": [1080, 1080], "bin_end": [1110, 1110], "darkness": ["light", "dark"],
            "n": [10, 12], "minority_share": [0.3, 0.2], "ci_lower": [0.1, 0.05], "ci_upper": [0.6, 0.5],
        }
    )  # fmt: skip
    assert plot_darkness(table, ax=ax) is ax


def test_twelve_hour_clock_months_are_found_and_named():
    # area 0: month 600 has 25 stops all before 13:00 (flagged); month 601 has one at 13:00
    area = np.zeros(50, dtype=np.int64)
    month = np.r_[np.full(25, 600), np.full(25, 601)]
    minute = np.r_[np.linspace(60, 779, 25), np.linspace(60, 779, 24), [780]]
    flagged = _sun._twelve_hour(area, month, minute)
    assert flagged[:25].all() and not flagged[25:].any()
    # fewer than 20 stops in a month is too few to judge
    assert not _sun._twelve_hour(area[:19], month[:19], minute[:19]).any()
    text = _sun._month_ranges([("Kent", 588), ("Kent", 589), ("Kent", 591), ("Avon", 600)])
    assert text == "Avon 2020-01; Kent 2019-01 to 2019-02, 2019-04"
