"""The rules of the publish door (dispro.disclosure.publishable) with Counts: derived values,
complements, minimum bases, the reference rule, cells withheld elsewhere and the cells a row
rests on; each checked against a hand-worked table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dispro.disclosure import Counts, cell_keys, period_months, publishable

HITS = Counts({"searches": "hit_searches", "hits": "hits"}, complements={"hits": "searches"})


def _hits(searches, hits, groups=("White", "Black", "Asian")):
    n = np.array(searches, dtype=float)
    k = np.array(hits, dtype=float)
    return pd.DataFrame({"group": list(groups), "searches": searches, "hits": hits,
                         "hit_rate": k / n, "ratio": (k / n) / (k[0] / n[0])})  # fmt: skip


def test_period_labels_read_as_months():
    assert period_months("2023Q2") == (2023 * 12 + 3, 2023 * 12 + 5)
    assert period_months("2021-04 to 2024-03") == (2021 * 12 + 3, 2024 * 12 + 2)
    assert period_months(pd.Period("2020-11", "M")) == (2020 * 12 + 10,) * 2
    with pytest.raises(ValueError, match="cannot read the period 'spring'"):
        period_months("spring")


def test_a_small_complement_withholds_the_events_and_the_share():
    # 40 of 42 found something: the 2 who did not would be worked out from 42 - 40
    out = publishable(_hits([500, 42, 300], [100, 40, 60]), threshold=4, counts=HITS)
    assert out["hits"].tolist() == ["100", "[c]", "60"]
    assert out.loc[1, "hit_rate"] == "[c]" and out.loc[1, "searches"] == "42"
    rules = {(e["row"]["group"], e["column"], e["rule"]) for e in out.attrs["log"]}
    assert ("Black", "hits", "complement") in rules


def test_a_share_over_fewer_than_twenty_is_withheld_but_its_counts_are_shown():
    out = publishable(_hits([500, 19, 300], [100, 9, 60]), threshold=4, counts=HITS)
    assert out.loc[1, ["searches", "hits"]].tolist() == ["19", "9"]
    assert out.loc[1, ["hit_rate", "ratio"]].tolist() == ["[c]", "[c]"]
    assert out.loc[2, "hit_rate"] == "0.20"
    off = publishable(_hits([500, 19, 300], [100, 9, 60]), threshold=4, counts=HITS, min_base=0)
    assert off.loc[1, "hit_rate"] == "0.47"


def test_a_withheld_reference_withholds_every_ratio_of_its_slice():
    table = pd.DataFrame({
        "area": ["Dorset"] * 3 + ["Wiltshire"] * 3, "period": ["2023Q1"] * 6,
        "group": ["White", "Black", "Asian"] * 2, "events": [3, 50, 40, 300, 50, 40],
        "base": [1e4, 2e3, 3e3, 1e5, 2e3, 3e3], "rri": [1.0, 2.0, 3.0, 1.0, 4.0, 5.0],
    })  # fmt: skip
    out = publishable(table, threshold=4, counts=Counts({"events": "searches"}),
                      reference="White", min_population=0)  # fmt: skip
    assert out["rri"].tolist() == ["[c]", "[c]", "[c]", "1.00", "4.00", "5.00"]
    assert out["events"].tolist() == ["[c]", "50", "40", "300", "50", "40"]


def test_cells_withheld_elsewhere_are_withheld_here_by_their_key():
    table = pd.DataFrame({"force": ["Dorset", "Dorset"], "period": ["2023Q1", "2023Q1"],
                          "group": ["White", "Black"], "events": [300, 50],
                          "rate": [1.0, 2.0]})  # fmt: skip
    counts = Counts({"events": "searches"})
    keys = cell_keys(table, counts, area="Wessex", period="2021-04 to 2024-03")["events"]
    assert keys[1] == ("searches", "Dorset", period_months("2023Q1"), "Black", "All")
    out = publishable(table, threshold=4, counts=counts, withheld={keys[1]: "secondary"})
    assert out["events"].tolist() == ["300", "[c]"] and out["rate"].tolist() == ["1.00", "[c]"]


def test_a_value_resting_on_a_period_holding_a_withheld_cell_is_withheld():
    change = pd.DataFrame({"force": ["Dorset", "Dorset"], "group": ["Black", "Asian"],
                           "window": ["2023-01 to 2023-12"] * 2, "estimate": [1.5, 0.9]})  # fmt: skip
    counts = Counts({}, depends=[{"measure": "searches", "period": "{window}"},
                                 {"measure": "searches", "period": "{window}",
                                  "group": "{reference}"}])  # fmt: skip
    inside = ("searches", "Dorset", period_months("2023Q3"), "Asian", "All")
    out = publishable(change, threshold=4, counts=counts, withheld={inside: "primary"},
                      reference="White")  # fmt: skip
    assert out["estimate"].tolist() == ["1.50", "[c]"]
    ref = ("searches", "Dorset", period_months("2023Q1"), "White", "All")
    out = publishable(change, threshold=4, counts=counts, withheld={ref: "secondary"},
                      reference="White")  # fmt: skip
    assert out["estimate"].tolist() == ["[c]", "[c]"]
    outside = ("searches", "Dorset", period_months("2024Q1"), "Asian", "All")
    out = publishable(change, threshold=4, counts=counts, withheld={outside: "primary"},
                      reference="White")  # fmt: skip
    assert out["estimate"].tolist() == ["1.50", "0.90"]


def test_a_count_only_on_some_rows_and_the_population_rule():
    stages = Counts({"events": "{stage}", "base": "{stage}:base"},
                    only={"base": ("basis", ("chained",))}, complements={"events": "base"},
                    population="base")  # fmt: skip
    table = pd.DataFrame({"stage": ["stop_search", "charge", "stop_search"],
                          "basis": ["population", "chained", "population"],
                          "group": ["Black", "Black", "Other"], "events": [50, 40, 10],
                          "base": [3.0, 42.0, 5000.0], "rate": [1.0, 2.0, 3.0]})  # fmt: skip
    out = publishable(table, threshold=4, counts=stages)
    # a population of 3 is not a count (not withheld) but too few residents for a rate;
    # 42 - 40 = 2 withholds the charged count
    assert out["base"].tolist() == ["3", "42", "5,000"]
    assert out["events"].tolist() == ["50", "[c]", "10"]
    assert out["rate"].tolist() == ["[c]", "[c]", "3.00"]


def test_a_withheld_count_the_rate_does_not_rest_on_leaves_the_rate_shown():
    hits = Counts({"searches": "hit_searches", "hits": "hits", "excluded_s60": "s60"},
                  derived_from=("searches", "hits"), complements={"hits": "searches"})  # fmt: skip
    table = _hits([500, 42, 300], [100, 20, 60]).assign(excluded_s60=[10, 3, 0])
    out = publishable(table, threshold=4, counts=hits)
    assert out["excluded_s60"].tolist() == ["10", "[c]", "0"]
    assert out.loc[1, "hit_rate"] == "0.48"  # 20 / 42: the 3 section 60 searches play no part
    every = publishable(table, threshold=4, counts=Counts(dict(hits.measures)))
    assert every.loc[1, "hit_rate"] == "[c]"  # by default a row's values rest on every count
