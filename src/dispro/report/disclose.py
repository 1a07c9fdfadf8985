"""The suppression of every count a report (or a batch of reports) publishes, solved at once.

The renderer runs the chapters once to *plan* (each table writes the cells its counts are, see
:mod:`dispro.report.recorder`), calls :func:`solve_plans` over the work folders of every report
being rendered, then runs the chapters again to publish: a count withheld in one table is
withheld in every table, figure, sentence and report that shows it, and no withheld count can
be worked out from what they show (:func:`dispro.disclosure.solve_linked`).

What the report's measures are made of (:data:`PARTITIONS`) is declared here, beside the
measure names the sections use (:data:`MEASURES`); :func:`solve_plans` checks each relation on
the published values, and a relation that does not add up is left out and counted (a wrong
declaration is a bug, which the report tests look for).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..disclosure import Counts, Structure, solve_linked
from ..ethnicity import GROUPS, NOT_STATED
from ..forces import wessex_forces

__all__ = [
    "MEASURES", "PARTITIONS", "OFFICER_GROUPS", "RULES", "structure", "solve_plans",
    "suppression_log",
]  # fmt: skip

#: The measures of the stop-and-search tables (what a count column counts).
MEASURES = {
    "searches": "person searches (vehicle-only searches excluded), by self-defined group",
    "all_searches": "every search record, vehicle-only ones included",
    "vehicle_only": "vehicle-only searches (no person searched)",
    "hit_searches": "person searches kept for the hit rate",
    "hits": "searches whose outcome was linked to the object of the search",
    "s60": "person searches under section 60",
    "hit_excl_not_supplied": "left out of the hit rate: the outcome link was not supplied",
    "hit_excl_not_recorded": "left out of the hit rate: the outcome link was not recorded",
    "strip_basis": "person searches kept for the strip-search share",
    "strip": "searches involving the removal of more than outer clothing",
    "strip_excl_not_supplied": "left out of the strip-search share: not supplied",
    "strip_excl_not_recorded": "left out of the strip-search share: not recorded",
    "s60_basis": "person searches kept for the section 60 share",
    "s60_excl_not_supplied": "left out of the section 60 share: legislation not supplied",
    "s60_excl_not_recorded": "left out of the section 60 share: legislation not recorded",
    "concordance_pairs": "person searches with both self- and officer-defined groups",
}

#: Each measure and the partitions it is the sum of (each search in exactly one part).
PARTITIONS = {
    "all_searches": [
        ("searches", "vehicle_only"),
        ("hit_searches", "vehicle_only", "s60", "hit_excl_not_supplied", "hit_excl_not_recorded"),
        ("strip_basis", "vehicle_only", "strip_excl_not_supplied", "strip_excl_not_recorded"),
        ("s60_basis", "vehicle_only", "s60_excl_not_supplied", "s60_excl_not_recorded"),
    ],
    "stop_search:records": [("all_searches",)],
    "stop_search": [("searches",)],  # the pathway's stop-and-search stage
}

#: The officer-defined groups (the 4+1 scheme) that ``All`` sums.
OFFICER_GROUPS = ("Asian", "Black", "White", "Other", "Not stated")


# What each table's counts count (the measures of dispro.report.disclose): a count withheld in
# one table is withheld in every table, figure and sentence that shows it.
#: Search rates per resident (whole period or quarter): person searches by group.
RATES = Counts({"events": "searches"}, population="base")
#: The missing-ethnicity bounds: the group's searches and those not stated.
BOUNDS = Counts(
    {"events": "searches", "unknown_events": "searches"},
    fixed={"unknown_events": {"group": NOT_STATED}},
    population="base",
)
_HIT_MEASURES = {"searches": "hit_searches", "hits": "hits"}
#: Hit rates, with the searches left out of them by rule.
HITS = Counts(
    {**_HIT_MEASURES, "excluded_vehicle_only": "vehicle_only", "excluded_s60": "s60",
     "excluded_not_supplied": "hit_excl_not_supplied",
     "excluded_not_recorded": "hit_excl_not_recorded"},
    derived_from=("searches", "hits"),
    complements={"hits": "searches"},
)  # fmt: skip


def _share(kind: str) -> Counts:
    """A share of person searches (strip search, section 60) and the searches left out of it."""
    return Counts(
        {"searches": f"{kind}_basis", "events": kind, "excluded_vehicle_only": "vehicle_only",
         "excluded_not_supplied": f"{kind}_excl_not_supplied",
         "excluded_not_recorded": f"{kind}_excl_not_recorded"},
        derived_from=("searches", "events"),
        complements={"events": "searches"},
    )  # fmt: skip


STRIP = _share("strip")
S60 = _share("s60")
#: The pack's quarterly hit-rate, strip-search and section 60 tables.
#: (the searches left out of each are not shown; where none were, a reader may guess it)
Q_HITS = Counts(HITS.measures, derived_from=("searches", "hits"), complements={"hits": "searches"})
Q_STRIP = Counts(
    {**STRIP.measures, "strip_searches": "strip"},
    derived_from=("searches", "strip_searches"),
    complements={"strip_searches": "searches"},
)
Q_S60 = Counts(
    {**S60.measures, "s60_searches": "s60"},
    derived_from=("searches", "s60_searches"),
    complements={"s60_searches": "searches"},
)
CONCORDANCE = Counts({"searches": "concordance_pairs"})
NOT_STATED_BY_OFFICER = Counts(
    {"searches": "searches", "not_stated": "searches"},
    fixed={"not_stated": {"group": NOT_STATED}},
    complements={"not_stated": "searches"},
)
#: A stage of the pathway: events and, where it is a count of people, the base.
STAGES = Counts(
    {"events": "{stage}", "base": "{stage}:base"},
    only={"base": ("basis", ("chained",))},
    complements={"events": "base"},
    population="base",
)
#: Custodial sentence length: the base is the number of custodial sentences.
SENTENCE_LENGTH = Counts({"events": "{stage}", "base": "{stage}"})


def adjusted_counts(stage_name: str) -> Counts:
    """The adjusted comparison of a stage (whole area and period, by group): the people the
    model was fitted on, part of the stage's people (the rest lack a control)."""
    model, base = f"{stage_name}:model", f"{stage_name}:model_base"
    return Counts(
        {"events": model, "base": base},
        complements={"events": "base"},
        partitions={
            stage_name: [(model, f"{model}~left_out")],
            f"{stage_name}:base": [(base, f"{base}~left_out")],
        },
    )


