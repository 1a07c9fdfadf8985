"""The key messages of page 1, written from a hand-made pathway matrix (issue 14, item 1)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dispro.report.sections.messages import key_messages

PARAMS = {"reference": "White", "alpha": 0.05}


def _row(stage, label, group, rri, lo, hi, significant, status="ok"):
    return {"stage": stage, "label": label, "group": group, "rri": rri, "ci_lower": lo,
            "ci_upper": hi, "significant": significant, "status": status}  # fmt: skip


def _matrix():
    return pd.DataFrame([
        _row("stop_search", "Stop and search", "White", 1.0, np.nan, np.nan, pd.NA),
        _row("stop_search", "Stop and search", "Black", 3.6, 3.4, 3.8, True),
        _row("stop_search", "Stop and search", "Asian", 1.1, 0.9, 1.3, False),
        _row("out_of_court", "Out-of-court disposal", "White", 1.0, np.nan, np.nan, pd.NA),
        _row("out_of_court", "Out-of-court disposal", "Black", 0.95, 0.8, 1.1, False),
        _row("custody", "Immediate custody", "White", 1.0, np.nan, np.nan, pd.NA),
        _row("custody", "Immediate custody", "Black", 1.5, 1.2, 1.9, True),
        _row("custody", "Immediate custody", "Mixed", np.nan, np.nan, np.nan, pd.NA, "too_few"),
        _row("charge", "CPS charge decision", "White", 1.0, np.nan, np.nan, pd.NA),
        _row("charge", "CPS charge decision", "Asian", 0.5, 0.4, 0.62, True),
    ])  # fmt: skip


def test_messages_name_the_largest_and_the_clear_differences():
    out = key_messages(_matrix(), PARAMS)
    assert 3 <= len(out) <= 5
    # |log 3.6| > |log 0.5| > |log 1.5|
    assert out[0] == (
        "The largest difference is at stop and search: Black people were 3.6 times as likely as "
        "White people to be stopped and searched (95% confidence interval 3.4 to 3.8)."
    )
    assert out[1] == (
        "Clear differences from White people, after allowing for the number of comparisons, are "
        "found at three of the four stages: stop and search (Black), immediate custody (Black) and CPS "
        "charge decision (Asian)."
    )
    assert (
        out[2]
        == "At out-of-court disposal there is no clear evidence of a difference for any group."
    )
    assert out[3] == (
        "No conclusion is drawn where there are too few cases (or no population figure) to tell "
        "for Mixed at immediate custody."
    )
    assert not any(re.search(r"\b[1-4]\b", m) for m in out[1:])  # no small number in prose
    assert "no causal link" in out[-1]


def test_a_withheld_row_is_counted_never_quoted():
    matrix = _matrix()
    shown = np.ones(len(matrix), bool)
    shown[1] = False  # Black, stop and search: withheld
    out = key_messages(matrix, PARAMS, shown)
    assert "3.6" not in " ".join(out)
    assert out[0].startswith("The largest difference is at CPS charge decision: Asian people were "
                             "less likely than White people (relative rate 0.50)")  # fmt: skip
    assert "some figures are withheld to protect confidentiality" in " ".join(out)


def test_no_clear_difference_anywhere():
    matrix = _matrix().assign(significant=False)
    out = key_messages(matrix, PARAMS)
    assert out[0].startswith("At no stage is there clear evidence")


def test_what_changed_is_one_message_quoting_only_shown_rows():
    """The change message (issue 14: "what changed"): the clear changes by the change rule,
    with their forces; a withheld row is never quoted; no clear change said as such."""
    from dispro.report.sections.messages import change_message

    change = pd.DataFrame({
        "force": ["Dorset", "Dorset", "Wiltshire"],
        "group": ["Black", "Mixed", "Asian"],
        "estimate": [2.0, 3.0, 1.1],
        "ci_lower": [1.5, 1.8, 0.8],
        "ci_upper": [2.7, 5.0, 1.5],
        "p_value": [0.0001, 0.0001, 0.5],
        "significant": [True, True, False],
        "status": ["ok", "ok", "ok"],
        "comparison_window": ["2021-04 to 2022-03"] * 3,
        "latest_window": ["2023-04 to 2024-03"] * 3,
    })  # fmt: skip
    said = change_message(change, PARAMS, [True, False, True])
    assert said == (
        "Comparing 2023-04 to 2024-03 with 2021-04 to 2022-03, the difference from White people "
        "in stop and search has grown for Black people in Dorset (relative rate 2.0 times what "
        "it was)."
    )  # the Mixed row is withheld: not quoted, though its change is clear
    quiet = change_message(change.assign(significant=False), PARAMS)
    assert quiet.startswith("Comparing 2023-04 to 2024-03 with 2021-04 to 2022-03, there is no "
                            "clear evidence")  # fmt: skip
    assert change_message(change.iloc[:0], PARAMS) is None
    matrix_messages = key_messages(_matrix(), PARAMS, change=change)
    assert len(matrix_messages) <= 5 and matrix_messages[-1].startswith("These figures show")
    assert any(m.startswith("Comparing ") for m in matrix_messages)
