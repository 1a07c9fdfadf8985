"""Bundled Census 2021 denominators by local authority and police force area.

The bundled table (``_data/census2021_la.csv.gz``, built by ``scripts/build_census2021.py`` from
the ONS export; sources, licence and quirks in ``_data/SOURCES.md``) holds Census 2021 usual
residents by local authority, sex and the 19 Census ethnic groups. Police force areas, Wessex and
England and Wales are sums of local authorities. The roll-up of the 19 groups into 5 comes from
the code list ``data_dictionary/codelists/ethnicity_census2021.csv``.

Contains public sector information licensed under the Open Government Licence v3.0 (Crown
copyright, Office for National Statistics, Census 2021).
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Iterable

import pandas as pd

from ._paths import DATA_DIR
from .dictionary import codelist
from .errors import AreaError, DataQualityWarning, DisproError, ParameterError, check_choice
from .errors import did_you_mean as _did_you_mean

__all__ = ["census2021", "areas_table", "CENSUS2021_COLUMNS", "AREAS_COLUMNS"]

TABLE_FILE = DATA_DIR / "census2021_la.csv.gz"
META_FILE = DATA_DIR / "census2021_la.meta.json"
CODELIST = "ethnicity_census2021"
FORCES_CODELIST = "police_force_area"

#: Columns of :func:`census2021`, in order (``sex`` only when ``"sex"`` is in ``by``).
CENSUS2021_COLUMNS = (
    "area",
    "area_code",
    "area_level",
    "ethnicity",
    "sex",
    "population",
    "suppressed_cells",
)
#: Columns of :func:`areas_table`, in order.
AREAS_COLUMNS = (
    "area",
    "area_code",
    "area_level",
    "pfa",
    "pfa_code",
    "region",
    "local_authorities",
    "available",
    "note",
)

LEVELS = ("pfa", "la")
SCHEMES = ("5+1", "5", "19")
BY = ("sex",)

WESSEX, WESSEX_CODE = "Wessex", "WESSEX"  # not an ONS code: Wessex is three force areas
NATIONAL, NATIONAL_CODE = "England and Wales", "K04000001"
MET_PFA, CITY_PFA, CITY_LA = "E23000001", "E23000034", "E09000001"
CITY_RESIDENTS = "about 8,600"  # Census 2021 usual residents of the City of London (8,583)

_SUFFIX = re.compile(r" (police service|police force|police|constabulary)$")

_CITY_MESSAGE = (
    "no Census 2021 denominator exists for the City of London ({name!r}): the ONS Census 2021 "
    "export bundled with dispro merges the City of London with Westminster "
    "(E09000001 'City of London and Westminster'), so the City's residents cannot be separated "
    "from it; that merged row is counted in the Metropolitan Police force area. To compute "
    "City of London rates, supply a City of London population by ethnic group from another "
    "source (e.g. an ONS Census 2021 ethnic group table for the City of London alone) and pass "
    "it as the `base` of dispro.rri. Bear in mind that the City's resident population is a "
    "small fraction of the people present there on a working day."
)


def _key(name: str) -> str:
    """Normalise a name for matching: case, '&' vs 'and', punctuation and spacing."""
    name = name.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name).split())


def _strip_key(name: str) -> str:
    """:func:`_key` without a trailing 'Police', 'Constabulary' or 'Police Service'."""
    return _SUFFIX.sub("", _key(name))


@functools.cache
def _meta() -> dict:
    return json.loads(META_FILE.read_text(encoding="utf-8"))


@functools.cache
def _ethnicity() -> pd.DataFrame:
    """The 19 codes with their 5-group roll-up and the display order of both schemes."""
    codes = codelist(CODELIST)
    codes["order"] = codes["order"].astype(int)
    codes = codes.sort_values("order", ignore_index=True)
    group_order = codes.groupby("group", sort=False)["order"].min().rank(method="first")
    codes["group_order"] = codes["group"].map(group_order).astype(int)
    return codes[["code", "group", "order", "group_order"]]


@functools.cache
def _table() -> pd.DataFrame:
    """The bundled long table, one row per local authority x sex x 19-category ethnic group."""
    table = pd.read_csv(
        TABLE_FILE,
        dtype={"population": "Int64"},
        keep_default_na=False,
        na_values={"population": [""]},
    )
    unknown = set(table["ethnicity"]) - set(_ethnicity()["code"])
    if unknown:
        raise DisproError(
            f"the bundled Census table has ethnic groups not in the code list {CODELIST!r}: "
            f"{sorted(unknown)}; rebuild it with `make population`"
        )
    return table


@functools.cache
def _forces() -> pd.DataFrame:
    """The police force area code list (names, aliases, ONS codes, Wessex membership)."""
    forces = codelist(FORCES_CODELIST)
    known = set(_table()["pfa_code"]) | {CITY_PFA}
    listed = set(forces["ons_code"]) - {""}
    if listed != known:
        raise DisproError(
            f"the code list {FORCES_CODELIST!r} and the bundled Census table disagree on the "
            f"police force areas: only in the code list {sorted(listed - known)}, only in the "
            f"table {sorted(known - listed)}"
        )
    return forces


@functools.cache
def _wessex_pfas() -> tuple[str, ...]:
    """ONS codes of the Wessex force areas, from the code list's ``wessex`` column."""
    forces = _forces()
    return tuple(forces.loc[forces["wessex"].str.lower() == "true", "ons_code"])


