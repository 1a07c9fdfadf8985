"""Hostile input at the report's door (issue 12, item 4): a period or area without data stops
before any chapter runs; provenance names inputs relative to the configuration; workbook cells
that could be formulas are written as text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dispro import synth
from dispro._excel import protect_text
from dispro.report import check_parameters
from dispro.report.assemble import write_xlsx
from dispro.report.inputs import filter_data, load_data
from dispro.report.params import ReportInputError

#: Labels a spreadsheet would read as formulas, and a file name that starts with '='.
FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "=evil.csv", "=esc\x1bape"]


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """Synthetic files for January and February 2023 and a data configuration in a sibling
    folder that lists them (a folder, and a pattern)."""
    root = tmp_path_factory.mktemp("hostile")
    synth.write(root / "data", start="2023-01", end="2023-02", scale=0.02, seed=7)
    (root / "config").mkdir()
    config = root / "config" / "data.yaml"
    config.write_text(
        "stop_search: ../data/stop_search\ndisposals: ['../data/synthetic_disposals_*.csv']\n"
    )
    params = check_parameters(
        {"area": "Dorset", "data": str(config), "period_start": "2023-01", "period_end": "2023-02"}
    )
    data, inputs = load_data(params, root / "work")
    return root, params, data, inputs


def test_provenance_names_inputs_relative_to_the_config_with_their_hashes(configured):
    root, _, _, inputs = configured
    files = sorted((root / "data" / "stop_search").rglob("*.csv")) + sorted(
        (root / "data").glob("synthetic_disposals_*.csv")
    )
    assert len(files) == 7  # 3 forces x 2 months, and one disposals file
    assert inputs == [
        {
            "file": "../data/" + f.relative_to(root / "data").as_posix(),
            "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
        }
        for f in files
    ]
    assert not any(str(root) in i["file"] for i in inputs)


def test_a_period_with_no_data_stops_before_any_chapter(configured):
    _, params, data, _ = configured
    later = {**params, "period_start": "2030-01", "period_end": "2030-06"}
    with pytest.raises(ReportInputError) as caught:
        filter_data(data, later)
    message = str(caught.value)
    assert message.startswith("no records for Dorset from 2030-01 to 2030-06 in these files")
    assert "months with data for Dorset: 2023-01 to 2023-02" in message
    assert "forces present: Dorset, Hampshire, Wiltshire" in message
    n_search, n_disposal = len(data["stop_search"]), len(data["disposals"])
    assert f"stop_search ({n_search:,} records), disposals ({n_disposal:,} records)" in message
    # an area the files do not hold: the months of every force
    city = {**params, "area": "City of London"}
    with pytest.raises(ReportInputError, match=r"no records for City of London .*months with "
                       r"data: 2023-01 to 2023-02; forces present: Dorset"):  # fmt: skip
        filter_data(data, city)
    # a period that is partly covered is not refused
    partly = {**params, "period_start": "2022-06", "period_end": "2023-01"}
    kept = filter_data(data, partly)
    assert len(kept["stop_search"]) == (data["stop_search"].eval("force == 'Dorset' and "
                                                                 "month == '2023-01'")).sum()  # fmt: skip


def _table(frame: pd.DataFrame, sheet: str, caption: str) -> tuple[dict, pd.DataFrame, str]:
    block = {"sheet": sheet, "caption": caption, "notes": "@notes", "count_columns": []}
    return block, frame, "=chapter"


def _cells(path: Path):
    wb = openpyxl.load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def test_report_workbook_writes_formula_like_text_as_text(tmp_path):
    frame = pd.DataFrame(
        {
            "=label": FORMULAS,
            "events": ["-2", "1,234", "[c]", "0", "5", "-0.5", "7"],
            "file": ["=evil.csv"] * 7,
        }
    )
    params = {**check_parameters({"area": "Dorset"}), "reference": "=White"}
    tables = [_table(frame, "=sheet", '=HYPERLINK("http://x", "caption")')]
    write_xlsx(tmp_path / "r.xlsx", tables, params, synthetic=False)
    cells = _cells(tmp_path / "r.xlsx")
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["=sheet"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ('=HYPERLINK("http://x", "caption")', None, None)
    assert rows[2] == ("=label", "Number of people", "File")
    # a control character a workbook cannot hold is written as visible text
    assert [r[0] for r in rows[3:]] == [*FORMULAS[:-1], "=esc\\x1bape"]
    # numbers stay numbers, negative ones too; '[c]' stays text
    assert [r[1] for r in rows[3:]] == [-2, 1234, "[c]", 0, 5, -0.5, 7]
    assert all(r[2] == "=evil.csv" for r in rows[3:])
    notes = [c.value for c in cells if c.parent.title == "Notes"]
    assert "@notes" in notes
    contents = [c.value for c in cells if c.parent.title == "Contents"]
    assert "=sheet" in contents and "=chapter" in contents
    assert '=HYPERLINK("http://x", "caption")' in contents
    quoted = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"]
    assert quoted and all(c.data_type == "s" and c.quotePrefix for c in quoted)


def test_every_formula_start_is_guarded_and_nothing_else():
    """OWASP's list: '=', '+', '-', '@', tab and carriage return (a carriage return does not
    survive a save: XML reads it back as a newline, so it is checked before saving)."""
    wb = openpyxl.Workbook()
    values = ["=1", "+1", "-1", "@1", "\t1", "\r1", "1", "a=1", -1, 2.5, None]
    wb.active.append(values)
    assert protect_text(wb) == 6
    cells = list(wb.active[1])
    assert [c.data_type for c in cells[:7]] == ["s"] * 7
    assert [c.value for c in cells] == values
    assert [bool(c.quotePrefix) for c in cells] == [True] * 6 + [False] * 5
    assert cells[8].data_type == "n" and cells[9].data_type == "n"
