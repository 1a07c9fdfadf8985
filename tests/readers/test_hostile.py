"""Hostile input to the readers (issue 12, "Hostile input", the reader side).

Each case ends in a DisproError whose message names the file, column, rows and values (and says
how to fix it), or in a warning and an exclusions-ledger entry; never a traceback, never silent.
Expected line numbers, offsets and row counts are worked out here from the bytes written.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import dispro
from dispro.errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    ParameterError,
    ValidationError,
)
from dispro.ledger import exclusions
from dispro.readers import read_counts, read_police_uk, read_records, read_table

HEADER = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]  # fmt: skip
ROW = [
    "Person search", "2019-07-01T12:00:00+00:00", "", "", "51.515", "-0.092", "Male", "18-24",
    "White - Irish", "White", "Misuse of Drugs Act 1971 (section 23)", "Controlled drugs",
    "Arrest", "True", "False",
]  # fmt: skip
POLICE_NAME = "2019-07-city-of-london-stop-and-search.csv"
DISPOSALS = "date,force,ethnicity,sex,age_band,offence_group,disposal"
DISPOSAL = "2024-02-01,Dorset,Black,Male,18-20,drug_offences,caution"
SECRET = "root:x:0:0:SECRET-LINE-7f3a:/root:/bin/bash"


def police_file(folder: Path, rows: list[list[str]], name: str = POLICE_NAME) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = folder / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def with_cell(column: str, value: str) -> list[str]:
    out = list(ROW)
    out[HEADER.index(column)] = value
    return out


def text_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ledger_adds_up(frame: pd.DataFrame) -> None:
    table = exclusions(frame)
    read = int(table.loc[table["action"] == "read", "rows"].iloc[0])
    assert read == len(frame) + int(table.loc[table["action"] == "excluded", "rows"].sum())


# ---------------------------------------------------------------------------------------------
# 1. the same file twice, in any spelling
# ---------------------------------------------------------------------------------------------


def _spellings(path: Path, tmp_path: Path, monkeypatch) -> list[tuple[str | Path, str | Path]]:
    """The same file twice: listed twice, relative and absolute, through a link."""
    link = tmp_path / "links" / path.name
    link.parent.mkdir(exist_ok=True)
    if not link.exists():
        link.symlink_to(path)
    monkeypatch.chdir(path.parent)
    return [(path, path), (path.name, path), (path, link)]


def test_same_records_file_twice_in_any_spelling(tmp_path, monkeypatch):
    path = text_file(tmp_path / "data" / "a.csv", f"{DISPOSALS}\n{DISPOSAL}\n")
    for first, second in _spellings(path, tmp_path, monkeypatch):
        with pytest.raises(DisproError, match="the same file was given twice") as info:
            read_records([first, second], dataset="disposals")
        assert f"{str(first)!r} and {str(second)!r}" in str(info.value)
        assert "counted twice" in str(info.value)
    # a glob and a name that reach the same file
    with pytest.raises(DisproError, match="given twice"):
        read_records([str(tmp_path / "data" / "*.csv"), path], dataset="disposals")
    assert len(read_records(path, dataset="disposals")) == 1  # once is fine


def test_same_counts_file_twice_in_any_spelling(tmp_path, monkeypatch):
    path = text_file(tmp_path / "data" / "t.csv", "force,ethnicity,events\nDorset,White,4\n")
    for first, second in _spellings(path, tmp_path, monkeypatch):
        with pytest.raises(DisproError, match="the same file was given twice") as info:
            read_counts([first, second])
        assert f"{str(first)!r} and {str(second)!r}" in str(info.value)


def test_a_copy_of_a_file_is_refused(tmp_path):
    text = "force,ethnicity,events\nDorset,White,4\n"
    a = text_file(tmp_path / "2023.csv", text)
    b = text_file(tmp_path / "2024.csv", text)
    with pytest.raises(DisproError, match="identical contents") as info:
        read_counts([a, b])
    assert str(a) in str(info.value) and str(b) in str(info.value)
    r1 = text_file(tmp_path / "r1.csv", f"{DISPOSALS}\n{DISPOSAL}\n")
    r2 = text_file(tmp_path / "r2.csv", f"{DISPOSALS}\n{DISPOSAL}\n")
    with pytest.raises(DisproError, match="identical contents"):
        read_records([r1, r2], dataset="disposals")
    # two header-only extracts (no records) are not copies of records
    e1 = text_file(tmp_path / "e1.csv", f"{DISPOSALS}\n")
    e2 = text_file(tmp_path / "e2.csv", f"{DISPOSALS}\n")
    with pytest.warns(DataQualityWarning, match="header and no rows"):
        assert len(read_records([e1, e2, r1], dataset="disposals")) == 1


def test_same_police_uk_file_twice_in_any_spelling(tmp_path, monkeypatch):
    path = police_file(tmp_path / "data", [ROW])
    for first, second in _spellings(path, tmp_path, monkeypatch):
        with pytest.raises(DisproError, match="given twice") as info:
            read_police_uk([first, second])
        assert str(first) in str(info.value) and str(second) in str(info.value)
    # the same zip twice, and one folder by two spellings
    archive = tmp_path / "2019-07.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, arcname=f"2019-07/{path.name}")
    with pytest.raises(DisproError, match="the same file or folder was given twice"):
        read_police_uk([archive, archive])
    with pytest.raises(DisproError, match="given twice") as info:
        read_police_uk([tmp_path / "data", Path(os.path.relpath(tmp_path / "data"))])
    assert str(tmp_path / "data") in str(info.value)


# ---------------------------------------------------------------------------------------------
# 2. duplicate record ids
# ---------------------------------------------------------------------------------------------


def test_duplicate_record_ids_within_and_across_files(tmp_path):
    header = f"record_id,{DISPOSALS}"
    a = text_file(
        tmp_path / "a.csv",
        f"{header}\nA1,{DISPOSAL}\nA2,{DISPOSAL}\nA1,{DISPOSAL}\n,{DISPOSAL}\n,{DISPOSAL}\n",
    )
    b = text_file(tmp_path / "b.csv", f"{header}\nB1,{DISPOSAL}\nA2,{DISPOSAL}\n")
    with pytest.raises(ValidationError, match="column 'record_id'") as info:
        read_records([a, b], dataset="disposals")
    message = str(info.value)
    # A1 on lines 2 and 4 of a.csv; A2 on line 3 of a.csv and line 3 of b.csv; blanks not ids
    assert f"'A1' on {a} line 2, {a} line 4" in message
    assert f"'A2' on {a} line 3, {b} line 3" in message
    assert "2 id(s) are on more than one row (4 rows)" in message
    assert "'B1'" not in message
    # permissive: kept, warned about and noted in the ledger
    with pytest.warns(DataQualityWarning, match="'A1' on"):
        frame = read_records([a, b], dataset="disposals", strict=False)
    assert len(frame) == 7
    led = exclusions(frame).set_index("rule")
    assert led.loc["rows whose record_id is on another row too (kept)", "rows"] == 4
    assert led.loc["rows whose record_id is on another row too (kept)", "action"] == "noted"
    ledger_adds_up(frame)
    # unique ids, and blank ids, pass
    assert len(read_records(b, dataset="disposals")) == 2


# ---------------------------------------------------------------------------------------------
# 3. repeated key rows in a counts table
# ---------------------------------------------------------------------------------------------


def test_repeated_force_and_group_rows_in_a_counts_table(tmp_path):
    path = text_file(
        tmp_path / "t.csv",
        "force,ethnicity,events\nDorset,White,4\nDorset,Black,1\nWiltshire,White,3\n"
        "Dorset,White,6\n",
    )
    with pytest.raises(ValidationError, match="repeat a combination") as info:
        read_counts(path)
    message = str(info.value)
    assert str(path) in message
    assert "rows 2, 5 (force='Dorset', ethnicity='White')" in message  # file lines
    assert "2 rows repeat" in message
    # a wide table: the same force on two lines would be summed into one count
    wide = text_file(tmp_path / "w.csv", "Police Force,White,Black\nDorset,10,2\nDorset,7,1\n")
    mapping = {
        "columns": {"Police Force": "force"},
        "wide": {"into": "ethnicity", "value": "events", "columns": {"White": "White", "Black": "Black"}},
    }  # fmt: skip
    with pytest.raises(ValidationError, match="repeat a combination") as info:
        read_counts(wide, mapping=mapping)
    assert "rows 2, 3 (Police Force='Dorset')" in str(info.value)
    # one row per force and group reads (the same table without the repeated line)
    ok = text_file(tmp_path / "ok.csv", "force,ethnicity,events\nDorset,White,4\nDorset,Black,1\n")
    assert read_counts(ok)["events"].tolist() == [4, 1]


# ---------------------------------------------------------------------------------------------
# 4. a row with fields missing at the end
# ---------------------------------------------------------------------------------------------


def test_police_uk_row_with_fields_missing_at_the_end(tmp_path):
    path = police_file(tmp_path, [ROW, ROW, ROW])
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] = ",".join(ROW[:12])  # line 3: 12 of 15 fields (3 commas short)
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValidationError, match="row length") as info:
        read_police_uk(path)
    message = str(info.value)
    assert f"{path} lines 3." in message
    assert "'12 of 15 fields' ×1" in message
    with pytest.warns(DataQualityWarning, match="fewer fields than the header"):
        frame = read_police_uk(path, strict=False)
    assert len(frame) == 2  # 3 rows read (csv module: see lines), the short one dropped
    led = exclusions(frame).set_index("rule")
    assert led.loc["rows with fewer fields than the header (dropped)", "rows"] == 1
    assert led.loc["rows with fewer fields than the header (dropped)", "action"] == "excluded"
    ledger_adds_up(frame)
    assert int(dispro.coverage(frame)["rows"].sum()) == 2
    # blank cells at the end are not missing fields
    blanks = police_file(tmp_path / "b", [ROW[:12] + ["", "", ""]])
    assert len(read_police_uk(blanks)) == 1


def test_table_row_with_fields_missing_at_the_end(tmp_path):
    path = text_file(
        tmp_path / "t.csv", f"{DISPOSALS}\n{DISPOSAL}\n2024-02-01,Dorset\n{DISPOSAL}\n"
    )
    for call in (
        lambda: read_records(path, dataset="disposals"),
        lambda: read_records(path, dataset="disposals", strict=False),
        lambda: read_table(path),
    ):
        with pytest.raises(DisproError, match="fewer fields than the header") as info:
            call()
        assert str(path) in str(info.value) and "line 3 (2 of 7 fields)" in str(info.value)


# ---------------------------------------------------------------------------------------------
# 5. coordinates out of range
# ---------------------------------------------------------------------------------------------


def test_coordinates_out_of_range(tmp_path):
    rows = [
        ROW,
        with_cell("Latitude", "999"),
        with_cell("Longitude", "200.5"),
        with_cell("Latitude", "0"),
        with_cell("Latitude", "inf"),
    ]
    path = police_file(tmp_path, rows)
    with pytest.raises(ValidationError) as info:
        read_police_uk(path)
    message = str(info.value)
    assert "column 'latitude': 3 row(s) are outside 49 to 61 degrees" in message
    assert "'999' ×1" in message and "'0' ×1" in message and "'inf' ×1" in message
    assert f"{path} lines 3, 5, 6" in message
    assert "column 'longitude': 1 row(s) are outside -9 to 3 degrees" in message
    assert "'200.5' ×1" in message and f"{path} lines 4." in message
    with pytest.warns(DataQualityWarning, match="outside"):
        frame = read_police_uk(path, strict=False)
    assert len(frame) == 5
    assert frame["latitude"].isna().tolist() == [False, True, False, True, True]
    assert frame["longitude"].isna().tolist() == [False, False, True, False, False]
    assert frame["latitude"].iloc[0] == 51.515
    led = exclusions(frame).set_index("rule")
    assert led.loc["latitude: values outside 49 to 61 set to missing", "rows"] == 3
    assert led.loc["longitude: values outside -9 to 3 set to missing", "rows"] == 1
    ledger_adds_up(frame)


# ---------------------------------------------------------------------------------------------
# 6. counts that are not counts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("inf", "are infinite"),
        ("-inf", "are infinite"),
        ("nan", "are not numbers"),
        ("NaN", "are not numbers"),
        ("1e20", "are above 9,007,199,254,740,992"),
        ("-3", "are negative"),
        ("2.5", "are not whole numbers"),
        ("True", "are not numbers"),
        ("[c]", "are not numbers"),
    ],
)
def test_read_counts_refuses_cells_that_are_not_counts(tmp_path, cell, what):
    path = text_file(
        tmp_path / "t.csv", f"force,ethnicity,events\nDorset,White,4\nDorset,Black,{cell}\n"
    )
    with pytest.raises(ValidationError) as info:
        read_counts(path)
    message = str(info.value)
    assert str(path) in message and "column 'events'" in message
    assert f"1 value(s) {what} (lines and values: 3: {cell!r})" in message
    # the same cell in a wide table is named by row and column before it is summed
    wide = text_file(tmp_path / "w.csv", f"Police Force,White,Black\nDorset,4,{cell}\n")
    mapping = {
        "columns": {"Police Force": "force"},
        "wide": {"into": "ethnicity", "value": "events", "columns": {"White": "White", "Black": "Black"}},
    }  # fmt: skip
    with pytest.raises(ValidationError) as info:
        read_counts(wide, mapping=mapping)
    assert f"1 cell(s) {what}: row 2 column 'Black': {cell!r}" in str(info.value)


def test_read_counts_refuses_booleans_from_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"force": ["Dorset", "Dorset"], "ethnicity": ["White", "Black"],
                  "events": [True, False]}).to_parquet(path)  # fmt: skip
    with pytest.raises(ValidationError, match="2 value\\(s\\) are True/False") as info:
        read_counts(path)
    assert "1: True, 2: False" in str(info.value) and str(path) in str(info.value)


# ---------------------------------------------------------------------------------------------
# 7. a header that names a column twice
# ---------------------------------------------------------------------------------------------


def test_repeated_column_names(tmp_path):
    path = text_file(tmp_path / "t.csv", f"{DISPOSALS},force\n{DISPOSAL},Hampshire\n")
    for call in (
        lambda: read_table(path),
        lambda: read_records(path, dataset="disposals"),
        lambda: read_counts(path),
    ):
        with pytest.raises(ValidationError, match=r"names the column\(s\) \['force'\] more than"):
            call()
    xlsx = tmp_path / "t.xlsx"
    pd.DataFrame([["2024-01-01", "Dorset", "Hampshire"]]).to_excel(
        xlsx, header=["date", "force", "force"], index=False
    )
    with pytest.raises(ValidationError, match=r"\['force'\] more than once") as info:
        read_table(xlsx)
    assert str(xlsx) in str(info.value)
    frame = pd.DataFrame([["2024-01-01", "Dorset", "x"]], columns=["date", "force", "force"])
    with pytest.raises(ValidationError, match=r"column\(s\) \['force'\] more than once"):
        dispro.validate(frame, "disposals", strict=False, source="extract.csv")


# ---------------------------------------------------------------------------------------------
# 8. zip members over the size limit
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A 0.2 MB zip whose one member is 200 MB of zeros."""
    path = tmp_path_factory.mktemp("bomb") / "2019-07.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(f"2019-07/{POLICE_NAME}", "w") as fh:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                fh.write(block)
    return path


