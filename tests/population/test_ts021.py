"""The second population source: Census 2021 TS021 by police force area (population._ts021).

The references are read here from the shared files in place (``../shared/realdata``, through the
``realdata`` fixture), never from the bundled copy: the TS021 table itself for the figures, and
the ONS local-authority export with the ONS lookup (plain pandas, independent of the package's
build and code lists) for the differences between the two sources that ``docs/methods.md``
states.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import dispro.population as population
from dispro.errors import AreaError, DataQualityWarning, ParameterError
from dispro.population import (
    CENSUS2021_COLUMNS,
    POPULATION_SOURCES,
    census2021,
    population_source,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TS021 = Path("nomis_census2021_ts021_pfa") / "ts021_pfa_ethnic_group_5.csv"
CITY, MET = "E23000034", "E23000001"
WESSEX = {"E23000030": "Hampshire", "E23000039": "Dorset", "E23000038": "Wiltshire"}
GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]
TS021_TEXT = "Census 2021 TS021 by police force area (unrounded)"

# Measured differences, TS021 minus the local-authority sum, stated in docs/methods.md ("Two
# Census sources") and recomputed below from the two raw files.
WESSEX_DIFFERENCES = {
    "Hampshire": {"Asian": 12, "Black": -18, "Mixed": -9, "White": -1, "Other": 7},
    "Dorset": {"Asian": 1, "Black": 0, "Mixed": -1, "White": 0, "Other": 0},
    "Wiltshire": {"Asian": 4, "Black": 9, "Mixed": -6, "White": 0, "Other": 2},
}
MAX_DIFFERENCE = ("E23000021", "Asian", 69)  # Leicestershire; 6 suppressed cells behind it
MAX_DIFFERENCE_UNSUPPRESSED = ("E23000032", "Mixed", -33)  # Kent
MET_WITH_CITY = {"Asian": 7, "Black": -16, "Mixed": -14, "White": 17, "Other": 12}
MEDIAN_ABS_DIFFERENCE = 7
TOTALS = (59_597_578, 59_596_590)  # TS021; the local-authority table without its `c` cells

pytestmark = pytest.mark.filterwarnings("ignore::dispro.errors.DataQualityWarning")


@pytest.fixture(scope="module")
def ts021(realdata) -> pd.DataFrame:
    return pd.read_csv(realdata / TS021)


@pytest.fixture(scope="module")
def differences(realdata, ts021) -> pd.DataFrame:
    """TS021 minus the sum of the local-authority export's published cells, per force x group,
    from the raw files: the ONS export, the ONS LAD20 -> PFA20 lookup (North and West
    Northamptonshire, created in 2021, to Northamptonshire; the merged City of London and
    Westminster row to the Metropolitan Police, so the City is compared as part of it)."""
    raw = pd.read_csv(
        realdata / "ons_census2021_ethnic_group_la" / "EthnicGroup.csv",
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    la = raw[raw["Geography Code"].str.match(r"^(E06|E07|E08|E09|W06)\d{6}$")]
    cells = la.melt(id_vars=["Geography Code", "Region", "Sex"], var_name="cat", value_name="v")
    cells["value"] = pd.to_numeric(cells["v"].where(cells["v"] != "c"))
    cells["is_c"] = cells["v"] == "c"
    high = {
        "Asian, Asian British or Asian Welsh": "Asian",
        "Black, Black British, Black Welsh, Caribbean or African": "Black",
        "Mixed or Multiple ethnic groups": "Mixed",
        "White": "White",
        "Other ethnic group": "Other",
    }
    cells["ethnicity"] = cells["cat"].str.split(": ", n=1).str[0].map(high)
    lookup = pd.read_csv(
        realdata / "blackthrive_la_lookups" / "la_to_force_2020.csv",
        dtype=str,
        encoding="utf-8-sig",
    ).drop_duplicates("LAD20CD")
    pfa = dict(zip(lookup["LAD20CD"], lookup["PFA20CD"], strict=True))
    pfa.update({"E06000061": "E23000022", "E06000062": "E23000022", "E09000001": MET})
    cells["pfa"] = cells["Geography Code"].map(pfa)
    assert cells["pfa"].notna().all() and cells["ethnicity"].notna().all()
    sums = cells.groupby(["pfa", "ethnicity"]).agg(la=("value", "sum"), c=("is_c", "sum"))
    joined = ts021.assign(pfa=ts021["geography_code"].replace({CITY: MET}))
    joined = joined.groupby(["pfa", "ethnicity"])["population"].sum().to_frame().join(sums)
    joined["d"] = (joined["population"] - joined["la"]).astype(int)
    assert len(joined) == 42 * 5
    return joined.reset_index()


# ---------------------------------------------------------------- the bundled file and its build


def test_bundled_table_equals_the_shared_file(ts021):
    bundled = pd.read_csv(population.TS021_FILE)
    assert list(bundled.columns) == ["pfa_code", "pfa_name", "ethnicity", "population"]
    assert bundled.shape == (215, 4) and bundled["pfa_code"].nunique() == 43
    got = bundled.set_index(["pfa_code", "ethnicity"])["population"].sort_index()
    want = ts021.set_index(["geography_code", "ethnicity"])["population"].sort_index()
    assert got.to_dict() == want.to_dict()
    assert all(g == GROUPS for g in bundled.groupby("pfa_code")["ethnicity"].apply(list))
    city = bundled[bundled["pfa_code"] == CITY]
    assert set(city["pfa_name"]) == {"City of London"}


def test_meta_names_the_source_hash_and_licence(realdata):
    meta = json.loads(population.TS021_FILE.with_name("census2021_pfa_ts021.meta.json").read_text())
    assert meta["source"]["sha256"] == hashlib.sha256((realdata / TS021).read_bytes()).hexdigest()
    assert meta["licence"] == "Open Government Licence v3.0"
    assert meta["counts"]["total"] == TOTALS[0]
    sources = (PROJECT_ROOT / "src" / "dispro" / "_data" / "SOURCES.md").read_text()
    assert "## `census2021_pfa_ts021.csv.gz`" in sources and "Unrounded" in sources


def _build_module():
    spec = importlib.util.spec_from_file_location(
        "build_census2021_pfa", PROJECT_ROOT / "scripts" / "build_census2021_pfa.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_script_reproduces_the_bundled_table(realdata, tmp_path):
    module = _build_module()
    (tmp_path / "SOURCES.md").write_text("# Bundled data\n\nearlier section\n", encoding="utf-8")
    assert module.main(["--shared", str(realdata.parent), "--out-dir", str(tmp_path)]) == 0
    rebuilt = gzip.decompress((tmp_path / "census2021_pfa_ts021.csv.gz").read_bytes())
    assert rebuilt == gzip.decompress(population.TS021_FILE.read_bytes())
    # the SOURCES.md section is appended once, then replaced, never duplicated
    assert module.main(["--shared", str(realdata.parent), "--out-dir", str(tmp_path)]) == 0
    text = (tmp_path / "SOURCES.md").read_text(encoding="utf-8")
    assert text.startswith("# Bundled data\n\nearlier section\n")
    assert text.count(module.SECTION_START) == 1 and text.count(module.SECTION_END) == 1


def _broken(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    frame = frame.astype({"population": str})
    if how == "negative":
        frame.loc[3, "population"] = "-4"
    elif how == "unknown code":
        frame.loc[frame["geography_code"] == CITY, "geography_code"] = "E23000099"
    elif how == "missing force area":
        frame = frame[frame["geography_code"] != "E23000039"]
    elif how == "unknown group":
        frame.loc[0, "ethnicity"] = "Asian or Asian British"
    elif how == "duplicate":
        frame = pd.concat([frame, frame.iloc[[0]]])
    elif how == "not a number":
        frame.loc[5, "population"] = "1,234"
    return frame


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("negative", "whole numbers"),
        ("not a number", "whole numbers"),
        ("unknown code", "E23000099"),
        ("missing force area", "E23000039"),
        ("unknown group", "Asian or Asian British"),
        ("duplicate", "more than once"),
    ],
)
def test_build_script_refuses_a_source_that_is_not_as_expected(
    ts021, tmp_path, capsys, how, message
):
    module = _build_module()
    source = tmp_path / "shared" / "realdata" / TS021
    source.parent.mkdir(parents=True)
    _broken(ts021.copy(), how).to_csv(source, index=False)
    assert module.main(["--shared", str(tmp_path / "shared"), "--out-dir", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "census2021_pfa_ts021.csv.gz").exists()


# ---------------------------------------------------------------- census2021 and the City


@pytest.mark.parametrize(
    "name",
    ["City of London", "city of london", "E23000034", "London, City of", "City of London Police"],
)
def test_city_of_london_population_equals_the_shared_file(ts021, name):
    got = census2021(name, by=())
    assert tuple(got.columns) == tuple(c for c in CENSUS2021_COLUMNS if c != "sex")
    assert got["ethnicity"].tolist() == GROUPS
    want = ts021[ts021["geography_code"] == CITY].set_index("ethnicity")["population"]
    assert got.set_index("ethnicity")["population"].to_dict() == want.to_dict()
    # the figures the shared README states (section 5)
    assert want.to_dict() == {
        "White": 5955,
        "Asian": 1445,
        "Black": 232,
        "Mixed": 470,
        "Other": 482,
    }
    assert set(got["area"]) == {"City of London"} and set(got["area_code"]) == {CITY}
    assert set(got["area_level"]) == {"pfa"} and (got["suppressed_cells"] == 0).all()
    assert set(got["source"]) == {"pfa"}
    assert got.attrs["population_source"] == {"City of London": TS021_TEXT}
    assert "Open Government Licence" in got.attrs["source"]


def test_city_among_other_areas_keeps_the_request_order_and_says_each_source(ts021):
    got = census2021(["Hampshire", "City of London", "Wessex"], by=())
    assert got["area"].drop_duplicates().tolist() == ["Hampshire", "City of London", "Wessex"]
    assert got.groupby("area", sort=False)["source"].first().to_dict() == {
        "Hampshire": "la",
        "City of London": "pfa",
        "Wessex": "la",
    }
    alone = census2021(["Hampshire", "Wessex"], by=())
    la_rows = got[got["source"] == "la"].reset_index(drop=True)
    pd.testing.assert_frame_equal(la_rows, alone, check_like=False)
    assert got.attrs["population_source"] == {
        "Hampshire": POPULATION_SOURCES["la"],
        "City of London": TS021_TEXT,
        "Wessex": POPULATION_SOURCES["la"],
    }


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({}, "by sex (the default)"),
        ({"by": (), "level": "la"}, "by local authority"),
        ({"by": (), "scheme": "19"}, "in the 19 categories"),
    ],
)
def test_city_figures_that_do_not_exist_are_refused_never_split(kwargs, what):
    with pytest.raises(AreaError, match="by=\\(\\)") as info:
        census2021("City of London", **kwargs)
    assert "TS021" in str(info.value) and "Westminster" in str(info.value), what
    with pytest.raises(AreaError, match="TS021"):  # in a list too, reported with the others
        census2021(["Dorset", "City of London"], **kwargs)


def test_the_merged_row_e09000001_points_to_the_city_force_area():
    with pytest.raises(AreaError, match="force area 'City of London' with by=\\(\\)"):
        census2021("E09000001", by=())


def test_every_area_is_a_partition_of_england_and_wales_in_each_source(ts021):
    la = census2021(by=())
    assert la["area_code"].nunique() == 42 and CITY not in set(la["area_code"])
    assert set(la["source"]) == {"la"}
    pfa = census2021(by=(), source="pfa")
    assert sorted(pfa["area_code"].unique()) == sorted(ts021["geography_code"].unique())
    assert int(pfa["population"].sum()) == TOTALS[0] == int(ts021["population"].sum())
    assert int(la["population"].sum()) == TOTALS[1]


def test_source_pfa_gives_the_file_for_every_force_area_wessex_and_england_and_wales(ts021):
    got = census2021(by=(), source="pfa")
    assert set(got["source"]) == {"pfa"} and (got["suppressed_cells"] == 0).all()
    merged = got.merge(
        ts021, left_on=["area_code", "ethnicity"], right_on=["geography_code", "ethnicity"]
    )
    assert len(merged) == 215
    assert (merged["population_x"].astype(int) == merged["population_y"]).all()
    summed = census2021(["Wessex", "England and Wales"], by=(), source="pfa")
    in_wessex = ts021[ts021["geography_code"].isin(WESSEX)].groupby("ethnicity")["population"]
    wessex = summed[summed["area"] == "Wessex"].set_index("ethnicity")["population"]
    assert wessex.to_dict() == in_wessex.sum().to_dict()
    national = summed[summed["area"] == "England and Wales"].set_index("ethnicity")["population"]
    assert national.to_dict() == ts021.groupby("ethnicity")["population"].sum().to_dict()
    assert summed["area_level"].drop_duplicates().tolist() == ["wessex", "national"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"areas": "Dorset"}, "`by` must be \\(\\) with source='pfa'"),
        ({"areas": "Dorset", "by": (), "level": "la"}, "`level` must be 'pfa'"),
        ({"areas": "Dorset", "by": (), "scheme": "19"}, "`scheme` must be '5\\+1' or '5'"),
        ({"areas": "Dorset", "by": (), "source": "ts021"}, "`source` must be one of"),
    ],
)
def test_source_pfa_refuses_what_ts021_does_not_have(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        census2021(**{"source": "pfa", **kwargs})


def test_source_pfa_refuses_a_local_authority_by_name():
    with pytest.raises(AreaError, match="Southampton \\(E06000045\\) is a local authority"):
        census2021("Southampton", by=(), source="pfa")


def test_the_metropolitan_police_caveat_belongs_to_the_la_source_only():
    with pytest.warns(DataQualityWarning, match="8,600"):
        census2021("Metropolitan Police", by=())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        census2021("Metropolitan Police", by=(), source="pfa")
        census2021("City of London", by=())


def test_population_source_of_a_table_passed_by_the_caller():
    own = pd.DataFrame({"area": ["Dorset"], "ethnicity": ["White"], "population": [1]})
    assert population_source(own) == {"Dorset": "population table passed by the caller"}
    both = census2021(["Dorset", "City of London"], by=())
    assert population_source(both, combined="Both") == {
        "Dorset": POPULATION_SOURCES["la"],
        "City of London": TS021_TEXT,
        "Both": POPULATION_SOURCES["la"] + "; " + TS021_TEXT,
    }
    assert population_source(pd.DataFrame(columns=["area", "population"])) == {}


# ---------------------------------------------------------------- how far apart the sources are


def test_differences_between_the_sources_are_those_docs_methods_states(differences):
    d = differences.set_index(["pfa", "ethnicity"])["d"]
    top = d.abs().idxmax()
    assert (*top, int(d[top])) == MAX_DIFFERENCE
    unsuppressed = differences[differences["c"] == 0].set_index(["pfa", "ethnicity"])["d"]
    top = unsuppressed.abs().idxmax()
    assert (*top, int(unsuppressed[top])) == MAX_DIFFERENCE_UNSUPPRESSED
    assert d.abs().median() == MEDIAN_ABS_DIFFERENCE
    for code, force in WESSEX.items():
        assert d[code].to_dict() == WESSEX_DIFFERENCES[force]
    assert d[MET].to_dict() == MET_WITH_CITY
    # the package gives the same differences, through census2021 with each source
    la = census2021(list(WESSEX.values()), by=()).set_index(["area", "ethnicity"])["population"]
    pfa = census2021(list(WESSEX.values()), by=(), source="pfa")
    pfa = pfa.set_index(["area", "ethnicity"])["population"]
    for force, expected in WESSEX_DIFFERENCES.items():
        assert {g: int(pfa[force, g] - la[force, g]) for g in GROUPS} == expected
    # and docs/methods.md states them
    doc = (PROJECT_ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    assert "### Two Census sources" in doc
    for force, row in WESSEX_DIFFERENCES.items():
        cells = " | ".join(f"{row[g]:+d}" if row[g] else "0" for g in GROUPS)
        assert f"| {force} | {cells} |" in doc
    assert "at most 69 (Leicestershire, Asian" in doc and "at most 33 (Kent, Mixed" in doc
    assert f"{TOTALS[0]:,}" in doc and f"{TOTALS[1]:,}" in doc
