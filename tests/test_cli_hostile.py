"""The `dispro` command given hostile input (issue 12, item 4): every case ends in
`error: <message>` and exit 2 (1 for a failed chapter), never a traceback; data values print
literally (no console markup); workbooks never hold a formula made from data."""

from __future__ import annotations

import errno

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import dispro
import dispro._excel
import dispro.cli
import dispro.report
from dispro.cli import app
from dispro.report import ReportError
from dispro.report.params import ReportInputError

runner = CliRunner()
MARKUP = ["[/]", "[c]", "[bold red]x"]
SECRET = "s3cret-token-1f9a"


def _invoke(*args, **kwargs):
    result = runner.invoke(app, [str(a) for a in args], terminal_width=250, **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback instead of an error message: {result.exception!r}")
    return result


@pytest.fixture
def markup_counts(tmp_path):
    """Counts whose groups look like console markup; '[/]' has a count below 5."""
    path = tmp_path / "counts.csv"
    pd.DataFrame(
        {
            "ethnicity": ["White", *MARKUP, "esc\x1b[2Jape"],
            "events": [400, 2, 30, 40, 50],
            "base": [5000, 100, 400, 500, 600],
        }
    ).to_csv(path, index=False)
    return path


def test_data_values_print_literally_in_warnings_errors_and_tables(markup_counts):
    result = _invoke("rri", markup_counts)
    assert result.exit_code == 0
    # the warning names the low-count group as written
    assert "warning: katz intervals computed from a count below 5 in 1 row(s), e.g. ['[/]']" in (
        result.output
    )
    lines = result.output.splitlines()
    for label in MARKUP:
        assert any(line.strip().startswith(label + " ") for line in lines), label
    assert "\x1b" not in result.output and "escape" in result.output  # control sequence dropped
    result = _invoke("rri", markup_counts, "--reference", "[bold red]y")
    assert result.exit_code == 2
    assert "error: the reference group '[bold red]y' is not in column 'ethnicity'" in result.output
    assert "groups present: ['White', '[/]', '[bold red]x', '[c]', 'esc\\x1b[2Jape']" in (
        result.output
    )


def test_validate_prints_data_values_literally(tmp_path, monkeypatch):
    monkeypatch.setattr(dispro.cli.out, "_width", 250)  # no value folded across lines
    path = tmp_path / "disposals.csv"
    pd.DataFrame(
        {
            "date": ["2024-02-01"] * 3,
            "force": ["Dorset"] * 3,
            "ethnicity": MARKUP,
            "sex": ["Male"] * 3,
            "age_band": ["18-20"] * 3,
            "offence_group": ["drug_offences"] * 3,
            "disposal": ["caution"] * 3,
        }
    ).to_csv(path, index=False)
    result = _invoke("validate", "disposals", path)
    assert result.exit_code == 1
    for label in MARKUP:
        assert label in result.output


def test_a_report_error_prints_in_full_and_literally(monkeypatch, tmp_path):
    message = "the 'summary' chapter failed (KeyError: '[/]' [bold red]boom " + "y" * 5000 + ")"

    def failing(*args, **kwargs):
        raise ReportError(message)

    monkeypatch.setattr(dispro.report, "render", failing)
    result = _invoke("report", "--demo", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "error: " + message in result.output
    # an input problem found while rendering (a period without data) is exit 2
    monkeypatch.setattr(dispro.report, "render", lambda *a, **k: (_ for _ in ()).throw(
        ReportInputError("no records for Dorset from 2030-01 to 2030-06 in these files")))  # fmt: skip
    result = _invoke("report", "--demo", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "error: no records for Dorset" in result.output
    # an operating system error while writing (a read-only or full folder)
    monkeypatch.setattr(dispro.report, "render", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out"))))  # fmt: skip
    result = _invoke("report", "--demo", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "cannot write into --out" in result.output and "Permission denied" in result.output


def _report_config(tmp_path, params: str | bytes, data: str | bytes | None = None):
    for name, text in (("report.yaml", params), ("data.yaml", data)):
        if text is not None:
            raw = text if isinstance(text, bytes) else text.encode()
            (tmp_path / name).write_bytes(raw)
    return _invoke("report", "--config", tmp_path / "report.yaml", "--out", tmp_path / "out")


@pytest.mark.parametrize(
    ("params", "data", "expected"),
    [
        ("area: Dorset\ndata: [x\n", None, "not valid YAML at line 3, column 1"),
        ("area: !!python/object/apply:os.system ['x']\n", None, "would build a Python object"),
        (b"area: Dorset\xff\n", None, "not UTF-8 at byte 12 (line 1)"),
        ("- area\n", None, "holds a list at its top level"),
        ("area: Nowhere\n", None, "`area` must be 'Wessex' or a police force area"),
        ("area: Dorset\nalpha: high\n", None, "'alpha' must be float, but 'high' was passed"),
        ("area: Dorset\ndata: data.yaml\n", "stop_search: 12\n", "`stop_search` is 12"),
        ("area: Dorset\ndata: data.yaml\n", "stop_search: nowhere\n",
         "`stop_search` names 'nowhere', which does not exist"),
        ("area: Dorset\ndata: data.yaml\n", "disposals: data.yaml\nmappings: 3\n",
         "`mappings` is 3"),
        ("area: Dorset\ndata: data.yaml\n", b"stop_search: \xff\n", "not UTF-8 at byte 13"),
        ("area: Dorset\ndata: data.yaml\n", f"root:x:0:0:{SECRET}:/root:/bin/bash\n",
         "holds text at its top level"),
        ("area: Dorset\ndata: nowhere.yaml\n", None, "does not exist"),
    ],
)  # fmt: skip
def test_report_config_problems_exit_2_before_any_work(tmp_path, params, data, expected):
    result = _report_config(tmp_path, params, data)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert expected in " ".join(result.output.split())
    assert SECRET not in result.output and not (tmp_path / "out").exists()


def test_report_config_that_holds_a_secret_is_not_echoed(tmp_path):
    (tmp_path / "report.yaml").write_text(f"{SECRET}:x:0:0:/root:/bin/bash\nmore: [\n")
    result = _invoke("report", "--config", tmp_path / "report.yaml")
    assert result.exit_code == 2 and "is not valid YAML at line" in result.output
    assert SECRET not in result.output and "/bin/bash" not in result.output


def test_output_paths(markup_counts, tmp_path):
    # into a missing folder: created, for xlsx and csv
    for name in ("new/sub/rri.xlsx", "new2/rri.csv"):
        result = _invoke("rri", markup_counts, "-o", tmp_path / name)
        assert result.exit_code == 0 and (tmp_path / name).is_file()
    # an unknown suffix is refused before any work (the input is not even read)
    result = _invoke("rri", tmp_path / "missing.csv", "-o", tmp_path / "rri.txt")
    assert result.exit_code == 2 and "must end in .csv or .xlsx" in result.output
    assert "ends in '.txt'" in result.output and not (tmp_path / "rri.txt").exists()
    # a folder, or a path under a file
    (tmp_path / "afile").write_text("x")
    for target, said in [
        (tmp_path / "new", "must end in .csv or .xlsx"),
        (tmp_path / "afile" / "rri.csv", "is a file, not a folder"),
    ]:
        result = _invoke("rri", markup_counts, "-o", target)
        assert result.exit_code == 2 and said in result.output
    result = _invoke("dictionary", "-o", tmp_path / "new")
    assert result.exit_code == 2 and "is a folder" in result.output
    for command in (["report", "--demo"], ["synth"]):
        result = _invoke(*command, "--out", tmp_path / "afile")
        assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_a_full_disk_is_an_error_message(markup_counts, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dispro._excel, "write_frame", full)
    result = _invoke("rri", markup_counts, "-o", tmp_path / "rri.xlsx")
    assert result.exit_code == 2
    assert f"cannot write '{tmp_path / 'rri.xlsx'}': No space left on device" in result.output


def test_unreadable_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)))
    (tmp_path / "bad.parquet").write_bytes(b"nope")
    (tmp_path / "bad.xlsx").write_bytes(b"nope")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "folder").mkdir()
    cases = {
        "empty.csv": "the file is empty",
        "binary.csv": "bytes that are not UTF-8 at byte 128",
        "bad.parquet": "not a readable parquet file",
        "bad.xlsx": "not a readable Excel workbook",
        "old.xls": "save it as .xlsx or CSV UTF-8",
        "folder": "is a folder",
        "missing.csv": "does not exist",
    }
    for name, said in cases.items():
        for command in (["rri"], ["validate", "disposals"]):
            result = _invoke(*command, tmp_path / name)
            assert result.exit_code == 2, (name, result.output)
            assert said in " ".join(result.output.split()), (name, result.output)


def test_rri_workbook_holds_no_formula_from_data(tmp_path):
    labels = ["=1+1", "+SUM(A1)", "-2+3", "@cmd"]
    path = tmp_path / "=counts.csv"
    pd.DataFrame(
        {
            "force": ["=evil.csv"] * 5,
            "ethnicity": ["White", *labels],
            "events": [400, 20, 30, 40, 50],
            "base": [5000, 100, 400, 500, 600],
        }
    ).to_csv(path, index=False)
    out = tmp_path / "=rri.xlsx"
    result = _invoke("rri", path, "--by", "force", "-o", out)
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["dispro"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    table = pd.DataFrame(
        [[c.value for c in row] for row in sheet.iter_rows(min_row=2)],
        columns=[c.value for c in sheet[1]],
    )
    assert sorted(table["group"]) == sorted(["White", *labels])
    assert set(table["force"]) == {"=evil.csv"}
    # numbers are numbers, a negative one too; the same values as the API gives
    expected = dispro.rri(pd.read_csv(path), by="force")
    assert table["group"].tolist() == expected["group"].tolist()
    assert table["events"].tolist() == expected["events"].tolist()
    assert table["rri"].tolist() == pytest.approx(expected["rri"].tolist(), nan_ok=True)
    events_column = [c.value for c in sheet[1]].index("events")
    assert all(row[events_column].data_type == "n" for row in sheet.iter_rows(min_row=2))
