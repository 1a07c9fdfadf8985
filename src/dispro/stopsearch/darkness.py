"""The veil of darkness test (Grogger & Ridgeway 2006, as the Stanford Open Policing Project runs it).

If officers pick whom to search partly by ethnicity, and ethnicity is harder to see after dark,
the minority share of searches should be lower after dark than in daylight *at the same clock
time*. Clock time fixes the mix of people about; the season moves dusk across it. Within the
inter-twilight window (the clock times between the earliest and the latest civil dusk of the
period) the same clock time is light in summer and dark in winter, and the comparison is made
there.

:func:`veil_of_darkness` fits the model and returns a one-row tidy table; :func:`darkness_shares`
returns the minority share by clock-time bin, light and dark (the table behind
:func:`dispro.plots.darkness.plot_darkness`). The sun's position comes from ``astral``; the work
per stop is on numpy arrays, and sun times are computed once per place and date.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from numbers import Integral, Real
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import (
    DataQualityWarning,
    DisproError,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)

__all__ = [
    "DARKNESS_COLUMNS",
    "SHARES_COLUMNS",
    "STATUSES",
    "WINDOWS",
    "MISSING_COORDINATES",
    "KeptModel",
    "veil_of_darkness",
    "darkness_shares",
]

#: The columns of :func:`veil_of_darkness`'s table, in order.
DARKNESS_COLUMNS = (
    "status",
    "reason",
    "minority",
    "reference",
    "coefficient",
    "odds_ratio",
    "ci_lower",
    "ci_upper",
    "p_value",
    "n",
    "n_minority",
    "n_reference",
    "n_dark",
    "n_light",
    "window",
    "clock_assumption",
    "excluded_no_coordinates",
    "excluded_twilight",
    "spline_df",
    "areas",
)

#: The columns of :func:`darkness_shares`'s table, in order.
SHARES_COLUMNS = (
    "bin_start",
    "bin_end",
    "clock_time",
    "darkness",
    "n",
    "n_minority",
    "n_reference",
    "minority_share",
    "ci_lower",
    "ci_upper",
)

#: Values of ``status``.
STATUSES = ("ok", "ineligible")
#: Named windows (a pair of ``"HH:MM"`` clock times is also accepted).
WINDOWS = ("inter_twilight",)
#: What to do with stops that have no coordinates.
MISSING_COORDINATES = ("exclude", "area_median", "error")
#: Clock assumptions for the ``+00:00`` stamps (as :func:`dispro.read_police_uk` names them).
CLOCKS = ("utc", "uk_local")

UK = ZoneInfo("Europe/London")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
#: An area-month with at least this many stops and none at 13:00 or later is taken as a
#: 12-hour clock with AM/PM lost (City of London files from 2019-01 on look like this).
_TWELVE_HOUR_MIN = 20
STEP = "veil_of_darkness"
_ALL_AREAS = "all areas"


# --------------------------------------------------------------------------------------------
# a holder that keeps the fitted model in attrs without pandas deep-copying it
# --------------------------------------------------------------------------------------------


class KeptModel:
    """The fitted statsmodels result, kept in a table's ``attrs["model"]``.

    pandas deep-copies ``attrs`` whenever a frame is derived from another (``copy``, ``round``,
    ``loc``...); this holder hands back itself instead, so the fitted model (and its data) is
    shared, not copied. Attribute access passes through to the result (``.params``, ``.bse``,
    ``.summary()``); ``.result`` is the bare
    :class:`statsmodels.genmod.generalized_linear_model.GLMResultsWrapper`.
    """

    def __init__(self, result):
        self.result = result

    def __getattr__(self, name):
        if name == "result":  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.result, name)

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __repr__(self) -> str:
        return f"KeptModel({type(self.result).__name__})"


# --------------------------------------------------------------------------------------------
# kernels: the sun, the clock, the window (numpy arrays in, numpy arrays out)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=500_000)
def _sun_one(lat: float, lon: float, ordinal: int) -> tuple[float, float, float, float]:
    """Sunset and civil dusk on the UK local date ``ordinal`` at a place, by ``astral``.

    Returns (sunset, dusk) as UTC epoch seconds, then (sunset, dusk) as UK local clock minutes
    after midnight; ``nan`` where the sun does not set, or does not reach 6 degrees below the
    horizon, that day.
    """
    from astral import Observer
    from astral.sun import dusk, sunset

    observer = Observer(latitude=lat, longitude=lon)
    date = dt.date.fromordinal(ordinal)
    epochs, minutes = [], []
    for event in (sunset, dusk):
        try:
            when = event(observer, date, tzinfo=UK)
        except ValueError:
            epochs.append(math.nan)
            minutes.append(math.nan)
            continue
        epochs.append(when.timestamp())
        minutes.append(when.hour * 60 + when.minute + (when.second + when.microsecond / 1e6) / 60)
    return epochs[0], epochs[1], minutes[0], minutes[1]


def _sun_times(lat: np.ndarray, lon: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_sun_one`: an (n, 4) array, one astral call per distinct place and date."""
    if len(lat) == 0:
        return np.empty((0, 4), dtype=float)
    keys = np.column_stack([lat, lon, ordinal.astype(float)])
    uniques, inverse = np.unique(keys, axis=0, return_inverse=True)
    sun = np.array([_sun_one(float(a), float(b), int(c)) for a, b, c in uniques], dtype=float)
    return sun[inverse.reshape(-1)]


