"""Census 2021 usual residents by area, ethnic group and sex: the denominators of rates.

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
import warnings
from collections.abc import Iterable

import pandas as pd

from ..errors import DataQualityWarning
from . import _tables
from ._tables import AREAS_COLUMNS, LEVELS, SCHEMES

__all__ = ["census2021", "areas_table", "CENSUS2021_COLUMNS", "AREAS_COLUMNS"]

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
BY = ("sex",)


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
    level = _tables.choice("level", level, LEVELS)
    scheme = _tables.choice("scheme", scheme, SCHEMES)
    by = tuple(dict.fromkeys(_tables.choice("by", b, BY) for b in _tables.as_tuple(by, "by")))
    cells = sex_cells(_tables.requests(areas, level), level, scheme)
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
    out.attrs["source"] = _tables.source_note()

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
    _tables.warn_geography(out)


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
    return _tables.areas().copy()
