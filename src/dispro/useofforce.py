"""Police use of force by officer-perceived ethnicity: rates per 1,000 residents, relative rate
indices and the comparison with England and Wales, from the Home Office tables.

The Home Office "Police use of force statistics" tables give, for each force and financial year
(April to March), the tactics used by the ethnicity the officer perceived. :func:`read_use_of_force`
reads them through the shipped mapping ``home_office_use_of_force_by_ethnicity`` (the
``*Total Tactics`` row of each force: every tactic recorded, excluding tactical communication
and tactics not reported; Chinese placed in Asian as the Census does; Don't know and Not reported
as Not stated) and labels each table with its financial year.

The events are **uses of force (tactics recorded)**, not people: the Home Office counts each
tactic used in an incident (handcuffing and ground restraint of one person are two), so one
person can be counted several times, in one incident and across incidents. A rate is tactics per
1,000 residents a year (Census 2021 usual residents, one person-year per resident for the
12 months of a financial year); a relative rate index (RRI) compares two groups' rates.

- :func:`use_of_force_rates`: each force of the area and England and Wales (the sum of the 43
  territorial forces of the tables), each financial year, through :func:`dispro.rri` (exact
  Poisson intervals, Benjamini-Hochberg over the table), as the stop-and-search rates are.
- :func:`national_comparison`: each force's rate against England and Wales for the same group
  and year (a rate ratio through :func:`dispro.rri`), beside the force's and the national RRI.
- :func:`not_stated_shares`: the share of tactics whose subject's ethnicity was not recorded
  (no population exists for them, so they have a share, not a rate).
- :func:`financial_years_in`: the tables' years that overlap a period (the report's filter).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import ledger
from ._checks import check_distinct, require_columns
from .errors import AreaError, DataQualityWarning, DisproError, ParameterError
from .ethnicity import NOT_STATED
from .forces import force_table, normalise_force, wessex_forces
from .population import census2021, person_years
from .rates import RRI_COLUMNS, rri
from .readers import read_counts

__all__ = [
    "MAPPING",
    "NATIONAL",
    "EVENTS",
    "UOF_COLUMNS",
    "RATE_COLUMNS",
    "COMPARISON_COLUMNS",
    "NOT_STATED_COLUMNS",
    "financial_year_of",
    "financial_year_start",
    "read_use_of_force",
    "financial_years_in",
    "use_of_force_rates",
    "national_comparison",
    "not_stated_shares",
]

#: The shipped mapping the Home Office tables are read through.
MAPPING = "home_office_use_of_force_by_ethnicity"
#: The comparator: the sum of the territorial forces of the tables.
NATIONAL = "England and Wales"
#: What the events are, in words.
EVENTS = "uses of force (tactics recorded)"
#: Columns of :func:`read_use_of_force`.
UOF_COLUMNS = ("force", "financial_year", "period", "ethnicity", "events")
#: Columns of :func:`use_of_force_rates`: ``area, financial_year, period``, the RRI columns, ``note``.
RATE_COLUMNS = ("area", "financial_year", "period", *RRI_COLUMNS, "note")
#: Columns of :func:`national_comparison`.
COMPARISON_COLUMNS = (
    "area", "financial_year", "period", "group", "events", "base", "rate", "national_events",
    "national_base", "national_rate", "rate_ratio", "ci_lower", "ci_upper", "p_value",
    "q_value", "significant", "status", "rri", "national_rri",
)  # fmt: skip
#: Columns of :func:`not_stated_shares`.
NOT_STATED_COLUMNS = ("area", "financial_year", "period", "tactics", "not_stated", "share")

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_YEAR_PATTERNS = (
    # april2018-march2019, apr2017-mar2018, April 2019 to March 2020
    re.compile(r"apr(?:il)?[\s_.-]*(\d{4})[\s_.-]*(?:to[\s_.-]*)?mar(?:ch)?[\s_.-]*(\d{4})"),
    # year ending March 2020, ye-mar-2020
    re.compile(r"(?:year[\s_.-]*ending|\bye)[\s_.-]*mar(?:ch)?[\s_.-]*(\d{4})"),
    # 2019-20, 2019_20, 2019to20
    re.compile(r"(?<!\d)(\d{4})[\s_.-]*(?:to[\s_.-]*)?(\d{2})(?!\d)"),
)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def _label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def _months(start: int) -> str:
    return f"{start}-04 to {start + 1}-03"


def financial_year_of(name: str) -> str | None:
    """The financial year (``"2019-20"``) a Home Office table's file name names, or None.

    Examples
    --------
    >>> [financial_year_of(n) for n in ["april2019-march2020.csv", "uof-2018-19.csv",
    ...                                 "police-use-of-force-apr2017-mar2018-tables.ods",
    ...                                 "use-of-force-year-ending-march-2021.csv", "table.csv"]]
    ['2019-20', '2018-19', '2017-18', '2020-21', None]
    """
    text = Path(str(name)).name.lower()
    found = set()
    for pattern in _YEAR_PATTERNS:
        for m in pattern.finditer(text):
            groups = [g for g in m.groups() if g is not None]
            first = int(groups[0])
            if len(groups) == 1:  # year ending March
                found.add(first - 1)
            elif len(groups[1]) == 4 and int(groups[1]) == first + 1:
                found.add(first)
            elif len(groups[1]) == 2 and int(groups[1]) == (first + 1) % 100:
                found.add(first)
        if found:
            break
    found = {y for y in found if 1990 <= y <= 2098}
    return _label(found.pop()) if len(found) == 1 else None


def financial_year_start(key) -> int:
    """The first calendar year of a financial year given as ``2019-20``, ``2019/20`` or 2019
    (a :class:`~dispro.errors.ParameterError` otherwise)."""
    text = str(key).strip()
    m = re.fullmatch(r"(\d{4})(?:\s*[-/]\s*(\d{2}|\d{4}))?", text)
    if m:
        first = int(m.group(1))
        second = m.group(2)
        if second is None or int(second) in ((first + 1) % 100, first + 1):
            return first
    raise ParameterError(
        f"the financial year {key!r} of a use-of-force table is not a financial year; write it "
        "as 2019-20 (April 2019 to March 2020)"
    )


def read_use_of_force(tables, *, mapping=MAPPING, strict: bool = True) -> pd.DataFrame:
    """Read Home Office use-of-force tables (tactics by perceived ethnicity and force), one per
    financial year.

    Parameters
    ----------
    tables : path, list of paths, or mapping
        The tables' files. As a mapping ``{financial year: file}`` (``{"2019-20":
        "uof.csv"}``) the years are given; as paths, each file's name must name its year
        (``april2019-march2020.csv``, ``...-2019-20.csv``, ``apr2019-mar2020``, ``year ending
        March 2020``).
    mapping : str, Path or dict
        The mapping (default: the shipped ``home_office_use_of_force_by_ethnicity``).
    strict : bool
        Passed to :func:`dispro.read_counts`.

    Returns
    -------
    DataFrame
        :data:`UOF_COLUMNS`: ``force`` (official name), ``financial_year`` (``"2019-20"``),
        ``period`` (its months, ``"2019-04 to 2020-03"``), ``ethnicity`` (5+1 groups) and
        ``events`` (tactics). ``attrs``: the exclusions ledger of :func:`dispro.read_counts`,
        ``source`` and ``financial_years_supplied``.

    Raises
    ------
    DisproError
        A file whose name does not name one financial year (give the mapping form instead), two
        files of one year, or anything :func:`dispro.read_counts` refuses.
    """
    if isinstance(tables, Mapping):
        if not tables:
            raise ParameterError("`tables` is an empty mapping; give {financial year: file}")
        pairs = [(Path(str(p)), financial_year_start(k)) for k, p in tables.items()]
    else:
        items = tables if isinstance(tables, list | tuple) else [tables]
        if not items:
            raise ParameterError("`tables` is empty; give the use-of-force tables' files")
        pairs = []
        for p in items:
            year = financial_year_of(p)
            if year is None:
                raise DisproError(
                    f"{p}: the file name does not name one financial year (such as "
                    "april2019-march2020 or 2019-20), so the year of the table is unknown. Give "
                    "the tables as {financial year: file}, e.g. `use_of_force: {2019-20: "
                    f"{Path(str(p)).name}}}`"
                )
            pairs.append((Path(str(p)), int(year[:4])))
    years = [y for _, y in pairs]
    twice = sorted({_label(y) for y in years if years.count(y) > 1})
    if twice:
        raise DisproError(
            f"more than one use-of-force table for the financial year(s) {twice}: "
            f"{[str(p) for p, y in pairs if _label(y) in twice]}; give one table per year (two "
            "would count every tactic twice)"
        )
    check_distinct([p for p, _ in pairs], "use-of-force table")
    frames, entries = [], []
    for path, year in sorted(pairs, key=lambda x: x[1]):
        table = read_counts(path, mapping=mapping, strict=strict)
        entries.extend(table.attrs.get("exclusions", []))
        frames.append(table.assign(financial_year=_label(year), period=_months(year)))
    out = pd.concat(frames, ignore_index=True)[list(UOF_COLUMNS)]
    out.attrs = {
        "exclusions": entries,
        "source": [str(p) for p, _ in pairs],
        "financial_years_supplied": sorted(_label(y) for y in years),
    }
    return out


def financial_years_in(counts: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """The rows of the financial years that overlap the months ``start`` to ``end`` (``YYYY-MM``);
    the years left out are counted in the exclusions ledger. ``attrs["financial_years_used"]``
    lists the years kept."""
    require_columns(counts, {"financial_year": "financial year"}, "the use-of-force counts")
    first, last = pd.Period(start, freq="M"), pd.Period(end, freq="M")
    year = counts["financial_year"].astype(str).str[:4].astype(int)
    y_start = pd.PeriodIndex([pd.Period(f"{y}-04", freq="M") for y in year], freq="M")
    keep = np.asarray((y_start <= last) & (y_start + 11 >= first))
    out = counts.loc[keep].reset_index(drop=True)
    out.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in counts.attrs.items()}
    left = sorted(set(counts.loc[~keep, "financial_year"].astype(str)))
    ledger.record(
        out,
        "financial_years_in",
        f"rows of financial years outside {first} to {last}: {left or 'none'}",
        int((~keep).sum()),
    )
    out.attrs["financial_years_used"] = sorted(set(out["financial_year"].astype(str)))
    return out


# --------------------------------------------------------------------------------------------
# rates and ratios
# --------------------------------------------------------------------------------------------


def _territorial() -> list[str]:
    table = force_table()
    return table.loc[table["ons_code"].str.match(r"^(E23|W15)"), "code"].tolist()


def _area_forces(area: str) -> list[str]:
    if not isinstance(area, str) or not area.strip():
        raise ParameterError(f"`area` must be 'Wessex' or a police force area, not {area!r}")
    if area.strip().lower() == "wessex":
        return wessex_forces()
    return [str(normalise_force(area))]


def _check(counts: pd.DataFrame) -> None:
    if not isinstance(counts, pd.DataFrame):
        raise ParameterError(
            f"`counts` must be a DataFrame (dispro.useofforce.read_use_of_force), not "
            f"{type(counts).__name__}"
        )
    require_columns(
        counts,
        {c: c for c in UOF_COLUMNS},
        "the use-of-force counts (read them with dispro.useofforce.read_use_of_force)",
    )


def _area_counts(counts: pd.DataFrame, forces: list[str]) -> tuple[pd.DataFrame, dict]:
    """The counts of ``forces`` and of England and Wales (each year whose tables hold every
    territorial force), by area, year and group; and the note of each year without a national
    sum."""
    keys = ["financial_year", "period", "ethnicity"]
    ours = counts[counts["force"].isin(forces)]
    missing = [f for f in forces if f not in set(counts["force"])]
    if missing:
        raise AreaError(
            f"the use-of-force tables hold no rows for {missing} (forces present: "
            f"{sorted(set(counts['force']))[:10]}...); give the tables of those forces"
        )
    parts = [ours.rename(columns={"force": "area"})[["area", *keys, "events"]]]
    territorial = set(_territorial())
    notes = {}
    for year, rows in counts.groupby("financial_year", sort=True):
        held = set(rows["force"]) & territorial
        if held == territorial:
            national = rows[rows["force"].isin(territorial)]
            summed = national.groupby(keys, sort=False)["events"].sum().reset_index()
            parts.append(summed.assign(area=NATIONAL))
        else:
            notes[year] = (
                f"the {year} tables hold {len(held)} of the {len(territorial)} territorial forces, "
                "so England and Wales is not summed"
            )
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"events": "int64"}), notes


def _exposure(areas: Sequence[str], notes: dict) -> pd.DataFrame:
    """Census 2021 residents x 12 months / 12 = person-years of each area (a financial year)."""
    pops = []
    for name in areas:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                pops.append(census2021(name, by=()))
        except AreaError as exc:
            notes[name] = str(exc).split(":")[0]
    if not pops:
        return pd.DataFrame({"area": list(areas), "ethnicity": "White", "person_years": np.nan})
    exposure = person_years(pd.concat(pops, ignore_index=True), 12)
    missing = [a for a in areas if a in notes]
    if missing:
        exposure = pd.concat(
            [exposure, pd.DataFrame({"area": missing, "ethnicity": "White"})], ignore_index=True
        )
    return exposure


def use_of_force_rates(
    counts: pd.DataFrame,
    *,
    area: str,
    reference: str = "White",
    alpha: float = 0.05,
    method: str = "poisson_exact",
    per: float = 1000,
    **kwargs,
) -> pd.DataFrame:
    """Uses of force (tactics recorded) per 1,000 residents a year by perceived ethnic group,
    and the RRI against a reference group, for each force of ``area`` and England and Wales.

    Parameters
    ----------
    counts : DataFrame
        :func:`read_use_of_force` (every force of the tables, so that England and Wales can be
        summed).
    area : str
        A police force area (any spelling :func:`dispro.forces.normalise_force` takes) or
        ``"Wessex"`` (Dorset, Hampshire and Wiltshire, each on its own).
    reference, alpha, method, per, **kwargs
        Passed to :func:`dispro.rri` (default exact Poisson intervals and Benjamini-Hochberg
        q-values over the whole table, as :func:`dispro.stopsearch.search_rates`).

    Returns
    -------
    DataFrame
        :data:`RATE_COLUMNS`: one row per area (the forces, then ``"England and Wales"``),
        financial year and group. ``base`` is person-years (Census 2021 usual residents x 12 /
        12); ``rate`` is tactics per ``per`` residents a year. Not stated has no population
        (status ``no_base``; see :func:`not_stated_shares`). ``note`` says why a row has no
        rate.

    Notes
    -----
    England and Wales is the sum of the 43 territorial forces of the tables (each year's tables
    hold them all; it equals the Home Office's own ``Total England and Wales`` row, which the
    mapping leaves out), with the Census 2021 residents of every local authority. The events
    count tactics, not people (see the module's notes); the intervals treat them as Poisson
    counts, so where one person accounts for several tactics they are narrower than they
    should be. Census 2021 residents stand in for the population of earlier years.
    """
    _check(counts)
    forces = _area_forces(area)
    frame, national_notes = _area_counts(counts, forces)
    notes: dict[str, str] = {}
    areas = [*forces, NATIONAL] if (frame["area"] == NATIONAL).any() else forces
    exposure = _exposure(areas, notes)
    table = rri(
        frame,
        group="ethnicity",
        reference=reference,
        events="events",
        base=exposure,
        by=["area", "financial_year", "period"],
        per=per,
        method=method,
        alpha=alpha,
        **kwargs,
    )
    order = {a: i for i, a in enumerate(areas)}
    table = table.assign(_o=table["area"].map(order)).sort_values(
        ["_o", "financial_year"], kind="stable"
    )
    note = np.full(len(table), "", dtype=object)
    for name, text in notes.items():
        note[(table["area"] == name).to_numpy()] = text
    unset = (table["status"] == "no_base").to_numpy() & (note == "")
    note[unset & (table["group"] == NOT_STATED).to_numpy()] = (
        "no resident population for Not stated (Don't know or Not reported): see its share"
    )
    none = (table["status"] == "zero_events").to_numpy() & (note == "")
    note[none] = "no tactics recorded for this group (the force may not record this category)"
    table["note"] = note
    attrs = dict(table.attrs)
    out = table[list(RATE_COLUMNS)].reset_index(drop=True)
    out.attrs = attrs
    out.attrs.update(
        {
            "events": EVENTS,
            "exposure": "Census 2021 usual residents x 12 / 12 (person-years of a financial year)",
            "national": NATIONAL if NATIONAL in areas else None,
            "national_notes": national_notes,
        }
    )
    ledger.carry(counts, out)
    return out


def national_comparison(
    rates: pd.DataFrame, *, alpha: float | None = None, method: str | None = None
) -> pd.DataFrame:
    """Each force's rate against England and Wales for the same group and year, with the force's
    and the national RRI side by side.

    Parameters
    ----------
    rates : DataFrame
        :func:`use_of_force_rates` (with its England and Wales rows).
    alpha, method : optional
        Of the rate ratio's interval (default: those of ``rates``), through :func:`dispro.rri`
        with England and Wales as the reference area; Benjamini-Hochberg over the table.

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`: one row per force, financial year and group with a
        population (not Not stated): the force's ``events``, ``base`` and ``rate``, the national
        ones, ``rate_ratio`` (force rate / national rate) with ``ci_lower``, ``ci_upper``,
        ``p_value``, ``q_value``, ``significant`` and ``status``, then ``rri`` (the force's RRI
        against the reference group) and ``national_rri``. Empty when ``rates`` has no England
        and Wales rows (``attrs["note"]`` says why).

    Notes
    -----
    The force is part of England and Wales; the interval treats the two rates as independent
    (for a force of a few per cent of the national figures the overlap is negligible).
    """
    require_columns(rates, {c: c for c in RATE_COLUMNS if c != "note"}, "the rates")
    alpha = rates.attrs.get("alpha", 0.05) if alpha is None else alpha
    method = rates.attrs.get("method", "poisson_exact") if method is None else method
    usable = rates[(rates["group"] != NOT_STATED) & rates["base"].notna()]
    national = usable[usable["area"] == NATIONAL]
    forces = usable[usable["area"] != NATIONAL]
    if national.empty or forces.empty:
        out = pd.DataFrame(columns=list(COMPARISON_COLUMNS))
        out.attrs["note"] = "; ".join(rates.attrs.get("national_notes", {}).values()) or (
            "no England and Wales rows to compare with"
        )
        return out
    keys = ["financial_year", "period", "group"]
    frame = usable[usable["financial_year"].isin(set(national["financial_year"]))]
    # the ethnic group is a `by` column here, and rri names its compared column `group`
    frame = frame.rename(columns={"group": "ethnicity"})
    by = ["financial_year", "period", "ethnicity"]
    ratio = rri(
        frame[["area", *by, "events", "base"]],
        group="area",
        reference=NATIONAL,
        events="events",
        base="base",
        by=by,
        per=1000,
        method=method,
        alpha=alpha,
    )
    ratio = ratio[ratio["group"] != NATIONAL].rename(
        columns={"group": "area", "ethnicity": "group", "rri": "rate_ratio",
                 "reference_events": "national_events", "reference_base": "national_base"}
    )  # fmt: skip
    ours = forces[["area", *keys, "rate", "rri"]]
    theirs = national[[*keys, "rate", "rri"]].rename(
        columns={"rate": "national_rate", "rri": "national_rri"}
    )
    # in the order of the rates table (each force, year, the reference group first)
    out = ours.merge(ratio.drop(columns=["rate", "reference_rate"]), on=["area", *keys])
    out = out.merge(theirs, on=keys, how="left")
    result = out[list(COMPARISON_COLUMNS)].reset_index(drop=True)
    result.attrs = {k: v for k, v in ratio.attrs.items() if k != "exclusions"}
    return result


def not_stated_shares(counts: pd.DataFrame, *, area: str) -> pd.DataFrame:
    """The share of tactics whose subject's perceived ethnicity was not recorded (Don't know or
    Not reported), for each force of ``area`` and England and Wales, by financial year.

    Returns
    -------
    DataFrame
        :data:`NOT_STATED_COLUMNS`: ``tactics`` (every group), ``not_stated`` and ``share``
        (``not_stated / tactics``; missing where there were no tactics).
    """
    _check(counts)
    frame, _ = _area_counts(counts, _area_forces(area))
    keys = ["area", "financial_year", "period"]
    total = frame.groupby(keys, sort=False)["events"].sum().rename("tactics")
    unknown = (
        frame[frame["ethnicity"] == NOT_STATED].groupby(keys, sort=False)["events"].sum()
    ).rename("not_stated")
    out = pd.concat([total, unknown], axis=1).reset_index()
    out["not_stated"] = out["not_stated"].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["tactics"] > 0, out["not_stated"] / out["tactics"], np.nan)
    return out[list(NOT_STATED_COLUMNS)]
