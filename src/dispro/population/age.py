"""Bundled Census 2021 denominators by area, ethnic group and data.police.uk age band.

The bundled table (``_data/census2021_la_age.csv.gz``, built by
``scripts/build_census2021_age.py`` from the ONS single-year-of-age export; sources, licence and
quirks in ``_data/SOURCES.md``) holds Census 2021 usual residents by local authority, the 19
Census ethnic groups and the five data.police.uk age bands (``under 10``, ``10-17``, ``18-24``,
``25-34``, ``over 34``), both sexes together. Areas are resolved, and summed from local
authorities, exactly as :func:`dispro.population.census2021` does (the same names, aliases,
Wessex, England and Wales, and the same refusal of the City of London).

The source suppresses far more cells than the sex table does: about 64% of its local authority
cells are ``c``. Each ``c`` is a small count (the smallest published cell is 10, so under 10
people, possibly none), treated as missing, so every figure resting on one is an underestimate.
:func:`census2021_age` says how many cells are behind that and how far its totals fall short of
:func:`dispro.population.census2021`.

Contains public sector information licensed under the Open Government Licence v3.0 (Crown
copyright, Office for National Statistics, Census 2021).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable

import pandas as pd

from .._checks import plain_records
from .._paths import DATA_DIR
from ..dictionary import codelist
from ..errors import DataQualityWarning, DisproError, ParameterError
from . import _tables
from .census import sex_cells

__all__ = [
    "census2021_age",
    "age_shortfall",
    "allocate_shortfall",
    "age_bands",
    "CENSUS2021_AGE_COLUMNS",
    "SHORTFALL_COLUMNS",
    "AGE_BANDS",
]

TABLE_FILE = DATA_DIR / "census2021_la_age.csv.gz"
BANDS_CODELIST = "age_band_police_uk"

#: Columns of :func:`census2021_age`, in order.
CENSUS2021_AGE_COLUMNS = (
    "area",
    "area_code",
    "area_level",
    "ethnicity",
    "age_band",
    "population",
    "suppressed_cells",
)
#: Columns of :func:`age_shortfall` (and of ``census2021_age(...).attrs["shortfall"]``).
SHORTFALL_COLUMNS = (
    "area",
    "area_code",
    "area_level",
    "ethnicity",
    "population_age_table",
    "population_sex_table",
    "shortfall",
    "shortfall_share",
    "suppressed_cells_age_table",
    "suppressed_cells_sex_table",
)

#: The smallest cell the ONS published in the single-year-of-age export (SOURCES.md): a ``c``
#: cell stands for fewer people than this. Checked against the source by the tests.
SMALLEST_PUBLISHED_CELL = 10


@functools.cache
def _bands() -> pd.DataFrame:
    bands = codelist(BANDS_CODELIST)
    bands["order"] = bands["order"].astype(int)
    return bands.sort_values("order", ignore_index=True)[["code", "label", "min_age", "max_age"]]


#: The data.police.uk age bands, in order (the ``age_band`` values of :func:`census2021_age`).
AGE_BANDS = tuple(_bands()["code"])


def age_bands() -> pd.DataFrame:
    """The age bands with their first and last single year of age (``max_age`` empty: open).

    Examples
    --------
    >>> from dispro.population import age_bands
    >>> [(b.code, b.min_age, b.max_age) for b in age_bands().itertuples()]  # doctest: +NORMALIZE_WHITESPACE
    [('under 10', '0', '9'), ('10-17', '10', '17'), ('18-24', '18', '24'),
     ('25-34', '25', '34'), ('over 34', '35', '')]
    """
    return _bands().copy()


@functools.cache
def _table() -> pd.DataFrame:
    """The bundled long table, one row per local authority x 19-category group x age band."""
    table = pd.read_csv(
        TABLE_FILE,
        dtype={"population": "Int64", "suppressed_cells": "int64", "cells": "int64"},
        keep_default_na=False,
        na_values={"population": [""]},
    )
    problems = []
    if unknown := set(table["ethnicity"]) - set(_tables.ethnicity()["code"]):
        problems.append(f"ethnic groups not in the code list: {sorted(unknown)}")
    if unknown := set(table["age_band"]) - set(AGE_BANDS):
        problems.append(f"age bands not in the code list {BANDS_CODELIST!r}: {sorted(unknown)}")
    if set(table["la_code"]) != set(_tables.table()["la_code"]):
        problems.append("local authorities differ from the bundled sex table's")
    if problems:
        raise DisproError(
            "the bundled Census age table does not match the package: "
            + "; ".join(problems)
            + "; rebuild it with `python scripts/build_census2021_age.py`"
        )
    return table


@functools.cache
def _cells(scheme: str) -> pd.DataFrame:
    """The bundled age table with ``ethnicity`` in ``scheme`` and the display orders."""
    data = _table()
    label, order = _tables.ethnicity_labels(data["ethnicity"], scheme)
    band_order = {b: i for i, b in enumerate(AGE_BANDS)}
    return pd.DataFrame(
        {
            "la_code": data["la_code"],
            "ethnicity": label,
            "_code": data["ethnicity"],
            "_eth_order": order,
            "age_band": data["age_band"],
            "_band_order": data["age_band"].map(band_order),
            "population": data["population"],
            "suppressed_cells": data["suppressed_cells"],
            "cells": data["cells"],
        }
    )


def _figures(requests, level: str, scheme: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summed figures, and the cells behind them (one row per area x LA x group x band)."""
    cells = _tables.members(requests, level).merge(_cells(scheme), on="la_code", how="left")
    keys = [
        "_area_order", "area", "area_code", "area_level", "_eth_order", "ethnicity",
        "_band_order", "age_band",
    ]  # fmt: skip
    grouped = cells.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "population": grouped["population"].sum(min_count=1),
            "suppressed_cells": grouped["suppressed_cells"].sum().astype("int64"),
            "_cells": grouped["cells"].sum().astype("int64"),
        }
    ).reset_index()
    out["population"] = out["population"].astype("Int64")
    return out, cells