#: Records and records with ethnicity not stated, by dataset (the data-quality appendix).
NOT_STATED_RECORDS = Counts(
    {"records": "{dataset}:records", "ethnicity_not_stated": "{dataset}:records"},
    fixed={"ethnicity_not_stated": {"group": NOT_STATED}},
    complements={"ethnicity_not_stated": "records"},
)
#: Search records of each force (the coverage table).
COVERAGE = Counts({"searches": "stop_search:records"})


def ledger_counts(table: pd.DataFrame, area: str) -> Counts:
    """The exclusions ledger of the report for ``area``: each rule its own measure (of this
    report: the rows its files held are not the area's), and the rows a dataset's files held
    the sum of the rows kept (the dataset's records in the report) and of each exclusion."""
    template = f"ledger@{area}:{{dataset}}:{{step}}:{{rule}}"
    partitions = {}
    for dataset, rows in table.groupby("dataset", sort=False):
        read = rows[rows["action"] == "read"]
        if len(read) != 1:
            continue
        parts = [f"{dataset}:records"] + [
            template.format(**r) for r in rows[rows["action"] == "excluded"].to_dict("records")
        ]
        partitions[template.format(**read.iloc[0].to_dict())] = [parts]
    return Counts({"rows": template}, partitions=partitions)


#: The counts of the veil-of-darkness table: the searches of each area's test sample.
DARKNESS = Counts(
    {c: f"darkness:{c}" for c in ("n", "n_minority", "n_reference", "n_dark", "n_light",
                                  "excluded_no_coordinates", "excluded_twilight")},
    area="area",
)  # fmt: skip

#: A change since the comparison period rests on the group's and the reference's searches in
#: each window.
CHANGE = Counts(
    {},
    depends=[
        {"measure": "searches", "period": "{comparison_window}"},
        {"measure": "searches", "period": "{latest_window}"},
        {"measure": "searches", "period": "{comparison_window}", "group": "{reference}"},
        {"measure": "searches", "period": "{latest_window}", "group": "{reference}"},
    ],
)

#: A change between two quarters rests on the group's and the reference's searches in each.
CHANGES = Counts(
    {},
    depends=[
        {"measure": "searches", "period": "{earlier}"},
        {"measure": "searches", "period": "{latest}"},
        {"measure": "searches", "period": "{earlier}", "group": "{reference}"},
        {"measure": "searches", "period": "{latest}", "group": "{reference}"},
    ],
)


