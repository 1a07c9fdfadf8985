"""The Home Office published total of stop and searches per force and financial year (table
SS_20 of *Police powers and procedures: stop and search and arrests*), to reconcile the
data.police.uk records of a year with (:func:`dispro.stopsearch.reconcile_totals`).

The year ending March 2025 table is bundled (``dispro/_data/ss20_total_searches_ye_mar2025.csv``,
Open Government Licence v3.0; see ``_data/SOURCES.md``); a newer or other file of the same
layout (one or more years) can be passed instead. The layout, one row per force and year::

    force_id,pfa_code,year_end,published_total,scope,retrieved,source
    city-of-london,E23000034,2025,2348,All relevant legislation; SS_20,2026-09-16,https://...

``force_id`` is a data.police.uk force slug (any spelling :func:`dispro.forces.normalise_force`
takes is accepted), ``pfa_code`` the ONS police force area code (blank for British Transport
Police), ``year_end`` the calendar year in which the financial year (April to March) ends, and
``published_total`` the searches under all relevant legislation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import as_list, bad_counts, check_distinct
from .._paths import DATA_DIR
from ..errors import DisproError, ParameterError, ValidationError, did_you_mean
from ..forces import force_table, official_names
from ._files import shown_names
from .records import read_table

__all__ = [
    "BUNDLED_TOTALS",
    "OFFICIAL_TOTALS_COLUMNS",
    "financial_year_label",
    "read_official_totals",
]

#: The bundled table: Home Office SS_20, year ending 31 March 2025 (43 forces and BTP).
BUNDLED_TOTALS = DATA_DIR / "ss20_total_searches_ye_mar2025.csv"
#: Columns of :func:`read_official_totals`.
OFFICIAL_TOTALS_COLUMNS = (
    "force", "pfa_code", "year_end", "financial_year", "published_total", "scope", "retrieved",
    "source",
)  # fmt: skip

_REQUIRED = ("force_id", "year_end", "published_total")
_OPTIONAL = ("pfa_code", "scope", "retrieved", "source")
#: The years a ``year_end`` may hold (the Home Office series begins in the 1990s).
_YEARS = (1990, 2100)
_SHOWN = 10  # rows quoted in a message


def financial_year_label(year_end: int) -> str:
    """The financial year (April to March) ending in March of ``year_end``: ``2024/25``.

    >>> financial_year_label(2025)
    '2024/25'
    """
    return f"{int(year_end) - 1}/{int(year_end) % 100:02d}"


def _rows(
    name: str, lines, values, what: str, fix: str, column: str, notes=None
) -> ValidationError:
    """A message naming the file, the column, the lines and the values of the bad cells (each
    cut at 40 characters), with a note on each where given."""
    lines, values = list(lines), ["" if pd.isna(v) else str(v)[:40] for v in values]
    notes = list(notes) if notes is not None else [""] * len(lines)
    shown = ", ".join(
        f"line {i}: {v!r}{n}"
        for i, v, n in zip(lines[:_SHOWN], values[:_SHOWN], notes[:_SHOWN], strict=True)
    )
    more = f" (+{len(lines) - _SHOWN} more)" if len(lines) > _SHOWN else ""
    return ValidationError(
        f"{name}: column {column!r}: {len(lines)} row(s) {what} ({shown}{more}). {fix}"
    )


def _one(path: Path) -> pd.DataFrame:
    """One file of totals, checked; rows keep their file and line for later messages."""
    name = str(path)
    try:
        is_file = path.is_file()
    except (OSError, ValueError) as exc:
        raise DisproError(f"{name}: not a usable path ({exc})") from None
    if not is_file:
        where = "is a folder" if path.is_dir() else "does not exist"
        raise DisproError(
            f"{name} {where}: give a CSV file of published totals (columns {list(_REQUIRED)}, "
            f"optionally {list(_OPTIONAL)}), or nothing for the bundled year ending March 2025"
        )
    cells = read_table(path)
    cells.columns = [str(c).strip() for c in cells.columns]
    missing = [c for c in _REQUIRED if c not in cells.columns]
    if missing:
        hints = "".join(did_you_mean(c, cells.columns) for c in missing)
        raise ValidationError(
            f"{name}: the column(s) {missing} are missing{hints}; columns present: "
            f"{shown_names(cells.columns)}. A table of published totals has the columns "
            f"{list(_REQUIRED)} (and optionally {list(_OPTIONAL)}), one row per force and year, "
            "as the bundled Home Office table"
        )
    if cells.empty:
        raise ValidationError(f"{name}: the file has a header but no rows of totals")
    for column in _OPTIONAL:
        if column not in cells.columns:
            cells[column] = None
    frame = (
        cells[[*_REQUIRED, *_OPTIONAL]]
        .apply(
            lambda s: s.map(lambda v: None if pd.isna(v) or not str(v).strip() else str(v).strip())
        )
        .astype(object)
    )
    lines = frame.index.to_numpy()

    # force: any spelling of a police force area
    blank = frame["force_id"].isna().to_numpy()
    if blank.any():
        raise _rows(name, lines[blank], frame["force_id"][blank], "have no force",
                    "Give the data.police.uk force slug (e.g. 'city-of-london') on every row.",
                    "force_id")  # fmt: skip
    forces = official_names(frame["force_id"])
    table = force_table()
    unknown = ~forces.isin(table["code"]).to_numpy()
    if unknown.any():
        given = frame["force_id"][unknown]
        raise _rows(
            name, lines[unknown], given, "name no police force of England and Wales",
            "Use the data.police.uk slug (e.g. 'avon-and-somerset'), the official name or the "
            "ONS code; the forces are listed in data_dictionary/codelists/police_force_area.csv.",
            "force_id", [did_you_mean(v, table["police_uk_slug"]) for v in given],
        )  # fmt: skip

    # pfa_code: where given, the force's own ONS code
    codes = table.set_index("code")["ons_code"].fillna("").astype(str)
    expected = forces.map(codes).fillna("").to_numpy(dtype=object)
    given = frame["pfa_code"].to_numpy(dtype=object)
    wrong = np.array(
        [isinstance(g, str) and g.upper() != e for g, e in zip(given, expected, strict=True)],
        dtype=bool,
    )
    if wrong.any():
        owner = dict(zip(codes.str.upper(), codes.index, strict=False))
        notes = [
            f" for {f} (" + (f"{f}'s code is {e}" if e else f"{f} has no ONS code")
            + (f"; {g} is {owner[g.upper()]}'s" if g.upper() in owner else "") + ")"
            for g, f, e in zip(given[wrong], forces[wrong], expected[wrong], strict=True)
        ]  # fmt: skip
        raise _rows(
            name,
            lines[wrong],
            given[wrong],
            "give a police force area code that is not the force's",
            "Correct the code or the force (the codes are in data_dictionary/codelists/"
            "police_force_area.csv), or leave pfa_code blank.",
            "pfa_code",
            notes,
        )

    # year_end: a whole year
    years = frame["year_end"]
    numbers = pd.to_numeric(years, errors="coerce")
    bad = years.isna().to_numpy() | (numbers.notna() & ~numbers.between(*_YEARS)).to_numpy()
    for _what, mask in bad_counts(years):
        bad |= mask
    if bad.any():
        raise _rows(
            name, lines[bad], years[bad].fillna(""), "do not hold a year",
            f"Give the calendar year, from {_YEARS[0]} to {_YEARS[1]}, in which the financial "
            "year ends (2025 for April 2024 to March 2025).",
            "year_end",
        )  # fmt: skip

    # published_total: a whole number of searches, never blank
    totals = frame["published_total"]
    reason = np.full(len(frame), "", dtype=object)
    for what, mask in [("are blank", totals.isna().to_numpy()), *bad_counts(totals)]:
        reason[mask & (reason == "")] = f" ({what.removeprefix('are ')})"
    bad = reason != ""
    if bad.any():
        raise _rows(
            name, lines[bad], totals[bad], "do not hold a number of searches",
            "Give the published number of searches, a whole number (a missing total is not "
            "a zero: remove the row of a force and year without one).",
            "published_total", reason[bad],
        )  # fmt: skip

    out = pd.DataFrame(
        {
            "force": forces.to_numpy(dtype=object),
            "pfa_code": np.where(expected == "", None, expected),
            "year_end": numbers.astype("int64").to_numpy(),
            "published_total": pd.to_numeric(totals).astype("int64").to_numpy(),
            "scope": frame["scope"].to_numpy(dtype=object),
            "retrieved": frame["retrieved"].to_numpy(dtype=object),
            "source": frame["source"].to_numpy(dtype=object),
            "_where": [f"{name} line {i}" for i in lines],
            "_given": frame["force_id"].to_numpy(dtype=object),
        }
    )
    out.attrs["sha256"] = cells.attrs.get("sha256")
    return out


def read_official_totals(path=None) -> pd.DataFrame:
    """Read Home Office published total searches per force and financial year.

    Parameters
    ----------
    path : str, Path or list of them, optional
        CSV (or parquet, Excel) files in the layout of the bundled table (columns
        ``force_id, pfa_code, year_end, published_total, scope, retrieved, source``; ``pfa_code``,
        ``scope``, ``retrieved`` and ``source`` may be left out), one or more years each.
        Default: the bundled Home Office table SS_20 for the year ending March 2025
        (:data:`BUNDLED_TOTALS`).

    Returns
    -------
    DataFrame
        :data:`OFFICIAL_TOTALS_COLUMNS`, one row per force and year, sorted: ``force`` (the
        official force area name), ``pfa_code`` (the ONS code from the code list; missing for
        British Transport Police), ``year_end`` (int), ``financial_year`` (``2024/25``),
        ``published_total`` (int), and the file's ``scope``, ``retrieved`` and ``source``.
        ``attrs["files"]`` lists each file read with its SHA-256.

    Raises
    ------
    DisproError
        A path that is not a file, a file given twice, a file that is not readable (not UTF-8,
        not CSV, rows with missing cells).
    ValidationError
        A required column is missing; a force is blank or not a police force of England and
        Wales; a ``pfa_code`` is not the force's ONS code; a ``year_end`` is not a year; a
        ``published_total`` is blank, not a whole number or negative; a force and year is given
        twice (within a file or across files, by any spelling). Each message names the file, the
        column, the lines and the values.
    ParameterError
        ``path`` is not a path or a list of paths.

    Examples
    --------
    >>> totals = read_official_totals()
    >>> city = totals.set_index("force").loc["City of London"]
    >>> city["financial_year"], int(city["published_total"])
    ('2024/25', 2348)
    """
    if path is None or isinstance(path, str | Path):
        paths = [BUNDLED_TOTALS if path is None else path]
    else:
        paths = as_list(path) if isinstance(path, list | tuple) else []
    if not paths or not all(isinstance(p, str | Path) for p in paths):
        raise ParameterError(
            f"`path` must be a file path or a list of file paths of published totals (or None "
            f"for the bundled table), but {path!r} was passed"
        )
    paths = [Path(p) for p in paths]
    check_distinct(paths, "table of published totals")
    frames = [_one(p) for p in paths]
    table = pd.concat(frames, ignore_index=True)
    repeated = table.duplicated(["force", "year_end"], keep=False).to_numpy()
    if repeated.any():
        dup = table[repeated].sort_values(["force", "year_end"])
        shown = "; ".join(
            f"{f} {financial_year_label(y)}: "
            + ", ".join(
                f"{g!r} at {w}" for g, w in zip(rows["_given"], rows["_where"], strict=True)
            )
            for (f, y), rows in list(dup.groupby(["force", "year_end"], sort=True))[:_SHOWN]
        )
        raise ValidationError(
            f"column 'force_id' with 'year_end': {int(repeated.sum())} rows give a force and year "
            f"more than once ({shown}). Give each force's total for a year once (two spellings "
            "of a force are the same force)."
        )
    table.insert(3, "financial_year", table["year_end"].map(financial_year_label))
    table = table.sort_values(["force", "year_end"]).reset_index(drop=True)
    table = table[list(OFFICIAL_TOTALS_COLUMNS)]
    table.attrs["files"] = [
        {"file": p.name if p == BUNDLED_TOTALS else str(p), "sha256": f.attrs.get("sha256")}
        for p, f in zip(paths, frames, strict=True)
    ]
    return table