@functools.cache
def _cells(scheme: str) -> pd.DataFrame:
    """The bundled table with ``ethnicity`` in ``scheme`` (19 codes or 5 groups) and its order."""
    eth = _ethnicity()
    if scheme == "19":
        label, order = eth["code"], eth["order"]
    else:
        label, order = eth["group"], eth["group_order"]
    data = _table()
    return pd.DataFrame(
        {
            "la_code": data["la_code"],
            "sex": data["sex"],
            "ethnicity": data["ethnicity"].map(dict(zip(eth["code"], label, strict=True))),
            "_code": data["ethnicity"],
            "_eth_order": data["ethnicity"].map(dict(zip(eth["code"], order, strict=True))),
            "population": data["population"],
            "_suppressed": data["population"].isna(),
        }
    )


@functools.cache
def _areas() -> pd.DataFrame:
    table = _table()
    meta = _meta()
    la = table.drop_duplicates("la_code").sort_values("la_code")
    la_counts = la.groupby("pfa_code").size()
    merged = {m["merged_into_code"]: m for m in meta["geography"]["merged"]}
    las = pd.DataFrame(
        {
            "area": la["la_name"],
            "area_code": la["la_code"],
            "area_level": "la",
            "pfa": la["pfa_name"],
            "pfa_code": la["pfa_code"],
            "region": la["region"],
            "local_authorities": 1,
            "available": la["la_code"] != CITY_LA,
            "note": la["la_code"].map(
                lambda c: (
                    f"one Census row for {merged[c]['merged_into_name']}; includes "
                    f"{merged[c]['la_name']} ({merged[c]['la_code']})"
                    if c in merged
                    else ""
                )
            ),
        }
    )
    las.loc[las["area_code"] == CITY_LA, "note"] += (
        "; counted in the Metropolitan Police force area; cannot be requested on its own"
    )
    forces = la.drop_duplicates("pfa_code").sort_values("pfa_code")
    pfas = pd.DataFrame(
        {
            "area": forces["pfa_name"],
            "area_code": forces["pfa_code"],
            "area_level": "pfa",
            "pfa": forces["pfa_name"],
            "pfa_code": forces["pfa_code"],
            "region": forces["region"],
            "local_authorities": forces["pfa_code"].map(la_counts),
            "available": True,
            "note": "",
        }
    )
    pfas.loc[pfas["area_code"] == MET_PFA, "note"] = (
        f"includes the City of London's residents ({CITY_RESIDENTS}), merged with Westminster "
        "in the Census export"
    )
    unavailable = pd.DataFrame(
        [
            {
                "area": u["pfa_name"],
                "area_code": u["pfa_code"],
                "area_level": "pfa",
                "pfa": u["pfa_name"],
                "pfa_code": u["pfa_code"],
                "region": u["region"],
                "local_authorities": 0,
                "available": False,
                "note": "no denominator: " + u["reason"],
            }
            for u in meta["unavailable_police_force_areas"]
        ]
    )
    groups = pd.DataFrame(
        {
            "area": [WESSEX, NATIONAL],
            "area_code": [WESSEX_CODE, NATIONAL_CODE],
            "area_level": ["wessex", "national"],
            "pfa": [None, None],
            "pfa_code": [None, None],
            "region": [None, None],
            "local_authorities": [int(la_counts[list(_wessex_pfas())].sum()), len(la)],
            "available": True,
            "note": [
                "Hampshire + Dorset + Wiltshire police force areas (not an ONS code)",
                "sum of all local authorities",
            ],
        }
    )
    out = pd.concat([groups, pfas, unavailable, las], ignore_index=True)
    out["local_authorities"] = out["local_authorities"].astype(int)
    out["available"] = out["available"].astype(bool)
    return out.loc[:, list(AREAS_COLUMNS)]


