"""The bundled Census 2021 tables and area resolution, shared by the population modules.

One definition of: the bundled sex table and its metadata, the ethnicity roll-up, the police
force area code list, the area index (names, codes, aliases, Wessex, England and Wales, the
refusals with their reasons), which local authorities make up each area, the parameter checks of
:func:`dispro.population.census2021` and :func:`dispro.population.census2021_age`, and the
geography caveats both warn about.
"""

from __future__ import annotations

import functools
import json
import re
import warnings

import pandas as pd

from .._paths import DATA_DIR
from ..dictionary import codelist
from ..errors import AreaError, DataQualityWarning, DisproError, ParameterError, check_choice
from ..errors import did_you_mean as _did_you_mean

TABLE_FILE = DATA_DIR / "census2021_la.csv.gz"
META_FILE = DATA_DIR / "census2021_la.meta.json"
CODELIST = "ethnicity_census2021"
FORCES_CODELIST = "police_force_area"

LEVELS = ("pfa", "la")
SCHEMES = ("5+1", "5", "19")

#: Columns of :func:`dispro.population.areas_table`, in order.
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

WESSEX, WESSEX_CODE = "Wessex", "WESSEX"  # not an ONS code: Wessex is three force areas
NATIONAL, NATIONAL_CODE = "England and Wales", "K04000001"
MET_PFA, CITY_PFA, CITY_LA = "E23000001", "E23000034", "E09000001"
CITY_RESIDENTS = "about 8,600"  # Census 2021 usual residents of the City of London (8,583)

_SUFFIX = re.compile(r" (police service|police force|police|constabulary)$")

_CITY_MESSAGE = (
    "the City of London ({name!r}) has no Census 2021 population by sex, age band, local "
    "authority or the 19 categories: the Census 2021 local-authority tables bundled with dispro "
    "merge it with Westminster (E09000001 'City of London and Westminster', a row counted in the "
    "Metropolitan Police force area), and Census 2021 TS021 by police force area, which has the "
    "City on its own, gives its 5 groups for both sexes together only. Request that with "
    "dispro.population.census2021('City of London', by=()) (level='pfa', scheme='5+1'). Bear "
    "in mind that the City's resident population is a small fraction of the people present "
    "there on a working day."
)
_CITY_LA_MESSAGE = (
    "{name!r} is the Census 2021 row E09000001 'City of London and Westminster', which merges "
    "two local authorities policed by different forces and is counted in the Metropolitan "
    "Police force area; it cannot be requested on its own (request 'Metropolitan Police' with "
    "level='la' to see it). For the City of London alone, request the force area "
    "'City of London' with by=() (Census 2021 TS021 by police force area)"
)


def key(name: str) -> str:
    """Normalise a name for matching: case, '&' vs 'and', punctuation and spacing."""
    name = name.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name).split())


def strip_key(name: str) -> str:
    """:func:`key` without a trailing 'Police', 'Constabulary' or 'Police Service'."""
    return _SUFFIX.sub("", key(name))


@functools.cache
def meta() -> dict:
    return json.loads(META_FILE.read_text(encoding="utf-8"))


def source_note() -> str:
    """The copyright and licence statement carried in ``attrs["source"]``."""
    return meta()["copyright"] + "; " + meta()["licence"]


@functools.cache
def ethnicity() -> pd.DataFrame:
    """The 19 codes with their 5-group roll-up and the display order of both schemes."""
    codes = codelist(CODELIST)
    codes["order"] = codes["order"].astype(int)
    codes = codes.sort_values("order", ignore_index=True)
    group_order = codes.groupby("group", sort=False)["order"].min().rank(method="first")
    codes["group_order"] = codes["group"].map(group_order).astype(int)
    return codes[["code", "group", "order", "group_order"]]


def ethnicity_labels(codes: pd.Series, scheme: str) -> tuple[pd.Series, pd.Series]:
    """The label of each 19-category code in ``scheme`` (19 codes or 5 groups) and its order."""
    eth = ethnicity()
    if scheme == "19":
        label, order = eth["code"], eth["order"]
    else:
        label, order = eth["group"], eth["group_order"]
    return (
        codes.map(dict(zip(eth["code"], label, strict=True))),
        codes.map(dict(zip(eth["code"], order, strict=True))),
    )


@functools.cache
def table() -> pd.DataFrame:
    """The bundled long table, one row per local authority x sex x 19-category ethnic group."""
    data = pd.read_csv(
        TABLE_FILE,
        dtype={"population": "Int64"},
        keep_default_na=False,
        na_values={"population": [""]},
    )
    unknown = set(data["ethnicity"]) - set(ethnicity()["code"])
    if unknown:
        raise DisproError(
            f"the bundled Census table has ethnic groups not in the code list {CODELIST!r}: "
            f"{sorted(unknown)}; rebuild it with `make population`"
        )
    return data


