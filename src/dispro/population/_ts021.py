"""The bundled Census 2021 TS021 table by police force area: the second population source.

``_data/census2021_pfa_ts021.csv.gz`` (built by ``scripts/build_census2021_pfa.py``; sources,
licence and how it differs from the local-authority table in ``_data/SOURCES.md``) holds Census
2021 usual residents by police force area and 5 ethnic groups, both sexes together, unrounded,
with the City of London on its own. :func:`dispro.population.census2021` reads it for the City
of London and for every force area with ``source="pfa"``; this module only loads it and sums it
to the areas asked for.
"""

from __future__ import annotations

import functools

import pandas as pd

from .._paths import DATA_DIR
from ..errors import AreaError, DisproError, ParameterError
from . import _tables

TS021_FILE = DATA_DIR / "census2021_pfa_ts021.csv.gz"

#: The values of :func:`dispro.population.census2021`'s ``source`` column, and what each means
#: (a caption cites the description).
POPULATION_SOURCES = {
    "la": "Census 2021 by local authority and sex (cells rounded to 5)",
    "pfa": "Census 2021 TS021 by police force area (unrounded)",
}


@functools.cache
def table() -> pd.DataFrame:
    """The bundled table, checked against the force and ethnic-group code lists."""
    data = pd.read_csv(TS021_FILE, dtype={"population": "int64"}, keep_default_na=False)
    groups = set(_tables.ethnicity()["group"])
    listing = _tables.forces()
    codes = set(listing.loc[listing["ons_code"] != "", "ons_code"])
    if set(data["ethnicity"]) != groups or set(data["pfa_code"]) != codes:
        raise DisproError(
            f"the bundled table {TS021_FILE.name} does not hold the 5 groups of every force area "
            "in the code lists; rebuild it with `make population`"
        )
    return data


def check_options(level: str, scheme: str, by: tuple) -> None:
    """ParameterError for an option the TS021 table cannot serve (``source="pfa"``)."""
    what = "Census 2021 TS021 by police force area (source='pfa')"
    if level != "pfa":
        raise ParameterError(
            f"`level` must be 'pfa' with source='pfa', but {level!r} was passed: {what} has no "
            "local authorities; use source='la' for local authorities"
        )
    if by:
        raise ParameterError(
            f"`by` must be () with source='pfa', but {by!r} was passed: {what} has no split by "
            "sex, so the figures do not exist; pass by=() for both sexes together, or "
            "source='la' for figures by sex"
        )
    if scheme == "19":
        raise ParameterError(
            f"`scheme` must be '5+1' or '5' with source='pfa', but '19' was passed: {what} has "
            "the 5 groups only; use source='la' for the 19 categories"
        )


def requests(areas) -> list[tuple[str, str]]:
    """(area_level, area_code) of each requested area; every force area (43) for None."""
    if areas is None:
        return [("pfa", code) for code in pd.unique(table()["pfa_code"])]
    wanted = _tables.requests(areas, "pfa", city=True)
    if las := [code for level, code in wanted if level == "la"]:
        names = _tables.areas().drop_duplicates("area_code").set_index("area_code")["area"]
        raise AreaError(
            f"{', '.join(f'{names[c]} ({c})' for c in las)} is a local authority, and Census "
            "2021 TS021 by police force area (source='pfa') has no local authorities: request "
            "it with source='la', or request its police force area"
        )
    return wanted


def figures(wanted: list[tuple[str, str]]) -> pd.DataFrame:
    """Residents of each (area_level, area_code) by 5-group ethnicity, in the request order.

    A force area is its own rows; Wessex is the sum of its three force areas and England and
    Wales of all 43. Columns ``area, area_code, area_level, ethnicity, population,
    suppressed_cells, source`` (nothing is suppressed; ``source`` is ``"pfa"``).
    """
    data = table()
    members = []
    for order, (level, code) in enumerate(dict.fromkeys(wanted)):
        if level == "wessex":
            pfas = list(_tables.wessex_pfas())
        elif level == "national":
            pfas = list(pd.unique(data["pfa_code"]))
        else:
            pfas = [code]
        members.append(pd.DataFrame({"_order": order, "area_code": code, "pfa_code": pfas}))
    cells = pd.concat(members, ignore_index=True).merge(data, on="pfa_code")
    eth = _tables.ethnicity().drop_duplicates("group").set_index("group")["group_order"]
    cells["_eth_order"] = cells["ethnicity"].map(eth)
    out = (
        cells.groupby(["_order", "area_code", "_eth_order", "ethnicity"], sort=True)["population"]
        .sum()
        .reset_index()
    )
    areas = _tables.areas().drop_duplicates("area_code").set_index("area_code")
    out["area"] = out["area_code"].map(areas["area"])
    out["area_level"] = out["area_code"].map(areas["area_level"])
    out["population"] = out["population"].astype("Int64")
    out["suppressed_cells"] = 0
    out["source"] = "pfa"
    return out[
        [
            "area",
            "area_code",
            "area_level",
            "ethnicity",
            "population",
            "suppressed_cells",
            "source",
        ]
    ]