@functools.cache
def _index() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Name and code keys -> (area_level, area_code), and keys that get a specific error."""
    areas = _areas()
    meta = _meta()
    forces = _forces()
    spellings = (
        forces["label"] + "|" + forces["police_uk_slug"] + "|" + forces["aliases"]
    ).str.split("|")
    has_area = forces["ons_code"] != ""
    aliases = [
        *meta["pfa_aliases"].items(),
        *zip(forces.loc[has_area, "ons_code"], spellings[has_area], strict=True),
    ]
    index: dict[str, tuple[str, str]] = {}
    # later levels win when a key is shared: a force area named like a local authority (Dorset,
    # Wiltshire) resolves to the force area; the local authority is requested by its code
    for level in ("la", "pfa", "wessex", "national"):
        rows = areas[areas["area_level"] == level]
        for name, code in zip(rows["area"], rows["area_code"], strict=True):
            for k in {_key(name), _key(code), _strip_key(name)}:
                index[k] = (level, code)
        if level == "pfa":
            for code, names in aliases:
                for k in {f(n) for n in names if n for f in (_key, _strip_key)}:
                    index[k] = ("pfa", code)

    special: dict[str, str] = {}
    for m in meta["geography"]["merged"]:
        whole = f"{m['merged_into_code']} {m['merged_into_name']!r}"
        if m["merged_into_code"] == CITY_LA:
            hint = "it is counted in the Metropolitan Police force area (request 'Metropolitan "
            hint += "Police', with level='la' to see the merged row)"
        else:
            hint = f"request {m['merged_into_name']!r} ({m['merged_into_code']}) instead"
        message = (
            f"the Census 2021 export has no row for {m['la_name']} ({m['la_code']}) on its own: "
            f"it is merged into {whole}; {hint}"
        )
        for k in (_key(m["la_name"]), _key(m["la_code"])):
            special[k] = message
        if m["merged_into_code"] != CITY_LA:
            special[_key(m["merged_into_lookup_name"])] = (
                f"the Census 2021 export has no row for {m['merged_into_lookup_name']} on its "
                f"own: it is merged with {m['la_name']} into {whole}; request "
                f"{m['merged_into_name']!r} ({m['merged_into_code']}) instead"
            )
    for a in meta["geography"]["abolished"]:
        message = (
            f"{a['la_name']} ({a['la_code']}) was abolished on 1 April 2021 and is part of "
            f"{a['successor_name']} ({a['successor_code']}) in the Census 2021 geography"
        )
        for k in (_key(a["la_name"]), _key(a["la_code"])):
            special[k] = message
    for label, names in zip(forces.loc[~has_area, "label"], spellings[~has_area], strict=True):
        for k in {_key(n) for n in names if n}:
            special[k] = (
                f"{label} is not a territorial police force area: it has no resident population "
                "in the Census"
            )
    for code in (CITY_PFA, CITY_LA):
        for k, (_, c) in list(index.items()):
            if c == code:
                special[k] = _CITY_MESSAGE
                del index[k]
    return index, special


def _resolve(names: list[str]) -> list[tuple[str, str]]:
    """Each requested name or code as (area_level, area_code); one AreaError for all problems."""
    index, special = _index()
    resolved, problems = [], []
    for name in names:
        found = None
        for candidate in (_key(name), _strip_key(name)):
            if candidate in special:
                found = special[candidate].format(name=name)
                break
            if candidate in index:
                found = index[candidate]
                break
        if isinstance(found, tuple):
            resolved.append(found)
            continue
        if found is None:
            areas = _areas()
            choices = areas.loc[areas["available"], "area"].tolist()
            found = (
                f"area {name!r} is not a police force area or local authority of England and "
                f"Wales in the Census 2021 table{_did_you_mean(name, choices)} "
                "(dispro.population.areas_table() lists every area)"
            )
        problems.append(found)
    if problems:
        raise AreaError("; ".join(dict.fromkeys(problems)))
    return resolved


@functools.cache
def _membership() -> pd.DataFrame:
    """Which local authorities make up each area: one row per (area, local authority)."""
    areas = _areas()
    las = areas[areas["area_level"] == "la"]
    in_wessex = las[las["pfa_code"].isin(_wessex_pfas())]
    return pd.concat(
        [
            pd.DataFrame({"_level": "la", "_code": las["area_code"], "la_code": las["area_code"]}),
            pd.DataFrame({"_level": "pfa", "_code": las["pfa_code"], "la_code": las["area_code"]}),
            pd.DataFrame(
                {"_level": "wessex", "_code": WESSEX_CODE, "la_code": in_wessex["area_code"]}
            ),
            pd.DataFrame(
                {"_level": "national", "_code": NATIONAL_CODE, "la_code": las["area_code"]}
            ),
        ],
        ignore_index=True,
    ).merge(
        las[["area_code", "area"]].rename(columns={"area_code": "la_code", "area": "la_name"}),
        on="la_code",
    )


def _members(requests: list[tuple[str, str]], level: str) -> pd.DataFrame:
    """One row per (output area, local authority): which local authorities make each figure."""
    names = _areas().drop_duplicates("area_code").set_index("area_code")["area"]
    wanted = pd.DataFrame(requests, columns=["_level", "_code"])
    wanted["_request"] = range(len(wanted))
    members = wanted.merge(_membership(), on=["_level", "_code"]).sort_values(
        ["_request", "la_code"], kind="stable"
    )
    as_la = (members["_level"] == "la") | (level == "la")
    members["area"] = members["la_name"].where(as_la, members["_code"].map(names))
    members["area_code"] = members["la_code"].where(as_la, members["_code"])
    members["area_level"] = members["_level"].where(~as_la, "la")
    members = members.drop_duplicates(["area_code", "la_code"])
    members["_area_order"] = pd.factorize(members["area_code"])[0]
    return members[["_area_order", "area", "area_code", "area_level", "la_code"]]


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """``value`` as a stripped lower-case string, or ParameterError naming what was passed."""
    normalised = str(value).strip().lower()
    if normalised not in allowed:
        check_choice(name, value, allowed)
    return normalised


def _as_tuple(value, name: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ParameterError(
            f"`{name}` must be None, a string or a list of strings, but {value!r} was passed"
        ) from None


def census2021(
    areas: str | Iterable[str] | None = None,
    *,
    level: str = "pfa",
    scheme: str = "5+1",
    by: Iterable[str] | str | None = ("sex",),
) -> pd.DataFrame:
    """Census 2021 usual residents by ethnic group (and sex), by area.

    The denominators of stop-and-search rates per 1,000 residents (METHODS.md section 3): ONS
    Census 2021 usual residents by local authority, sex and ethnic group, summed to police force
    areas, Wessex or England and Wales.

    Parameters
    ----------
    areas : str or list of str, optional
        Police force areas (official name such as ``"Avon and Somerset"``, the lookup's spellings
        such as ``"Avon & Somerset"`` or ``"Devon & Cornwall"``, any case, or an E23/W15 code),
        local authorities (name or E06/E07/E08/E09/W06 code), ``"Wessex"`` (Hampshire + Dorset +
        Wiltshire, one summed area) or ``"England and Wales"`` (the sum of all local
        authorities). A name shared by a force area and a local authority (``"Dorset"``,
        ``"Wiltshire"``) means the force area; request such a local authority by its code.
        Force names and aliases come from ``data_dictionary/codelists/police_force_area.csv``,
        as does the membership of Wessex (its ``wessex`` column).
        ``None`` (default) gives every area of ``level``: the 42 force areas with a
        denominator (all but the City of London), or the 329 local authorities.
    level : {"pfa", "la"}
        ``"pfa"``: each requested force area, Wessex or England and Wales is one summed area.
        ``"la"``: each of them is expanded into its local authorities. A requested local
        authority is always returned as itself.
    scheme : {"5+1", "5", "19"}
        ``"19"``: the 19 Census 2021 categories, named exactly as the ONS writes them (e.g.
        ``"White: English, Welsh, Scottish, Northern Irish or British"``). ``"5+1"`` or ``"5"``:
        the five groups ``Asian, Black, Mixed, White, Other`` (the same table: the Census
        imputes missing answers, so it has no "not stated" category, and the "+1" of a police
        5+1 scheme has no population here; a not-stated group gets no denominator). Case and
        surrounding spaces are ignored.
    by : tuple of str
        ``("sex",)`` (default) for a figure per sex (``Female``, ``Male``), ``()`` for both
        sexes together.

    Returns
    -------
    pandas.DataFrame
        One row per area x ethnic group (x sex), areas in the order requested, with columns
        (:data:`CENSUS2021_COLUMNS`):

        ``area``
            Area name (force names as the Home Office writes them).
        ``area_code``
            ONS code (E23/W15 force area, LA code, ``K04000001``), ``"WESSEX"`` for Wessex.
        ``area_level``
            ``"la"``, ``"pfa"``, ``"wessex"`` or ``"national"``.
        ``ethnicity``
            Census 2021 category or 5-group name, in the code list's order.
        ``sex``
            ``"Female"`` or ``"Male"``; only when ``"sex"`` is in ``by``.
        ``population``
            Usual residents (nullable integer): the sum of the cells behind the figure that the
            ONS published. Each cell is rounded to 5, so sums do not match published totals
            exactly. Missing (``<NA>``, never 0) when every cell behind it is suppressed.
        ``suppressed_cells``
            Number of suppressed (``c``) source cells behind the figure, left out of the sum.

    Raises
    ------
    AreaError
        An area is unknown (with the closest name); is the City of London, for which the
        Census export holds no denominator (it merges the City with Westminster); or has no
        row of its own in the Census 2021 geography (Westminster, Cornwall, the Isles of
        Scilly, the Northamptonshire districts abolished in April 2021), with the area to
        request instead. All unresolved areas of one call are reported together.
    ParameterError
        ``level``, ``scheme`` or ``by`` has a value outside those allowed.

    Warns
    -----
    DataQualityWarning
        When a figure rests on suppressed cells (how many, and how many figures are missing);
        when the Metropolitan Police figure is returned (it includes the City of London's
        residents, about 8,600 at Census 2021); when the merged row "City of London and
        Westminster" (E09000001) is returned.

    See Also
    --------
    areas_table : every area with its code, level and parent force area.

    Notes
    -----
    Source: ONS Census 2021 custom dataset, usual residents by local authority (Census 2021
    geography), sex and ethnic group; local authorities are assigned to force areas by the ONS
    December 2020 lookup (with North and West Northamptonshire added). Quirks and licence:
    ``dispro/_data/SOURCES.md``. Only local authority rows are summed, so no region or national
    row is counted twice.

    Suppressed cells (``c``) are small counts withheld by the ONS; they are treated as missing,
    not zero, so a figure with suppressed cells is a slight undercount and ``suppressed_cells``
    says how many cells it lacks.

    The City of London has no denominator: the export merges it with Westminster
    (E09000001 "City of London and Westminster"), and that row is counted in the Metropolitan
    Police force area, whose figure therefore includes the City's residents (about 8,600
    against 8.8 million). Likewise the Isles of Scilly are merged with Cornwall (both in Devon
    and Cornwall).

    A resident population is not the population available to be stopped (visitors, commuters,
    the night-time economy), and it has changed since March 2021: state both with any rate.

    Examples
    --------
    >>> from dispro.population import census2021
    >>> hants = census2021("Hampshire", by=())
    >>> hants[["area", "ethnicity", "population", "suppressed_cells"]]
            area ethnicity  population  suppressed_cells
    0  Hampshire     Asian       94975                 0
    1  Hampshire     Black       29405                 0
    2  Hampshire     Mixed       41720                 0
    3  Hampshire     White     1811055                 0
    4  Hampshire     Other       21125                 0
    >>> int(hants["population"].sum())
    1998280

    Wessex as one area, by sex, and its local authorities:

    >>> wessex = census2021("Wessex")
    >>> wessex.groupby("sex")["population"].sum()
    sex
    Female    1793220
    Male      1728570
    Name: population, dtype: Int64
    >>> census2021("Wessex", level="la", by=())["area"].nunique()
    18
    """
    level = _choice("level", level, LEVELS)
    scheme = _choice("scheme", scheme, SCHEMES)
    by = tuple(dict.fromkeys(_choice("by", b, BY) for b in _as_tuple(by, "by")))
    requested = _as_tuple(areas, "areas")
    if areas is not None and not requested:
        raise ParameterError("`areas` is empty: pass None for every area, or names or codes")
    if bad := [a for a in requested if not isinstance(a, str)]:
        raise ParameterError(
            f"`areas` must hold names or codes as strings, but {bad[0]!r} was passed"
        )

    if areas is None:
        table = _areas()
        every = table[table["area_level"] == level]
        if level == "pfa":  # the City of London has no denominator; its merged LA row is kept
            every = every[every["available"]]
        requests = list(zip(every["area_level"], every["area_code"], strict=True))
    else:
        requests = _resolve(list(requested))
    members = _members(requests, level)

    cells = members.merge(_cells(scheme), on="la_code", how="left")
    keys = ["_area_order", "area", "area_code", "area_level", "_eth_order", "ethnicity", *by]
    grouped = cells.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "population": grouped["population"].sum(min_count=1),
            "suppressed_cells": grouped["_suppressed"].sum().astype("int64"),
        }
    ).reset_index()
    out = out.loc[:, [c for c in CENSUS2021_COLUMNS if c != "sex" or "sex" in by]]
    out["population"] = out["population"].astype("Int64")
    out.attrs["source"] = _meta()["copyright"] + "; " + _meta()["licence"]

    _warn(out, cells)
    return out


def _warn(out: pd.DataFrame, cells: pd.DataFrame) -> None:
    """The DataQualityWarnings of a census2021 result."""
    affected = int((out["suppressed_cells"] > 0).sum())
    if affected:
        behind = cells.loc[cells["_suppressed"], ["la_code", "sex", "_code"]]
        n_cells = len(behind.drop_duplicates())
        n_missing = int(out["population"].isna().sum())
        missing = (
            f"; {n_missing} figure(s) with every cell suppressed are missing (<NA>)"
            if n_missing
            else ""
        )
        warnings.warn(
            f"{affected} of the {len(out)} figures returned rest on suppressed Census cells "
            f"({n_cells} distinct cells marked 'c' in the ONS export): suppressed cells are "
            f"treated as missing, not 0, so those figures are sums of the published cells and "
            f"slightly undercount{missing}. The suppressed_cells column gives the count per "
            "figure.",
            DataQualityWarning,
            stacklevel=3,
        )
    if ((out["area_level"] == "pfa") & (out["area_code"] == MET_PFA)).any():
        warnings.warn(
            f"the Metropolitan Police figure includes the City of London's residents "
            f"({CITY_RESIDENTS} at Census 2021), who are policed by the City of London Police: "
            "the Census export merges the City of London with Westminster (E09000001)",
            DataQualityWarning,
            stacklevel=3,
        )
    if ((out["area_level"] == "la") & (out["area_code"] == CITY_LA)).any():
        warnings.warn(
            f"'City of London and Westminster' (E09000001) is one row in the Census export: "
            f"it includes the City of London's residents ({CITY_RESIDENTS}), who are policed by "
            "the City of London Police, not the Metropolitan Police",
            DataQualityWarning,
            stacklevel=3,
        )


def areas_table() -> pd.DataFrame:
    """Every area :func:`census2021` knows, with its code, level and police force area.

    Returns
    -------
    pandas.DataFrame
        One row per area (Wessex, England and Wales, then force areas, then local
        authorities), with columns (:data:`AREAS_COLUMNS`):

        ``area``, ``area_code``, ``area_level``
            As in :func:`census2021` (``area_level`` is ``"wessex"``, ``"national"``,
            ``"pfa"`` or ``"la"``).
        ``pfa``, ``pfa_code``
            The police force area a local authority is in (a force area's own name and code;
            missing for Wessex and England and Wales).
        ``region``
            The ONS region of the force area (missing for Wessex and England and Wales).
        ``local_authorities``
            Number of local authorities summed into the area.
        ``available``
            ``False`` for the City of London force area and the merged local authority
            E09000001, which cannot be requested (see :func:`census2021`).
        ``note``
            Geography caveats (merged rows, the Metropolitan Police figure).

    Examples
    --------
    >>> from dispro.population import areas_table
    >>> areas = areas_table()
    >>> areas.loc[areas["pfa"] == "Wiltshire", ["area", "area_code", "area_level"]]
             area  area_code area_level
    38  Wiltshire  E23000038        pfa
    72    Swindon  E06000030         la
    94  Wiltshire  E06000054         la
    >>> int((areas["area_level"].eq("pfa") & areas["available"]).sum())
    42
    """
    return _areas().copy()
