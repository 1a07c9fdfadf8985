"""The analysis sample of the veil of darkness: parameter checks, exclusions and eligibility.

Private to :mod:`dispro.stopsearch.darkness`, which documents the rules.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ..errors import (
    DataQualityWarning,
    DisproError,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from ._sun import (
    _TWELVE_HOUR_MIN,
    _clock_changes,
    _days_to_change,
    _hhmm,
    _instants,
    _month_ranges,
    _parse_hhmm,
    _sun_times,
    _twelve_hour,
    _wall_parts,
)

#: Named windows (a pair of ``"HH:MM"`` clock times is also accepted).
WINDOWS = ("inter_twilight",)
#: What to do with stops that have no coordinates.
MISSING_COORDINATES = ("exclude", "area_median", "error")
#: Clock assumptions for the ``+00:00`` stamps (as :func:`dispro.read_police_uk` names them).
CLOCKS = ("utc", "uk_local")
STEP = "veil_of_darkness"
_ALL_AREAS = "all areas"


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

    Returns the stops in the window (ambiguous twilight dropped), columns ``area``, ``year``
    (the 12-month year of the eligibility rule, :func:`_year_spans`),
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
    s["span"], span_labels = _year_spans(s["month"])
    pairs = np.unique(s["area_code"].astype(np.int64) * 10_000 + s["span"])
    area_years = sorted((str(area_labels[p // 10_000]), span_labels[p % 10_000]) for p in pairs)

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
            "year": span_labels[s["span"]],
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


def _year_spans(month: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 12-month years of the eligibility rule, counted from the first month present.

    ``month`` counts months since 1970-01 (UK local). Returns ``codes`` (0, 1, ... per stop)
    and ``labels`` (an object array indexed by code): the calendar year (``"2023"``) when the
    first month is a January, else the span (``"2021-04 to 2022-03"``), so that data starting
    in April are counted by financial year and a period's months are never split into a short
    calendar-year stub at each end.
    """
    month = np.asarray(month, dtype=np.int64)
    first = int(month.min()) if len(month) else 0
    codes = (month - first) // 12
    n = int(codes.max()) + 1 if len(codes) else 0

    def ym(m: int) -> str:
        return f"{1970 + m // 12}-{m % 12 + 1:02d}"

    if first % 12 == 0:
        labels = [str(1970 + first // 12 + k) for k in range(n)]
    else:
        labels = [f"{ym(first + 12 * k)} to {ym(first + 12 * k + 11)}" for k in range(n)]
    return codes, np.array(labels, dtype=object)


def _eligibility(
    sample: pd.DataFrame,
    info: dict,
    min_per_group: int,
    minority: str,
    reference: str,
    *,
    pooled: bool = False,
) -> str | None:
    """``None`` when every area-year (every year of the pool, if ``pooled``) has enough stops
    of each group, else the reason.

    Area-years are those with person searches of the two groups in the records; one whose stops
    were all excluded counts as 0 and 0. Years are 12-month spans from the first month present
    (:func:`_year_spans`).
    """
    area_years = info["area_years"]
    unit = "area-years"
    if pooled:
        sample = sample.assign(area="all areas pooled")
        area_years = sorted({("all areas pooled", y) for _, y in area_years})
        unit = "years of the areas pooled"
    counts = (
        sample.assign(n_min=sample["is_minority"], n_ref=1 - sample["is_minority"])
        .assign(area=sample["area"].astype(str))
        .groupby(["area", "year"])[["n_min", "n_ref"]]
        .sum()
        .reindex(pd.MultiIndex.from_tuples(area_years, names=["area", "year"]), fill_value=0)
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
            f"{len(counts)} {unit} (stops in the window after exclusions; the Stanford Open "
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
