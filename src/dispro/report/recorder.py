"""What a chapter notebook records for the renderer: headings, text, bullets, tables and figures,
kept in the run's work folder (:class:`Chapter`), and the warnings raised while it ran.

Every table, figure and quoted count passes through :func:`dispro.disclosure.publishable`, the
one door from a result to the report: a table is recorded as published, and a figure is drawn
from the rows the published table shows in full, so that it never shows a withheld cell.

The renderer runs every chapter twice. The first run (*plan*: the work folder has a ``plan/``
folder) records nothing for the report: each table writes the cells its counts are
(:func:`dispro.disclosure.cell_keys`, with their values) to ``plan/``. The renderer then solves
the suppression of every count of the report, or of every report of a batch, at once
(:func:`dispro.report.disclose.solve_plans`) and writes the cells to withhold to
``disclosure.json``; the second run (*publish*) withholds them in every table, figure and
sentence that shows them. A chapter run on its own (neither file: a notebook run by hand)
applies each table's own rules only.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..disclosure import CONFIDENTIAL, COUNT_COLUMNS, Counts, Margins, cell_keys, publishable
from ..errors import DisproWarning
from .params import ReportError
from .present import text_shown

__all__ = ["Chapter", "chapter", "in_full", "shown_values", "MAX_ROWS", "RECORD_COLUMNS"]

#: A published table holds at most this many rows (aggregates, not records).
MAX_ROWS = 400
#: Columns that identify records: a table holding one is refused.
RECORD_COLUMNS = ("record_id", "latitude", "longitude", "date")
#: A published cell that shows a number (not a marker, not text).
_SHOWN = re.compile(r"-?[\d,]+(\.\d+)?")


@dataclass
class Chapter:
    """A chapter's content, recorded by a notebook for the renderer.

    Every table passes through :func:`dispro.disclosure.publishable` (counts from 1 to the
    threshold become ``[c]``, with the pack's secondary suppression where ``margins`` is given),
    and a table whose rows look like records (more than 400 rows, or an identifier column) is
    refused. Warnings of the :class:`~dispro.errors.DisproWarning` family raised while the
    chapter runs are kept (once each, with how often they were raised) for the data-quality
    appendix.
    """

    name: str
    title: str
    work_dir: Path
    threshold: int
    sheets: str = ""
    area: str = ""
    period: str = ""
    reference: str | None = None
    min_base: int = 20
    min_population: int = 100
    blocks: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    warned: list = field(default_factory=list)
    withheld: dict | None = None

    @property
    def planning(self) -> bool:
        """The renderer's first run: record the cells of each table, publish nothing."""
        return (self.work_dir / "plan").is_dir() and self.withheld is None

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append({"type": "heading", "text": str(text), "level": int(level)})
        self._save()

    def text(self, text: str) -> None:
        """A paragraph (plain text; escaped when rendered)."""
        self.blocks.append({"type": "text", "text": str(text)})
        self._save()

    def bullets(self, items) -> None:
        self.blocks.append({"type": "bullets", "items": [str(i) for i in items]})
        self._save()

    def published(
        self,
        frame: pd.DataFrame,
        *,
        counts: Counts | Sequence[str] | None = None,
        margins: Margins | None = None,
        reference: str | None = None,
        decimals: int = 2,
    ) -> pd.DataFrame:
        """``frame`` as :func:`dispro.disclosure.publishable` publishes it (nothing recorded):
        for prose that quotes a count. With :class:`~dispro.disclosure.Counts`, the cells
        withheld anywhere in the report are withheld here too."""
        return publishable(
            frame,
            threshold=self.threshold,
            counts=counts,
            margins=None if self.withheld is not None else margins,
            reference=self.reference if reference is None else reference,
            decimals=decimals,
            withheld=self.withheld,
            area=self.area,
            period=self.period,
            min_base=self.min_base,
            min_population=self.min_population,
        )

    def shown_in_full(self, frame: pd.DataFrame, counts) -> np.ndarray:
        """The rows of ``frame`` the report publishes without a withheld value: the only rows
        a sentence may quote."""
        return in_full(self.published(frame, counts=counts))

    def _plan(self, name: str, frame: pd.DataFrame, counts, guessed=()) -> None:
        """Write the cells of a table's counts (and the bases their events are part of); of
        the ``guessed`` columns (declared, not shown), only the zeros."""
        if not isinstance(counts, Counts):
            raise ReportError(
                f"table {name!r}: declare what its counts count (dispro.disclosure.Counts), so "
                "that they are withheld together with every other table that shows them"
            )
        frame = frame.reset_index(drop=True)
        keys = cell_keys(frame, counts, area=self.area, period=self.period)
        cells = []
        for column, column_keys in keys.items():
            values = pd.to_numeric(frame[column], errors="coerce")
            for key, value in zip(column_keys, values, strict=True):
                if column in guessed and value != 0:
                    continue
                if key is not None and pd.notna(value):
                    cells.append([list(key[:2]), list(key[2]), list(key[3:]), float(value)])
        parts = set()
        for events, base in counts.complements.items():
            if events in keys and base in keys:
                for ek, bk in zip(keys[events], keys[base], strict=True):
                    if ek is not None and bk is not None:
                        parts.add((bk[0], ek[0]))
        plan = {
            "table": f"{self.name}__{name}",
            "cells": cells,
            "complements": sorted(parts),
            "partitions": {k: [list(p) for p in v] for k, v in counts.partitions.items()},
        }
        path = self.work_dir / "plan" / f"{self.name}__{name}.json"
        path.write_text(json.dumps(plan), encoding="utf-8")

    def table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        caption: str,
        notes: str = "",
        counts: Counts | Sequence[str] | None = None,
        margins: Margins | None = None,
        reference: str | None = None,
        rows=None,
        columns: Sequence[str] | None = None,
        decimals: int = 2,
        printed: bool = True,
    ) -> pd.DataFrame:
        """Record a table as published; returns the published version.

        The whole ``frame`` is published (:func:`dispro.disclosure.publishable`, with
        ``counts``, ``margins`` and ``reference``), then the ``rows`` (a boolean mask on
        ``frame``) and ``columns`` asked for are kept: a table cut from a larger one keeps the
        larger one's suppression. ``counts`` (:class:`~dispro.disclosure.Counts`) is required
        when the table shows a count. ``printed=False``: the table is in the workbook only
        (the data standard, unless the report asks for it as an annex).
        """
        if len(frame) > MAX_ROWS:
            raise ReportError(
                f"table {name!r} has {len(frame)} rows: published tables hold aggregates, not "
                f"records (at most {MAX_ROWS} rows)"
            )
        shown = list(frame.columns if columns is None else columns)
        for ident in RECORD_COLUMNS:
            if ident in shown:
                raise ReportError(
                    f"table {name!r} has a record-level column {ident!r}; publish aggregates only"
                )
        sheet = f"{(self.sheets or self.name)[:12]}_{name}"[:31]
        if self.planning:
            cut = frame.reset_index(drop=True)
            if rows is not None:
                cut = cut[np.asarray(rows, dtype=bool)].reset_index(drop=True)
            if isinstance(counts, Counts):
                # a count not shown but declared is planned where it is 0: a reader may guess
                # a zero (the searches left out of a quarter's hit rate are usually none)
                guessed = [c for c in counts.measures if c not in shown and c in cut.columns]
                self._plan(name, cut, counts, guessed=guessed)
            elif any(c in (COUNT_COLUMNS if counts is None else counts) for c in shown):
                self._plan(name, cut, counts)  # refused: a count must say what it counts
            return self.published(frame, counts=counts, margins=margins, reference=reference)
        published = self.published(
            frame, counts=counts, margins=margins, reference=reference, decimals=decimals
        )
        log = published.attrs.get("log", [])
        if rows is not None:
            keep = np.asarray(rows, dtype=bool)
            published = published[keep].reset_index(drop=True)
            kept_rows = [
                {c: str(v) for c, v in r.items()}
                for r in published[[c for c in published.columns if c in shown]].to_dict("records")
            ]
            log = [e for e in log if _in_rows(e["row"], kept_rows)]
        published = published[shown]
        log = [e for e in log if e["column"] in shown or e["column"] == "*"]
        self.tables.append({"name": name, "sheet": sheet, "caption": caption, "notes": notes})
        published.to_json(
            self.work_dir / "content" / f"{self.name}__{name}.json", orient="split", index=False
        )
        raw = frame.reset_index(drop=True)
        raw = (raw[np.asarray(rows, dtype=bool)] if rows is not None else raw)[shown]
        values = f"{self.name}__{name}.values.json"  # the full values of the shown cells only
        (self.work_dir / "content" / values).write_text(
            json.dumps(shown_values(raw.reset_index(drop=True), published)), encoding="utf-8"
        )
        names = tuple(counts.measures) if isinstance(counts, Counts) else (
            COUNT_COLUMNS if counts is None else tuple(counts)
        )  # fmt: skip
        self.blocks.append(
            {
                "type": "table",
                "name": name,
                "sheet": sheet,
                "caption": caption,
                "notes": notes,
                "values": values,
                "printed": printed,
                "count_columns": [c for c in published.columns if c in names],
                "log": [
                    {**e, "row": {k: v for k, v in e["row"].items() if k in shown}} for e in log
                ],
            }  # fmt: skip
        )
        self._save()
        return published

    def figure(
        self,
        plot: Callable,
        frame: pd.DataFrame,
        *,
        caption: str,
        counts: Counts | Sequence[str] | None = None,
        table: str | None = None,
        labels: Sequence[str] | None = None,
        alt: str | Sequence[str] | None = None,
        **options,
    ) -> None:
        """Record a figure drawn by ``plot(rows, **options)`` (a function of :mod:`dispro.plots`)
        as an embedded PNG, where ``rows`` are the rows of ``frame`` that its published version
        (:meth:`published`, with ``counts``: the cells withheld anywhere in the report are
        withheld here too) shows without a withheld cell. Nothing is recorded when no row is
        left. ``table`` names the table the figure shows (for the suppression log); ``labels``
        the columns that table names its rows by, when the figure comes before it. ``alt``: the
        text a screen reader gives for the picture, stating its finding (sentences already
        written for the page, which quote only published rows); the caption when not given."""
        import matplotlib.pyplot as plt

        if self.planning:  # what a figure draws is published too: plan its cells
            if isinstance(counts, Counts):
                index = sum(1 for p in (self.work_dir / "plan").glob(f"{self.name}__figure*"))
                self._plan(f"figure{index}", frame, counts)
            return
        published = self.published(frame, counts=counts)
        full = in_full(published)
        rows = frame.reset_index(drop=True)[full]
        if rows.empty:
            return
        drawn = published[full]
        named_by = labels  # the columns the table shown later names its rows by, if given
        labels = [c for c in drawn.columns if c in ("area", "force", "period", "group", "label",
                                                    "measure", "stage", "officer_group")]  # fmt: skip
        if named_by is not None:
            labels = [c for c in labels if c in named_by]
        sheet = None
        if table is not None:
            sheet = f"{(self.sheets or self.name)[:12]}_{table}"[:31]
            shown = self.work_dir / "content" / f"{self.name}__{table}.json"
            if shown.is_file():  # the rows as the table names them
                columns = json.loads(shown.read_text(encoding="utf-8"))["columns"]
                labels = [c for c in labels if c in columns]
        ax = plot(rows, **options)
        fig = ax.figure if hasattr(ax, "figure") else ax
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        index = sum(1 for b in self.blocks if b["type"] == "figure")
        path = self.work_dir / "content" / f"{self.name}__figure{index}.png"
        path.write_bytes(buf.getvalue())
        self.blocks.append({
            "type": "figure", "file": path.name, "caption": caption, "sheet": sheet,
            "alt": " ".join([alt] if isinstance(alt, str) else list(alt or [])) or caption,
            "rows": [{c: text_shown(c, str(v)) for c, v in r.items()}
                     for r in drawn[labels].to_dict("records")],  # as the table shows them
        })  # fmt: skip
        self._save()

    def warnings_raised(self, *, caption: str) -> None:
        """The place of the table of every warning raised while the report rendered (every
        chapter's, filled in when the report is assembled)."""
        self.blocks.append({"type": "warnings", "caption": caption})
        self._save()

    def warn(self, category: str, message: str) -> None:
        """Keep a warning raised while the chapter ran (once, with how often it was raised)."""
        for entry in self.warned:
            if entry["category"] == category and entry["message"] == message:
                entry["times"] += 1
                break
        else:
            self.warned.append({"category": category, "message": message, "times": 1})
        self._save()

    def _save(self) -> None:
        path = self.work_dir / "content" / f"{self.name}.json"
        content = {
            "name": self.name,
            "title": self.title,
            "blocks": self.blocks,
            "warnings": self.warned,
        }
        path.write_text(json.dumps(content, indent=1))


