"""Census 2021 usual residents by area, ethnic group and sex: the denominators of rates.

Two bundled sources (built by ``scripts/build_census2021.py`` and
``scripts/build_census2021_pfa.py``; sources, licence and quirks in ``_data/SOURCES.md``):

- ``"la"`` (``_data/census2021_la.csv.gz``): usual residents by local authority, sex and the 19
  Census ethnic groups, cells rounded to 5. Police force areas, Wessex and England and Wales are
  sums of local authorities. It merges the City of London with Westminster.
- ``"pfa"`` (``_data/census2021_pfa_ts021.csv.gz``): Census 2021 TS021 by police force area,
  5 groups, both sexes together, unrounded, with the City of London on its own.

:func:`census2021` uses ``"la"`` unless told otherwise, and ``"pfa"`` for the one force area the
local-authority table cannot give (the City of London); its ``source`` column says which. The
roll-up of the 19 groups into 5 comes from the code list
``data_dictionary/codelists/ethnicity_census2021.csv``.

Contains public sector information licensed under the Open Government Licence v3.0 (Crown
copyright, Office for National Statistics, Census 2021).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable

import pandas as pd

from ..errors import DataQualityWarning
from . import _tables, _ts021
from ._tables import AREAS_COLUMNS, CITY_PFA, LEVELS, SCHEMES
from ._ts021 import POPULATION_SOURCES

__all__ = [
    "census2021",
    "areas_table",
    "population_source",
    "CENSUS2021_COLUMNS",
    "AREAS_COLUMNS",
    "POPULATION_SOURCES",
]

#: Columns of :func:`census2021`, in order (``sex`` only when ``"sex"`` is in ``by``).
CENSUS2021_COLUMNS = (
    "area",
    "area_code",
    "area_level",
    "ethnicity",
    "sex",
    "population",
    "suppressed_cells",
    "source",
)
BY = ("sex",)
SOURCES = tuple(POPULATION_SOURCES)  # the values of census2021's `source`


@functools.cache
def _cells(scheme: str) -> pd.DataFrame:
    """The bundled table with ``ethnicity`` in ``scheme`` (19 codes or 5 groups) and its order."""
    data = _tables.table()
    label, order = _tables.ethnicity_labels(data["ethnicity"], scheme)
    return pd.DataFrame(
        {
            "la_code": data["la_code"],
            "sex": data["sex"],
            "ethnicity": label,
            "_code": data["ethnicity"],
            "_eth_order": order,
            "population": data["population"],
            "_suppressed": data["population"].isna(),
        }
    )


def sex_cells(wanted: list[tuple[str, str]], level: str, scheme: str) -> pd.DataFrame:
    """The cells of the sex table behind each requested area (one row per area x LA x cell)."""
    return _tables.members(wanted, level).merge(_cells(scheme), on="la_code", how="left")


def census2021(
    areas: str | Iterable[str] | None = None,
    *,
    level: str = "pfa",
    scheme: str = "5+1",
    by: Iterable[str] | str | None = ("sex",),
    source: str = "la",
) -> pd.DataFrame:
    """Census 2021 usual residents by ethnic group (and sex), by area.

    The denominators of stop-and-search rates per 1,000 residents (METHODS.md section 3): ONS
    Census 2021 usual residents by local authority, sex and ethnic group, summed to police force
    areas, Wessex or England and Wales (``source="la"``, the default); or Census 2021 TS021 by
    police force area (``source="pfa"``), which the City of London takes automatically.

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
        ``None`` (default) gives every area of ``level`` in the source, areas that together
        make up England and Wales once: with ``source="la"`` the 42 force areas with local
        authorities (the City of London's residents are inside the Metropolitan Police figure,
        so it is left out) or the 329 local authorities; with ``source="pfa"`` the 43 force
        areas. The City of London is given when it is requested.
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
    source : {"la", "pfa"}
        ``"la"`` (default): the local-authority table (cells rounded to 5) for every area it
        has, and Census 2021 TS021 by police force area for the City of London, the one force
        area it does not have (both sexes together and 5 groups only: with ``by=("sex",)``,
        ``level="la"`` or ``scheme="19"`` the City is an AreaError, as those figures do not
        exist). ``"pfa"``: TS021 for every force area, Wessex (its three force areas) and
        England and Wales (the 43 force areas); it has no local authorities, sex or 19
        categories, so those options are a ParameterError.

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
            Number of suppressed (``c``) source cells behind the figure, left out of the sum
            (always 0 for TS021).
        ``source``
            Where the figure comes from: ``"la"`` (sum of the local-authority table's cells,
            each rounded to 5) or ``"pfa"`` (Census 2021 TS021 by police force area,
            unrounded); :data:`POPULATION_SOURCES` describes each.

        ``attrs``: ``source`` (copyright and licence) and ``population_source``, a mapping of
        each area to the description of its source (see :func:`population_source`).

    Raises
    ------
    AreaError
        An area is unknown (with the closest name); is the City of London asked by sex, by
        local authority or in 19 categories (figures that do not exist: the local-authority
        export merges the City with Westminster, and TS021 has no such split); is a local
        authority with ``source="pfa"``; or has no row of its own in the Census 2021 geography
        (Westminster, the merged row E09000001, Cornwall, the Isles of Scilly, the
        Northamptonshire districts abolished in April 2021), with the area to request
        instead. All unresolved areas of one call are reported together.
    ParameterError
        ``level``, ``scheme``, ``by`` or ``source`` has a value outside those allowed, or
        ``source="pfa"`` is asked for local authorities, by sex or in 19 categories.

    Warns
    -----
    DataQualityWarning
        When a figure rests on suppressed cells (how many, and how many figures are missing);
        when the Metropolitan Police figure is returned (it includes the City of London's
        residents, about 8,600 at Census 2021; not with ``source="pfa"``); when the merged row
        "City of London and Westminster" (E09000001) is returned.

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

    The local-authority export merges the City of London with Westminster (E09000001 "City
    of London and Westminster"), and that row is counted in the Metropolitan Police force area,
    whose ``"la"`` figure therefore includes the City's residents (about 8,600 against 8.8
    million); the City's own figure comes from TS021. So a table holding both the ``"la"``
    Metropolitan Police figure and the City counts the City's residents twice: do not add
    them up (``source="pfa"`` gives the two apart). Likewise the Isles of Scilly are merged
    with Cornwall (both in Devon and Cornwall).

    The two sources differ by a few people per figure (TS021 is unrounded and its
    local-authority geography is LAD22; the local-authority table sums cells rounded to 5, less
    any suppressed ones): at most 18 in the Wessex force areas, at most 69 in any force area
    (``docs/methods.md``, "Two Census sources", gives every difference).

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

    The City of London, from TS021 (both sexes together), and the same force areas from TS021:

    >>> city = census2021("City of London", by=())
    >>> city[["area", "ethnicity", "population", "source"]]
                 area ethnicity  population source
    0  City of London     Asian        1445    pfa
    1  City of London     Black         232    pfa
    2  City of London     Mixed         470    pfa
    3  City of London     White        5955    pfa
    4  City of London     Other         482    pfa
    >>> int(census2021("Hampshire", by=(), source="pfa")["population"].sum())
    1998271
    """
    level = _tables.choice("level", level, LEVELS)
    scheme = _tables.choice("scheme", scheme, SCHEMES)
    by = tuple(dict.fromkeys(_tables.choice("by", b, BY) for b in _tables.as_tuple(by, "by")))
    source = _tables.choice("source", source, SOURCES)
    if source == "pfa":
        _ts021.check_options(level, scheme, by)
        return _finish(_ts021.figures(_ts021.requests(areas)))
    # the City of London comes from TS021, which has no split by sex, LA or 19 categories
    city = level == "pfa" and not by and scheme != "19"
    wanted = _tables.requests(areas, level, city=city)
    if ("pfa", CITY_PFA) not in wanted:
        return _finish(_from_la(wanted, level, scheme, by))
    others = [w for w in wanted if w != ("pfa", CITY_PFA)]
    parts = [_ts021.figures([("pfa", CITY_PFA)])]
    if others:
        parts.append(_from_la(others, level, scheme, by))
    out = pd.concat(parts, ignore_index=True)
    position = {code: i for i, (_, code) in enumerate(dict.fromkeys(wanted))}
    out = out.sort_values("area_code", key=lambda s: s.map(position), kind="stable")
    return _finish(out.reset_index(drop=True))


def _from_la(wanted: list[tuple[str, str]], level: str, scheme: str, by: tuple) -> pd.DataFrame:
    """The local-authority source's figures of ``wanted``, with its DataQualityWarnings."""
    cells = sex_cells(wanted, level, scheme)
    keys = ["_area_order", "area", "area_code", "area_level", "_eth_order", "ethnicity", *by]
    grouped = cells.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "population": grouped["population"].sum(min_count=1),
            "suppressed_cells": grouped["_suppressed"].sum().astype("int64"),
        }
    ).reset_index()
    out["source"] = "la"
    out = out.loc[:, [c for c in CENSUS2021_COLUMNS if c != "sex" or "sex" in by]]
    out["population"] = out["population"].astype("Int64")
    _warn(out, cells)
    return out


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    """The result with its attrs: the licence and each area's population source."""
    out.attrs = {"source": _tables.source_note(), "population_source": population_source(out)}
    return out


