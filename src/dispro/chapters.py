"""The report's sections: each function computes one section's results through dispro's public
functions and records them (text, suppressed tables, figures) in a :class:`dispro.report.Chapter`.

The chapter notebooks call these, one section per cell, so that the notebooks stay thin and every
number in the text comes from the same table as its chart.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import ledger
from .errors import DisproError, DisproWarning
from .ethnicity import NOT_STATED
from .wording import describe_change, describe_table

__all__ = [
    "intro",
    "pathway_summary",
    "stop_search_rates",
    "stop_search_outcomes",
    "stop_search_concordance",
    "stop_search_darkness",
    "stop_search_trend",
    "stage_chapter",
    "data_quality",
    "methods",
]

_OUTCOME_WORDS = {
    "stop_search": "stopped and searched",
    "search_outcome": "subject to further action after a search",
    "out_of_court": "given an out-of-court disposal",
    "charge": "charged by the CPS",
    "custody": "sent to immediate custody",
}
_RRI_SHOW = ["group", "events", "base", "rate", "rri", "ci_lower", "ci_upper", "q_value", "status"]


def _first_sentences(table, params, outcome, by):
    sentences = []
    text = describe_table(
        table, reference=params["reference"], outcome=outcome, alpha=params["alpha"]
    )
    for _, row in text.iterrows():
        if row["kind"] in ("reference",) or row["group"] == NOT_STATED:
            continue
        prefix = f"{row[by]}: " if by else ""
        sentences.append(prefix + row["sentence"])
    return sentences


def intro(ch, params) -> None:
    """What the report is, what it covers and how to read it."""
    ch.text(
        f"This report measures whether people of different ethnic groups are treated differently at "
        f"each stage of the criminal justice system in {params['area']}, from {params['period_start']} "
        f"to {params['period_end']}. Each group is compared with {params['reference']} people using a "
        "relative rate index (RRI): the group's rate divided by the reference group's rate. An RRI of "
        "1 means the same rate; 2 means twice the rate."
    )
    ch.text(
        f"A difference is called disproportionate only when its {100 * (1 - params['alpha']):.0f}% "
        "confidence interval excludes 1 after the Benjamini-Hochberg correction for the many "
        "comparisons in the report (dispro's convention; official tables flag on single tests). "
        "'No clear evidence of a difference' and 'too few cases to tell' are different findings."
    )
    if params["data"] == "demo":
        ch.text(
            "THIS REPORT USES SYNTHETIC DEMONSTRATION DATA. The records are generated with known, "
            "planted disparities to show how the report works; they describe no real person and no "
            "real force. Only the Census 2021 population figures are real."
        )


def pathway_summary(ch, data, params) -> pd.DataFrame:
    """The pathway matrix for the area, its plain-English reading and its chart."""
    from .pathway import pathway_matrix
    from .plots import plot_forest

    area = params["area"]
    relabelled = {name: frame.assign(area=area) for name, frame in data.items()}
    population = _area_population(data, area)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        matrix = pathway_matrix(
            relabelled,
            by="area",
            population=population,
            reference=params["reference"],
            alpha=params["alpha"],
        )
    ch.heading("Where along the pathway do differences arise?")
    for stage_name, rows in matrix.groupby("stage", sort=False):
        outcome = _OUTCOME_WORDS.get(stage_name)
        if outcome is None:
            continue
        sentences = _first_sentences(rows, params, outcome, None)
        if sentences:
            ch.heading(rows["label"].iloc[0], level=3)
            ch.bullets(sentences)
    ch.table(
        "pathway",
        matrix[["label", "measure", *_RRI_SHOW]],
        caption="The pathway matrix: relative rate index of each group at each stage, against the stage's own base",
        notes="Stop and search is per 1,000 residents (Census 2021); later stages are percentages of the "
        "people at the previous decision point; custodial length is a ratio of mean months. "
        "q: Benjamini-Hochberg over the whole matrix.",
    )
    shown = matrix[(matrix["group"] != params["reference"]) & matrix["ci_lower"].notna()]
    if len(shown):
        ch.figure(
            plot_forest(shown, label=["label", "group"]),
            caption="Relative rate index with its confidence interval, by stage and group (log scale)",
        )
    return matrix


def _area_population(data, area: str) -> pd.DataFrame:
    """Residents of the report's area as person-years over the months the searches cover."""
    from .errors import AreaError
    from .population import census2021

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisproWarning)
            pop = census2021(area, by=())
    except AreaError:
        return pd.DataFrame(columns=["area", "ethnicity", "population"])
    months = 12
    searches = data.get("stop_search")
    if searches is not None and "coverage" in searches.attrs:
        cov = pd.DataFrame(searches.attrs["coverage"])
        if len(cov):
            present = cov[cov["present"]]
            # person-years: each force's residents times the months it supplied
            per_force = present.groupby("force")["month"].nunique()
            months = float(per_force.mean()) if len(per_force) else 12
    return pop.assign(area=area, population=pop["population"] * months / 12)[
        ["area", "ethnicity", "population"]
    ]


