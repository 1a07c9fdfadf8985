"""The data-quality appendix's reconciliation of the data.police.uk records of each financial
year with the Home Office published total searches (issue 13 item 6).

Presents :func:`dispro.stopsearch.reconcile.reconcile_totals` and computes nothing: the table
goes through the publish door (:data:`dispro.report.disclose.RECONCILE`), and the library's
sentences are quoted only for the rows it publishes in full.
"""

from __future__ import annotations

import pandas as pd

from ..disclose import RECONCILE

__all__ = ["reconciliation"]

HEADING = "Reconciliation with the Home Office published totals"
#: The columns shown (``period`` names the cells of the records and is not shown).
SHOWN = (
    "force", "financial_year", "months_supplied", "months_missing", "records", "published_total",
    "difference", "difference_pct", "beyond_tolerance",
)  # fmt: skip


def reconciliation(ch, table: pd.DataFrame, params) -> None:
    """The records of each whole financial year of the report's period against the published
    total (:func:`dispro.stopsearch.reconcile.reconcile_totals`, one row per force and year).

    The table appears when the period covers a whole financial year (April to March) for which
    a published total exists; otherwise one line says why there is nothing to reconcile (the
    demo's synthetic data, no total for the years), or nothing is said (no whole financial
    year in the period, or no stop-and-search records).
    """
    if params.get("data") == "demo":
        ch.heading(HEADING, level=3)
        ch.text(
            "The demo data are synthetic: there are no Home Office published totals for them, so "
            "there is nothing to reconcile."
        )
        return
    if table.empty:
        return
    if table["published_total"].isna().all():
        years = ", ".join(sorted(set(table["financial_year"])))
        ch.heading(HEADING, level=3)
        ch.text(
            f"The Home Office published totals given hold none of the financial years of this "
            f"period ({years}), so the records are not reconciled with them; give a table of "
            "totals for these years as `official_totals` in the data configuration."
        )
        return
    ch.heading(HEADING, level=3)
    ch.text(
        "The data.police.uk records of each whole financial year (April to March) of the period "
        "set against the total searches the Home Office published for the force and year "
        "(Police powers and procedures: stop and search, table SS_20). The two differ for known "
        "reasons: forces revise their records after publishing them, and records submitted late "
        "or for a month not supplied never reach data.police.uk."
    )
    frame = table.assign(
        difference=table["difference"].astype("float64"),
        published_total=table["published_total"].map(
            lambda v: None if pd.isna(v) else f"{int(v):,}"
        ),
    )
    ch.table(
        "reconciliation",
        frame,
        caption="Stop and search records of each financial year against the Home Office "
        "published total, by force",
        notes=(
            "records: every data.police.uk search record of the force in the year's months "
            "(person, person-and-vehicle and vehicle-only searches), as the published total "
            "counts every search under all relevant legislation. difference: records minus "
            "the published total; difference_pct: that in per cent of the published total; "
            f"beyond_tolerance: the difference is more than {table.attrs.get('tolerance', 5):g}% "
            "of the published total. A missing month (no file, or no records for the force) is named and never "
            "counted as zero. The published total is the Home Office's public figure (from "
            "the data configuration's official_totals, or the bundled year ending March 2025 "
            "table) and is never withheld."
        ),
        counts=RECONCILE,
        columns=list(SHOWN),
        decimals=1,
    )
    full = ch.shown_in_full(frame, RECONCILE)
    notes = [n for n, shown in zip(table["note"], full, strict=True) if shown and n]
    if notes:
        ch.bullets(notes)
