"""Use of force by perceived ethnicity: rates, RRIs and the England and Wales comparison,
against an independent computation from the raw Home Office tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from dispro.errors import DisproError
from dispro.population import census2021
from dispro.useofforce import (
    NATIONAL,
    financial_year_of,
    financial_years_in,
    national_comparison,
    not_stated_shares,
    read_use_of_force,
    use_of_force_rates,
)

UOF = "resistancelab_census2011_pfa_use_of_force/cleaned_data/use-of-force/by-ethnicity-force"
YEARS = {"2018-19": "april2018-march2019.csv", "2019-20": "april2019-march2020.csv"}
#: The raw columns of each 5+1 group (Chinese and Don't know exist in 2018-19 only).
RAW = {
    "White": ["White"],
    "Black": ["Black (or Black British)"],
    "Asian": ["Asian (or Asian British)", "Chinese"],
    "Mixed": ["Mixed"],
    "Other": ["Other"],
    "Not stated": ["Don't know", "Not reported"],
}
FORCES = ["Hampshire", "Dorset", "Wiltshire"]
Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def tables(realdata):
    return [realdata / UOF / f for f in YEARS.values()]


@pytest.fixture(scope="module")
def counts(tables):
    return read_use_of_force(tables)


def _raw(realdata, year: str, force: str) -> dict[str, float]:
    """The *Total Tactics row of a force (or 'Total England and Wales') summed into groups by
    hand from the CSV read with pandas."""
    raw = pd.read_csv(realdata / UOF / YEARS[year])
    row = raw[(raw["Tactic"] == "*Total Tactics") & (raw["Police Force"] == force)]
    assert len(row) == 1
    row = row.iloc[0]
    return {g: float(sum(row[c] for c in cols if c in raw.columns)) for g, cols in RAW.items()}


def _population(area: str) -> dict[str, float]:
    pop = census2021(area, by=())
    return dict(zip(pop["ethnicity"], pop["population"].astype(float), strict=True))


def _exact(a, A, b, B, alpha=0.05):
    """Exact conditional Poisson rate ratio interval and p-value, by hand: given a + b, a is
    binomial with pi = R A / (R A + B); Clopper-Pearson for pi turned into R."""
    lo_pi = stats.beta.ppf(alpha / 2, a, b + 1) if a > 0 else 0.0
    hi_pi = stats.beta.ppf(1 - alpha / 2, a + 1, b) if b > 0 else 1.0
    odds = B / A
    n, pi0 = a + b, A / (A + B)
    p = min(1.0, 2 * min(stats.binom.cdf(a, n, pi0), stats.binom.sf(a - 1, n, pi0)))
    return lo_pi / (1 - lo_pi) * odds, hi_pi / (1 - hi_pi) * odds, p


def _katz(a, A, b, B):
    ratio = (a / A) / (b / B)
    se = np.sqrt(1 / a - 1 / A + 1 / b - 1 / B)
    return ratio * np.exp(-Z * se), ratio * np.exp(Z * se)


def _row(table, area, year, group):
    hit = table[
        (table["area"] == area) & (table["financial_year"] == year) & (table["group"] == group)
    ]
    assert len(hit) == 1, (area, year, group)
    return hit.iloc[0]


def test_the_financial_year_is_read_from_the_file_name():
    assert financial_year_of("april2018-march2019.csv") == "2018-19"
    assert financial_year_of("police-use-of-force-apr2017-mar2018-hosb3018-tables.ods") == "2017-18"
    assert financial_year_of("uof_2019-20.csv") == "2019-20"
    assert financial_year_of("year-ending-march-2021.csv") == "2020-21"
    assert financial_year_of("use_of_force.csv") is None
    assert financial_year_of("2019-21.csv") is None  # not one financial year


@pytest.mark.parametrize("force", FORCES)
@pytest.mark.parametrize("year", list(YEARS))
def test_rates_and_ratios_match_a_hand_computation(realdata, counts, force, year):
    table = use_of_force_rates(counts, area=force)
    events, pop = _raw(realdata, year, force), _population(force)
    b, B = events["White"], pop["White"]
    for group in ("Asian", "Black", "Mixed", "Other"):
        a, A = events[group], pop[group]
        got = _row(table, force, year, group)
        assert (got["events"], got["base"]) == (a, A)  # 12 months: person-years = residents
        assert got["rate"] == pytest.approx(a / A * 1000, rel=1e-12)
        assert got["reference_rate"] == pytest.approx(b / B * 1000, rel=1e-12)
        assert got["rri"] == pytest.approx((a / A) / (b / B), rel=1e-12)
        if a == 0:  # Dorset records no Mixed
            assert got["status"] == "zero_events" and "may not record" in got["note"]
            continue
        lo, hi, p = _exact(a, A, b, B)
        assert (got["ci_lower"], got["ci_upper"]) == (
            pytest.approx(lo, rel=1e-6),
            pytest.approx(hi, rel=1e-6),
        )
        assert got["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert got["ci_lower"] <= got["rri"] <= got["ci_upper"]
    # Not stated (Don't know + Not reported) has no population: no rate, never a wrong one
    ns = _row(table, force, year, "Not stated")
    assert ns["events"] == events["Not stated"] and ns["status"] == "no_base"
    assert np.isnan(ns["rate"]) and "Not stated" in ns["note"]


@pytest.mark.parametrize("force", FORCES)
def test_katz_intervals_match_a_hand_computation(realdata, counts, force):
    table = use_of_force_rates(counts, area=force, method="katz")
    for year in YEARS:
        events, pop = _raw(realdata, year, force), _population(force)
        for group in ("Asian", "Black", "Other"):
            lo, hi = _katz(events[group], pop[group], events["White"], pop["White"])
            got = _row(table, force, year, group)
            assert got["ci_lower"] == pytest.approx(lo, rel=1e-9)
            assert got["ci_upper"] == pytest.approx(hi, rel=1e-9)


def test_benjamini_hochberg_over_the_whole_table(realdata, counts):
    table = use_of_force_rates(counts, area="Hampshire")
    tested = table[table["p_value"].notna()]
    hand = []
    for area, raw_name in (("Hampshire", "Hampshire"), (NATIONAL, "Total England and Wales")):
        pop = _population(area)
        for year in YEARS:
            events = _raw(realdata, year, raw_name)
            for group in ("Asian", "Black", "Mixed", "Other"):
                *_, p = _exact(events[group], pop[group], events["White"], pop["White"])
                hand.append(((area, year, group), p))
    assert len(hand) == len(tested) == 16
    adjusted = multipletests([p for _, p in hand], method="fdr_bh")[1]
    q = dict(zip([k for k, _ in hand], adjusted, strict=True))
    for row in tested.itertuples():
        assert row.q_value == pytest.approx(q[(row.area, row.financial_year, row.group)],
                                            rel=1e-6, abs=1e-300)  # fmt: skip


@pytest.mark.parametrize("year", list(YEARS))
def test_england_and_wales_is_the_published_national_row(realdata, counts, year):
    """The sum of the 43 forces equals the Home Office's own 'Total England and Wales' row, and
    its residents are every local authority's."""
    table = use_of_force_rates(counts, area="Wessex")
    assert list(pd.unique(table["area"])) == ["Dorset", "Hampshire", "Wiltshire", NATIONAL]
    national, pop = _raw(realdata, year, "Total England and Wales"), _population(NATIONAL)
    for group in ("White", "Black", "Asian", "Mixed", "Other", "Not stated"):
        got = _row(table, NATIONAL, year, group)
        assert got["events"] == national[group]
        if group != "Not stated":
            assert got["rate"] == pytest.approx(national[group] / pop[group] * 1000, rel=1e-12)
    assert sum(_population(NATIONAL).values()) > 59_000_000  # all of England and Wales


