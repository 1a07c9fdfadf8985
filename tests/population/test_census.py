"""Tests of dispro.population.census against independent sums of the ONS Census 2021 export.

The reference figures are computed here from the source file itself (read in place from
``../shared/realdata``), with plain pandas, the Wessex local authority codes written out below
(METHODS.md section 3) and the 5-group roll-up taken from the ONS column headers, so that nothing
is borrowed from the package's own lookup or code list.
"""

from __future__ import annotations

import doctest
import gzip
import hashlib
import importlib.util
import io
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import dispro.population as population
import dispro.population.census as census
from dispro.errors import AreaError, DataQualityWarning, ParameterError
from dispro.population import CENSUS2021_COLUMNS, areas_table, census2021

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared"
SOURCE = SHARED / "realdata" / "ons_census2021_ethnic_group_la" / "EthnicGroup.csv"
GEOCODE = SHARED / "realdata" / "ons_census2021_ethnic_group_la" / "geocode.csv"

if not SOURCE.is_file():  # an error, never a skip: these tests are the independent reference
    raise FileNotFoundError(
        f"real data not found at {SOURCE} (../shared/realdata beside the project)"
    )

pytestmark = pytest.mark.filterwarnings("ignore::dispro.errors.DataQualityWarning")

# The independent reference: Wessex police force areas as lists of Census 2021 LA codes.
HAMPSHIRE = [f"E070000{n}" for n in range(84, 95)] + ["E06000044", "E06000045", "E06000046"]
DORSET = ["E06000058", "E06000059"]
WILTSHIRE = ["E06000054", "E06000030"]
FORCES = {"Hampshire": HAMPSHIRE, "Dorset": DORSET, "Wiltshire": WILTSHIRE}
WESSEX_LAS = HAMPSHIRE + DORSET + WILTSHIRE

