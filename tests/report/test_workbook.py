"""The report's workbook (dispro.report.workbook) against the Analysis Function's spreadsheet
guidance: cover and contents first, linked contents, notes, one Excel table per sheet under a
frozen plain-English header, numbers at full precision with display formats, withheld cells as
``[c]`` with their value nowhere in the file."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from dispro.disclosure import publishable
from dispro.report import check_parameters
from dispro.report.recorder import shown_values
from dispro.report.workbook import (
    EVENTS_LABELS,
    LABELS,
    P_FORMAT,
    column_label,
    field_name,
    read_table,
    sheet_title,
    write_workbook,
)

PARAMS = check_parameters({"area": "Dorset", "contact": "analysis@example.org"})
SECRET = 3.14159265358979  # the full value of a withheld cell: never written


def _tables(content: Path) -> list:
    """Two published tables as the recorder keeps them: the published text and the full
    values of the shown cells (a withheld row's values are not kept)."""
    rates = pd.DataFrame({
        "group": ["White", "Black", "Asian"],
        "events": [2000, 150, 3],
        "base": [4_000_000.4, 100_000.0, 90_000.0],
        "rate": [2000 / 4_000.0004, 1.5, 0.0333],
        "rri": [1.0, 3.00001234, SECRET],
        "ci_lower": [np.nan, 2.53456789, 0.5],
        "ci_upper": [np.nan, 3.55512345, 9.0],
        "q_value": [np.nan, 0.0000123, 0.04],
        "status": ["ok", "ok", "ok"],
    })  # fmt: skip
    shares = pd.DataFrame({
        "group": ["White", "Black"],
        "searches": [900, 120],
        "hits": [200, 30],
        "hit_rate": [200 / 900, 0.25],
        "ci_lower": [0.19456, 0.17891],
        "ci_upper": [0.25123, 0.33456],
        "p_value": [np.nan, 0.0123456],
    })  # fmt: skip
    out = []
    for name, frame, notes in (("rates", rates, "Rates per 1,000 residents a year."),
                               ("hit_rates", shares, "")):  # fmt: skip
        published = publishable(frame, threshold=4, reference="White")
        values = shown_values(frame, published)
        (content / f"ch__{name}.values.json").write_text(json.dumps(values))
        block = {"type": "table", "name": name, "sheet": f"stop_search_{name}",
                 "caption": f"caption of {name}", "notes": notes, "count_columns": [],
                 "values": f"ch__{name}.values.json"}  # fmt: skip
        out.append((block, published, "Stop and search"))
    return out


@pytest.fixture()
def workbook(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    tables = _tables(content)
    path = tmp_path / "r.xlsx"
    write_workbook(path, tables, PARAMS, synthetic=True, content=content)
    return path, tables


def test_cover_and_contents_first_and_every_contents_row_links_to_a_sheet(workbook):
    path, tables = workbook
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "Cover",
        "Contents",
        "Notes",
        "stop_search_rates",
        "stop_search_hit_rates",
    ]
    cover = [c for (c,) in wb["Cover"].iter_rows(values_only=True, max_col=1)]
    assert "Contact" in cover and "analysis@example.org" in cover
    assert "Period" in cover and "2021-04 to 2024-03" in cover
    assert "Publication date" in cover and "Source" in cover
    assert any("Synthetic demonstration data" in str(c) for c in cover)
    contents = wb["Contents"]
    (table,) = contents.tables.values()
    rows = list(contents[table.ref])
    assert [c.value for c in rows[0]] == ["Sheet name", "Chapter", "Table title"]
    linked = []
    for row in rows[1:]:
        link = row[0].hyperlink
        assert link is not None and link.location == f"'{row[0].value}'!A1"
        assert row[0].value in wb.sheetnames
        linked.append(row[0].value)
    assert linked == ["Notes", "stop_search_rates", "stop_search_hit_rates"]
    assert rows[2][2].value == "caption of rates" and rows[2][1].value == "Stop and search"


def test_every_table_sheet_has_a_frozen_header_and_one_excel_table(workbook):
    path, tables = workbook
    wb = openpyxl.load_workbook(path)
    names = set()
    for (block, frame, _), ws in zip(tables, wb.worksheets[3:], strict=True):
        assert len(ws.tables) == 1
        (table,) = ws.tables.values()
        names.add(table.displayName)
        # title, note line, then the header: frozen below it; the table covers header and rows
        assert ws["A1"].value == block["caption"]
        assert re.fullmatch(
            r"This worksheet contains one table\. Notes: (\[note \d+\](, )?)+ \(Notes sheet\)\.",
            ws["A2"].value,
        )
        assert ws.freeze_panes == "A4"
        ncol = len(frame.columns)
        assert table.ref == f"A3:{openpyxl.utils.get_column_letter(ncol)}{3 + len(frame)}"
        header = [c.value for c in ws[3]][:ncol]
        assert [field_name(h) for h in header] == list(frame.columns)
    assert len(names) == 2
    header = [c.value for c in wb["stop_search_rates"][3]]
    assert header == [
        "Ethnic group", "Number of people", "Person-years at risk (residents × years)",
        "Rate per 1,000 residents a year", "Relative rate (White = 1)",
        "95% confidence interval: lower", "95% confidence interval: upper",
        "q value (Benjamini-Hochberg)", "Status",
    ]  # fmt: skip
    # the notes sheet numbers the notes the sheets name
    notes = read_table(path, "Notes")
    assert notes["note_number"].tolist()[:5] == [f"note {i}" for i in range(1, 6)]
    assert "Rates per 1,000 residents a year." in notes["note_text"].tolist()


def test_numbers_at_full_precision_with_display_formats(workbook):
    path, _ = workbook
    ws = openpyxl.load_workbook(path)["stop_search_rates"]
    black = {field_name(h.value): c for h, c in zip(ws[3], ws[5], strict=True)}
    assert black["rri"].value == 3.00001234 and black["rri"].number_format == "#,##0.00"
    assert black["ci_lower"].value == 2.53456789 and black["ci_upper"].value == 3.55512345
    assert black["q_value"].value == 0.0000123 and black["q_value"].number_format == P_FORMAT
    assert black["events"].value == 150 and black["events"].number_format == "#,##0"
    assert black["rate"].value == 1.5 and black["rate"].number_format == "#,##0.00"
    white = {field_name(h.value): c for h, c in zip(ws[3], ws[4], strict=True)}
    # person-years stored as they are, shown whole; the reference group's own interval is not
    # applicable: [z] (Analysis Function symbol), not [x] (not available)
    assert white["base"].value == 4_000_000.4 and white["base"].number_format == "#,##0"
    assert white["ci_lower"].value == "[z]" and white["rate"].value == 2000 / 4_000.0004
    hits = openpyxl.load_workbook(path)["stop_search_hit_rates"]
    row = {field_name(h.value): c for h, c in zip(hits[3], hits[4], strict=True)}
    assert row["hit_rate"].value == pytest.approx(200 / 900, rel=1e-15)
    assert row["hit_rate"].number_format == "0.0%" and row["ci_lower"].number_format == "0.0%"
    assert [c.value for c in hits[3]][3] == "Hit rate (per cent)"
    p = {field_name(h.value): c for h, c in zip(hits[3], hits[5], strict=True)}["p_value"]
    assert p.value == 0.0123456 and p.number_format == P_FORMAT
    # the '<0.001' format: below 0.001 the text, else three decimals
    assert re.fullmatch(r'\[<0\.001\]"<0\.001";0\.000', P_FORMAT)


def test_a_withheld_cell_is_c_and_its_value_is_nowhere_in_the_file(workbook):
    path, _ = workbook
    ws = openpyxl.load_workbook(path)["stop_search_rates"]
    asian = [c.value for c in ws[6]]
    assert asian[0] == "Asian" and asian[1] == "[c]" and asian[4] == "[c]"
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    for text in ("3.14159", "3.1416", "0.0333", "9.0<"):
        assert text not in xml, text
    assert "3.00001234" in xml  # a shown value is there at full precision


def test_sheet_names_are_valid_and_unique():
    taken = ["Cover", "Contents", "Notes"]
    for name in ["a/b:c*d?[e]\\f", "x" * 40, "x" * 40, "notes", "'quoted'"]:
        title = sheet_title(name, taken)
        assert len(title) <= 31 and not re.search(r"[\[\]:*?/\\]", title)
        assert title.lower() not in {t.lower() for t in taken} and not title.startswith("'")
        taken.append(title)
    assert taken[3] == "a_b_c_d__e__f" and taken[5] == "x" * 29 + "_2"


def test_labels_read_back_to_their_columns():
    columns = ["group", "events", "rate", "rri", "ci_lower", "q_value", "status",
               "excluded_vehicle_only", "months_present", "share"]  # fmt: skip
    for alpha in (0.05, 0.1):
        for c in columns:
            label = column_label(c, alpha=alpha, reference="Asian", unit="per 1,000",
                                 share=c == "share")  # fmt: skip
            assert field_name(label) == c, (c, label)
    assert column_label("ci_upper", alpha=0.1) == "90% confidence interval: upper"
    assert column_label("months_present") == "Months present"
    for events in ("searches", "part"):
        assert field_name(column_label("events", events=events)) == "events"
    assert field_name(column_label("difference", share=True)) == "difference"
    assert column_label("difference", share=True).endswith("(percentage points)")


def test_an_empty_table_is_still_an_excel_table(tmp_path):
    empty = pd.DataFrame({"sheet": [], "row": [], "column": [], "rule": []}, dtype=object)
    block = {"sheet": "suppression_log", "caption": "Suppression log", "notes": ""}
    write_workbook(tmp_path / "e.xlsx", [(block, empty, "Suppression log")], PARAMS, False)
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx")["suppression_log"]
    (table,) = ws.tables.values()
    assert table.ref == "A3:D4" and ws.freeze_panes == "A4"
    got = read_table(tmp_path / "e.xlsx", "suppression_log")
    assert got.empty and list(got.columns) == ["sheet", "row", "column", "rule"]


def test_every_label_is_one_columns():
    """No two columns share a label, so that each reads back to its own column."""
    labels = [column_label(c) for c in LABELS] + list(EVENTS_LABELS.values())
    assert len({lab.lower() for lab in labels}) == len(labels)
    assert all(field_name(column_label(c)) == c for c in LABELS)
