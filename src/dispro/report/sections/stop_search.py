"""The stop-and-search chapter: rates per 1,000 residents, missing-ethnicity bounds, hit rates,
strip searches and section 60, ethnicity concordance, the veil of darkness and change over time."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...errors import DisproError, DisproWarning
from ...ethnicity import NOT_STATED
from ..wording import describe_change
from ._common import RRI_SHOW, first_sentences, is_pack

__all__ = [
    "stop_search_rates",
    "stop_search_outcomes",
    "stop_search_concordance",
    "stop_search_darkness",
    "darkness_reason",
    "stop_search_trend",
]


def stop_search_rates(ch, data, params) -> pd.DataFrame:
    """Searches per 1,000 residents by force, group and financial year; bounds for not stated."""
    from ...plots import plot_forest
    from ...stopsearch import missing_ethnicity_bounds, search_counts, search_rates

    records = data["stop_search"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        rates = search_rates(
            records,
            period="all",
            ethnicity=params["ethnicity"],
            reference=params["reference"],
            alpha=params["alpha"],
        )
    if is_pack(params):
        ch.heading(f"The whole period: {params['period_start']} to {params['period_end']}")
    ch.heading("Searches per 1,000 residents")
    ch.bullets(first_sentences(rates, params, "stopped and searched", "force"))
    ch.table(
        "rates",
        rates[["force", "period", *RRI_SHOW, "months_covered", "note"]],
        caption="Person searches per 1,000 residents a year, and the relative rate index, by force and group",
        notes="Rates use Census 2021 usual residents times the months supplied / 12 (person-years). "
        "Vehicle-only searches are excluded. Not stated has no population figure.",
    )
    shown = rates[(rates["group"] != params["reference"]) & rates["ci_lower"].notna()]
    if len(shown):
        ch.figure(
            plot_forest(shown, label=["force", "group"]),
            caption="Relative rate of being searched, by force and group (log scale, 95% intervals)",
        )
    counts = search_counts(records, period="all", ethnicity=params["ethnicity"])
    pops = rates[["force", "group", "base"]].rename(columns={"group": "ethnicity"})
    merged = counts.merge(pops, on=["force", "ethnicity"], how="left")
    bounds = missing_ethnicity_bounds(merged, reference=params["reference"], by="force")
    ch.heading("How much could ethnicity not stated change the ratios?", level=3)
    ch.text(
        "Searches where the person's ethnicity was not stated cannot be placed in a group. The bounds "
        "below allocate all of them to the reference group (lower bound) or all to the group "
        "(upper bound): the true ratio lies between them whatever the missing values were. These are "
        "ranges of assumptions, not confidence intervals."
    )
    ch.table(
        "bounds",
        bounds,
        caption="Missing-ethnicity bounds on the relative rate of being searched",
        counts=("events", "unknown_events"),
    )
    return rates


def stop_search_outcomes(ch, data, params) -> None:
    """Hit rates, strip searches and section 60."""
    from ...plots import plot_hit_rates
    from ...stopsearch import hit_rates, section60_shares, strip_search_shares

    records = data["stop_search"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        hits = hit_rates(records, reference=params["reference"], alpha=params["alpha"])
        strip = strip_search_shares(records, alpha=params["alpha"])
        s60 = section60_shares(records, alpha=params["alpha"])
    ch.heading("Do searches find what they look for? (hit rates)")
    ch.text(
        "The hit rate is the share of searches where the outcome was linked to the object of the "
        "search. A lower hit rate for a group can suggest that its members are searched on weaker "
        "grounds, but hit rates can differ for other reasons too (the infra-marginality problem), so "
        "they are a pointer, not proof. Section 60 searches, which need no reasonable suspicion, are "
        "left out."
    )
    ch.table(
        "hit_rates",
        hits,
        caption="Hit rate (outcome linked to the object of search) by group, with Wilson intervals",
    )
    ch.figure(plot_hit_rates(hits), caption="Hit rate by group with 95% Wilson intervals")
    ch.heading("Strip searches and section 60", level=3)
    ch.table(
        "strip",
        strip,
        caption="Share of person searches involving removal of more than outer clothing",
    )
    ch.table(
        "s60",
        s60,
        caption="Share of searches made under section 60 (no reasonable suspicion needed)",
    )


def stop_search_concordance(ch, data, params) -> None:
    """Self-defined vs officer-defined ethnicity."""
    from ...stopsearch import concordance_summary, not_stated_by_officer_group

    records = data["stop_search"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        summary = concordance_summary(records)
        ns = not_stated_by_officer_group(records)
    ch.heading("Self-defined and officer-defined ethnicity", level=3)
    ch.table(
        "concordance",
        summary,
        caption="Agreement between self-defined and officer-defined ethnicity (Cohen's kappa)",
    )
    ch.table(
        "not_stated",
        ns,
        caption="Share of searches with self-defined ethnicity not stated, by the ethnicity the officer recorded",
    )


def stop_search_darkness(ch, data, params) -> pd.DataFrame:
    """The veil-of-darkness test where it is eligible, and a sentence saying why not elsewhere.

    Run on the whole period (the test needs the seasons to move dusk across clock times), for
    each force and, when the area is Wessex, for the forces pooled (force fixed effects). The
    library decides eligibility (:func:`dispro.stopsearch.veil_of_darkness`: at least 100 stops
    of each group in every area-year); the table holds the eligible tests only.

    Returns
    -------
    DataFrame
        One row per area tested (``area`` then the library's columns), eligible or not.
    """
    from ...stopsearch.darkness import veil_of_darkness

    ch.heading("Veil of darkness", level=3)
    ch.text(
        "If officers' decisions are influenced by ethnicity, the share of people searched who are from "
        "a minority group should be lower after dark, when ethnicity is harder to see, than in "
        "daylight at the same clock time. The test compares the two within the evening window where "
        "both occur across the year, so it is run on the whole period, not quarter by quarter."
    )
    records = data["stop_search"]
    minority, reference = "Black", params["reference"]
    runs = [
        (force, records[records["force"] == force]) for force in sorted(records["force"].unique())
    ]
    if params["area"].lower() == "wessex" and len(runs) > 1:
        runs.append(("Wessex (forces pooled)", records))
    results, sentences = [], []
    for label, subset in runs:
        subset = subset.copy()
        subset.attrs = {
            k: (list(v) if isinstance(v, list) else v) for k, v in records.attrs.items()
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisproWarning)
            try:
                result = veil_of_darkness(subset, minority=minority, reference=reference)
            except DisproError as exc:
                sentences.append(f"{label}: the test could not be run: {exc}")
                continue
        row = result.iloc[0]
        results.append(result.assign(area=label))
        if row["status"] != "ok":
            sentences.append(
                f"{label}: the test was not run, because the data are not eligible: "
                f"{darkness_reason(row['reason'], params['suppression_threshold'])}."
            )
            continue
        interval = (
            f"odds ratio {row['odds_ratio']:.2f}, {100 * (1 - params['alpha']):.0f}% confidence "
            f"interval {row['ci_lower']:.2f} to {row['ci_upper']:.2f}"
        )
        clear = row["p_value"] < params["alpha"] and not (row["ci_lower"] <= 1 <= row["ci_upper"])
        if clear and row["odds_ratio"] < 1:
            sentences.append(
                f"{label}: after dark, the share of {minority} people among the {minority} and "
                f"{reference} people searched was lower than in daylight at the same clock time "
                f"({interval}). This is the pattern expected if ethnicity influences who is searched."
            )
        elif clear:
            sentences.append(
                f"{label}: after dark, the share of {minority} people among those searched was "
                f"higher than in daylight at the same clock time ({interval}), the opposite of the "
                "pattern the test looks for."
            )
        else:
            sentences.append(
                f"{label}: there is no clear evidence that the share of {minority} people among "
                f"those searched differs between darkness and daylight at the same clock time "
                f"({interval})."
            )
    ch.bullets(sentences)
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame()
    if len(table):
        table = table[["area", *[c for c in table.columns if c != "area"]]]
        eligible = table[table["status"] == "ok"].drop(columns="reason")
        if len(eligible):
            ch.table(
                "darkness",
                eligible,
                caption=f"Veil-of-darkness test: odds ratio of a search being of a {minority} "
                f"rather than a {reference} person after dark",
                counts=("n", "n_minority", "n_reference", "n_dark", "n_light",
                        "excluded_no_coordinates", "excluded_twilight"),
            )  # fmt: skip
    return table


def darkness_reason(reason: str, threshold: int) -> str:
    """The library's reason a test is ineligible, without its list of stops per area-year
    (small counts are not published), with a small count in its note replaced by [c]."""
    import re

    from ...disclosure import CONFIDENTIAL

    main, _, note = str(reason).partition(". Note: ")
    if "): " in main:
        main = main.split("): ", 1)[0] + ")"
    if note:
        count = re.match(r"([\d,]+) ", note)
        if count and 1 <= int(count.group(1).replace(",", "")) <= threshold:
            note = CONFIDENTIAL + note[count.end(1) :]
        main += f". Note: {note}"
    return main


def stop_search_trend(ch, data, params) -> None:
    """The RRI by quarter and the test of change since the comparison period."""
    from ...plots import plot_trend
    from ...stopsearch import search_rates, trend_test

    records = data["stop_search"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        quarterly = search_rates(
            records,
            period="quarter",
            ethnicity=params["ethnicity"],
            reference=params["reference"],
            alpha=params["alpha"],
        )
    ch.heading("Change over time")
    if not is_pack(params):  # the scrutiny pack has its own quarter-by-quarter table
        latest = sorted(quarterly["period"].unique())[-4:]
        recent = quarterly[quarterly["period"].isin(latest) & (quarterly["group"] != NOT_STATED)]
        ch.table(
            "quarters",
            recent[["force", "period", *RRI_SHOW, "months_covered"]],
            caption="The last four quarters: searches per 1,000 residents a year and the relative rate index",
            notes="Quarterly rates are annualised (person-years covered); q: Benjamini-Hochberg over the table.",
        )
    threshold = params["suppression_threshold"]
    for force, rows in quarterly.groupby("force"):
        # a ratio from a count of 1 to the threshold is not drawn (it would give the count away)
        small = rows["events"].between(1, threshold) | rows["reference_events"].between(
            1, threshold
        )
        shown = rows[(rows["group"] != params["reference"]) & rows["ci_lower"].notna() & ~small]
        if len(shown):
            ch.figure(
                plot_trend(shown),
                caption=f"{force}: relative rate of being searched by quarter (95% intervals; "
                f"quarters with a count from 1 to {threshold} are left out)",
            )
    start, end = params["comparison_start"], params["comparison_end"]
    comp = quarterly.copy()
    months = {p: pd.Period(p, freq="Q") for p in comp["period"].unique()}
    in_comp = comp["period"].map(
        lambda p: (
            pd.Period(start, "M") <= months[p].asfreq("M", "end")
            and months[p].asfreq("M", "start") <= pd.Period(end, "M")
        )
    )
    latest_start = pd.Period(params["period_end"], freq="M") - 11
    in_latest = comp["period"].map(lambda p: months[p].asfreq("M", "start") >= latest_start)
    comp = comp[in_comp | in_latest].assign(
        window=np.where(in_comp[in_comp | in_latest], "comparison", "latest")
    )
    sentences = []
    rows_out = []
    for force, rows in comp.groupby("force"):
        usable = rows[rows["status"].isin(["ok", "zero_events"]) & rows["base"].notna()]
        if usable["window"].nunique() < 2:
            continue
        counts = usable.groupby(["group", "window"])[["events", "base"]].sum().reset_index()
        counts["window"] = pd.Categorical(counts["window"], ["comparison", "latest"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = trend_test(counts, group="group", reference=params["reference"], period="window")
        change = test[test["test"] == "change"]
        for _, row in change.iterrows():
            sentences.append(
                f"{force}: "
                + describe_change(
                    row,
                    group=row["group"],
                    reference=params["reference"],
                    since=f"{start} to {end}",
                    alpha=params["alpha"],
                )
            )
            rows_out.append({"force": force, **row.to_dict()})
    if sentences:
        ch.bullets(sentences)
        ch.table(
            "change",
            pd.DataFrame(rows_out),
            caption=f"Change in the relative rate of being searched: latest 12 months against {start} to {end}",
            notes="Poisson model with a log-exposure offset; estimate = latest RRI / comparison RRI.",
        )
    else:
        ch.text(
            "The data do not cover both the comparison period and the latest 12 months, so change cannot be tested."
        )