def _instants(dates: pd.Series, declared: str | None, clock: str) -> pd.Series:
    """UTC instants of the stops under the clock assumption ``clock``.

    The stamp as written is recovered from ``dates`` and how they were read (``declared``), then
    read again under ``clock``: ``"utc"`` takes it as a UTC instant, ``"uk_local"`` as UK local
    clock time (the repeated hour when the clocks go back is read as its first, summer,
    occurrence; the missing hour when they go forward is shifted forward), as
    :func:`dispro.read_police_uk` does. Tz-naive ``dates`` are taken as the stamps as written.
    """
    if dates.dt.tz is None:
        raw = dates
    elif declared == "uk_local":
        raw = dates.dt.tz_convert(UK).dt.tz_localize(None)
    else:
        raw = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    if clock == "utc":
        return raw.dt.tz_localize("UTC")
    local = raw.dt.tz_localize(
        UK, ambiguous=np.ones(len(raw), dtype=bool), nonexistent="shift_forward"
    )
    return local.dt.tz_convert("UTC")


def _wall_parts(instant: pd.Series) -> dict[str, np.ndarray]:
    """UK local clock parts of UTC instants: epoch seconds, date ordinal, year, month index, minute.

    ``month`` counts months since 1970-01; ``minute`` is minutes after local midnight (with
    seconds as a fraction). Missing instants give ``nan`` (and ordinal/year/month -1).
    """
    missing = instant.isna().to_numpy()
    utc = instant.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    wall = instant.dt.tz_convert(UK).dt.tz_localize(None).to_numpy("datetime64[us]")
    epoch = utc.astype(np.int64) / 1e6
    seconds = wall.astype(np.int64) / 1e6
    day = np.floor(seconds / 86400)
    months = wall.astype("datetime64[M]").astype(np.int64)
    out = {
        "epoch": epoch,
        "ordinal": (day + _EPOCH_ORDINAL).astype(np.int64),
        "year": 1970 + months // 12,
        "month": months,
        "minute": (seconds - day * 86400) / 60,
    }
    if missing.any():
        for key in ("epoch", "minute"):
            out[key] = np.where(missing, np.nan, out[key])
        for key in ("ordinal", "year", "month"):
            out[key] = np.where(missing, -1, out[key])
    return out


def _clock_changes(first_year: int, last_year: int) -> np.ndarray:
    """Ordinals of the UK local dates on which the clocks change, from a year before to after."""
    days = pd.date_range(
        f"{first_year - 1}-01-01 12:00", f"{last_year + 1}-12-31 12:00", freq="D", tz=UK
    )
    offsets = np.array([d.utcoffset().total_seconds() for d in days])
    change = np.flatnonzero(np.diff(offsets) != 0) + 1  # the first day on the new offset (at noon)
    return np.array([days[i].date().toordinal() for i in change], dtype=np.int64)


def _days_to_change(ordinal: np.ndarray, changes: np.ndarray) -> np.ndarray:
    """Days from each date to the nearest clock change."""
    if len(changes) == 0:
        return np.full(len(ordinal), np.inf)
    pos = np.searchsorted(changes, ordinal)
    before = changes[np.clip(pos - 1, 0, len(changes) - 1)]
    after = changes[np.clip(pos, 0, len(changes) - 1)]
    return np.minimum(np.abs(ordinal - before), np.abs(after - ordinal))