def _shortfall(out: pd.DataFrame, requests, level: str, scheme: str) -> pd.DataFrame:
    """Each area x group total of the age table against the sex table's (census2021)."""
    keys = ["area", "area_code", "area_level", "ethnicity"]
    age = (
        out.groupby([*keys, "_area_order", "_eth_order"], sort=False)
        .agg(
            population_age_table=("population", lambda s: s.sum(min_count=1)),
            suppressed_cells_age_table=("suppressed_cells", "sum"),
        )
        .reset_index()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        grouped = sex_cells(requests, level, scheme).groupby(keys, sort=False)
        sex = pd.DataFrame(
            {
                "population_sex_table": grouped["population"].sum(min_count=1),
                "suppressed_cells_sex_table": grouped["_suppressed"].sum().astype("int64"),
            }
        ).reset_index()
    table = age.merge(sex, on=keys, how="left").sort_values(["_area_order", "_eth_order"])
    for col in ("population_age_table", "population_sex_table"):
        table[col] = table[col].astype("Int64")
    table["shortfall"] = table["population_sex_table"] - table["population_age_table"]
    table["shortfall_share"] = table["shortfall"].astype("Float64") / table[
        "population_sex_table"
    ].astype("Float64")
    table["suppressed_cells_age_table"] = table["suppressed_cells_age_table"].astype("int64")
    return table.loc[:, list(SHORTFALL_COLUMNS)].reset_index(drop=True)


def census2021_age(
    areas: str | Iterable[str] | None = None,
    *,
    level: str = "pfa",
    scheme: str = "5+1",
) -> pd.DataFrame:
    """Census 2021 usual residents by ethnic group and data.police.uk age band, by area.

    The denominators of age-specific and age-standardised stop-and-search rates (METHODS.md
    section 3): ONS Census 2021 usual residents by local authority, single year of age and
    ethnic group, summed into the data.police.uk age bands and to police force areas, Wessex or
    England and Wales. Both sexes together (the source has no sex split).

    Parameters
    ----------
    areas : str or list of str, optional
        As in :func:`dispro.population.census2021`: force areas (name, alias or E23/W15 code),
        local authorities (name or code), ``"Wessex"`` or ``"England and Wales"``. ``None``
        (default) gives every area of ``level``.
    level : {"pfa", "la"}
        ``"pfa"``: each requested area is one summed area; ``"la"``: each is expanded into its
        local authorities.
    scheme : {"5+1", "5", "19"}
        The five groups ``Asian, Black, Mixed, White, Other`` (``"5+1"`` and ``"5"``: the Census
        has no "not stated" group) or the 19 Census categories as the ONS writes them.

    Returns
    -------
    pandas.DataFrame
        One row per area x ethnic group x age band, areas in the order requested, groups and
        bands in the code lists' order, with columns (:data:`CENSUS2021_AGE_COLUMNS`):

        ``area``, ``area_code``, ``area_level``
            As in :func:`dispro.population.census2021`.
        ``ethnicity``
            Census 2021 category or 5-group name.
        ``age_band``
            ``under 10`` (0-9), ``10-17``, ``18-24``, ``25-34``, ``over 34`` (35 and over):
            the data.police.uk bands (:data:`AGE_BANDS`, :func:`age_bands`).
        ``population``
            Usual residents (nullable integer): the sum of the single-year cells behind the
            figure that the ONS published. Missing (``<NA>``, never 0) when every cell behind it
            is suppressed.
        ``suppressed_cells``
            Number of suppressed (``c``) single-year cells behind the figure, left out of the
            sum.

        ``attrs["shortfall"]`` holds :func:`age_shortfall` for the same request (each area x
        group total against the sex table's) as a list of row dicts (``pd.DataFrame(...)``
        makes it a table again; ``attrs`` hold no DataFrame, so that results can be
        concatenated); ``attrs["source_cells"]`` and
        ``attrs["suppressed_source_cells"]`` the number of source cells behind the whole
        result and how many of them are ``c``; ``attrs["source"]`` the copyright and licence.

    Raises
    ------
    AreaError
        As :func:`dispro.population.census2021`: an unknown area (with the closest name), the
        City of London (no denominator: the export merges it with Westminster), or an area with
        no row of its own in the Census 2021 geography. All problems of one call together.
    ParameterError
        ``level`` or ``scheme`` has a value outside those allowed.

    Warns
    -----
    DataQualityWarning
        When figures rest on suppressed cells: how many figures, how many source cells (and
        their share of the cells behind the result), how many figures are missing, and how far
        the area x group totals fall short of :func:`dispro.population.census2021` (overall and
        the largest shortfalls). Also the Metropolitan Police and E09000001 caveats of
        :func:`dispro.population.census2021`.

    See Also
    --------
    dispro.population.census2021 : the same areas by sex, with far fewer suppressed cells.
    age_shortfall : the comparison with the sex table, as a table.
    dispro.stopsearch.standardise.age_standardised_rates : direct age standardisation.

    Notes
    -----
    Source: ONS Census 2021 custom dataset, usual residents by local authority x single year of
    age x 19 ethnic groups (``_data/SOURCES.md``). About 64% of its local authority cells are
    ``c``: cells the ONS withheld as small. The smallest published cell in the export is 10 and
    none is published as 0, so a ``c`` cell stands for fewer than 10 people, possibly none (the
    rule is inferred from the export; the material we hold does not state the ONS threshold).
    Treated as missing, they make every figure with a ``c`` an underestimate; across local
    authorities the age table falls short of the sex table by about 2.9 people per ``c`` cell.
    The shortfall is largest, as a share, for small groups in areas where they are few (e.g.
    Black or Mixed residents of rural districts), which is where an age-standardised rate would
    be biased upward: check ``attrs["shortfall"]`` before standardising.

    The two ONS tables were rounded (and perturbed) separately, so even where neither has a
    ``c`` their totals differ by a few people (at most 70 for a local authority x group).

    Examples
    --------
    >>> import warnings
    >>> from dispro.population import census2021_age
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     hants = census2021_age("Hampshire")
    >>> hants.loc[hants["ethnicity"] == "Black", ["age_band", "population", "suppressed_cells"]]
       age_band  population  suppressed_cells
    5  under 10        3450               313
    6     10-17        2280               254
    7     18-24        3410               231
    8     25-34        3560               311
    9   over 34        8860              2450
    >>> hants.attrs["suppressed_source_cells"], hants.attrs["source_cells"]
    (19008, 26866)

    The age table's Black total falls 27% short of the sex table's:

    >>> import pandas as pd
    >>> short = pd.DataFrame(hants.attrs["shortfall"]).set_index("ethnicity")
    >>> short.loc["Black", ["population_age_table", "population_sex_table", "shortfall"]].tolist()
    [21560, 29405, 7845]
    """
    level = _tables.choice("level", level, _tables.LEVELS)
    scheme = _tables.choice("scheme", scheme, _tables.SCHEMES)
    requests = _tables.requests(areas, level)
    out, _ = _figures(requests, level, scheme)
    shortfall = _shortfall(out, requests, level, scheme)
    source_cells = int(out["_cells"].sum())
    suppressed = int(out["suppressed_cells"].sum())
    out = out.loc[:, list(CENSUS2021_AGE_COLUMNS)]
    out.attrs["source"] = _tables.source_note()
    out.attrs["shortfall"] = plain_records(shortfall)
    out.attrs["source_cells"] = source_cells
    out.attrs["suppressed_source_cells"] = suppressed
    _warn(out, shortfall, source_cells, suppressed)
    return out


def age_shortfall(
    areas: str | Iterable[str] | None = None,
    *,
    level: str = "pfa",
    scheme: str = "5+1",
) -> pd.DataFrame:
    """How far each area x group total of the age table falls short of the sex table's.

    The age table (:func:`census2021_age`) loses about 64% of its cells to suppression, the sex
    table (:func:`dispro.population.census2021`) a handful; both are sums of the cells the ONS
    published, so the difference measures (mostly) what suppression removed.

    Parameters
    ----------
    areas, level, scheme
        As in :func:`census2021_age`.

    Returns
    -------
    pandas.DataFrame
        One row per area x ethnic group, with columns (:data:`SHORTFALL_COLUMNS`):
        ``area``, ``area_code``, ``area_level``, ``ethnicity``; ``population_age_table`` (the
        age table's total over the bands; missing if every cell is ``c``);
        ``population_sex_table`` (:func:`dispro.population.census2021` with ``by=()``);
        ``shortfall`` (sex table minus age table, people); ``shortfall_share`` (``shortfall``
        over the sex table's total); ``suppressed_cells_age_table`` and
        ``suppressed_cells_sex_table`` (the ``c`` cells behind each total).

    Notes
    -----
    The sex table has suppressed cells too (139 in all), so where it has any its total is itself
    a slight undercount and the shortfall an underestimate. The two tables were rounded and
    perturbed separately: a shortfall of a few tens either way is noise, even with no ``c``.

    Examples
    --------
    >>> from dispro.population import age_shortfall
    >>> dorset = age_shortfall("Dorset")
    >>> dorset[["ethnicity", "population_age_table", "population_sex_table", "shortfall"]]
      ethnicity  population_age_table  population_sex_table  shortfall
    0     Asian                 16245                 17855       1610
    1     Black                  4045                  5315       1270
    2     Mixed                 14390                 15530       1140
    3     White                732430                733925       1495
    4     Other                  6520                  7150        630
    """
    level = _tables.choice("level", level, _tables.LEVELS)
    scheme = _tables.choice("scheme", scheme, _tables.SCHEMES)
    requests = _tables.requests(areas, level)
    out, _ = _figures(requests, level, scheme)
    return _shortfall(out, requests, level, scheme)


def _warn(out: pd.DataFrame, shortfall: pd.DataFrame, source_cells: int, suppressed: int) -> None:
    """The DataQualityWarnings of a census2021_age result."""
    affected = int((out["suppressed_cells"] > 0).sum())
    if affected:
        n_missing = int(out["population"].isna().sum())
        missing = (
            f" {n_missing} figure(s) with every cell suppressed are missing (<NA>, not 0)."
            if n_missing
            else ""
        )
        both = shortfall.dropna(subset=["population_age_table", "population_sex_table"])
        total_short = int(both["shortfall"].sum())
        total_sex = int(both["population_sex_table"].sum())
        worst = both.sort_values("shortfall_share", ascending=False).head(3)
        worst_text = "; ".join(
            f"{a} {e}: {int(s):,} of {int(t):,} ({float(p):.1%})"
            for a, e, s, t, p in zip(
                worst["area"],
                worst["ethnicity"],
                worst["shortfall"],
                worst["population_sex_table"],
                worst["shortfall_share"],
                strict=True,
            )  # fmt: skip
            if s > 0
        )
        no_total = shortfall["population_age_table"].isna().sum()
        no_total_text = (
            f" {int(no_total)} area x group total(s) have every cell suppressed."
            if no_total
            else ""
        )
        warnings.warn(
            f"{affected} of the {len(out)} figures returned rest on suppressed Census cells: "
            f"{suppressed:,} of the {source_cells:,} single-year source cells behind this result "
            f"({suppressed / source_cells:.1%}) are marked 'c' in the ONS export. Suppressed "
            f"cells are treated as missing, not 0; each is a small count (the export publishes "
            f"no cell below {SMALLEST_PUBLISHED_CELL}, so fewer than {SMALLEST_PUBLISHED_CELL} "
            "people, possibly none), so these figures are underestimates."
            f"{missing} Against the Census sex table (dispro.population.census2021), the area x "
            f"group totals fall short by {total_short:,} people of {total_sex:,} "
            f"({total_short / total_sex if total_sex else 0:.2%})"
            + (f"; largest shortfalls: {worst_text}" if worst_text else "")
            + f".{no_total_text} attrs['shortfall'] gives each area and group; the "
            "suppressed_cells column the count per figure.",
            DataQualityWarning,
            stacklevel=3,
        )
    _tables.warn_geography(out)


def allocate_shortfall(table: pd.DataFrame) -> pd.DataFrame:
    """Spread each area x group's shortfall over its age bands, by their suppressed cells.

    An explicit, opt-in imputation for the undercount that suppression causes (never applied
    by default): for each area x ethnic group of a :func:`census2021_age` result, the shortfall
    against the sex table, ``S`` (from ``attrs["shortfall"]``), is shared among its age bands in
    proportion to their suppressed cells, so each ``c`` cell counts as ``S / C`` people (``C``:
    the group's ``c`` cells). A band whose every cell is ``c`` gets a population this way.

    Parameters
    ----------
    table : DataFrame
        A result of :func:`census2021_age` (with its ``attrs``), unmodified.

    Returns
    -------
    DataFrame
        The same rows and columns (:data:`CENSUS2021_AGE_COLUMNS`); ``population`` is now
        a float, the published sum plus the allocated share (unchanged where the shortfall is
        not positive or there is no ``c`` cell). ``attrs["adjustment"]`` describes the
        imputation and ``attrs["people_per_suppressed_cell"]`` lists ``S / C`` for each area x
        group (row dicts).

    Raises
    ------
    ParameterError
        ``table`` is not a :func:`census2021_age` result (no ``attrs["shortfall"]``).

    Warns
    -----
    DataQualityWarning
        Where ``S / C`` is 10 or more (more than a ``c`` cell can hold: the two tables' separate
        rounding and perturbation, or cells missing from the sex table), so the allocation there
        is doubtful.

    Notes
    -----
    The assumption is that every ``c`` cell of a group in an area stands for the same number of
    people. ``c`` cells of sparse single years (older ages of small groups) are likely to hold
    fewer people than those of denser ones, so the allocation probably gives the oldest band too
    much and the younger bands too little; it still removes the bulk of the undercount of the
    group as a whole, which is what biases a standardised rate. Report results with and without
    it.

    Examples
    --------
    >>> import warnings
    >>> from dispro.population import allocate_shortfall, census2021_age
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     dorset = census2021_age("Dorset")
    >>> filled = allocate_shortfall(dorset)
    >>> black = filled["ethnicity"] == "Black"
    >>> int(dorset.loc[black, "population"].sum()), round(float(filled.loc[black, "population"].sum()))
    (4045, 5315)
    """
    if not isinstance(table, pd.DataFrame) or "shortfall" not in table.attrs:
        raise ParameterError(
            "`table` must be a result of dispro.population.census2021_age (it carries "
            "attrs['shortfall']), but it has no attrs['shortfall']"
        )
    keys = ["area_code", "ethnicity"]
    short = pd.DataFrame(table.attrs["shortfall"])
    per_group = table.groupby(keys, sort=False)["suppressed_cells"].sum().rename("_c")
    short = short.merge(per_group.reset_index(), on=keys, how="left")
    # a group whose every cell is `c` has no age-table total: all of the sex table's is missing
    published = pd.to_numeric(short["population_age_table"], errors="coerce").fillna(0)
    gap = pd.to_numeric(short["population_sex_table"], errors="coerce") - published
    short["people_per_suppressed_cell"] = (gap / short["_c"]).where(
        (gap > 0) & (short["_c"] > 0), 0.0
    )
    out = table.merge(short[[*keys, "people_per_suppressed_cell"]], on=keys, how="left")
    each = out["people_per_suppressed_cell"].fillna(0.0)
    added = each * out["suppressed_cells"]
    published = out["population"].astype("Float64").fillna(0.0)
    filled = (published + added).where(out["population"].notna() | (added > 0))
    out["population"] = filled.astype(float)
    result = out.loc[:, list(CENSUS2021_AGE_COLUMNS)]
    result.index = table.index
    result.attrs = dict(table.attrs)
    result.attrs["adjustment"] = (
        "allocate_shortfall: each area x group's shortfall against the Census sex table shared "
        "among its age bands in proportion to their suppressed cells"
    )
    result.attrs["people_per_suppressed_cell"] = plain_records(
        short[["area", "area_code", "ethnicity", "people_per_suppressed_cell"]]
    )
    big = short[short["people_per_suppressed_cell"] >= SMALLEST_PUBLISHED_CELL]
    if len(big):
        listed = "; ".join(
            f"{a} {e}: {v:.1f}"
            for a, e, v in zip(
                big["area"], big["ethnicity"], big["people_per_suppressed_cell"], strict=True
            )  # fmt: skip
        )
        warnings.warn(
            f"the shortfall allocated per suppressed cell is {SMALLEST_PUBLISHED_CELL} people or "
            f"more for {len(big)} area x group(s) ({listed}): more than a 'c' cell can hold, so "
            "the allocation is doubtful there",
            DataQualityWarning,
            stacklevel=2,
        )
    return result
