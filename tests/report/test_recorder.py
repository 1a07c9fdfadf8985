"""What a chapter records (dispro.report.recorder): every table through the publish door, figures
drawn from the published rows only, warnings kept for the data-quality appendix."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from dispro.disclosure import Margins, publishable
from dispro.errors import DataQualityWarning, LowCountWarning
from dispro.report import ReportError, chapter
from dispro.report.assemble import read_published


def _rri_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "force": ["Dorset", "Dorset", "Dorset", "Dorset"],
            "group": ["White", "Black", "Asian", "Mixed"],
            "events": [500, 40, 3, 25],
            "base": [100_000.0, 2_000.0, 3_000.0, 4_000.0],
            "rri": [1.0, 4.0, 0.2, 1.25],
            "ci_lower": [float("nan"), 2.9, 0.06, 0.8],
            "ci_upper": [float("nan"), 5.5, 0.6, 1.9],
            "status": ["ok", "ok", "ok", "ok"],
        }
    )


def test_a_table_is_recorded_as_publishable_publishes_it(tmp_path):
    ch = chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    table = _rri_table()
    out = ch.table("rates", table, caption="c", notes="n")
    expected = publishable(table, threshold=4)
    pd.testing.assert_frame_equal(out, expected)
    stored = read_published(tmp_path / "content" / "stop_search__rates.json")
    pd.testing.assert_frame_equal(stored, expected)
    assert stored.loc[2, "events"] == "[c]"
    content = json.loads((tmp_path / "content" / "stop_search.json").read_text())
    block = content["blocks"][-1]
    assert block["sheet"] == "stop_search_rates" and block["count_columns"] == ["events", "base"]


def test_a_table_cut_from_a_larger_one_keeps_the_larger_ones_suppression(tmp_path):
    """A quarter's rows of a table of quarters: withheld as in the whole table (the 2 hides the
    other quarter of its area), not as the quarter alone would be."""
    ch = chapter("p", title="t", work_dir=str(tmp_path), suppression_threshold=4, sheets="q")
    table = pd.DataFrame(
        {
            "area": ["A", "A", "B", "B"],
            "period": ["Q1", "Q2", "Q1", "Q2"],
            "group": "g",
            "events": [2, 30, 40, 50],
            "status": "ok",
        }
    )
    options = {"counts": ("events",), "margins": Margins(counts=("events",))}
    whole = publishable(table, threshold=4, **options)
    cut = ch.table(
        "q2",
        table,
        caption="c",
        rows=table["period"] == "Q2",
        columns=["area", "events"],
        **options,
    )
    assert cut.to_dict("list") == {"area": ["A", "B"], "events": list(whole["events"][[1, 3]])}
    assert cut.loc[0, "events"] == "[c]"  # hidden in the whole table, though 30 alone is safe
    assert ch.blocks[-1]["sheet"] == "q_q2"


def test_record_level_tables_are_refused(tmp_path):
    ch = chapter("x", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    with pytest.raises(ReportError, match="record-level column 'latitude'"):
        ch.table("t", pd.DataFrame({"latitude": [50.1]}), caption="c")
    with pytest.raises(ReportError, match="401 rows"):
        ch.table("t", pd.DataFrame({"n": range(401)}), caption="c")


def test_a_figure_is_drawn_from_the_published_rows_only(tmp_path):
    import matplotlib.pyplot as plt

    drawn = []

    def plot(rows, *, label):
        drawn.append((rows.copy(), label))
        _, ax = plt.subplots()
        return ax

    ch = chapter("x", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    table = _rri_table()
    ch.figure(plot, table, caption="cap", label=["force", "group"])
    rows, label = drawn[0]
    assert rows["group"].tolist() == ["White", "Black", "Mixed"]  # Asian's 3 is withheld
    assert rows["rri"].tolist() == [1.0, 4.0, 1.25] and label == ["force", "group"]
    assert ch.blocks[-1] == {
        "type": "figure", "file": "x__figure0.png", "caption": "cap", "sheet": None, "alt": "cap",
        "rows": [{"force": "Dorset", "group": g} for g in ("White", "Black", "Mixed")],
    }  # fmt: skip
    # a row suppressed as a whole is not drawn either; nothing left, nothing recorded
    ch.figure(plot, table.assign(status="suppressed"), caption="none", label="group")
    assert len(drawn) == 1 and ch.blocks[-1]["caption"] == "cap"


def test_warnings_raised_while_a_chapter_runs_are_kept_once_each(tmp_path):
    with warnings.catch_warnings():
        ch = chapter("x", title="t", work_dir=str(tmp_path), suppression_threshold=4)
        for _ in range(3):
            warnings.warn("few cases", LowCountWarning, stacklevel=1)
        warnings.warn("a month is missing", DataQualityWarning, stacklevel=1)
        with pytest.warns(UserWarning, match="not ours"):  # other warnings are shown as before
            warnings.warn("not ours", UserWarning, stacklevel=1)
    content = json.loads((tmp_path / "content" / "x.json").read_text())
    assert content["warnings"] == [
        {"category": "LowCountWarning", "message": "few cases", "times": 3},
        {"category": "DataQualityWarning", "message": "a month is missing", "times": 1},
    ]
    assert ch.warned == content["warnings"]