# oocd pack (issue 13 item 8)
# The out-of-court disposals pack counts the out-of-court stage of the pathway (the measures of
# STAGES: "out_of_court" and "out_of_court:base", detected offenders = disposals + the rest).
#: The pack's quarterly shares: out-of-court disposals among detected offenders.
Q_OOCD = Counts({"events": "out_of_court", "base": "out_of_court:base"},
                complements={"events": "base"})  # fmt: skip


def _oocd_breakdowns() -> dict[str, Counts]:
    """The pack's breakdowns: each disposal type (the types add up to the out-of-court
    disposals) and, within each offence group, sex and youth or adult, the disposals and the
    detected offenders (the values and the blank ones add up to the whole)."""
    from ..dictionary import codes
    from ..oocd import DISPOSAL_TYPES

    out = {
        "disposal": Counts(
            {"events": "out_of_court:{disposal}", "base": "out_of_court:base"},
            complements={"events": "base"},
            partitions={"out_of_court": [tuple(f"out_of_court:{t}" for t in DISPOSAL_TYPES)]},
        )
    }
    values = {"offence_group": codes("offence_group"), "sex": codes("sex"),
              "age_group": ["youth", "adult"]}  # fmt: skip
    for column, kept in values.items():
        events, base = f"out_of_court@{column}:", f"out_of_court:base@{column}:"
        out[column] = Counts(
            {"events": events + "{" + column + "}", "base": base + "{" + column + "}"},
            complements={"events": "base"},
            partitions={
                "out_of_court": [tuple(events + v for v in [*kept, "blank"])],
                "out_of_court:base": [tuple(base + v for v in [*kept, "blank"])],
            },
        )
    return out


#: The pack's breakdown tables: column -> what their counts count.
Q_OOCD_BREAKDOWNS = _oocd_breakdowns()
#: A change in the out-of-court relative rate between two quarters rests on the group's and the
#: reference's disposals and detected offenders in each.
Q_OOCD_CHANGES = Counts(
    {},
    depends=[
        {"measure": m, "period": p, **g}
        for m in ("out_of_court", "out_of_court:base")
        for p in ("{earlier}", "{latest}")
        for g in ({}, {"group": "{reference}"})
    ],
)
# end of the oocd pack block


# use of force (issue 13 item 7)
# The Home Office use-of-force tables: tactics recorded (not people) by officer-perceived group,
# per force and financial year (the period is the year's months); England and Wales is the sum
# of the 43 territorial forces (no relation is declared with them: only the area's forces and
# the national total are published).
MEASURES["uof_tactics"] = "uses of force (tactics recorded), by officer-perceived group"
#: Use-of-force rates per resident, each force of the area and England and Wales.
UOF_RATES = Counts({"events": "uof_tactics"}, population="base", area="area")
#: A force's rate against England and Wales: the force's tactics and the national tactics.
UOF_NATIONAL = Counts(
    {"events": "uof_tactics", "national_events": "uof_tactics"},
    fixed={"national_events": {"area": "England and Wales"}},
    population="base",
    area="area",
)
#: The share of tactics whose subject's ethnicity was not recorded (every group's tactics: All).
UOF_NOT_STATED = Counts(
    {"tactics": "uof_tactics", "not_stated": "uof_tactics"},
    fixed={"tactics": {"group": "All"}, "not_stated": {"group": NOT_STATED}},
    complements={"not_stated": "tactics"},
    area="area",
)
# end of the use of force block


# reconcile (issue 13 item 6)
#: The data.police.uk records of each force and financial year against the Home Office published
#: total (the data-quality appendix). ``records`` is every search record of the force in the
#: year's months: the measure ``all_searches`` (area: the force, period: the ``period`` column,
#: e.g. "2018-04 to 2019-03"), so the joint solve links it with every other table. The published
#: total is the Home Office's own public figure, not a count of this report: it is shown as text
#: and never withheld. The difference and the per cent (floats) are worked out from ``records``
#: and are withheld with it.
RECONCILE = Counts({"records": "all_searches"}, derived_from=("records",))
# end of the reconcile block


def structure(complements: Sequence[Sequence[str]] = (), more: dict | None = None) -> Structure:
    """The report's cube: Wessex and its forces, the groups, :data:`PARTITIONS` (and the
    tables' own, ``more``), and each base = events + the rest for the ``(base, events)``
    measure pairs of ``complements``."""
    partitions: dict[str, list[tuple[str, ...]]] = {k: list(v) for k, v in PARTITIONS.items()}
    for measure, parts in (more or {}).items():
        for part in parts:
            if tuple(part) not in partitions.setdefault(measure, []):
                partitions[measure].append(tuple(part))
    for base, events in complements:
        part = (events, f"{events}~rest")
        if base != events and part not in partitions.setdefault(base, []):
            partitions[base].append(part)
    return Structure(
        areas={"Wessex": tuple(wessex_forces())},
        groups=tuple(GROUPS),
        officer_groups=OFFICER_GROUPS,
        partitions=partitions,
    )