# The 5-group roll-up, read off the ONS header ("<high-level group>: <category>").
HIGH_LEVEL = {
    "Asian, Asian British or Asian Welsh": "Asian",
    "Black, Black British, Black Welsh, Caribbean or African": "Black",
    "Mixed or Multiple ethnic groups": "Mixed",
    "White": "White",
    "Other ethnic group": "Other",
}
LA_PATTERN = r"^(?:E06|E07|E08|E09|W06)\d{6}$"


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    """The export, long: one row per geography x sex x 19-category cell, `c` kept apart."""
    raw = pd.read_csv(SOURCE, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    long = raw.melt(
        id_vars=["Geography Code", "Region", "Sex"], var_name="ethnicity", value_name="cell"
    )
    long["is_c"] = long["cell"] == "c"
    long["value"] = pd.to_numeric(long["cell"].where(~long["is_c"]))
    long["group"] = long["ethnicity"].str.split(": ", n=1).str[0].map(HIGH_LEVEL)
    assert long["group"].notna().all()
    return long.rename(columns={"Geography Code": "code", "Sex": "sex"})


@pytest.fixture(scope="module")
def la_cells(source) -> pd.DataFrame:
    return source[source["code"].str.match(LA_PATTERN)]


def reference(cells: pd.DataFrame, codes: list[str], scheme: str, by: tuple) -> pd.DataFrame:
    """Independent sums: population of the non-`c` cells (missing if all are `c`), `c` count."""
    part = cells[cells["code"].isin(codes)]
    assert part["code"].nunique() == len(codes)
    keys = ["ethnicity" if scheme == "19" else "group", *by]
    grouped = part.groupby(keys)
    out = pd.DataFrame(
        {
            "population": grouped["value"].sum(min_count=1),
            "suppressed_cells": grouped["is_c"].sum(),
        }
    )
    out.index = out.index.set_names(["ethnicity", *by])
    return out.sort_index()


def package(area, scheme: str, by: tuple, **kwargs) -> pd.DataFrame:
    got = census2021(area, scheme=scheme, by=by, **kwargs)
    assert list(got.columns) == [c for c in CENSUS2021_COLUMNS if c != "sex" or by]
    return got.set_index(["ethnicity", *by])[["population", "suppressed_cells"]].sort_index()


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert got.index.equals(expected.index)
    # missing in both places, equal elsewhere (a `c` must never have become 0)
    assert (got["population"].isna().to_numpy() == expected["population"].isna().to_numpy()).all()
    pd.testing.assert_series_equal(
        got["population"].astype("Float64"),
        expected["population"].astype("Float64"),
        check_names=False,
    )
    assert (got["suppressed_cells"].to_numpy() == expected["suppressed_cells"].to_numpy()).all()


SCHEMES_BY = [(s, b) for s in ("19", "5+1") for b in ((), ("sex",))]


@pytest.mark.parametrize(("scheme", "by"), SCHEMES_BY)
@pytest.mark.parametrize("force", sorted(FORCES))
def test_wessex_force_areas_equal_independent_sums(la_cells, force, scheme, by):
    got = package(force, scheme, by)
    assert_same(got, reference(la_cells, FORCES[force], scheme, by))
    meta = census2021(force, scheme=scheme, by=by)
    assert set(meta["area"]) == {force}
    assert set(meta["area_level"]) == {"pfa"}


@pytest.mark.parametrize(("scheme", "by"), SCHEMES_BY)
@pytest.mark.parametrize("la_code", WESSEX_LAS)
def test_wessex_local_authorities_equal_independent_sums(la_cells, la_code, scheme, by):
    got = package(la_code, scheme, by)
    assert_same(got, reference(la_cells, [la_code], scheme, by))
    assert set(census2021(la_code, by=())["area_level"]) == {"la"}


@pytest.mark.parametrize(("scheme", "by"), SCHEMES_BY)
def test_wessex_is_the_sum_of_its_three_forces(la_cells, scheme, by):
    wessex = package("Wessex", scheme, by)
    forces = sum(package(f, scheme, by) for f in FORCES)
    assert_same(wessex, forces)
    assert_same(wessex, reference(la_cells, WESSEX_LAS, scheme, by))
    got = census2021("Wessex", scheme=scheme, by=by)
    assert set(got["area_level"]) == {"wessex"} and set(got["area"]) == {"Wessex"}


def test_wessex_at_la_level_expands_into_its_18_local_authorities(la_cells):
    got = census2021("Wessex", level="la", scheme="19")
    assert sorted(got["area_code"].unique()) == sorted(WESSEX_LAS)
    assert set(got["area_level"]) == {"la"}
    for code, part in got.groupby("area_code"):
        expected = reference(la_cells, [code], "19", ("sex",))
        assert_same(part.set_index(["ethnicity", "sex"]).sort_index()[expected.columns], expected)


def test_force_at_la_level_expands_into_its_local_authorities():
    got = census2021(["Dorset", "Wiltshire"], level="la", by=())
    assert got["area_code"].drop_duplicates().tolist() == sorted(DORSET) + sorted(WILTSHIRE)


def test_every_la_cell_matches_the_source_and_c_is_missing_not_zero(la_cells):
    got = census2021(level="la", scheme="19").set_index(["area_code", "ethnicity", "sex"])
    src = la_cells.set_index(["code", "ethnicity", "sex"])
    assert len(got) == len(src) == 329 * 2 * 19
    got = got.loc[src.index]
    assert (got["population"].isna().to_numpy() == src["is_c"].to_numpy()).all()
    assert (got["suppressed_cells"].to_numpy() == src["is_c"].astype(int).to_numpy()).all()
    kept = ~src["is_c"].to_numpy()
    assert (got["population"].to_numpy()[kept] == src["value"].to_numpy()[kept]).all()
    assert src["is_c"].sum() == got["suppressed_cells"].sum() == 139


def test_suppressed_cells_per_5_group_figure_match_the_source(la_cells):
    got = census2021(level="la", scheme="5+1").set_index(["area_code", "ethnicity", "sex"])
    grouped = la_cells.groupby(["code", "group", "sex"])
    assert (got.loc[grouped.size().index, "suppressed_cells"] == grouped["is_c"].sum()).all()
    expected = grouped["value"].sum(min_count=1)
    pd.testing.assert_series_equal(
        got.loc[expected.index, "population"].astype("Float64"),
        expected.astype("Float64"),
        check_names=False,
    )


def test_a_suppressed_cell_alone_is_missing_and_partial_sums_omit_it(la_cells):
    cell = la_cells[la_cells["is_c"]].iloc[0]
    other = la_cells[
        (la_cells["code"] == cell["code"])
        & (la_cells["ethnicity"] == cell["ethnicity"])
        & (la_cells["sex"] != cell["sex"])
    ].iloc[0]
    assert not other["is_c"]  # the reference relies on this: both sexes are never both `c` here
    by_sex = census2021(cell["code"], scheme="19").set_index(["ethnicity", "sex"])
    row = by_sex.loc[(cell["ethnicity"], cell["sex"])]
    assert pd.isna(row["population"]) and row["suppressed_cells"] == 1
    both = census2021(cell["code"], scheme="19", by=()).set_index("ethnicity")
    assert both.loc[cell["ethnicity"], "population"] == other["value"]
    assert both.loc[cell["ethnicity"], "suppressed_cells"] == 1


def test_suppression_warning_states_the_number_of_cells(la_cells):
    code = la_cells.loc[la_cells["is_c"], "code"].iloc[0]
    n_c = int(la_cells.loc[la_cells["code"] == code, "is_c"].sum())
    with pytest.warns(DataQualityWarning, match=rf"\({n_c} distinct cells marked 'c'"):
        census2021(code, scheme="19")


def test_no_warning_when_nothing_is_suppressed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = census2021("Wessex")
    assert (got["suppressed_cells"] == 0).all()


def test_no_region_or_national_double_counting(source, la_cells):
    national = census2021("England and Wales", by=())
    assert set(national["area_level"]) == {"national"}
    assert set(national["area_code"]) == {"K04000001"}
    total = int(national["population"].sum())
    assert total == la_cells["value"].sum()
    assert total == int(census2021(by=())["population"].sum())  # 42 forces partition the LAs
    published = source.loc[source["code"] == "K04000001", "value"].sum()
    assert abs(total - published) / published < 0.001  # rounding only, not a double count
    assert national["suppressed_cells"].sum() == la_cells["is_c"].sum()


def test_england_and_wales_by_19_groups(la_cells):
    assert_same(
        package("England and Wales", "19", ("sex",)),
        reference(la_cells, sorted(la_cells["code"].unique()), "19", ("sex",)),
    )


@pytest.mark.parametrize(
    "name", ["City of London", "city of london", "E23000034", "E09000001", "London, City of"]
)
@pytest.mark.parametrize("level", ["pfa", "la"])
def test_city_of_london_by_sex_or_by_local_authority_is_refused(name, level):
    # by sex (the default) or by local authority the City's figures do not exist; both sexes
    # together it comes from TS021 (tests/population/test_ts021.py)
    with pytest.raises(AreaError, match="Westminster") as info:
        census2021(name, level=level)
    assert "by=()" in str(info.value)


def test_city_of_london_in_a_list_still_raises():
    with pytest.raises(AreaError, match="Westminster"):
        census2021(["Hampshire", "City of London"])


def test_metropolitan_police_warns_that_it_includes_the_city():
    with pytest.warns(DataQualityWarning, match="8,600"):
        census2021("Metropolitan Police")


def test_unknown_area_suggests_the_closest_name():
    with pytest.raises(AreaError, match="did you mean 'Hampshire'"):
        census2021("Hamshire")
    with pytest.raises(AreaError, match="'Atlantis'"):
        census2021(["Dorset", "Atlantis"])


def test_pfa_level_has_43_force_areas_minus_the_city_of_london():
    forces = pd.read_csv(GEOCODE, dtype=str, encoding="utf-8-sig")["Geocode"]
    assert len(forces) == 43
    got = census2021(by=())
    assert set(got["area_level"]) == {"pfa"}
    assert sorted(got["area_code"].unique()) == sorted(set(forces) - {"E23000034"})
    assert {"Avon and Somerset", "Devon and Cornwall", "Metropolitan Police", "Hampshire"} <= set(
        got["area"]
    )


@pytest.mark.parametrize(
    "name", ["Avon & Somerset", "avon and somerset", "AVON AND SOMERSET", "e23000036"]
)
def test_force_name_variants_resolve_to_the_same_area(name):
    expected = census2021("E23000036")
    pd.testing.assert_frame_equal(census2021(name), expected)
    assert set(expected["area"]) == {"Avon and Somerset"}


def test_lookup_spelling_devon_and_cornwall():
    got = census2021("Devon & Cornwall", by=())
    assert set(got["area"]) == {"Devon and Cornwall"}
    assert set(got["area_code"]) == {"E23000035"}


def test_force_name_wins_over_la_name_and_la_is_reached_by_code():
    assert set(census2021("Dorset")["area_code"]) == {"E23000039"}
    assert set(census2021("E06000059")["area_code"]) == {"E06000059"}


def test_scheme_19_totals_equal_scheme_5_totals():
    keys = ["area_code", "sex"]
    nineteen = census2021(scheme="19").groupby(keys)["population"].sum()
    five = census2021(scheme="5+1").groupby(keys)["population"].sum()
    pd.testing.assert_series_equal(nineteen, five)
    nineteen_rolled = (
        census2021(scheme="19")
        .assign(group=lambda d: d["ethnicity"].str.split(": ", n=1).str[0].map(HIGH_LEVEL))
        .groupby(["area_code", "group", "sex"])[["population", "suppressed_cells"]]
        .sum()
    )
    five_by_group = census2021(scheme="5+1").set_index(["area_code", "ethnicity", "sex"])
    five_by_group = five_by_group.loc[nineteen_rolled.index]
    assert (five_by_group["population"].to_numpy() == nineteen_rolled["population"]).all()
    assert (
        five_by_group["suppressed_cells"].to_numpy() == nineteen_rolled["suppressed_cells"]
    ).all()


def test_scheme_names_and_aliases():
    five = census2021("Dorset", scheme="5+1")
    pd.testing.assert_frame_equal(census2021("Dorset", scheme="5"), five)
    pd.testing.assert_frame_equal(census2021("Dorset", scheme=" 5+1 "), five)
    pd.testing.assert_frame_equal(
        census2021("Dorset", scheme=19), census2021("Dorset", scheme="19")
    )
    assert five["ethnicity"].drop_duplicates().tolist() == [
        "Asian",
        "Black",
        "Mixed",
        "White",
        "Other",
    ]
    assert "Not stated" not in set(five["ethnicity"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"level": "lsoa"}, "`level` must be one of"),
        ({"scheme": "18+1"}, "`scheme` must be one of"),
        ({"by": ("age",)}, "`by` must be one of"),
        ({"areas": []}, "`areas` is empty"),
        ({"areas": [5]}, "`areas` must hold names"),
    ],
)
def test_bad_parameters_raise_parameter_error(kwargs, match):
    kwargs = {"areas": "Dorset", **kwargs}
    with pytest.raises(ParameterError, match=match):
        census2021(**kwargs)


