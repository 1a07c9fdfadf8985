"""A new user's OOCD extract rendered by following docs/configuration.md alone: the worked
example's mapping, data configuration, report parameters and command, taken from the document
as written, beside a generated extract in the force's own layout (own column names and codes,
dd/mm/yyyy dates, NFA rows and a TOTAL row)."""

from __future__ import annotations

import html
import importlib.util
import os
import shlex
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dispro.cli import app
from dispro.readers import read_records

_spec = importlib.util.spec_from_file_location(
    "dispro_tests_oocd_extract", Path(__file__).with_name("_oocd_extract.py")
)
extract = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = extract
_spec.loader.exec_module(extract)
blocks, doc_section, sheet, write_extract = (
    extract.blocks,
    extract.doc_section,
    extract.sheet,
    extract.write_extract,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The four files of the worked example, and the pack rendered by its command."""
    section = doc_section(ROOT)
    files = {}
    for body in blocks(section, "yaml"):  # each starts "# file: <name>", as the page says
        first = body.splitlines()[0]
        assert first.startswith("# file: "), first
        files[first.removeprefix("# file: ").strip()] = body
    (command,) = blocks(section, "sh")
    folder = tmp_path_factory.mktemp("analyst")
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    report_file = next(a for a in shlex.split(command) if a.endswith(".yaml"))
    report = yaml.safe_load(files[report_file])
    data_config = yaml.safe_load(files[report["data"]])
    mapping = yaml.safe_load(files[data_config["mappings"]["disposals"]])
    truth = write_extract(
        folder / data_config["disposals"], start=report["period_start"], end=report["period_end"]
    )
    args = shlex.split(command)
    assert args[:2] == ["dispro", "report"]
    before = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, args[1:])
    finally:
        os.chdir(before)
    assert result.exit_code == 0, result.output
    out = (
        folder
        / "reports"
        / f"oocd-scrutiny-pack_dorset_{report['period_start']}_{report['period_end']}"
    )
    return {"folder": folder, "out": out, "truth": truth, "report": report, "mapping": mapping,
            "data_config": data_config}  # fmt: skip


def test_the_documented_mapping_reads_the_extract_and_counts_what_it_drops(rendered):
    folder, config = rendered["folder"], rendered["data_config"]
    records = read_records(
        folder / config["disposals"], dataset="disposals",
        mapping=folder / config["mappings"]["disposals"],
    )  # fmt: skip
    truth = rendered["truth"]
    assert len(records) == len(truth)  # the TOTAL row and the NFA rows are not records
    assert records["date"].dt.strftime("%Y-%m").value_counts().sort_index().tolist() == (
        truth["month"].value_counts().sort_index().tolist()
    )
    ledger = pd.DataFrame(records.attrs["exclusions"])
    total = ledger[
        ledger["rule"].str.contains("'Crime Reference' is one of ['TOTAL']", regex=False)
    ]
    assert total["rows"].tolist() == [1] and total["action"].tolist() == ["excluded"]
    nfa = ledger[ledger["rule"].str.contains("'Outcome Type' is one of ['NFA']", regex=False)]
    assert nfa["rows"].sum() > 0
    assert set(records["disposal"]) <= set(truth["disposal"])


def test_the_pack_renders_with_shares_matching_a_hand_count(rendered):
    out = rendered["out"]
    page = (out / f"{out.name}.html").read_text(encoding="utf-8")
    assert "Dorset out-of-court disposals scrutiny pack" in page
    assert "SYNTHETIC" not in page.split("<body", 1)[1][:2000]
    # the latest quarter with every month is the period's last: October to December 2024
    assert "This quarter: October to December 2024" in page
    latest = sheet(out / f"{out.name}.xlsx", "o_latest")
    truth = rendered["truth"]
    last = truth[truth["month"].isin(["2024-10", "2024-11", "2024-12"])]
    oocd = last["disposal"] != "charge_summons"
    by_group = pd.DataFrame({"events": oocd.groupby(last["ethnicity"]).sum(),
                             "base": last.groupby("ethnicity").size()})  # fmt: skip
    white = by_group.loc["White"]
    checked = 0
    for _, row in latest.iterrows():
        if "[c]" in (row["events"], row["base"]):
            continue
        checked += 1
        hand = by_group.loc[row["group"]]
        assert int(row["events"].replace(",", "")) == hand["events"]
        assert int(row["base"].replace(",", "")) == hand["base"]
        share = 100 * hand["events"] / hand["base"]
        assert float(row["rate"]) == pytest.approx(share, abs=0.006)
        if row["rri"] not in ("[c]", "[x]"):
            rri = (hand["events"] / hand["base"]) / (white["events"] / white["base"])
            assert float(row["rri"]) == pytest.approx(rri, abs=0.006)
    assert checked >= 4  # White, Asian, Black, Not stated at least are shown
    # the exclusions appendix names the TOTAL row the mapping dropped
    assert html.escape("is one of ['TOTAL']") in page or "is one of ['TOTAL']" in page