def stop_search_rates(ch, data, params) -> pd.DataFrame:
    """Searches per 1,000 residents by force, group and financial year; bounds for not stated."""
    from .plots import plot_forest
    from .stopsearch import missing_ethnicity_bounds, search_counts, search_rates

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
    ch.heading("Searches per 1,000 residents")
    ch.bullets(_first_sentences(rates, params, "stopped and searched", "force"))
    ch.table(
        "rates",
        rates[["force", "period", *_RRI_SHOW, "months_covered", "note"]],
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
    from .plots import plot_hit_rates
    from .stopsearch import hit_rates, section60_shares, strip_search_shares

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
    from .stopsearch import concordance_summary, not_stated_by_officer_group

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


def stop_search_darkness(ch, data, params) -> None:
    """The veil-of-darkness test, or why it could not be run."""
    from .stopsearch.darkness import veil_of_darkness

    ch.heading("Veil of darkness", level=3)
    ch.text(
        "If officers' decisions are influenced by ethnicity, the share of people searched who are from "
        "a minority group should be lower after dark, when ethnicity is harder to see, than in "
        "daylight at the same clock time. The test compares the two within the evening window where "
        "both occur across the year."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        try:
            result = veil_of_darkness(data["stop_search"], reference=params["reference"])
        except DisproError as exc:
            ch.text(f"The test could not be run: {exc}")
            return
    table = result.table if hasattr(result, "table") else result
    ch.table(
        "darkness",
        table,
        caption="Veil-of-darkness test: odds ratio of a minority search after dark",
    )


def stop_search_trend(ch, data, params) -> None:
    """The RRI by quarter and the test of change since the comparison period."""
    from .plots import plot_trend
    from .stopsearch import search_rates, trend_test

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
    latest = sorted(quarterly["period"].unique())[-4:]
    recent = quarterly[quarterly["period"].isin(latest) & (quarterly["group"] != NOT_STATED)]
    ch.table(
        "quarters", recent[["force", "period", *_RRI_SHOW, "months_covered"]],
        caption="The last four quarters: searches per 1,000 residents a year and the relative rate index",
        notes="Quarterly rates are annualised (person-years covered); q: Benjamini-Hochberg over the table.",
    )
    for force, rows in quarterly.groupby("force"):
        shown = rows[(rows["group"] != params["reference"]) & rows["ci_lower"].notna()]
        if len(shown):
            ch.figure(
                plot_trend(shown),
                caption=f"{force}: relative rate of being searched by quarter (95% intervals)",
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


def stage_chapter(ch, data, params, stage_name: str) -> pd.DataFrame:
    """One decision stage by force: RRIs, sentences, chart; adjusted model where available."""
    from .pathway import pathway_matrix, stage
    from .plots import plot_forest

    spec = stage(stage_name)
    dataset = spec["dataset"]
    if dataset not in data or data[dataset].empty:
        ch.text(f"No {dataset} records were supplied for this report.")
        return pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        table = pathway_matrix(
            {dataset: data[dataset]},
            stages_=[stage_name],
            by="force",
            reference=params["reference"],
            alpha=params["alpha"],
        )
    ch.text(spec.get("description", "").strip())
    outcome = _OUTCOME_WORDS.get(stage_name)
    if outcome:
        ch.bullets(_first_sentences(table, params, outcome, "force"))
    ch.table(
        stage_name,
        table[["force", *_RRI_SHOW]],
        caption=f"{spec['label']}: relative rate index by force and group",
    )
    shown = table[(table["group"] != params["reference"]) & table["ci_lower"].notna()]
    if len(shown):
        ch.figure(
            plot_forest(shown, label=["force", "group"]),
            caption=f"{spec['label']}: relative rate by force and group (log scale)",
        )
    return table


def data_quality(ch, data, params) -> None:
    """Ethnicity not stated at each stage, coverage, the exclusions ledger."""
    rows = []
    for name, frame in data.items():
        if "ethnicity" not in frame.columns or frame.empty:
            continue
        not_stated = int((frame["ethnicity"] == NOT_STATED).sum())
        rows.append(
            {
                "dataset": name,
                "records": len(frame),
                "ethnicity_not_stated": not_stated,
                "share_not_stated": not_stated / len(frame),
            }
        )
    ch.heading("Ethnicity not recorded")
    ch.table(
        "not_stated",
        pd.DataFrame(rows),
        caption="Records whose ethnicity was not stated, by dataset",
        counts=("records", "ethnicity_not_stated"),
    )
    if "stop_search" in data and "coverage" in data["stop_search"].attrs:
        from .readers import coverage

        cov = coverage(data["stop_search"])
        summary = (
            cov.groupby("force")
            .agg(
                months_present=("present", "sum"),
                months_missing=("present", lambda s: int((~s).sum())),
                searches=("rows", "sum"),
                first_month=("month", "min"),
                last_month=("month", "max"),
                outcome_linked_not_supplied=("outcome_linked_supplied", lambda s: int((~s).sum())),
                strip_search_not_supplied=(
                    "removal_outer_clothing_supplied",
                    lambda s: int((~s).sum()),
                ),
            )
            .reset_index()
        )
        ch.heading("Coverage of the stop-and-search data")
        ch.table(
            "coverage",
            summary,
            caption="Months supplied per force (a missing month is never counted as zero)",
            counts=("searches",),
        )
    ch.heading("Exclusions ledger")
    entries = []
    for name, frame in data.items():
        led = ledger.exclusions(frame)
        led.insert(0, "dataset", name)
        entries.append(led)
    table = pd.concat(entries, ignore_index=True) if entries else pd.DataFrame()
    table["rule"] = table["rule"].str.replace(r"/[^ ]*/", "", regex=True)
    ch.table(
        "ledger",
        table,
        caption="Every rule that excluded, relabelled or flagged records, with counts, in order",
        counts=("rows",),
    )


def methods(ch, params) -> None:
    """Methods, caveats and conventions, and the data standard."""
    from .dictionary import dataset, datasets

    ch.heading("How the figures are calculated")
    ch.bullets(
        [
            "Rate: events divided by the people at risk (the previous stage, or the resident population). "
            "Relative rate index (RRI): a group's rate divided by the reference group's, from unrounded counts.",
            "Intervals: Katz log method for proportions; exact conditional Poisson for rates per resident. "
            "Zero counts are never corrected silently.",
            "Multiple testing: Benjamini-Hochberg q-values over each table; 'significant' means q below "
            f"{params['alpha']} (dispro's convention; official UK tables flag on single tests).",
            "Missing ethnicity: bounds allocate all not-stated records to the reference or to the group; "
            "they are assumption ranges, not confidence intervals.",
            "Adjusted comparisons (where shown): logistic regression with the group and the case-mix "
            "controls, fitted on collapsed cells; adjusted risk ratios by marginal standardisation.",
        ]
    )
    ch.heading("Caveats")
    ch.bullets(
        [
            "The resident population is not the population available to be stopped: visitors, commuters "
            "and the night-time economy are not in it.",
            "The population has changed since the Census of March 2021.",
            "Ethnicity not stated cannot be placed in a group; its share is reported for each dataset.",
            "data.police.uk stamps every time +00:00; whether that is UTC or UK clock time is not "
            "documented, and the report states the assumption it uses.",
        ]
    )
    ch.heading("Conventions")
    ch.bullets(
        [
            f"Counts from 1 to {params['suppression_threshold']} are suppressed and shown as [c] "
            "(Government Analysis Function symbols); [x] means not available, [z] not applicable.",
            "No published table holds record-level data.",
            "The practical-significance band (0.8 to 1.25, judged on the interval) is dispro's convention, "
            "borrowed from the US four-fifths rule, not an official UK rule.",
        ]
    )
    ch.heading("The data standard", level=3)
    for name in datasets():
        spec = dataset(name)
        fields = pd.DataFrame(
            [
                {
                    "field": f["name"],
                    "type": f["type"],
                    "required": "yes" if f.get("required") else "no",
                    "codes": f.get("codes") or "",
                }
                for f in spec["fields"]
            ]
        )
        ch.table(
            f"dict_{name}",
            fields,
            caption=f"Dataset {name}: {spec.get('one_row_is', '')}",
            counts=(),
        )


def adjusted(ch, data, params, stage_name: str) -> None:
    """Unadjusted and adjusted ratios side by side (logistic model on collapsed cells)."""
    from .pathway import stage

    spec = stage(stage_name)
    records = data.get(spec["dataset"])
    controls = {
        "out_of_court": ["offence_group", "age_band", "sex", "force"],
        "charge": ["offence_group", "age_band", "sex"],
        "custody": [
            "offence_group",
            "previous_convictions",
            "plea",
            "remand_status",
            "age_band",
            "sex",
            "court_type",
        ],
    }.get(stage_name, [])
    if records is None or records.empty:
        return
    from . import models
    from .plots import plot_adjusted

    controls = [c for c in controls if c in records.columns and records[c].nunique() > 1]
    where = spec["events"]["where"][0]
    base_cond = spec["base"]["where"][0]
    subset = records[records[base_cond["column"]].isin(base_cond["in"])]
    subset = subset[subset["ethnicity"] != NOT_STATED]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = models.logistic(subset, outcome={where["column"]: list(where["in"])},
                                  reference=params["reference"], controls=controls,
                                  alpha=params["alpha"], dropna=True)
        except DisproError as exc:
            ch.text(f"The adjusted model could not be fitted: {exc}")
            return
    ch.heading("Taking case mix into account", level=3)
    ch.text(
        "The adjusted comparison asks how different the outcomes are for people alike in "
        + ", ".join(c.replace("_", " ") for c in controls)
        + ". It uses a logistic regression; the adjusted risk ratio (marginal standardisation) is on the "
        "same scale as the unadjusted relative rate index, so the two can be compared directly."
    )
    shown = fit.adjusted[["group", "events", "base", "rri", "rri_ci_lower", "rri_ci_upper", "adjusted_rr",
                          "ci_lower", "ci_upper", "share_explained", "e_value"]]
    ch.table(
        f"{stage_name}_adjusted",
        shown,
        caption=f"{spec['label']}: unadjusted relative rate and adjusted risk ratio against {params['reference']} people",
        notes="Adjusted risk ratio by marginal standardisation from a logistic regression fitted on "
        "collapsed cells (delta-method intervals). share_explained = 1 - ln(adjusted RR) / ln(RRI), "
        "shown when both lie on the same side of 1. E-value: how strong unmeasured confounding would "
        "have to be to explain away the adjusted ratio (VanderWeele and Ding 2017).",
    )
    ch.figure(plot_adjusted(fit.adjusted), caption=f"{spec['label']}: unadjusted and adjusted ratios (log scale)")