def population_source(population: pd.DataFrame, combined: str | None = None) -> dict[str, str]:
    """Which source each area's population comes from, in words, for a caption.

    Parameters
    ----------
    population : DataFrame
        A table of :func:`census2021` (an ``area`` and a ``source`` column), or any population
        table with an ``area`` column (then described as passed by the caller).
    combined : str, optional
        The name of an area made of all of them (e.g. ``"Wessex"`` in
        :func:`dispro.stopsearch.search_rates` with ``combine``): its description joins theirs.

    Returns
    -------
    dict
        Area name -> description (:data:`POPULATION_SOURCES`), e.g.
        ``{"City of London": "Census 2021 TS021 by police force area (unrounded)"}``.

    Examples
    --------
    >>> from dispro.population import census2021, population_source
    >>> sources = population_source(census2021(["Dorset", "City of London"], by=()))
    >>> sources["City of London"]
    'Census 2021 TS021 by police force area (unrounded)'
    >>> sources["Dorset"]
    'Census 2021 by local authority and sex (cells rounded to 5)'
    """
    if "area" not in population.columns or population.empty:
        return {}
    if "source" in population.columns:
        text = population["source"].map(POPULATION_SOURCES).fillna("population table passed")
    else:
        text = pd.Series("population table passed by the caller", index=population.index)
    found = dict(zip(population["area"], text, strict=True))
    out = {str(area): found[area] for area in pd.unique(population["area"])}
    if combined is not None and out:
        out[combined] = "; ".join(dict.fromkeys(out.values()))
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
            stacklevel=4,
        )
    _tables.warn_geography(out, stacklevel=5)


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
            Number of local authorities of the local-authority table summed into the area (0
            for the City of London, whose figure comes from TS021).
        ``available``
            ``False`` for the merged local authority E09000001, which cannot be requested (see
            :func:`census2021`). The City of London force area is available from TS021, for
            both sexes together and 5 groups.
        ``note``
            Geography caveats (merged rows, the Metropolitan Police figure, the City's
            source).

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
    43
    """
    return _tables.areas().copy()