@pytest.mark.parametrize("force", FORCES)
def test_each_force_against_england_and_wales(realdata, counts, force):
    comparison = national_comparison(use_of_force_rates(counts, area=force))
    assert set(comparison["area"]) == {force}
    pop, national_pop = _population(force), _population(NATIONAL)
    for year in YEARS:
        ours, theirs = _raw(realdata, year, force), _raw(realdata, year, "Total England and Wales")
        for group in ("White", "Black", "Asian", "Other"):
            got = _row(comparison, force, year, group)
            a, A, b, B = ours[group], pop[group], theirs[group], national_pop[group]
            assert got["rate"] == pytest.approx(a / A * 1000, rel=1e-12)
            assert got["national_rate"] == pytest.approx(b / B * 1000, rel=1e-12)
            assert got["rate_ratio"] == pytest.approx((a / A) / (b / B), rel=1e-12)
            lo, hi, _ = _exact(a, A, b, B)
            assert got["ci_lower"] == pytest.approx(lo, rel=1e-6)
            assert got["ci_upper"] == pytest.approx(hi, rel=1e-6)
            # the force's RRI and the national RRI side by side
            ref, nref = ours["White"] / pop["White"], theirs["White"] / national_pop["White"]
            assert got["rri"] == pytest.approx((a / A) / ref, rel=1e-12)
            assert got["national_rri"] == pytest.approx((b / B) / nref, rel=1e-12)
    assert "Not stated" not in set(comparison["group"])


