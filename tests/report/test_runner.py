"""The report: parameters, notebooks executed by papermill, HTML/PDF/XLSX, disclosure, provenance."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dispro import report
from dispro.errors import ParameterError
from dispro.pathway import pathway_matrix
from dispro.population import census2021
from dispro.report import assemble, inputs, runner
from dispro.report.workbook import P_FORMAT, field_name, read_table

PARAMS = {"area": "Wessex", "scale": 0.15, "period_start": "2022-04", "period_end": "2024-03"}
THRESHOLD = 4


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    folder = report.render(PARAMS, out)
    return folder


class Cells(HTMLParser):
    """Every table cell of an HTML document with its class."""

    def __init__(self):
        super().__init__()
        self.cells, self._cls, self._in, self._text = [], None, False, []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in, self._cls, self._text = True, dict(attrs).get("class", ""), []
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in:
            self.cells.append((self._cls, "".join(self._text)))
            self._in = False

    def handle_data(self, data):
        if self._in:
            self._text.append(data)


def test_parameters_are_checked():
    with pytest.raises(
        ParameterError, match="unknown report parameter.*'aera'.*did you mean 'area'"
    ):
        report.check_parameters({"aera": "Dorset"})
    with pytest.raises(ParameterError, match="'area' is missing"):
        report.check_parameters({})
    with pytest.raises(ParameterError, match="must be float"):
        report.check_parameters({"area": "Dorset", "alpha": "0.05"})
    with pytest.raises(ParameterError, match="YYYY-MM"):
        report.check_parameters({"area": "Dorset", "period_start": "April 2021"})
    params = report.check_parameters({"area": "Dorset"})
    assert params["comparison_start"] == "2021-04" and params["comparison_end"] == "2022-03"


def test_outputs_exist_and_nothing_else(rendered):
    name = rendered.name
    files = sorted(p.name for p in rendered.iterdir())
    assert files == sorted(
        [
            f"{name}.html",
            f"{name}.pdf",
            f"{name}.xlsx",
            "notebooks",
            "provenance.json",
            "suppression.json",
        ]  # fmt: skip
    )
    solved = json.loads((rendered / "provenance.json").read_text())["disclosure"]
    assert solved["relations_dropped"] == 0 and solved["conflicts"] == 0, solved
    notebooks = sorted(p.stem for p in (rendered / "notebooks").iterdir())
    # the demo has no use-of-force tables: that chapter is left out (the summary says so)
    assert notebooks == sorted(c for c in report.CHAPTERS["wessex"] if c != "use_of_force")
    # no staging, work or failed folders left beside it
    assert [p.name for p in rendered.parent.iterdir()] == [name]


def test_html_is_self_contained_and_marked_synthetic(rendered):
    text = (rendered / f"{rendered.name}.html").read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert text.count("SYNTHETIC DEMONSTRATION DATA") >= len(report.CHAPTERS["wessex"]) - 1
    assert 'src="data:image/png;base64,' in text


def test_numbers_in_the_report_are_the_librarys(rendered):
    """The pathway table in the workbook equals pathway_matrix on the same data."""
    work = rendered.parent / "check"
    work.mkdir()
    params = report.check_parameters(PARAMS)
    data, _ = inputs.load_data(params, work)
    data = inputs.filter_data(data, params)
    shutil.rmtree(work)
    # every record labelled Wessex, against Wessex's Census 2021 residents
    relabelled = {k: v.assign(area="Wessex") for k, v in data.items()}
    residents = census2021("Wessex", by=())[["area", "ethnicity", "population"]]
    expected = pathway_matrix(relabelled, by="area", population=residents)
    got = read_table(rendered / f"{rendered.name}.xlsx", "summary_pathway")
    assert len(got) == len(expected)
    for (_, g), (_, e) in zip(got.iterrows(), expected.iterrows(), strict=True):
        assert g["group"] == e["group"] and g["label"] == e["label"]
        if e["events"] > THRESHOLD:
            assert g["events"] == e["events"]
        else:
            assert g["events"] in ("[c]", 0)
        if isinstance(g["rri"], float) and pd.notna(e["rri"]):
            assert g["rri"] == pytest.approx(e["rri"], abs=0.006)
    # and by hand: stop and search per 1,000 residents a year, person searches over the Census
    # residents times the 24 months every force supplied, over 12
    searches = data["stop_search"]
    people = searches[~searches["vehicle_only"].astype(bool)].groupby("ethnicity").size()
    pop = census2021("Wessex", by=()).set_index("ethnicity")["population"] * 24 / 12
    stop = got[got["label"] == "Stop and search"].set_index("group")
    for group in ("White", "Black", "Asian"):
        assert stop.loc[group, "rate"] == pytest.approx(
            1000 * people[group] / pop[group], abs=0.006
        )
    # the executed notebooks recorded the parameters they were given
    nb = json.loads((rendered / "notebooks" / "summary.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'area = "Wessex"' in "".join(injected[0]["source"])


def test_no_small_count_and_no_record_level_row(rendered):
    html_text = (rendered / f"{rendered.name}.html").read_text()
    parser = Cells()
    parser.feed(html_text)
    counts = [text for cls, text in parser.cells if cls == "count"]
    assert len(counts) > 100
    for text in counts:
        if re.fullmatch(r"[\d,]+", text):
            assert not (1 <= int(text.replace(",", "")) <= THRESHOLD), text
    wb = openpyxl.load_workbook(rendered / f"{rendered.name}.xlsx")
    count_names = {
        "events",
        "base",
        "reference_events",
        "reference_base",
        "searches",
        "hits",
        "n",
        "records",
        "ethnicity_not_stated",
        "rows",
        "unknown_events",
        "n_minority",
        "n_reference",
    }
    for ws in wb.worksheets[3:]:  # after the cover, contents and notes
        rows = list(ws.iter_rows(values_only=True))
        (table,) = ws.tables.values()
        header_at = ws[table.ref][0][0].row - 1
        header = [field_name(c) for c in rows[header_at]]
        assert len(rows) - header_at - 1 <= 400, ws.title  # aggregates, not records
        assert not {"date", "latitude", "longitude", "record_id"} & set(header), ws.title
        for r in rows[header_at + 1 :]:
            for name, value in zip(header, r, strict=False):
                if name in count_names and isinstance(value, int | float):
                    assert not (1 <= value <= THRESHOLD), (ws.title, name, value)


def test_the_workbook_follows_the_spreadsheet_guidance(rendered):
    """Cover, contents and notes first; contents rows link to the sheets; each table sheet
    one Excel table under a frozen header; numbers with display formats (issue 14)."""
    wb = openpyxl.load_workbook(rendered / f"{rendered.name}.xlsx")
    assert wb.sheetnames[:3] == ["Cover", "Contents", "Notes"]
    assert len({n.lower() for n in wb.sheetnames}) == len(wb.sheetnames)
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in wb.sheetnames)
    (table,) = wb["Contents"].tables.values()
    links = [r[0] for r in wb["Contents"][table.ref][1:]]
    assert [c.value for c in links] == wb.sheetnames[2:]
    assert all(c.hyperlink.location == f"'{c.value}'!A1" for c in links)
    formats = set()
    for ws in wb.worksheets[3:]:
        assert len(ws.tables) == 1, ws.title
        (table,) = ws.tables.values()
        first = int(re.match(r"A(\d+):", table.ref).group(1))
        assert ws.freeze_panes == f"A{first + 1}", ws.title
        for row in ws.iter_rows(min_row=first + 1):
            for cell in row:
                if isinstance(cell.value, float):
                    formats.add(cell.number_format)
                    assert cell.number_format != "General", (ws.title, cell.coordinate)
    assert {"#,##0.00", "#,##0", P_FORMAT} <= formats
    # full precision: the pathway's relative rates are not the two-decimal text
    rri = read_table(rendered / f"{rendered.name}.xlsx", "summary_pathway")["rri"]
    assert any(isinstance(v, float) and round(v, 2) != v for v in rri)


def test_provenance(rendered):
    prov = json.loads((rendered / "provenance.json").read_text())
    assert prov["parameters"]["area"] == "Wessex" and prov["synthetic"] is True
    assert prov["dispro_version"] and prov["run_id"] and prov["timings_seconds"]["total"] > 0
    assert all(len(i["sha256"]) == 64 for i in prov["inputs"]) and prov["inputs"]


def test_same_parameters_give_identical_tables(rendered, tmp_path):
    again = report.render(PARAMS, tmp_path, pdf=False)
    a = openpyxl.load_workbook(rendered / f"{rendered.name}.xlsx")
    b = openpyxl.load_workbook(again / f"{again.name}.xlsx")
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        assert list(a[name].iter_rows(values_only=True)) == list(
            b[name].iter_rows(values_only=True)
        ), name
    pa = json.loads((rendered / "provenance.json").read_text())
    pb = json.loads((again / "provenance.json").read_text())
    for p in (pa, pb):
        for volatile in ("run_id", "timings_seconds", "rendered_at"):
            p.pop(volatile)
    assert pa == pb


def test_pdf_is_tagged_and_its_header_cells_have_a_scope(rendered):
    """An accessible PDF: tagged (structure for screen readers); table headers scoped."""
    pdf = rendered / f"{rendered.name}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"^Tagged:\s+yes$", info.stdout, flags=re.M), info.stdout
    page = (rendered / f"{rendered.name}.html").read_text(encoding="utf-8")
    assert "<th " in page and "<th class" not in page
    assert page.count("<th ") == page.count('<th scope="col"')


def test_pdf_has_headings_tables_and_pages(rendered, tmp_path):
    pdf = rendered / f"{rendered.name}.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in (
        "Summary",
        "Stop and search",
        "Out-of-court disposals",
        "CPS charging decisions",
        "Sentencing",
        "Data quality",
        "Methods, caveats and conventions",
    ):
        assert heading in text, heading
    assert "Page 1 of" in text
    assert "The pathway matrix" in text and "relative rate" in text
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    assert len(list(tmp_path.glob("p-*.png"))) == 2


A4_PT = (595.28, 841.89)
MARGIN_PT = {
    "top": 18 / 25.4 * 72,
    "right": 14 / 25.4 * 72,
    "bottom": 20 / 25.4 * 72,
    "left": 14 / 25.4 * 72,
}  # the report's @page margins (18mm 14mm 20mm 14mm)


def test_pdf_nothing_overflows_the_page(rendered, tmp_path):
    """Every word inside the page's text area; no ink in the side margins; every figure there."""
    pdf = rendered / f"{rendered.name}.pdf"
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">', boxes)
    assert pages and all(
        abs(float(w) - A4_PT[0]) < 1 and abs(float(h) - A4_PT[1]) < 1 for w, h in pages
    )
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
        r"([^<]*)</word>",
        boxes,
    )
    assert len(words) > 1000
    left, right = MARGIN_PT["left"] - 1, A4_PT[0] - MARGIN_PT["right"] + 1
    outside = [
        (w, float(x0), float(x1))
        for x0, _, x1, _, w in words
        if float(x0) < left or float(x1) > right
    ]
    assert not outside, f"words outside the text area: {outside[:10]}"
    # as a person would see it: the pages as images, with nothing drawn in the side margins
    from PIL import Image

    dpi = 36
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(tmp_path / "pg")], check=True
    )
    images = sorted(tmp_path.glob("pg-*.png"))
    assert len(images) == len(pages)
    px = dpi / 72
    for path in images:
        page = Image.open(path).convert("L")
        w, h = page.size
        top, bottom = int(MARGIN_PT["top"] * px) + 1, h - int(MARGIN_PT["bottom"] * px) - 1
        band = int(MARGIN_PT["left"] * px) - 2
        for x0, x1 in ((0, band), (w - band, w)):
            strip = page.crop((x0, top, x1, bottom))
            assert strip.getextrema()[0] >= 250, f"ink in a side margin of {path.name}"
    # every figure of the HTML is an image in the PDF
    html_text = (rendered / f"{rendered.name}.html").read_text(encoding="utf-8")
    figures = html_text.count("<img ")
    listed = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert figures >= 5 and len(listed) >= figures


