"""The exclusions ledger: every rule that dropped or re-labelled rows, with counts, in order.

The ledger travels in ``frame.attrs["exclusions"]`` (a list of dicts) so that it follows a frame
through dispro's functions and into every result built from it. :func:`exclusions` shows it as a
table.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["LEDGER_COLUMNS", "exclusions", "record", "carry"]

LEDGER_COLUMNS = ("step", "rule", "rows", "action")


def exclusions(frame: pd.DataFrame) -> pd.DataFrame:
    """The exclusions ledger of a frame or result, one row per rule in the order applied.

    Returns
    -------
    DataFrame
        ``step`` (the function that applied the rule), ``rule`` (plain English), ``rows`` (how many
        rows it affected) and ``action``: ``read`` (rows in), ``excluded`` (dropped: rows read =
        rows kept + rows excluded), ``relabelled``, ``noted`` or ``kept`` (flagged, not dropped).
    """
    entries = frame.attrs.get("exclusions", [])
    return pd.DataFrame(list(entries), columns=list(LEDGER_COLUMNS)).astype({"rows": "int64"})


def record(
    frame: pd.DataFrame, step: str, rule: str, rows: int, action: str = "excluded"
) -> pd.DataFrame:
    """Append an entry to ``frame``'s ledger (in place) and return the frame.

    Entries are recorded even when ``rows`` is 0, so a reader sees that the rule was applied.
    """
    entries = list(frame.attrs.get("exclusions", []))
    entries.append({"step": step, "rule": rule, "rows": int(rows), "action": action})
    frame.attrs["exclusions"] = entries
    return frame


def carry(source: pd.DataFrame, target: pd.DataFrame) -> pd.DataFrame:
    """Copy ``source``'s ledger to ``target`` (ahead of anything ``target`` already holds)."""
    entries = list(source.attrs.get("exclusions", [])) + [
        e for e in target.attrs.get("exclusions", []) if e not in source.attrs.get("exclusions", [])
    ]
    target.attrs["exclusions"] = entries
    return target