def test_columns_and_dtypes():
    with_sex = census2021("Dorset")
    assert tuple(with_sex.columns) == CENSUS2021_COLUMNS
    assert set(with_sex["sex"]) == {"Female", "Male"}
    assert str(with_sex["population"].dtype) == "Int64"
    assert "sex" not in census2021("Dorset", by=()).columns
    assert len(census2021("Dorset", by=())) == 5
    assert len(census2021("Dorset", scheme="19")) == 19 * 2


def test_areas_are_returned_once_in_the_order_requested():
    got = census2021(["Wiltshire", "Hampshire", "wiltshire", "Southampton"], by=())
    assert got["area"].drop_duplicates().tolist() == ["Wiltshire", "Hampshire", "Southampton"]


def test_areas_table_lists_every_area():
    table = areas_table()
    assert list(table.columns) == list(population.AREAS_COLUMNS)
    available_pfa = table[(table["area_level"] == "pfa") & table["available"]]
    assert len(available_pfa) == 43  # the City of London from TS021
    city = table[table["area_code"] == "E23000034"]
    assert len(city) == 1 and city["available"].iloc[0]
    assert city["local_authorities"].iloc[0] == 0 and "TS021" in city["note"].iloc[0]
    las = table[table["area_level"] == "la"]
    assert len(las) == 329
    assert sorted(las.loc[las["pfa"].isin(FORCES), "area_code"]) == sorted(WESSEX_LAS)
    assert las.set_index("area_code").loc["E09000001", "pfa_code"] == "E23000001"


