"""The reader of Home Office published total searches (dispro.read_official_totals): the
bundled table against the file read with the csv module, files of the same layout, and
hostile files (each refused with the file, column, lines and values named)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import dispro
from dispro.errors import DisproError, ParameterError, ValidationError
from dispro.readers.official import (
    BUNDLED_TOTALS,
    OFFICIAL_TOTALS_COLUMNS,
    financial_year_label,
    read_official_totals,
)

HEADER = "force_id,pfa_code,year_end,published_total,scope,retrieved,source"
ROOT = Path(__file__).resolve().parents[2]


def _write(folder: Path, rows: list[str], name: str = "totals.csv", header: str = HEADER) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _row(force="dorset", code="E23000039", year="2025", total="2029") -> str:
    return f"{force},{code},{year},{total},All relevant legislation; SS_20,2026-09-16,https://x"


def _codelist() -> dict[str, tuple[str, str]]:
    """police.uk slug -> (official name, ONS code), from the code list read with csv."""
    path = ROOT / "data_dictionary" / "codelists" / "police_force_area.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["police_uk_slug"]: (r["code"], r["ons_code"]) for r in csv.DictReader(fh)}


def test_the_bundled_table_is_the_shared_file_read_with_csv(realdata):
    shared = realdata / "home_office_ss20_totals" / "ss20_total_searches_ye_mar2025.csv"
    assert BUNDLED_TOTALS.read_bytes() == shared.read_bytes()
    with open(shared, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    names = _codelist()
    names["british-transport-police"] = names.pop("btp")  # the file spells BTP out
    expected = {names[r["force_id"]][0]: int(r["published_total"]) for r in raw}
    table = read_official_totals()
    assert list(table.columns) == list(OFFICIAL_TOTALS_COLUMNS)
    assert len(table) == len(raw) == 44
    assert dict(zip(table["force"], table["published_total"], strict=True)) == expected
    assert set(table["year_end"]) == {2025} and set(table["financial_year"]) == {"2024/25"}
    assert table["published_total"].sum() == sum(int(r["published_total"]) for r in raw)
    codes = dict(zip(table["force"], table["pfa_code"], strict=True))
    assert codes["City of London"] == "E23000034"
    assert pd.isna(codes["British Transport Police"])
    assert table.attrs["files"][0]["file"] == BUNDLED_TOTALS.name
    assert dispro.readers.read_official_totals is read_official_totals


def test_several_files_and_years_and_every_spelling_of_a_force(tmp_path):
    a = _write(tmp_path, [_row("Avon & Somerset", "E23000036", "2024", "5000"),
                          _row("Hants", "", "2024", "13000")], "a.csv")  # fmt: skip
    b = _write(tmp_path, [_row("E23000036", "e23000036", "2025", "5611"),
                          _row("hampshire", "E23000030", "2025", "13530")], "b.csv")  # fmt: skip
    table = read_official_totals([a, b])
    assert table[["force", "financial_year", "published_total"]].values.tolist() == [
        ["Avon and Somerset", "2023/24", 5000],
        ["Avon and Somerset", "2024/25", 5611],
        ["Hampshire", "2023/24", 13000],
        ["Hampshire", "2024/25", 13530],
    ]
    assert set(table["pfa_code"]) == {"E23000036", "E23000030"}  # the blank code filled in
    assert [f["file"] for f in table.attrs["files"]] == [str(a), str(b)]


def test_a_bom_crlf_file_without_the_optional_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfforce_id,year_end,published_total\r\ndorset,2026,2100\r\n")
    table = read_official_totals(str(path))
    assert table[["force", "year_end", "published_total"]].values.tolist() == [
        ["Dorset", 2026, 2100]
    ]
    assert table["scope"].isna().all()


def test_a_parquet_file_of_numbers(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame(
        {"force_id": ["wiltshire"], "year_end": [2025], "published_total": [1987]}
    ).to_parquet(path)
    assert read_official_totals(path)["published_total"].tolist() == [1987]


def test_financial_year_label():
    assert financial_year_label(2025) == "2024/25"
    assert financial_year_label(2000) == "1999/00"


# --------------------------------------------------------------------------------------------
# hostile files: each message names the file, the column, the lines and the values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, column, shown",
    [
        (_row(force="Narnia"), "force_id", "'Narnia'"),
        (_row(force="city-of-londn"), "force_id", "city-of-london"),  # did you mean
        (_row(force=""), "force_id", "line 3: ''"),
        (_row(code="E23000034"), "pfa_code", "City of London's"),
        (_row(code="E99999999"), "pfa_code", "Dorset's code is E23000039"),
        (_row(year="2024/25"), "year_end", "'2024/25'"),
        (_row(year="1066"), "year_end", "'1066'"),
        (_row(year="2025.5"), "year_end", "'2025.5'"),
        (_row(year=""), "year_end", "line 3: ''"),
        (_row(year="True"), "year_end", "'True'"),
        (_row(total="-3"), "published_total", "'-3'"),
        (_row(total="12.5"), "published_total", "'12.5'"),
        (_row(total="abc"), "published_total", "'abc'"),
        (_row(total="inf"), "published_total", "'inf'"),
        (_row(total="1e20"), "published_total", "'1e20'"),
        (_row(total=""), "published_total", "not a zero"),
        (_row(total="True"), "published_total", "'True'"),
    ],
)
def test_a_bad_cell_is_refused_with_file_column_line_and_value(tmp_path, row, column, shown):
    path = _write(tmp_path, [_row("wiltshire", "E23000038"), row])
    with pytest.raises(ValidationError) as err:
        read_official_totals(path)
    message = str(err.value)
    assert str(path) in message and repr(column) in message and shown in message
    assert "line 3" in message  # the second row of data is on line 3


def test_btp_with_a_code_is_refused(tmp_path):
    path = _write(tmp_path, [_row("british-transport-police", "E23000001")])
    with pytest.raises(ValidationError, match="British Transport Police has no ONS code"):
        read_official_totals(path)


def test_a_force_and_year_twice_is_refused_within_a_file_and_across_files(tmp_path):
    path = _write(tmp_path, [_row("hampshire", ""), _row("Hants", "")])
    with pytest.raises(ValidationError) as err:
        read_official_totals(path)
    assert "'hampshire' at" in str(err.value) and "'Hants' at" in str(err.value)
    assert f"{path} line 2" in str(err.value) and f"{path} line 3" in str(err.value)
    other = _write(tmp_path, [_row("dorset")], "other.csv")
    one = _write(tmp_path, [_row("dorset")], "one.csv")
    with pytest.raises(ValidationError, match="Dorset 2024/25") as err:
        read_official_totals([one, other])
    assert str(one) in str(err.value) and str(other) in str(err.value)


def test_a_missing_column_is_named_with_a_did_you_mean(tmp_path):
    header = HEADER.replace("published_total", "published_totl")
    path = _write(tmp_path, [_row()], header=header)
    with pytest.raises(ValidationError, match="did you mean 'published_totl'") as err:
        read_official_totals(path)
    assert str(path) in str(err.value) and "'published_total'" in str(err.value)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        ((HEADER + "\n").encode(), "no rows"),
        ((HEADER + "\n" + _row() + "\n").encode().replace(b"SS_20", b"SS\xff20"), "not UTF-8"),
        ((HEADER + "\n" + _row() + ",extra\n").encode(), "not a readable CSV"),
        ((HEADER + "\ndorset,E23000039,2025\n").encode(), "fewer fields"),
        ((HEADER + "," + "force_id\n" + _row() + ",x\n").encode(), "more than once"),
    ],
)
def test_a_file_that_is_not_a_table_of_totals_is_refused(tmp_path, content, match):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(DisproError, match=match) as err:
        read_official_totals(path)
    assert str(path) in str(err.value)


def test_paths_that_are_not_files(tmp_path):
    with pytest.raises(DisproError, match="does not exist"):
        read_official_totals(tmp_path / "nowhere.csv")
    with pytest.raises(DisproError, match="is a folder"):
        read_official_totals(tmp_path)
    path = _write(tmp_path, [_row()])
    with pytest.raises(DisproError, match="given twice"):
        read_official_totals([path, str(path)])
    for bad in (3, [path, 3], [], {"a": path}):
        with pytest.raises(ParameterError, match="`path`"):
            read_official_totals(bad)
