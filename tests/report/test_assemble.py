"""Assembly (dispro.report.assemble): the warnings of every chapter in the data-quality appendix,
the workbook's notes from the parameters."""

from __future__ import annotations

import json
import warnings

import openpyxl

from dispro.errors import LowCountWarning
from dispro.report import chapter, check_parameters
from dispro.report.assemble import WARNING_COLUMNS, assemble_html, warnings_table, write_xlsx
from dispro.report.sections import appendix
from dispro.report.workbook import field_name

PARAMS = check_parameters({"area": "Dorset", "alpha": 0.1})


def _chapters(work):
    """A stop-and-search chapter that raises a warning, and the data-quality appendix."""
    with warnings.catch_warnings():
        ch = chapter(
            "stop_search", title="Stop and search", work_dir=str(work), suppression_threshold=4
        )
        ch.text("rates")
        for _ in range(2):
            warnings.warn(
                "katz intervals from a count below 5 in 1 row(s)", LowCountWarning, stacklevel=1
            )
        quality = chapter(
            "data_quality", title="Data quality", work_dir=str(work), suppression_threshold=4
        )
        appendix.warnings_raised(quality, PARAMS)
    return [
        json.loads((work / "content" / f"{n}.json").read_text())
        for n in ("stop_search", "data_quality")
    ]


def test_a_warning_raised_in_a_chapter_is_listed_in_the_data_quality_appendix(tmp_path):
    chapters = _chapters(tmp_path)
    loading = [{"category": "DataQualityWarning", "message": "a month <b>missing</b>", "times": 1}]
    table = warnings_table(chapters, loading=loading)
    assert list(table.columns) == list(WARNING_COLUMNS)
    assert table.to_dict("records") == [
        {"chapter": "Loading the data", "warning": "DataQualityWarning", "message": "a month <b>missing</b>", "times": 1},
        {"chapter": "Stop and search", "warning": "LowCountWarning", "message": "katz intervals from a count below 5 in 1 row(s)", "times": 2},
    ]  # fmt: skip
    document, tables = assemble_html(chapters, tmp_path, PARAMS, synthetic=False, loading=loading)
    appendix_html = document[document.index('id="data-quality"') :]
    assert "Warnings raised while the report was produced" in appendix_html
    assert (
        "LowCountWarning" in appendix_html
        and "katz intervals from a count below 5" in appendix_html
    )
    assert "a month &lt;b&gt;missing&lt;/b&gt;" in appendix_html  # escaped
    block, frame, title = tables[-1]
    assert block["sheet"] == "data_quality_warnings" and title == "Data quality"
    assert frame["times"].tolist() == ["1", "2"]
    # the workbook has it as a sheet, and its notes take the interval level from alpha
    write_xlsx(tmp_path / "r.xlsx", tables, PARAMS, synthetic=False)
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    rows = list(wb["data_quality_warnings"].iter_rows(values_only=True))
    assert tuple(field_name(c) for c in rows[2]) == WARNING_COLUMNS
    assert rows[4][1] == "LowCountWarning"
    notes = [r[1] for r in wb["Notes"].iter_rows(values_only=True) if r[1]]
    assert any(
        str(n).startswith("Intervals: 90% confidence intervals unless stated") for n in notes
    )
    assert not any("95%" in str(n) for n in notes)


def test_no_warning_says_so(tmp_path):
    with warnings.catch_warnings():
        quality = chapter(
            "data_quality", title="Data quality", work_dir=str(tmp_path), suppression_threshold=4
        )
        appendix.warnings_raised(quality, PARAMS)
    chapters = [json.loads((tmp_path / "content" / "data_quality.json").read_text())]
    document, tables = assemble_html(chapters, tmp_path, PARAMS, synthetic=False)
    assert "No warning was raised while the report was rendered." in document and tables == []
