"""The sun and the clock for the veil of darkness: numpy arrays in, numpy arrays out.

Sunset and civil dusk by ``astral`` (once per place and date), UTC instants under a clock
assumption, UK local wall-clock parts, the dates of the clock changes, the detection of
area-months that look like a 12-hour clock, and ``HH:MM`` formatting. Private to
:mod:`dispro.stopsearch.darkness`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..errors import ParameterError

UK = ZoneInfo("Europe/London")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
#: An area-month with at least this many stops and none at 13:00 or later is taken as a
#: 12-hour clock with AM/PM lost (City of London files from 2019-01 on look like this).
_TWELVE_HOUR_MIN = 20


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