@functools.cache
def forces() -> pd.DataFrame:
    """The police force area code list (names, aliases, ONS codes, Wessex membership)."""
    listing = codelist(FORCES_CODELIST)
    known = set(table()["pfa_code"]) | {CITY_PFA}
    listed = set(listing["ons_code"]) - {""}
    if listed != known:
        raise DisproError(
            f"the code list {FORCES_CODELIST!r} and the bundled Census table disagree on the "
            f"police force areas: only in the code list {sorted(listed - known)}, only in the "
            f"table {sorted(known - listed)}"
        )
    return listing


@functools.cache
def wessex_pfas() -> tuple[str, ...]:
    """ONS codes of the Wessex force areas, from the code list's ``wessex`` column."""
    listing = forces()
    return tuple(listing.loc[listing["wessex"].str.lower() == "true", "ons_code"])


@functools.cache
def areas() -> pd.DataFrame:
    """Every area: Wessex, England and Wales, the force areas, then the local authorities."""
    data = table()
    merged = {m["merged_into_code"]: m for m in meta()["geography"]["merged"]}
    la = data.drop_duplicates("la_code").sort_values("la_code")
    la_counts = la.groupby("pfa_code").size()
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
    pfa = la.drop_duplicates("pfa_code").sort_values("pfa_code")
    pfas = pd.DataFrame(
        {
            "area": pfa["pfa_name"],
            "area_code": pfa["pfa_code"],
            "area_level": "pfa",
            "pfa": pfa["pfa_name"],
            "pfa_code": pfa["pfa_code"],
            "region": pfa["region"],
            "local_authorities": pfa["pfa_code"].map(la_counts),
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
                "available": u["pfa_code"] == CITY_PFA,
                "note": (
                    "Census 2021 TS021 by police force area only (both sexes together, 5 groups): "
                    if u["pfa_code"] == CITY_PFA
                    else "no denominator: "
                )
                + u["reason"],
            }
            for u in meta()["unavailable_police_force_areas"]
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
            "local_authorities": [int(la_counts[list(wessex_pfas())].sum()), len(la)],
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


def _special_messages(has_area: pd.Series, spellings: pd.Series) -> dict[str, str]:
    """Keys of areas that get a specific refusal: merged, abolished, not territorial."""
    special: dict[str, str] = {}
    for m in meta()["geography"]["merged"]:
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
        for k in (key(m["la_name"]), key(m["la_code"])):
            special[k] = message
        if m["merged_into_code"] != CITY_LA:
            special[key(m["merged_into_lookup_name"])] = (
                f"the Census 2021 export has no row for {m['merged_into_lookup_name']} on its "
                f"own: it is merged with {m['la_name']} into {whole}; request "
                f"{m['merged_into_name']!r} ({m['merged_into_code']}) instead"
            )
    for a in meta()["geography"]["abolished"]:
        message = (
            f"{a['la_name']} ({a['la_code']}) was abolished on 1 April 2021 and is part of "
            f"{a['successor_name']} ({a['successor_code']}) in the Census 2021 geography"
        )
        for k in (key(a["la_name"]), key(a["la_code"])):
            special[k] = message
    listing = forces()
    for label, names in zip(listing.loc[~has_area, "label"], spellings[~has_area], strict=True):
        for k in {key(n) for n in names if n}:
            special[k] = (
                f"{label} is not a territorial police force area: it has no resident population "
                "in the Census"
            )
    return special


@functools.cache
def index() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Name and code keys -> (area_level, area_code), and keys that get a specific error."""
    table_ = areas()
    listing = forces()
    spellings = (
        listing["label"] + "|" + listing["police_uk_slug"] + "|" + listing["aliases"]
    ).str.split("|")
    has_area = listing["ons_code"] != ""
    aliases = [
        *meta()["pfa_aliases"].items(),
        *zip(listing.loc[has_area, "ons_code"], spellings[has_area], strict=True),
    ]
    found: dict[str, tuple[str, str]] = {}
    # later levels win when a key is shared: a force area named like a local authority (Dorset,
    # Wiltshire) resolves to the force area; the local authority is requested by its code
    for level in ("la", "pfa", "wessex", "national"):
        rows = table_[table_["area_level"] == level]
        for name, code in zip(rows["area"], rows["area_code"], strict=True):
            for k in {key(name), key(code), strip_key(name)}:
                found[k] = (level, code)
        if level == "pfa":
            for code, names in aliases:
                for k in {f(n) for n in names if n for f in (key, strip_key)}:
                    found[k] = ("pfa", code)
    special = _special_messages(has_area, spellings)
    for k, (_, c) in list(found.items()):
        if c == CITY_LA:
            special[k] = _CITY_LA_MESSAGE
            del found[k]
    return found, special


def resolve(names: list[str], *, city: bool = False) -> list[tuple[str, str]]:
    """Each requested name or code as (area_level, area_code); one AreaError for all problems.

    The City of London force area resolves only with ``city=True`` (its figure comes from the
    TS021 table, by force area, both sexes together and 5 groups); otherwise it is refused
    with the reason.
    """
    found_index, special = index()
    resolved, problems = [], []
    for name in names:
        found = None
        for candidate in (key(name), strip_key(name)):
            if candidate in special:
                found = special[candidate].format(name=name)
                break
            if candidate in found_index:
                found = found_index[candidate]
                break
        if found == ("pfa", CITY_PFA) and not city:
            found = _CITY_MESSAGE.format(name=name)
        if isinstance(found, tuple):
            resolved.append(found)
            continue
        if found is None:
            table_ = areas()
            choices = table_.loc[table_["available"], "area"].tolist()
            found = (
                f"area {name!r} is not a police force area or local authority of England and "
                f"Wales in the Census 2021 table{_did_you_mean(name, choices)} "
                "(dispro.population.areas_table() lists every area)"
            )
        problems.append(found)
    if problems:
        raise AreaError("; ".join(dict.fromkeys(problems)))
    return resolved


def choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """``value`` as a stripped lower-case string, or ParameterError naming what was passed."""
    normalised = str(value).strip().lower()
    if normalised not in allowed:
        check_choice(name, value, allowed)
    return normalised


def as_tuple(value, name: str) -> tuple:
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


def requests(areas_, level: str, *, city: bool = False) -> list[tuple[str, str]]:
    """(area_level, area_code) of each requested area; every area of ``level`` for None.

    None gives the areas that partition England and Wales in the local-authority table: at
    ``level="pfa"`` the 42 force areas with local authorities (the City of London's residents
    are in the Metropolitan Police figure). ``city``: as in :func:`resolve`.
    """
    requested = as_tuple(areas_, "areas")
    if areas_ is not None and not requested:
        raise ParameterError("`areas` is empty: pass None for every area, or names or codes")
    if bad := [a for a in requested if not isinstance(a, str)]:
        raise ParameterError(
            f"`areas` must hold names or codes as strings, but {bad[0]!r} was passed"
        )
    if areas_ is None:
        table_ = areas()
        every = table_[table_["area_level"] == level]
        if level == "pfa":  # the City of London has no local authority; its merged LA row is kept
            every = every[every["local_authorities"] > 0]
        return list(zip(every["area_level"], every["area_code"], strict=True))
    return resolve(list(requested), city=city)


@functools.cache
def _membership() -> pd.DataFrame:
    """Which local authorities make up each area: one row per (area, local authority)."""
    table_ = areas()
    las = table_[table_["area_level"] == "la"]
    in_wessex = las[las["pfa_code"].isin(wessex_pfas())]
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


def members(wanted: list[tuple[str, str]], level: str) -> pd.DataFrame:
    """One row per (output area, local authority): which local authorities make each figure."""
    names = areas().drop_duplicates("area_code").set_index("area_code")["area"]
    frame = pd.DataFrame(wanted, columns=["_level", "_code"])
    frame["_request"] = range(len(frame))
    found = frame.merge(_membership(), on=["_level", "_code"]).sort_values(
        ["_request", "la_code"], kind="stable"
    )
    as_la = (found["_level"] == "la") | (level == "la")
    found["area"] = found["la_name"].where(as_la, found["_code"].map(names))
    found["area_code"] = found["la_code"].where(as_la, found["_code"])
    found["area_level"] = found["_level"].where(~as_la, "la")
    found = found.drop_duplicates(["area_code", "la_code"])
    found["_area_order"] = pd.factorize(found["area_code"])[0]
    return found[["_area_order", "area", "area_code", "area_level", "la_code"]]


def warn_geography(out: pd.DataFrame, stacklevel: int = 4) -> None:
    """The caveats of a result holding the Metropolitan Police or the merged E09000001 row."""
    if ((out["area_level"] == "pfa") & (out["area_code"] == MET_PFA)).any():
        warnings.warn(
            f"the Metropolitan Police figure includes the City of London's residents "
            f"({CITY_RESIDENTS} at Census 2021), who are policed by the City of London Police: "
            "the Census export merges the City of London with Westminster (E09000001)",
            DataQualityWarning,
            stacklevel=stacklevel,
        )
    if ((out["area_level"] == "la") & (out["area_code"] == CITY_LA)).any():
        warnings.warn(
            f"'City of London and Westminster' (E09000001) is one row in the Census export: "
            f"it includes the City of London's residents ({CITY_RESIDENTS}), who are policed by "
            "the City of London Police, not the Metropolitan Police",
            DataQualityWarning,
            stacklevel=stacklevel,
        )
