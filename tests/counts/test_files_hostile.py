"""Hostile record files given to dispro.counts.aggregate (the scanners of dispro.counts.files).

The same file reached twice is refused (its records would count twice); bytes that are not UTF-8
are named by their offset in the file, computed here from the bytes written; DuckDB's messages
never quote the file's line.
"""

from __future__ import annotations

import gzip

import pytest
from recordfiles import ENGINES

from dispro.counts import aggregate
from dispro.counts.files import resolve_paths
from dispro.errors import DisproError

HEADER = b"date,force,ethnicity,search_type\n"
GOOD = b"2024-01-01T10:00:00+00:00,Dorset,White,Person search\n"


@pytest.fixture
def record_file(tmp_path):
    path = tmp_path / "data" / "a.csv"
    path.parent.mkdir()
    path.write_bytes(HEADER + GOOD * 3)
    return path


def test_the_same_file_twice_in_any_spelling(record_file, tmp_path, monkeypatch):
    link = tmp_path / "link.csv"
    link.symlink_to(record_file)
    monkeypatch.chdir(record_file.parent)
    for first, second in [
        (str(record_file), str(record_file)),  # listed twice
        ("a.csv", str(record_file)),  # relative and absolute
        (str(record_file), str(link)),  # through a link
        (str(tmp_path / "data" / "*.csv"), "a.csv"),  # a glob and a name
    ]:
        with pytest.raises(DisproError, match="the same record file was given twice") as info:
            resolve_paths([first, second])
        assert "counted twice" in str(info.value)
        for engine in ENGINES:
            with pytest.raises(DisproError, match="given twice"):
                aggregate([first, second], dataset="stop_search", by="force", engine=engine)
    once = aggregate(str(record_file), dataset="stop_search", by="force")
    assert once["events"].tolist() == [3]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("where", ["header block", "beyond the first MB"])
def test_not_utf8_names_the_byte_offset(tmp_path, engine, where):
    n = 2 if where == "header block" else 25_000  # 25,000 x 54 bytes > 1 MB
    data = HEADER + GOOD * n + b"2024-01-02T10:00:00+00:00,Caf\xe9 SECRET,White,Person search\n"
    path = tmp_path / "latin.csv"
    path.write_bytes(data + GOOD)
    offset, line = data.index(b"\xe9"), n + 2  # header line 1, good lines 2..n+1
    with pytest.raises(DisproError) as info:
        aggregate(str(path), dataset="stop_search", by="force", engine=engine)
    message = str(info.value)
    assert f"{path}: bytes that are not UTF-8 at byte {offset} (line {line})" in message
    assert "SECRET" not in message and "Caf" not in message


def test_duckdb_messages_do_not_quote_the_line(tmp_path):
    # a short row after DuckDB's sample of 20,480 rows: DuckDB's own message quotes the line
    data = HEADER + GOOD * 30_000 + b"2024-01-02T10:00:00+00:00,SECRET-VALUE\n" + GOOD
    path = tmp_path / "short.csv"
    path.write_bytes(data)
    with pytest.raises(DisproError) as info:
        aggregate(str(path), dataset="stop_search", by="force", engine="duckdb")
    message = str(info.value)
    assert str(path) in message
    assert "SECRET" not in message and "the line is not shown" in message
    assert "SELECT" not in message  # nor the query


def test_gzip_member_offset_is_of_the_uncompressed_file(tmp_path):
    data = HEADER + GOOD + b"2024-01-02T10:00:00+00:00,\xff,White,Person search\n"
    path = tmp_path / "r.csv.gz"
    path.write_bytes(gzip.compress(data))
    with pytest.raises(DisproError) as info:
        aggregate(str(path), dataset="stop_search", by="force", engine="pandas")
    offset = data.index(b"\xff")
    assert f"at byte {offset} (line 3) of the uncompressed file" in str(info.value)
