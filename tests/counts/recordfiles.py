"""Synthetic stop_search records and record files, shared by the tests of dispro.counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

ENGINES = ["pandas", "duckdb"]
FORCES = ["Hampshire", "Dorset", "Wiltshire"]
GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
LEGISLATION = [
    "Misuse of Drugs Act 1971 (section 23)",
    "Police and Criminal Evidence Act 1984 (section 1)",
    "Criminal Justice and Public Order Act 1994 (section 60)",
]
OUTCOMES = ["arrest", "no_further_action", "community_resolution", "caution"]
SEARCH_TYPES = ["Person search", "Person and Vehicle search", "Vehicle search"]
PERSON = ["Person search", "Person and Vehicle search"]


def make_records(rng: np.random.Generator, n: int = 4000) -> pd.DataFrame:
    """Synthetic stop_search records (text dates in the police.uk form) with some blanks."""
    start = np.datetime64("2023-01-01T00:00:00", "s").astype("int64")
    end = np.datetime64("2025-01-01T00:00:00", "s").astype("int64")
    seconds = rng.integers(start, end, n).astype("datetime64[s]")
    dates = pd.Series(pd.to_datetime(seconds)).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    frame = pd.DataFrame(
        {
            "date": dates.to_numpy(dtype=object),
            "force": rng.choice(FORCES, n),
            "search_type": rng.choice(SEARCH_TYPES, n, p=[0.7, 0.2, 0.1]),
            "sex": rng.choice(["Male", "Female"], n),
            "age_band": rng.choice(["10-17", "18-24", "25-34", "over 34"], n),
            "ethnicity": rng.choice(GROUPS, n, p=[0.6, 0.12, 0.12, 0.06, 0.04, 0.06]),
            "legislation": rng.choice(LEGISLATION, n, p=[0.6, 0.35, 0.05]).astype(object),
            "outcome": rng.choice(OUTCOMES, n, p=[0.15, 0.7, 0.1, 0.05]).astype(object),
            "arrest": rng.random(n) < 0.15,
        }
    )
    # blanks where the standard allows them: legislation and outcome not recorded
    frame.loc[rng.random(n) < 0.03, "legislation"] = None
    frame.loc[rng.random(n) < 0.02, "outcome"] = None
    return frame


def write(frame: pd.DataFrame, folder, fmt: str, parts: int = 3, stem: str = "part") -> str:
    """Write ``frame`` in ``parts`` files of one format; return the glob that finds them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        piece = frame.iloc[chunk]
        path = folder / f"{stem}{i}.{fmt}"
        if fmt == "csv":
            piece.to_csv(path, index=False)
        else:
            piece.to_parquet(path, index=False)
    return str(folder / f"{stem}*.{fmt}")


def quarter_of(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates, format="ISO8601", utc=True)
    return d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str)


def near_misses() -> list[str]:
    """Dates in the usual layouts with one or two characters changed (blanks, signs, letters,
    non-ASCII digits), plus impossible days and times."""
    swaps = [" ", "+", "-", "a", "٣", ".", ":", "T", "0", "9", "5", "\t", "Z", "２"]
    out = set()
    for good in ["2024-03-31T10:20:30+00:00", "2024-03-31", "2024-02-29", "1999-12-31T23:59:59Z"]:
        digits = [i for i, ch in enumerate(good) if ch.isdigit()]
        out.add(good)
        for i in digits:
            out.update(good[:i] + c + good[i + 1 :] for c in swaps)
        for i, j in zip(digits, digits[1:], strict=False):
            out.update(good[:i] + c + good[i + 1 : j] + c + good[j + 1 :] for c in " +-09")
    out.update(["2024-03-31T24:00:00+00:00", "0999-03-31", "2023-02-29", "2024-04-31", " 24-03-31"])
    return sorted(out)