def test_zip_member_over_the_limit_is_refused_unread(bomb, monkeypatch):
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DisproError, match="over the limit of 1,000,000 bytes") as info:
            read_police_uk(bomb, max_member_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2
    assert peak < 5_000_000  # nothing of the 200 MB was inflated
    message = str(info.value)
    assert f"{bomb}!2019-07/{POLICE_NAME}" in message
    assert "declares 209,715,200 bytes" in message and "it was not read" in message
    assert "DISPRO_MAX_ZIP_MEMBER_BYTES" in message
    # the environment variable sets the limit; the default (512 MB) would let 200 MB through
    monkeypatch.setenv("DISPRO_MAX_ZIP_MEMBER_BYTES", "2000000")
    with pytest.raises(DisproError, match="over the limit of 2,000,000 bytes"):
        read_police_uk(bomb)
    monkeypatch.setenv("DISPRO_MAX_ZIP_MEMBER_BYTES", "lots")
    with pytest.raises(ParameterError, match="DISPRO_MAX_ZIP_MEMBER_BYTES"):
        read_police_uk(bomb)
    for bad in (0, -1, 2.5, True, "1"):
        with pytest.raises(ParameterError, match="`max_member_bytes`"):
            read_police_uk(bomb, max_member_bytes=bad)


def test_zip_member_whose_header_lies_is_read_no_further(tmp_path):
    path = tmp_path / "2019-07.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"2019-07/{POLICE_NAME}", b"\0" * 5_000_000)
    data = bytearray(path.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 1000)  # uncompressed size, local header
    struct.pack_into("<I", data, central + 24, 1000)  # and central directory
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).infolist()[0].file_size == 1000
    tracemalloc.start()
    try:
        with pytest.raises(DisproError, match="damaged") as info:
            read_police_uk(path, max_member_bytes=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert f"{path}!2019-07/{POLICE_NAME}" in str(info.value)


def test_workbook_over_the_limit_is_refused_unopened(tmp_path, monkeypatch):
    xlsx = tmp_path / "t.xlsx"
    pd.DataFrame({"force": ["Dorset"] * 200, "events": range(200)}).to_excel(xlsx, index=False)
    declared = sum(i.file_size for i in zipfile.ZipFile(xlsx).infolist())
    monkeypatch.setenv("DISPRO_MAX_ZIP_MEMBER_BYTES", str(declared - 1))
    with pytest.raises(DisproError, match=f"declare {declared:,} bytes uncompressed"):
        read_table(xlsx)
    monkeypatch.setenv("DISPRO_MAX_ZIP_MEMBER_BYTES", str(declared))
    assert len(read_table(xlsx)) == 200


# ---------------------------------------------------------------------------------------------
# 9. errors never quote a file's lines
# ---------------------------------------------------------------------------------------------

SECRET_TEXT = "\n".join(
    [SECRET, "daemon:x:1:1:daemon,,,:/usr/sbin:/usr/sbin/nologin", "bin:x:2:2:SECRET-2:/bin"]
)


def _quotes_no_line(message: str, text: str) -> None:
    for line in text.splitlines():
        for part in line.split(","):
            assert len(part) < 6 or part not in message, (part, message)


def test_non_csv_text_is_never_quoted(tmp_path):
    police = text_file(tmp_path / "p" / POLICE_NAME, SECRET_TEXT + "\n")
    police_one = text_file(tmp_path / "p1" / POLICE_NAME, SECRET + "\n" + SECRET + "\n")
    records = text_file(tmp_path / "r" / "extract.csv", SECRET_TEXT + "\n")
    one_line = text_file(tmp_path / "o" / "one.csv", SECRET + "\n" + SECRET + "\n")
    calls = [
        lambda: read_police_uk(police),
        lambda: read_police_uk(police, strict=False),
        lambda: read_police_uk(police_one),
        lambda: read_counts(one_line),
        lambda: read_records(records, dataset="disposals"),
        lambda: read_records(one_line, dataset="disposals"),
        lambda: read_records(one_line, dataset="disposals", strict=False),
        lambda: read_counts(one_line, mapping="home_office_use_of_force_by_ethnicity"),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(DisproError) as info:
                call()
        _quotes_no_line(str(info.value), SECRET_TEXT)
        for w in caught:
            _quotes_no_line(str(w.message), SECRET_TEXT)
    with pytest.raises(ValidationError, match="the line is not shown") as info:
        read_police_uk(police_one)
    assert "required column 'Type' is missing" in str(info.value)
    with pytest.raises(DisproError, match="not a data.police.uk stop-and-search file name"):
        read_police_uk("/etc/passwd")


def test_not_utf8_names_the_offset_and_quotes_nothing(tmp_path):
    body = f"{DISPOSALS}\n{DISPOSAL}\n".encode()
    secret = b"2024-02-01,Caf\xe9 SECRET-BYTES,Black,Male,18-20,drug_offences,caution\n"
    data = b"\xef\xbb\xbf" + body + secret
    offset = data.index(b"\xe9")  # in the file, the byte order mark included
    path = tmp_path / "latin.csv"
    path.write_bytes(data)
    for call in (lambda: read_records(path, dataset="disposals"), lambda: read_counts(path)):
        with pytest.raises(DisproError) as info:
            call()
        message = str(info.value)
        assert f"{path}: bytes that are not UTF-8 at byte {offset} (line 3)" in message
        assert "0xE9" in message and "SECRET" not in message and "Caf" not in message
    # a zip member: named as archive!member
    archive = tmp_path / "2019-07.zip"
    csv_text = ",".join(HEADER) + "\n" + ",".join(with_cell("Policing operation", "Op Café")) + "\n"
    member = csv_text.encode("utf-8").replace("é".encode(), b"\xe9")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"2019-07/{POLICE_NAME}", member)
    with pytest.raises(DisproError) as info:
        read_police_uk(archive)
    at = member.index(b"\xe9")
    assert f"{archive}!2019-07/{POLICE_NAME}: bytes that are not UTF-8 at byte {at} (line 2)" in (
        str(info.value)
    )
    assert "Op Caf" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# 10. fuzz: read_counts on arbitrary tables gives counts or a DisproError, nothing else
# ---------------------------------------------------------------------------------------------

WIDE = {
    "columns": {"Police Force": "force"},
    "wide": {"into": "ethnicity", "value": "events", "columns": {"White": "White", "Black": "Black"}},
}  # fmt: skip
NAMES = ["force", "ethnicity", "events", "year", "Police Force", "White", "Black", "Tactic", ""]
WEIRD = [
    "", "-1", "2.5", "1e20", "inf", "-inf", "nan", "NaN", "True", "False", "[c]", " 7 ", "1,000",
    '"', '""', "\r", "\n", "\x00", "é", "=1+1", "Total England and Wales", "*Total Tactics",
]  # fmt: skip
FORCES = ["Dorset", "Hampshire", "Wiltshire", "Kent", "Essex", "Surrey", "dorset", "Dorsett"]
GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated", "white"]
COUNTS = ["0", "4", "12", "3", "150", ""]


def _cell(draw, plausible: list[str], messy: bool) -> str:
    kind = draw(st.integers(0, 19)) if messy else 2
    if kind == 0:
        return draw(st.text(max_size=6))
    if kind == 1:
        return draw(st.sampled_from(WEIRD))
    return draw(st.sampled_from(plausible))


@st.composite
def counts_file(draw) -> tuple[bytes, object]:
    """A table, mostly near the long or wide layout, sometimes any header or any bytes."""
    layout = draw(st.sampled_from(["long", "long", "wide", "any", "bytes"]))
    if layout == "bytes":
        return draw(st.binary(max_size=200)), draw(st.sampled_from([None, "wide"]))
    messy = draw(st.booleans())  # the other half hold only plausible cells, keys once each
    forces, groups = (FORCES, GROUPS) if messy else (FORCES[:6], GROUPS[:6])
    if layout == "long":
        header = ["force", "ethnicity", "events"] + draw(st.sampled_from([[], ["year"]]))
        keys = [(f, g) for f in forces for g in groups]
        plausible = [COUNTS, ["2023", "2024"]][: len(header) - 2]
    elif layout == "wide":
        header = ["Police Force", "White", "Black"]
        keys = [(f,) for f in forces]
        plausible = [COUNTS, COUNTS]
    else:
        header = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5))
        keys = [()]
        plausible = [forces + groups + COUNTS] * len(header)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    unique = not messy and layout != "any"
    for key in draw(
        st.lists(st.sampled_from(keys), min_size=int(unique), max_size=8, unique=unique)
    ):
        row = [_cell(draw, [k], messy) for k in key] + [
            _cell(draw, choices, messy) for choices in plausible
        ]
        if messy and draw(st.integers(0, 9)) == 0:  # a ragged row
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(st.just("x"), max_size=1))
        writer.writerow(row)
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    if messy and draw(st.integers(0, 9)) == 0:  # a raw byte somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at:]
    mapping = {"long": None, "wide": "wide"}.get(layout)
    if layout == "any" or draw(st.integers(0, 9)) == 0:
        mapping = draw(st.sampled_from([None, "wide", "home_office_use_of_force_by_ethnicity"]))
    return data, mapping


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=counts_file(), strict=st.booleans())
def test_fuzz_read_counts(tmp_path_factory, drawn, strict):
    data, mapping = drawn
    path = tmp_path_factory.mktemp("counts") / "table.csv"
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = read_counts(path, mapping=WIDE if mapping == "wide" else mapping, strict=strict)
        except DisproError as exc:
            event(type(exc).__name__)
            return
    event("counts")
    others = [w for w in caught if not issubclass(w.category, DisproWarning)]
    assert not others, [f"{w.category.__name__}: {w.message}" for w in others]
    # what comes back keeps the contract: whole counts from 0 (missing where not published),
    # one row per combination of the other columns
    assert str(table["events"].dtype) == "Int64"
    assert (table["events"].dropna() >= 0).all()
    keys = [c for c in table.columns if c != "events"]
    assert not keys or not table.duplicated(subset=keys).any()