def test_labels_are_escaped():
    block = {"sheet": "s", "caption": "<b>caption</b>", "notes": "", "count_columns": []}
    frame = pd.DataFrame({"group": ["<script>alert(1)</script>"], "rri": ["1.00"]})
    out = assemble.html_table(frame, block)
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;b&gt;caption&lt;/b&gt;" in out


def _plant_a_failure(tmp_path, monkeypatch, chapter: str, source: str) -> None:
    """The scrutiny pack's notebooks, copied, with a cell running ``source`` added to
    ``chapter``'s: the renderer is pointed at the copies."""
    broken = tmp_path / "nb"
    broken.mkdir()
    for name in report.CHAPTERS["scrutiny"]:
        shutil.copy(runner.notebooks_dir() / f"{name}.ipynb", broken / f"{name}.ipynb")
    nb = json.loads((broken / f"{chapter}.ipynb").read_text())
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb["cells"].append({**cell, "id": "boom", "source": source})
    (broken / f"{chapter}.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(runner, "notebooks_dir", lambda: broken)


def test_a_failed_run_leaves_no_report(tmp_path, monkeypatch):
    _plant_a_failure(tmp_path, monkeypatch, "scrutiny", "raise RuntimeError('planted failure')")
    out = tmp_path / "out"
    with pytest.raises(report.ReportError, match="(?s)'scrutiny' chapter failed.*planted failure"):
        report.render({**PARAMS, "report": "scrutiny", "area": "Dorset"}, out, pdf=False)
    left = sorted(p.name for p in out.iterdir())
    assert left == [
        report.report_name(
            report.check_parameters({**PARAMS, "report": "scrutiny", "area": "Dorset"})
        )
        + ".failed"
    ]
    assert (out / left[0] / "scrutiny.ipynb").is_file()


def test_batch_renders_every_area_with_an_index(tmp_path):
    index = report.render_batch({**PARAMS, "report": "scrutiny"}, tmp_path, pdf=False)
    text = index.read_text(encoding="utf-8")
    for area in ("Wessex", "Dorset", "Hampshire", "Wiltshire"):
        name = report.report_name(
            report.check_parameters({**PARAMS, "report": "scrutiny", "area": area})
        )
        folder = tmp_path / name
        assert f'href="{name}/{name}.html"' in text and f">{area}</a>" in text
        assert {p.name for p in folder.iterdir()} == {
            f"{name}.html",
            f"{name}.xlsx",
            "provenance.json",
            "suppression.json",
            "notebooks",
        }
        prov = json.loads((folder / "provenance.json").read_text())
        assert prov["parameters"]["area"] == area
        # one suppression for the whole batch, every declared relation holding
        assert prov["disclosure"]["relations_dropped"] == 0
        assert prov["disclosure"]["conflicts"] == 0
        assert set(prov["timings_seconds"]) >= set(report.CHAPTERS["scrutiny"]) - {"use_of_force"}
        html_text = (folder / f"{name}.html").read_text(encoding="utf-8")
        assert area in html_text
    # nothing half-written is left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failed_area_in_a_batch_leaves_no_report_for_that_area(tmp_path, monkeypatch):
    _plant_a_failure(
        tmp_path, monkeypatch, "data_quality",
        "if area == 'Dorset':\n    raise RuntimeError('planted failure')",
    )  # fmt: skip
    out = tmp_path / "out"
    with pytest.raises(report.ReportError, match="(?s)'data_quality' chapter failed.*planted"):
        report.render_batch({**PARAMS, "report": "scrutiny"}, out, pdf=False)
    names = {
        a: report.report_name(report.check_parameters({**PARAMS, "report": "scrutiny", "area": a}))
        for a in ("Wessex", "Dorset", "Hampshire", "Wiltshire")
    }
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted(
        [names["Wessex"], names["Hampshire"], names["Wiltshire"], names["Dorset"] + ".failed"]
    )
    assert not (out / "index.html").exists()
    assert (out / f"{names['Wessex']}" / f"{names['Wessex']}.html").is_file()


def test_city_of_london_scrutiny_pack_from_real_data(tmp_path, realdata):
    """The example config renders the scrutiny pack from the real police.uk files."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "reports" / "config" / "city_of_london.yaml").read_text())
    config["data"] = str(root / "reports" / "config" / config["data"])
    folder = report.render(config, tmp_path, pdf=False)
    text = (folder / f"{folder.name}.html").read_text()
    assert "SYNTHETIC" not in text and "City of London" in text
    table = read_table(folder / f"{folder.name}.xlsx", "stop_search_hit_rates").set_index("group")
    # White: 876 hits in 2,303 person searches (outcome linked; s60 excluded), as test_hitrate
    # computes from the raw files with the csv module
    assert table.loc["White", "hits"] == 876 and table.loc["White", "searches"] == 2303
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["synthetic"] is False and len(prov["inputs"]) == 36


def test_a_warning_raised_in_a_chapter_appears_in_the_data_quality_appendix(tmp_path, monkeypatch):
    planted = tmp_path / "nb"
    planted.mkdir()
    for name in report.CHAPTERS["scrutiny"]:
        shutil.copy(runner.notebooks_dir() / f"{name}.ipynb", planted / f"{name}.ipynb")
    nb = json.loads((planted / "scrutiny.ipynb").read_text())
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "id": "planted",
            "source": "import warnings\nfrom dispro.errors import DataQualityWarning\n"
            "for _ in range(2):\n"
            "    warnings.warn('planted: a month is missing', DataQualityWarning)",
        }
    )
    (planted / "scrutiny.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(runner, "notebooks_dir", lambda: planted)
    folder = report.render(
        {**PARAMS, "report": "scrutiny", "area": "Dorset"}, tmp_path / "out", pdf=False
    )
    text = (folder / f"{folder.name}.html").read_text(encoding="utf-8")
    appendix = text[text.index('id="data-quality"') : text.index('id="methods"')]
    assert "planted: a month is missing" in appendix
    wb = openpyxl.load_workbook(folder / f"{folder.name}.xlsx")
    rows = list(wb["data_quality_warnings"].iter_rows(values_only=True))
    assert ("Stop and search", "DataQualityWarning", "planted: a month is missing", 2) in rows