def in_full(published: pd.DataFrame) -> np.ndarray:
    """The rows of a published table that hold no withheld value."""
    return ~published.isin([CONFIDENTIAL]).any(axis=1).to_numpy()


def shown_values(frame: pd.DataFrame, published: pd.DataFrame) -> dict:
    """The full values of the cells of ``frame`` that ``published`` (its published version,
    same rows and columns) shows as a number, ``None`` in every other cell: a withheld cell's
    value is never kept. As ``{"columns": [...], "data": [[...]]}`` (JSON)."""
    data = []
    for raw_row, shown_row in zip(frame.itertuples(index=False), published.itertuples(index=False),
                                  strict=True):  # fmt: skip
        row = []
        for value, text in zip(raw_row, shown_row, strict=True):
            keep = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool | np.bool_
            )
            keep = keep and np.isfinite(float(value)) and bool(_SHOWN.fullmatch(str(text)))
            row.append((int(value) if isinstance(value, int | np.integer) else float(value))
                       if keep else None)  # fmt: skip
        data.append(row)
    return {"columns": [str(c) for c in published.columns], "data": data}


def _in_rows(labels: dict, rows: list[dict]) -> bool:
    return any(all(r.get(k) == v for k, v in labels.items() if k in r) for r in rows)


def _listen(ch: Chapter) -> None:
    """From now on, keep every :class:`~dispro.errors.DisproWarning` in ``ch`` (each time it is
    raised) instead of printing it; other warnings are shown as before."""
    shown = warnings.showwarning
    previous = getattr(shown, "dispro_previous", shown)

    def keep(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DisproWarning):
            ch.warn(category.__name__, str(message))
        else:
            previous(message, category, filename, lineno, file, line)

    keep.dispro_previous = previous
    warnings.showwarning = keep
    warnings.filterwarnings("always", category=DisproWarning)