def test_not_stated_is_a_share_of_the_tactics(realdata, counts):
    shares = not_stated_shares(counts, area="Wessex")
    for year in YEARS:
        for force, raw_name in [*[(f, f) for f in FORCES], (NATIONAL, "Total England and Wales")]:
            events = _raw(realdata, year, raw_name)
            got = _row(shares.assign(group="-"), force, year, "-")
            assert got["tactics"] == sum(events.values())
            assert got["not_stated"] == events["Not stated"]
            assert got["share"] == pytest.approx(events["Not stated"] / sum(events.values()))


def test_tables_given_by_year_and_their_errors(tables, tmp_path):
    by_year = read_use_of_force(dict(zip(YEARS, tables, strict=True)))
    assert set(by_year["financial_year"]) == set(YEARS)
    assert set(by_year["period"]) == {"2018-04 to 2019-03", "2019-04 to 2020-03"}
    assert by_year.attrs["financial_years_supplied"] == list(YEARS)
    unnamed = tmp_path / "uof.csv"
    unnamed.write_bytes(tables[0].read_bytes())
    with pytest.raises(DisproError, match=r"uof.csv: the file name does not name one financial"):
        read_use_of_force([unnamed])
    with pytest.raises(
        DisproError, match=r"more than one use-of-force table for the financial year"
    ):
        read_use_of_force({"2018-19": tables[0], "2018/19": tables[1]})
    with pytest.raises(DisproError, match="'March' .* is not a financial year"):
        read_use_of_force({"March": tables[0]})


def test_years_overlapping_a_period(counts):
    kept = financial_years_in(counts, "2019-06", "2021-03")
    assert set(kept["financial_year"]) == {"2019-20"}
    assert kept.attrs["financial_years_used"] == ["2019-20"]
    assert kept.attrs["financial_years_supplied"] == ["2018-19", "2019-20"]
    rule = kept.attrs["exclusions"][-1]
    assert rule["rows"] == 43 * 6 and "2018-19" in rule["rule"]
    assert financial_years_in(counts, "2021-04", "2024-03").empty


def test_without_every_force_there_is_no_national_figure(counts):
    partial = counts[counts["force"] != "Kent"]
    table = use_of_force_rates(partial, area="Dorset")
    assert NATIONAL not in set(table["area"])
    comparison = national_comparison(table)
    assert comparison.empty and "42 of the 43 territorial forces" in comparison.attrs["note"]


def test_a_force_without_a_census_population_has_no_rate(counts, monkeypatch):
    import dispro.useofforce as uof
    from dispro.errors import AreaError

    def census(area, **kwargs):
        if area == "Dorset":
            raise AreaError("Dorset: no population (planted)")
        return census2021(area, **kwargs)

    monkeypatch.setattr(uof, "census2021", census)
    table = use_of_force_rates(counts, area="Wessex")
    dorset = table[table["area"] == "Dorset"]
    assert set(dorset["status"]) == {"no_base"}
    assert dorset["rate"].isna().all() and (dorset["note"] == "Dorset").all()
    assert (table.loc[table["area"] == "Hampshire", "status"] != "no_base").sum() == 10