def _twelve_hour(area: np.ndarray, month: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Boolean mask: rows in an (area, month) with at least ``_TWELVE_HOUR_MIN`` stops and none at
    13:00 or later (UK local clock). ``area`` holds integer codes, ``month`` month indices."""
    if len(area) == 0:
        return np.zeros(0, dtype=bool)
    key = area.astype(np.int64) * 100_000 + month.astype(np.int64)
    _, inverse, size = np.unique(key, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    late = np.bincount(inverse, weights=(minute >= 13 * 60).astype(float), minlength=len(size))
    flagged = (size >= _TWELVE_HOUR_MIN) & (late == 0)
    return flagged[inverse]


def _month_ranges(pairs: list[tuple[str, int]]) -> str:
    """``[("A", 588), ("A", 589), ("A", 591)]`` (months since 1970-01) -> ``"A 2019-01 to 2019-02, 2019-04"``."""

    def label(m: int) -> str:
        return f"{1970 + m // 12}-{m % 12 + 1:02d}"

    parts = []
    for a in sorted({a for a, _ in pairs}):
        months = sorted({m for b, m in pairs if b == a})
        runs, start, prev = [], months[0], months[0]
        for m in months[1:]:
            if m != prev + 1:
                runs.append((start, prev))
                start = m
            prev = m
        runs.append((start, prev))
        parts.append(
            f"{a} "
            + ", ".join(label(x) if x == y else f"{label(x)} to {label(y)}" for x, y in runs)
        )
    return "; ".join(parts)


def _hhmm(minutes: float) -> str:
    m = int(math.floor(minutes + 1e-9))
    return f"{m // 60:02d}:{m % 60:02d}"


def _parse_hhmm(value, param: str) -> float:
    try:
        hours, minutes = str(value).split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        h, m = -1, -1
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ParameterError(
            f"`{param}` clock times must be 'HH:MM' (00:00 to 23:59), but {value!r} was passed"
        )
    return float(h * 60 + m)


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes in n."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    lower = np.where(k == 0, 0.0, np.clip(centre - half, 0, 1))
    upper = np.where(k == n, 1.0, np.clip(centre + half, 0, 1))
    return lower, upper


def _fmt(n: int) -> str:
    return f"{int(n):,}"


def _equals(series: pd.Series, value) -> np.ndarray:
    return np.asarray((series == value).fillna(False), dtype=bool)


# --------------------------------------------------------------------------------------------
# checks and the analysis sample
# --------------------------------------------------------------------------------------------


def _check_params(*, clock, window, around_clock_change_days, spline_df, min_per_group, alpha,
                  missing_coordinates, minority, reference):  # fmt: skip
    if clock is not None:
        check_choice("clock", clock, CLOCKS)
    check_choice("missing_coordinates", missing_coordinates, MISSING_COORDINATES)
    if isinstance(window, str):
        check_choice("window", window, WINDOWS)
    else:
        try:
            start, end = window
        except (TypeError, ValueError):
            raise ParameterError(
                f"`window` must be one of {WINDOWS} or a pair of 'HH:MM' clock times, but {window!r} was passed"
            ) from None
        if _parse_hhmm(start, "window") >= _parse_hhmm(end, "window"):
            raise ParameterError(
                f"`window` must run forwards (start before end), but {window!r} was passed"
            )
    if around_clock_change_days is not None and (
        isinstance(around_clock_change_days, bool)
        or not isinstance(around_clock_change_days, Real)
        or not around_clock_change_days > 0
    ):
        raise ParameterError(
            "`around_clock_change_days` must be None or a positive number of days (e.g. 30), "
            f"but {around_clock_change_days!r} was passed"
        )
    if isinstance(spline_df, bool) or not isinstance(spline_df, Integral) or spline_df < 3:
        raise ParameterError(
            f"`spline_df` must be a whole number of at least 3, but {spline_df!r} was passed"
        )
    if (
        isinstance(min_per_group, bool)
        or not isinstance(min_per_group, Integral)
        or min_per_group < 0
    ):
        raise ParameterError(
            f"`min_per_group` must be a whole number >= 0, but {min_per_group!r} was passed"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ParameterError(f"`alpha` must lie strictly between 0 and 1, but {alpha!r} was passed")
    if minority == reference:
        raise ParameterError(f"`minority` and `reference` must differ, but both are {minority!r}")


def _require(records: pd.DataFrame, column: str, param: str) -> None:
    if column not in records.columns:
        raise ValidationError(
            f"column {column!r} (given as `{param}`) is not in the records"
            f"{did_you_mean(column, records.columns)}; columns present: {list(records.columns)}"
        )


def _prepare(
    records: pd.DataFrame,
    *,
    minority: str,
    reference: str,
    ethnicity: str,
    clock: str | None,
    window,
    around_clock_change_days,
    area: str | None,
    missing_coordinates: str,
) -> tuple[pd.DataFrame, dict]:
    """The analysis sample: one row per stop kept, with the sun, the clock and darkness.

    Returns the stops in the window (ambiguous twilight dropped), columns ``area``, ``year``,
    ``latitude``, ``longitude``, ``is_minority``, ``clock_minute``, ``sunset_minute``,
    ``dusk_minute`` (UK local clock, minutes after midnight), ``dark`` (0/1); and ``info``:
    the count of every exclusion, the window per area, the area-years, the clock assumption
    used and the ledger entries. The order of the rules is the order of the ledger.
    """
    if not isinstance(records, pd.DataFrame):
        raise DisproError(
            f"`records` must be a pandas DataFrame, but a {type(records).__name__} was passed"
        )
    for column in ("date", "latitude", "longitude", "vehicle_only"):
        _require(records, column, "records")
    _require(records, ethnicity, "ethnicity")
    if area is not None:
        _require(records, area, "area")

    # --- the clock assumption: declared by the reader, or by the caller, or an error
    declared = records.attrs.get("clock")
    if declared is not None and declared not in CLOCKS:
        raise ValidationError(f"records.attrs['clock'] is {declared!r}; it must be one of {CLOCKS}")
    if clock is None and declared is None:
        raise ParameterError(
            "the records do not say how their times were read (no attrs['clock']): pass "
            "clock='utc' (the stamps are UTC instants) or clock='uk_local' (they are UK local "
            "clock time labelled +00:00). data.police.uk stamps every time +00:00, summer and "
            "winter, so the veil of darkness must state which."
        )
    used = clock if clock is not None else declared
    if declared is None:
        clock_source = "declared by the caller (clock=); the records carried no assumption"
    elif clock is None or clock == declared:
        clock_source = f"declared by the reader (records.attrs['clock'] = {declared!r})"
    else:
        clock_source = (
            f"clock={clock!r} overrides the reader's {declared!r}: the stamps were re-read"
        )
    if not pd.api.types.is_datetime64_any_dtype(records["date"]):
        raise ValidationError(
            f"column 'date' must hold timestamps (read the records with read_police_uk), but it has dtype {records['date'].dtype}"
        )

    n_rows = len(records)
    entries: list[dict] = []

    def note(rule: str, rows: int, action: str = "excluded") -> None:
        entries.append({"step": STEP, "rule": rule, "rows": int(rows), "action": action})

    # --- person searches of the two groups
    vehicle = np.asarray(records["vehicle_only"].astype("boolean").fillna(False), dtype=bool)
    is_min = _equals(records[ethnicity], minority)
    is_ref = _equals(records[ethnicity], reference)
    for name, param, found in ((minority, "minority", is_min), (reference, "reference", is_ref)):
        if not found.any():
            present = sorted(map(str, records[ethnicity].dropna().unique()))
            raise ValidationError(
                f"`{param}` {name!r} does not occur in column {ethnicity!r}"
                f"{did_you_mean(name, present)}; values present: {present}"
            )
    keep = ~vehicle & (is_min | is_ref)
    note("vehicle-only searches (no person searched)", vehicle.sum())
    note(
        f"person searches of neither {minority} nor {reference} (other groups, not stated)",
        (~vehicle & ~keep).sum(),
    )
    n_groups = int(keep.sum())
    who = f"person searches of {minority} or {reference} people"

    # --- required values present for the stops compared
    no_date = records["date"].isna().to_numpy() & keep
    if no_date.any():
        raise ValidationError(
            f"no date and time for {_fmt(no_date.sum())} of {_fmt(n_groups)} {who} (column "
            "'date'); the veil of darkness needs the time of every stop. Drop those rows first "
            "(and count them)."
        )
    if area is not None:
        area_codes, area_labels = pd.factorize(records[area])
        no_area = (area_codes < 0) & keep
        if no_area.any():
            raise ValidationError(
                f"no area for {_fmt(no_area.sum())} of {_fmt(n_groups)} {who} (column {area!r}, "
                "given as `area`); fill it or pass area=None for no area fixed effects"
            )
        area_labels = np.array([str(a) for a in area_labels] + ["(no area)"], dtype=object)
        area_codes = np.where(area_codes < 0, len(area_labels) - 1, area_codes)
    else:
        area_codes = np.zeros(n_rows, dtype=np.int64)
        area_labels = np.array([_ALL_AREAS], dtype=object)

    # --- UK local clock time under the assumption, for every row with a date
    parts = _wall_parts(_instants(records["date"], declared, used))
    dated = records["date"].notna().to_numpy()
    suspect_all = np.zeros(n_rows, dtype=bool)
    suspect_all[dated] = _twelve_hour(
        area_codes[dated], parts["month"][dated], parts["minute"][dated]
    )
    lat_all = pd.to_numeric(records["latitude"], errors="coerce").to_numpy(dtype=float)
    lon_all = pd.to_numeric(records["longitude"], errors="coerce").to_numpy(dtype=float)

    idx = np.flatnonzero(keep)
    s = {
        "area_code": area_codes[idx],
        "year": parts["year"][idx],
        "month": parts["month"][idx],
        "ordinal": parts["ordinal"][idx],
        "epoch": parts["epoch"][idx],
        "clock_minute": parts["minute"][idx],
        "latitude": lat_all[idx],
        "longitude": lon_all[idx],
        "is_minority": is_min[idx].astype(np.int64),
    }
    pairs = np.unique(s["area_code"].astype(np.int64) * 10_000 + s["year"])
    area_years = sorted((str(area_labels[p // 10_000]), int(p % 10_000)) for p in pairs)

    def subset(mask: np.ndarray) -> None:
        for key in s:
            s[key] = s[key][mask]

    # --- area-months whose clock times look like a 12-hour clock (AM/PM lost)
    suspect = suspect_all[idx]
    n_suspect = int(suspect.sum())
    suspect_text = ""
    if n_suspect:
        flagged = sorted(
            {
                (str(area_labels[a]), int(m))
                for a, m in zip(s["area_code"][suspect], s["month"][suspect], strict=True)
            }
        )
        suspect_text = (
            f"{_fmt(n_suspect)} {who} were excluded because they fall in {len(flagged)} "
            f"area-month(s) where no search of any kind is timed at 13:00 or later (UK local "
            f"clock) among at least {_TWELVE_HOUR_MIN}, so a 12-hour clock with AM/PM lost is "
            f"suspected: {_month_ranges(flagged)}"
        )
        warnings.warn(
            f"{suspect_text}. Their times of day cannot be trusted for a test that depends on them.",
            DataQualityWarning,
            stacklevel=3,
        )
    note(
        "stops in area-months with no search timed at 13:00 or later (12-hour clock suspected)",
        n_suspect,
    )
    subset(~suspect)

    # --- around the clock changes
    n_far = 0
    if around_clock_change_days is not None:
        if len(s["year"]):
            changes = _clock_changes(int(s["year"].min()), int(s["year"].max()))
            near = _days_to_change(s["ordinal"], changes) <= around_clock_change_days
        else:
            near = np.zeros(0, dtype=bool)
        n_far = int((~near).sum())
        note(f"stops more than {around_clock_change_days:g} days from a clock change", n_far)
        subset(near)

    # --- coordinates
    lat, lon = s["latitude"], s["longitude"]
    bad = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        raise ValidationError(
            f"coordinates out of range (|latitude| > 90 or |longitude| > 180) for {_fmt(bad.sum())} "
            f"of {_fmt(len(lat))} {who}; coordinates are decimal degrees"
        )
    no_coords = np.isnan(lat) | np.isnan(lon)
    n_no_coords = int(no_coords.sum())
    if missing_coordinates == "error" and n_no_coords:
        raise ValidationError(
            f"no coordinates for {_fmt(n_no_coords)} of {_fmt(len(lat))} {who} (columns "
            "'latitude', 'longitude'); pass missing_coordinates='exclude' to leave them out "
            "(counted in the output), or 'area_median' to place them at the median of their "
            "area's coordinates"
        )
    if n_no_coords and n_no_coords == len(lat):
        raise ValidationError(
            f"no coordinates for {_fmt(n_no_coords)} of {_fmt(len(lat))} {who} (columns "
            "'latitude', 'longitude'): the sun's position cannot be computed for any stop"
        )
    n_filled = 0
    if missing_coordinates == "area_median" and n_no_coords:
        known = pd.DataFrame(
            {"a": s["area_code"][~no_coords], "lat": lat[~no_coords], "lon": lon[~no_coords]}
        )
        medians = known.groupby("a")[["lat", "lon"]].median()
        fill_lat = pd.Series(s["area_code"]).map(medians["lat"]).to_numpy(dtype=float)
        fill_lon = pd.Series(s["area_code"]).map(medians["lon"]).to_numpy(dtype=float)
        fillable = no_coords & ~np.isnan(fill_lat)
        lat[fillable], lon[fillable] = fill_lat[fillable], fill_lon[fillable]
        n_filled = int(fillable.sum())
        note(
            "stops without coordinates placed at the median of their area's coordinates",
            n_filled,
            "relabelled",
        )
        no_coords = np.isnan(lat) | np.isnan(lon)
        n_no_coords = int(no_coords.sum())
    note("stops without coordinates (latitude, longitude)", n_no_coords)
    subset(~no_coords)

    # --- the sun at each stop's place and UK local date
    sun = _sun_times(s["latitude"], s["longitude"], s["ordinal"])
    no_dusk = np.isnan(sun).any(axis=1)
    note(
        "stops on a day when the sun does not reach civil dusk (6 degrees below the horizon)",
        no_dusk.sum(),
    )
    s["sunset_epoch"], s["dusk_epoch"], s["sunset_minute"], s["dusk_minute"] = sun.T
    subset(~no_dusk)

    # --- the window of clock times, per area
    present_codes = np.unique(s["area_code"])
    if isinstance(window, str):
        lo_by = {a: float(s["dusk_minute"][s["area_code"] == a].min()) for a in present_codes}
        hi_by = {a: float(s["dusk_minute"][s["area_code"] == a].max()) for a in present_codes}
        window_text = (
            "inter-twilight (UK local clock, earliest to latest civil dusk of the stops' dates "
            "and places): "
            + "; ".join(
                f"{area_labels[a]} {_hhmm(lo_by[a])}-{_hhmm(hi_by[a])}" for a in present_codes
            )
        )
    else:
        start, end = (_parse_hhmm(v, "window") for v in window)
        lo_by = {a: start for a in present_codes}
        hi_by = {a: end for a in present_codes}
        window_text = f"fixed clock times {_hhmm(start)}-{_hhmm(end)} (UK local clock)"
    if around_clock_change_days is not None:
        window_text += f"; only stops within {around_clock_change_days:g} days of a clock change"
    window_text += "; stops between sunset and civil dusk dropped"
    lo = np.array([lo_by[a] for a in s["area_code"]], dtype=float)
    hi = np.array([hi_by[a] for a in s["area_code"]], dtype=float)
    inside = (s["clock_minute"] >= lo) & (s["clock_minute"] <= hi)
    n_outside = int((~inside).sum())
    note("stops outside the window of clock times", n_outside)
    subset(inside)

    # --- light, dark, and the ambiguous time between sunset and civil dusk
    t = s["epoch"]
    ambiguous = (t >= s["sunset_epoch"]) & (t < s["dusk_epoch"])
    n_twilight = int(ambiguous.sum())
    note("stops between sunset and civil dusk (neither light nor dark)", n_twilight)
    s["dark"] = (t >= s["dusk_epoch"]).astype(np.int64)
    subset(~ambiguous)

    sample = pd.DataFrame(
        {
            "area": pd.Categorical(
                area_labels[s["area_code"]],
                categories=sorted({str(area_labels[a]) for a in np.unique(s["area_code"])}),
            ),
            "year": s["year"],
            "latitude": s["latitude"],
            "longitude": s["longitude"],
            "is_minority": s["is_minority"],
            "clock_minute": s["clock_minute"],
            "sunset_minute": s["sunset_minute"],
            "dusk_minute": s["dusk_minute"],
            "dark": s["dark"],
        }
    )
    info = {
        "rows": n_rows,
        "n_groups": n_groups,
        "area_years": area_years,
        "excluded_twelve_hour": n_suspect,
        "twelve_hour": suspect_text,
        "excluded_far_from_clock_change": n_far,
        "excluded_no_coordinates": n_no_coords,
        "filled_coordinates": n_filled,
        "excluded_no_dusk": int(no_dusk.sum()),
        "excluded_outside_window": n_outside,
        "excluded_twilight": n_twilight,
        "window": window_text,
        "bounds": {str(area_labels[a]): (lo_by[a], hi_by[a]) for a in present_codes},
        "clock": used,
        "clock_source": clock_source,
        "entries": entries,
    }
    return sample, info


# --------------------------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------------------------


def _eligibility(
    sample: pd.DataFrame, info: dict, min_per_group: int, minority: str, reference: str
) -> str | None:
    """``None`` when every area-year has enough stops of each group, else the reason.

    Area-years are those with person searches of the two groups in the records; one whose stops
    were all excluded counts as 0 and 0.
    """
    counts = (
        sample.assign(n_min=sample["is_minority"], n_ref=1 - sample["is_minority"])
        .assign(area=sample["area"].astype(str))
        .groupby(["area", "year"])[["n_min", "n_ref"]]
        .sum()
        .reindex(
            pd.MultiIndex.from_tuples(info["area_years"], names=["area", "year"]), fill_value=0
        )
    )
    short = counts[(counts["n_min"] < min_per_group) | (counts["n_ref"] < min_per_group)]
    reason = None
    if not short.empty:
        listed = "; ".join(
            f"{a} {y}: {_fmt(r['n_min'])} {minority}, {_fmt(r['n_ref'])} {reference}"
            for (a, y), r in short.iterrows()
        )
        reason = (
            f"fewer than {_fmt(min_per_group)} stops of each group in {len(short)} of "
            f"{len(counts)} area-years (stops in the window after exclusions; the Stanford Open "
            f"Policing Project asks for at least 100 per group per area-year; min_per_group="
            f"{min_per_group}): {listed}"
        )
    elif sample.empty:
        reason = "no stops of either group are left in the window after exclusions"
    else:
        for label, value in (("in darkness", 1), ("in daylight", 0)):
            if not (sample["dark"] == value).any():
                reason = f"no stops {label} are left in the window after exclusions: darkness cannot be compared"
                break
    if reason is not None and info["twelve_hour"]:
        reason += f". Note: {info['twelve_hour']}"
    return reason


def veil_of_darkness(
    records: pd.DataFrame,
    *,
    minority: str = "Black",
    reference: str = "White",
    ethnicity: str = "ethnicity",
    clock: str | None = None,
    window="inter_twilight",
    around_clock_change_days: float | None = None,
    spline_df: int = 6,
    area: str | None = "force",
    min_per_group: int = 100,
    alpha: float = 0.05,
    missing_coordinates: str = "exclude",
) -> pd.DataFrame:
    """The veil of darkness test: is the minority share of searches lower after dark?

    Keeps person searches (not ``vehicle_only``) of the two groups compared; finds the sunset and
    civil dusk at each stop's place and UK local date (``astral``); keeps stops whose UK local
    clock time lies in the inter-twilight window of their area; drops those between sunset and
    civil dusk; and fits a binomial GLM of ``is_minority`` on darkness, a natural cubic spline of
    clock time and area fixed effects.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records as :func:`dispro.read_police_uk` returns them: ``date``
        (timestamps), ``latitude``, ``longitude``, ``vehicle_only``, the ``ethnicity`` column and
        the ``area`` column. ``attrs["clock"]`` says how the ``+00:00`` stamps were read.
    minority, reference : str
        The two groups compared (values of the ``ethnicity`` column). The outcome is
        ``is_minority`` among stops of these two groups.
    ethnicity : str
        The column holding the groups (e.g. ``"officer_ethnicity"`` for officer-defined).
    clock : {None, "utc", "uk_local"}
        The time zone assumption. ``None`` (default): the one the reader declared in
        ``records.attrs["clock"]``; an error if there is none. ``"utc"``: the stamps are UTC
        instants. ``"uk_local"``: they are UK local clock time (Europe/London) labelled
        ``+00:00``. When it differs from ``attrs["clock"]``, the stamps as written are recovered
        and re-read, so in British Summer Time the clock times move by one hour.
    window : "inter_twilight" or (str, str)
        ``"inter_twilight"`` (default): per area, the UK local clock times between the earliest
        and the latest civil dusk of the stops analysed (their places and dates). A pair of
        ``"HH:MM"`` clock times fixes the window instead (the same for every area).
    around_clock_change_days : float, optional
        Keep only stops whose UK local date lies within this many days of a clock change (e.g.
        30): the change moves darkness by an hour overnight while little else changes.
    spline_df : int
        Degrees of freedom of the natural cubic spline of clock time (patsy
        ``cr(clock_minute, df=spline_df, constraints="center")``); 6, as Stanford uses.
    area : str or None
        The column whose values get fixed effects and define the area-years of the eligibility
        rule (default ``"force"``). ``None``: one area, no fixed effects.
    min_per_group : int
        At least this many stops of each group in every area-year (UK local calendar year), in
        the window after exclusions, or the model is not fitted (status ``ineligible``). 100, as
        the Stanford Open Policing Project asks.
    alpha : float
        1 - the confidence level of the interval.
    missing_coordinates : {"exclude", "area_median", "error"}
        Stops without coordinates (20 to 30% of data.police.uk rows). ``"exclude"`` (default):
        left out and counted in ``excluded_no_coordinates``. ``"area_median"``: placed at the
        median of the coordinates present in their area (a data-derived stand-in for the area's
        centroid; dusk moves about 4 minutes per degree of longitude). ``"error"``: raise.

    Returns
    -------
    DataFrame
        One row, columns :data:`DARKNESS_COLUMNS`:

        - ``status``: ``"ok"`` (fitted) or ``"ineligible"`` (not fitted; see ``reason``).
        - ``reason``: why not fitted (which area-years, how many stops of each group, the
          threshold), or ``""``.
        - ``minority``, ``reference``: the groups compared.
        - ``coefficient``: the darkness coefficient (log odds of a stop being of the minority
          group, dark vs light at the same clock time and area). Negative: a smaller minority
          share when ethnicity is harder to see, which indicates disparity.
        - ``odds_ratio``: ``exp(coefficient)``; ``ci_lower``, ``ci_upper``: its Wald interval
          at level ``1 - alpha``; ``p_value``: the Wald test of no darkness effect.
        - ``n``, ``n_minority``, ``n_reference``, ``n_dark``, ``n_light``: stops analysed (in the
          window, after every exclusion), also filled when ineligible.
        - ``window``: the window used, per area, in words.
        - ``clock_assumption``: ``"utc"`` or ``"uk_local"``, the assumption used.
        - ``excluded_no_coordinates``: person searches of the two groups left out for want of
          coordinates (counted after the 12-hour-clock and clock-change exclusions, see Notes).
        - ``excluded_twilight``: stops in the window between sunset and civil dusk, dropped.
        - ``spline_df``: the spline's degrees of freedom.
        - ``areas``: the areas analysed, ``"; "``-separated.

        ``attrs`` holds ``"model"`` (a :class:`KeptModel`, passing attribute access through to
        the fitted statsmodels ``GLMResults``; ``None`` when ineligible), ``"exclusions"`` (the
        ledger: the records' own entries, then every rule applied here with its count),
        ``"clock_source"`` (who declared the clock assumption), ``"window_bounds"`` (area ->
        (start, end) in minutes after midnight) and ``"formula"``.

    Raises
    ------
    ParameterError
        An option outside what is allowed; no clock assumption declared anywhere.
    ValidationError
        A required column missing (with a did-you-mean), a group not in the data, dates or areas
        missing for some stops (with counts), no coordinates at all (or any, with
        ``missing_coordinates="error"``), coordinates out of range.

    Warns
    -----
    DataQualityWarning
        Area-months whose clock times look like a 12-hour clock (excluded, see Notes); the
        model did not converge (status ``ineligible``, with the reason).

    Notes
    -----
    The model (Grogger & Ridgeway 2006; Pierson et al. 2020)::

        logit P(minority) = b0 + beta * dark + s(clock time; df) + area effects

    ``dark`` is 1 when the stop is at or after civil dusk (the sun 6 degrees below the horizon)
    at its place and date, 0 when before sunset. The comparison is identified by the season (and
    the clock changes) moving dusk across fixed clock times; the spline absorbs how the mix of
    people about changes through the evening. Clock time is UK local time under the stated
    assumption, which matters: read the other way, summer times move by an hour and stops change
    between light and dark.

    The test assumes that the mix of people at risk of a stop at a given clock time does not
    change between light and dark (no seasonal change in who is out at 18:00 other than through
    darkness), and that artificial light does not restore visibility. Eligibility is checked
    per area-year but the model pools the years (one darkness coefficient, area fixed effects).

    The rules, in the order applied (each counted in ``attrs["exclusions"]``):

    1. vehicle-only searches; searches of neither group (other groups and not stated);
    2. area-months (UK local month) in which at least 20 searches of any kind are recorded and
       none at 13:00 or later: a 12-hour clock with AM/PM lost is suspected (the City of London
       files from 2019-01 on look like this), so their times of day cannot be trusted;
    3. with ``around_clock_change_days``, stops further than that from a clock change;
    4. stops without coordinates (or placed at their area's median, if asked);
    5. stops on a day without civil dusk at their place (none in England and Wales);
    6. stops outside the window of clock times;
    7. stops between sunset and civil dusk (``excluded_twilight``).

    Sun times are computed at each stop's own coordinates (data.police.uk snaps them to
    anonymised points, a few hundred metres at most: seconds of dusk) and its UK local date. The
    inter-twilight window is taken from the civil dusks of the stops left after rule 5, so it
    follows the period and places actually analysed. ``year`` in the eligibility rule is the UK
    local calendar year. The interval is Wald's (``exp(beta +/- z se)``), from the model-based
    (not robust) covariance.

    References
    ----------
    Grogger, J. and Ridgeway, G. (2006). Testing for racial profiling in traffic stops from
    behind a veil of darkness. JASA 101(475), 878-887.
    Pierson, E. et al. (2020). A large-scale analysis of racial disparities in police stops
    across the United States. Nature Human Behaviour 4, 736-745.

    Examples
    --------
    Synthetic evening searches at Southampton through 2023, the share of Black people among
    those searched the same in light and dark:

    >>> import numpy as np, pandas as pd
    >>> from dispro.stopsearch.darkness import veil_of_darkness
    >>> rng = np.random.default_rng(1)
    >>> n = 3000
    >>> wall = (pd.Timestamp("2023-01-01 16:00") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    ...         + pd.to_timedelta(rng.uniform(0, 390, n), "min"))
    >>> records = pd.DataFrame({
    ...     "date": wall.tz_localize("Europe/London", ambiguous=True,
    ...                              nonexistent="shift_forward").tz_convert("UTC"),
    ...     "force": "Hampshire", "latitude": 50.90, "longitude": -1.40,
    ...     "ethnicity": rng.choice(["Black", "White"], n, p=[0.3, 0.7]), "vehicle_only": False})
    >>> records.attrs["clock"] = "utc"  # as read_police_uk(..., clock="utc") records it
    >>> table = veil_of_darkness(records)
    >>> table[["status", "n", "n_minority", "n_dark", "clock_assumption"]]
      status     n  n_minority  n_dark clock_assumption
    0     ok  2266         660    1234              utc
    >>> bool(table.loc[0, "ci_lower"] < 1 < table.loc[0, "ci_upper"])
    True

    Real files: ``veil_of_darkness(dispro.read_police_uk("2024-03.zip"),
    around_clock_change_days=30)``.
    """
    _check_params(
        clock=clock, window=window, around_clock_change_days=around_clock_change_days,
        spline_df=spline_df, min_per_group=min_per_group, alpha=alpha,
        missing_coordinates=missing_coordinates, minority=minority, reference=reference,
    )  # fmt: skip
    sample, info = _prepare(
        records, minority=minority, reference=reference, ethnicity=ethnicity, clock=clock,
        window=window, around_clock_change_days=around_clock_change_days, area=area,
        missing_coordinates=missing_coordinates,
    )  # fmt: skip
    n_min = int(sample["is_minority"].sum())
    n_dark = int(sample["dark"].sum())
    areas = sorted(map(str, sample["area"].unique()))
    row = {
        "status": "ineligible",
        "reason": "",
        "minority": minority,
        "reference": reference,
        "coefficient": np.nan,
        "odds_ratio": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "p_value": np.nan,
        "n": len(sample),
        "n_minority": n_min,
        "n_reference": len(sample) - n_min,
        "n_dark": n_dark,
        "n_light": len(sample) - n_dark,
        "window": info["window"],
        "clock_assumption": info["clock"],
        "excluded_no_coordinates": info["excluded_no_coordinates"],
        "excluded_twilight": info["excluded_twilight"],
        "spline_df": int(spline_df),
        "areas": "; ".join(areas),
    }
    spline = f'cr(clock_minute, df={int(spline_df)}, constraints="center")'
    formula = f"is_minority ~ dark + {spline}" + (" + C(area)" if len(areas) > 1 else "")
    model = None
    reason = _eligibility(sample, info, min_per_group, minority, reference)
    if reason is None:
        model, reason = _fit(sample, formula)
    if model is not None:
        z = stats.norm.ppf(1 - alpha / 2)
        beta, se = float(model.params["dark"]), float(model.bse["dark"])
        row.update(
            status="ok",
            coefficient=beta,
            odds_ratio=math.exp(beta),
            ci_lower=math.exp(beta - z * se),
            ci_upper=math.exp(beta + z * se),
            p_value=float(2 * stats.norm.sf(abs(beta / se))),
        )
    else:
        row["reason"] = reason
    table = pd.DataFrame([row], columns=list(DARKNESS_COLUMNS))
    for col in ("n", "n_minority", "n_reference", "n_dark", "n_light", "excluded_no_coordinates",
                "excluded_twilight", "spline_df"):  # fmt: skip
        table[col] = table[col].astype("int64")
    table.attrs["exclusions"] = list(records.attrs.get("exclusions", [])) + info["entries"]
    table.attrs.update(
        model=KeptModel(model) if model is not None else None,
        clock_source=info["clock_source"],
        window_bounds=info["bounds"],
        formula=formula,
    )
    return table


def _fit(sample: pd.DataFrame, formula: str):
    """Fit the GLM (dispro's engine, stopped where statsmodels' own fit with its default
    tolerance stops); returns (result, None) or (None, reason)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    from ..models import fit_glm

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit_glm(sample, formula, family="binomial", tol=1e-8, polish=False)
    except Exception as exc:  # patsy (too few distinct clock times for the knots), linear algebra
        return None, f"the model could not be fitted: {type(exc).__name__}: {exc}"
    trouble = [
        w for w in caught if issubclass(w.category, ConvergenceWarning | PerfectSeparationWarning)
    ]
    if not result.converged or trouble or not np.isfinite(result.bse["dark"]):
        why = "; ".join(str(w.message) for w in trouble) or "the iterations did not converge"
        reason = (
            f"the model did not converge ({why}); too few stops, or a group absent from some cells"
        )
        warnings.warn(reason, DataQualityWarning, stacklevel=3)
        return None, reason
    return result, None


def darkness_shares(
    records: pd.DataFrame,
    *,
    minority: str = "Black",
    reference: str = "White",
    ethnicity: str = "ethnicity",
    clock: str | None = None,
    window="inter_twilight",
    around_clock_change_days: float | None = None,
    area: str | None = "force",
    missing_coordinates: str = "exclude",
    bin_minutes: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The minority share of searches by clock time, in daylight and in darkness.

    The descriptive table behind the veil of darkness test (and
    :func:`dispro.plots.darkness.plot_darkness`): the same analysis sample as
    :func:`veil_of_darkness` (same options, same exclusions), pooled over areas, in bins of UK
    local clock time. A lower share in darkness than in daylight within the same bin points the
    way a negative darkness coefficient does (the model adds the spline and the area effects).

    Parameters
    ----------
    records, minority, reference, ethnicity, clock, window, around_clock_change_days, area, missing_coordinates
        As :func:`veil_of_darkness`.
    bin_minutes : int
        Width of the clock-time bins, in minutes (bins start at multiples of it after midnight).
    alpha : float
        1 - the confidence level of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per (bin, light or dark) with stops, columns :data:`SHARES_COLUMNS`:
        ``bin_start``, ``bin_end`` (minutes after midnight, UK local clock), ``clock_time``
        (``"HH:MM-HH:MM"``), ``darkness`` (``"light"`` before sunset, ``"dark"`` after civil
        dusk), ``n``, ``n_minority``, ``n_reference``, ``minority_share``
        (``n_minority / n``), ``ci_lower``, ``ci_upper`` (Wilson interval of the share).
        ``attrs`` holds ``minority``, ``reference``, ``clock_assumption``, ``window`` and the
        ``exclusions`` ledger.

    Raises
    ------
    ParameterError, ValidationError
        As :func:`veil_of_darkness`; ``bin_minutes`` not a whole number from 1 to 720.
    """
    _check_params(
        clock=clock, window=window, around_clock_change_days=around_clock_change_days,
        spline_df=6, min_per_group=0, alpha=alpha, missing_coordinates=missing_coordinates,
        minority=minority, reference=reference,
    )  # fmt: skip
    if (
        isinstance(bin_minutes, bool)
        or not isinstance(bin_minutes, Integral)
        or not 1 <= bin_minutes <= 720
    ):
        raise ParameterError(
            f"`bin_minutes` must be a whole number from 1 to 720, but {bin_minutes!r} was passed"
        )
    sample, info = _prepare(
        records, minority=minority, reference=reference, ethnicity=ethnicity, clock=clock,
        window=window, around_clock_change_days=around_clock_change_days, area=area,
        missing_coordinates=missing_coordinates,
    )  # fmt: skip
    start = (np.floor(sample["clock_minute"].to_numpy() / bin_minutes) * bin_minutes).astype(
        np.int64
    )
    grouped = (
        sample.assign(bin_start=start, darkness=np.where(sample["dark"] == 1, "dark", "light"))
        .groupby(["bin_start", "darkness"], sort=True)["is_minority"]
        .agg(n="size", n_minority="sum")
        .reset_index()
    )
    grouped["n_minority"] = grouped["n_minority"].astype("int64")
    grouped["n"] = grouped["n"].astype("int64")
    grouped["bin_end"] = grouped["bin_start"] + bin_minutes
    grouped["clock_time"] = [
        f"{_hhmm(a)}-{_hhmm(b % 1440)}"
        for a, b in zip(grouped["bin_start"], grouped["bin_end"], strict=True)
    ]
    grouped["n_reference"] = grouped["n"] - grouped["n_minority"]
    n = grouped["n"].to_numpy(dtype=float)
    k = grouped["n_minority"].to_numpy(dtype=float)
    grouped["minority_share"] = k / n
    lower, upper = _wilson(k, n, float(stats.norm.ppf(1 - alpha / 2)))
    grouped["ci_lower"], grouped["ci_upper"] = lower, upper
    grouped["_order"] = grouped["darkness"].map({"light": 0, "dark": 1})
    grouped = grouped.sort_values(["bin_start", "_order"], kind="stable")
    table = grouped[list(SHARES_COLUMNS)].reset_index(drop=True)
    table.attrs = {
        "minority": minority,
        "reference": reference,
        "clock_assumption": info["clock"],
        "window": info["window"],
        "exclusions": list(records.attrs.get("exclusions", [])) + info["entries"],
    }
    return table