def chapter(
    name: str,
    *,
    title: str,
    work_dir: str,
    suppression_threshold: int,
    sheets: str = "",
    params: dict | None = None,
) -> Chapter:
    """Start recording a chapter (called by each notebook after its parameter check).

    ``sheets`` prefixes the chapter's workbook sheets (default: its name). ``params`` (the
    report's checked parameters) give the area, period and reference group of tables that name
    none. From this call on, warnings of the :class:`~dispro.errors.DisproWarning` family are
    kept in the chapter for the data-quality appendix.
    """
    work = Path(work_dir)
    (work / "content").mkdir(parents=True, exist_ok=True)
    params = params or {}
    withheld = None
    decisions = work / "disclosure.json"
    if decisions.is_file():
        withheld = {
            (*ma, tuple(months), *go): rule
            for ma, months, go, rule in json.loads(decisions.read_text(encoding="utf-8"))[
                "withheld"
            ]
        }
    ch = Chapter(
        name=name,
        title=title,
        work_dir=work,
        threshold=suppression_threshold,
        sheets=sheets,
        area=str(params.get("area", "")),
        period=(
            f"{params['period_start']} to {params['period_end']}"
            if "period_start" in params
            else ""
        ),
        reference=params.get("reference"),
        min_base=int(params.get("min_base", 20)),
        min_population=int(params.get("min_population", 100)),
        withheld=withheld,
    )
    ch._save()
    _listen(ch)
    return ch