def test_bundled_table_was_built_from_this_source():
    meta = json.loads(population.META_FILE.read_text(encoding="utf-8"))
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert meta["sources"][0]["sha256"] == digest
    assert meta["licence"] == "Open Government Licence v3.0"


def test_build_script_reproduces_the_bundled_table(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_census2021", PROJECT_ROOT / "scripts" / "build_census2021.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--shared", str(SHARED), "--out-dir", str(tmp_path)]) == 0
    rebuilt = gzip.decompress((tmp_path / "census2021_la.csv.gz").read_bytes())
    bundled = gzip.decompress(population.TABLE_FILE.read_bytes())
    assert rebuilt == bundled
    assert pd.read_csv(io.BytesIO(rebuilt)).shape == (12502, 8)


def test_docstring_examples_run():
    result = doctest.testmod(census, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_force_names_match_the_police_force_area_code_list():
    from dispro.dictionary import codelist

    forces = codelist("police_force_area")
    table = areas_table()
    pfa = table[table["area_level"] == "pfa"]
    named = dict(zip(forces["ons_code"], forces["code"], strict=True))
    assert (pfa["area"] == pfa["area_code"].map(named)).all()


@pytest.mark.parametrize("name", ["Hampshire & Isle of Wight", "hampshire constabulary"])
def test_code_list_aliases_resolve(name):
    assert set(census2021(name)["area_code"]) == {"E23000030"}


def test_a_force_without_a_resident_population_is_refused():
    with pytest.raises(AreaError, match="not a territorial police force area"):
        census2021("British Transport Police")


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("Westminster", "E09000001"),
        ("Isles of Scilly", "Cornwall and Isles of Scilly"),
        ("Corby", "North Northamptonshire"),
    ],
)
def test_areas_without_a_row_of_their_own_point_to_the_right_one(name, match):
    with pytest.raises(AreaError, match=match):
        census2021(name)