def _key(cell) -> tuple:
    (measure, area), period, (group, officer), _value = cell
    return (measure, area, (int(period[0]), int(period[1])), group, officer)


def solve_plans(works: Sequence[Path], *, threshold: int) -> dict:
    """Solve the suppression of every cell the plans in ``works`` (the runs' work folders)
    publish, and write each run's ``disclosure.json``; returns the solve's figures."""
    t0 = time.perf_counter()
    published: dict[tuple, float] = {}
    conflicts: set[tuple] = set()
    complements: set[tuple[str, str]] = set()
    more: dict[str, list] = {}
    tables = 0
    for work in works:
        for path in sorted((Path(work) / "plan").glob("*.json")):
            plan = json.loads(path.read_text(encoding="utf-8"))
            tables += 1
            complements.update(tuple(p) for p in plan["complements"])
            for measure, parts in plan.get("partitions", {}).items():
                more.setdefault(measure, []).extend(parts)
            for cell in plan["cells"]:
                key, value = _key(cell), float(cell[3])
                if key in published and abs(published[key] - value) > 0.5:
                    conflicts.add(key)
                published.setdefault(key, value)
    counts = {k: v for k, v in published.items() if k not in conflicts}
    solution = solve_linked(counts, structure(sorted(complements), more), threshold=threshold)
    withheld = dict(solution.withheld)
    for key in conflicts:  # two tables disagree on one cell: withhold it everywhere
        withheld[key] = "secondary"
    decisions = {
        "withheld": [
            [list(k[:2]), list(k[2]), list(k[3:]), rule] for k, rule in sorted(withheld.items())
        ]
    }
    for work in works:
        (Path(work) / "disclosure.json").write_text(json.dumps(decisions), encoding="utf-8")
    return {
        "tables": tables,
        "cells": len(published),
        "variables": solution.variables,
        "relations": solution.relations,
        "withheld": len(withheld),
        "primary": sum(1 for r in withheld.values() if r == "primary"),
        "protected_unpublished": len(solution.protected),
        "linear_programmes": solution.lps,
        "relations_dropped": len(solution.dropped),
        "conflicts": len(conflicts),
        "unresolved": len(solution.unresolved),
        "seconds": round(time.perf_counter() - t0, 3),
    }


#: What each rule of the suppression log means (the log never says which withheld counts are
#: small: that would tell a reader the value lies from 1 to the threshold).
RULES = {
    "confidential": "a count withheld: a count from 1 to the threshold, or one withheld so that "
    "such a count (or the difference of two published counts) cannot be worked out",
    "derived": "a rate, share, ratio, interval or test worked out from a withheld count",
    "reference": "a ratio to the reference group, whose count in the same area and period is "
    "withheld",
    "min_base": "a rate or share over too few people at risk (or residents) to be shown",
}
_PUBLIC = {"primary": "confidential", "secondary": "confidential", "complement": "confidential"}


def suppression_log(chapters: list[dict], *, threshold: int) -> tuple[dict, list[dict]]:
    """The report's suppression log: every withheld cell of every table (sheet, the row's
    labels, column, rule) and the rows each figure drew; never a withheld value."""
    cells, figures = [], []
    for ch in chapters:
        for block in ch["blocks"]:
            if block["type"] == "table":
                for entry in block.get("log", []):
                    rule = _PUBLIC.get(entry["rule"], entry["rule"])
                    cells.append({"sheet": block["sheet"], "row": entry["row"],
                                  "column": entry["column"], "rule": rule})  # fmt: skip
            elif block["type"] == "figure":
                figures.append({"caption": block["caption"], "sheet": block.get("sheet"),
                                "rows": block.get("rows", [])})  # fmt: skip
    log = {"threshold": threshold, "rules": RULES, "cells": cells, "figures": figures}
    rows = [
        {"sheet": c["sheet"], "row": "; ".join(f"{k}: {v}" for k, v in c["row"].items()),
         "column": "every value worked out from the counts" if c["column"] == "*"
         else c["column"], "rule": c["rule"]}
        for c in cells
    ]  # fmt: skip
    return log, rows
