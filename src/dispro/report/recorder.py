"""What a chapter notebook records for the renderer: headings, text, bullets, tables and figures,
kept in the run's work folder (:class:`Chapter`), and the warnings raised while it ran.

Every table and every figure passes through :func:`dispro.disclosure.publishable`, the one door
from a result to the report: a table is recorded as published, and a figure is drawn from the
rows the published table shows in full, so that it never shows a withheld cell.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..disclosure import CONFIDENTIAL, COUNT_COLUMNS, Margins, publishable
from ..errors import DisproWarning
from .params import ReportError

__all__ = ["Chapter", "chapter", "MAX_ROWS", "RECORD_COLUMNS"]

#: A published table holds at most this many rows (aggregates, not records).
MAX_ROWS = 400
#: Columns that identify records: a table holding one is refused.
RECORD_COLUMNS = ("record_id", "latitude", "longitude", "date")


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
    blocks: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    warned: list = field(default_factory=list)

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
        counts: Sequence[str] | None = None,
        margins: Margins | None = None,
        reference: str | None = None,
        decimals: int = 2,
    ) -> pd.DataFrame:
        """``frame`` as :func:`dispro.disclosure.publishable` publishes it (nothing recorded):
        for prose that quotes a count."""
        return publishable(
            frame,
            threshold=self.threshold,
            counts=counts,
            margins=margins,
            reference=reference,
            decimals=decimals,
        )

    def table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        caption: str,
        notes: str = "",
        counts: Sequence[str] | None = None,
        margins: Margins | None = None,
        reference: str | None = None,
        rows=None,
        columns: Sequence[str] | None = None,
        decimals: int = 2,
    ) -> pd.DataFrame:
        """Record a table as published; returns the published version.

        The whole ``frame`` is published (:func:`dispro.disclosure.publishable`, with
        ``counts``, ``margins`` and ``reference``), then the ``rows`` (a boolean mask on
        ``frame``) and ``columns`` asked for are kept: a table cut from a larger one keeps the
        larger one's suppression.
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
        published = self.published(
            frame, counts=counts, margins=margins, reference=reference, decimals=decimals
        )
        if rows is not None:
            published = published[np.asarray(rows, dtype=bool)].reset_index(drop=True)
        published = published[shown]
        sheet = f"{(self.sheets or self.name)[:12]}_{name}"[:31]
        self.tables.append({"name": name, "sheet": sheet, "caption": caption, "notes": notes})
        published.to_pickle(self.work_dir / "content" / f"{self.name}__{name}.pkl")
        names = COUNT_COLUMNS if counts is None else tuple(counts)
        self.blocks.append(
            {
                "type": "table",
                "name": name,
                "sheet": sheet,
                "caption": caption,
                "notes": notes,
                "count_columns": [c for c in published.columns if c in names],
            }
        )
        self._save()
        return published

    def figure(
        self,
        plot: Callable,
        frame: pd.DataFrame,
        *,
        caption: str,
        counts: Sequence[str] | None = None,
        **options,
    ) -> None:
        """Record a figure drawn by ``plot(rows, **options)`` (a function of :mod:`dispro.plots`)
        as an embedded PNG, where ``rows`` are the rows of ``frame`` that its published version
        (:meth:`published`, with ``counts``) shows without a withheld cell. Nothing is recorded
        when no row is left."""
        import matplotlib.pyplot as plt

        published = self.published(frame, counts=counts)
        full = ~published.isin([CONFIDENTIAL]).any(axis=1).to_numpy()
        rows = frame.reset_index(drop=True)[full]
        if rows.empty:
            return
        ax = plot(rows, **options)
        fig = ax.figure if hasattr(ax, "figure") else ax
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        index = sum(1 for b in self.blocks if b["type"] == "figure")
        path = self.work_dir / "content" / f"{self.name}__figure{index}.png"
        path.write_bytes(buf.getvalue())
        self.blocks.append({"type": "figure", "file": path.name, "caption": caption})
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
    name: str, *, title: str, work_dir: str, suppression_threshold: int, sheets: str = ""
) -> Chapter:
    """Start recording a chapter (called by each notebook after its parameter check).

    ``sheets`` prefixes the chapter's workbook sheets (default: its name). From this call on,
    warnings of the :class:`~dispro.errors.DisproWarning` family are kept in the chapter for
    the data-quality appendix.
    """
    work = Path(work_dir)
    (work / "content").mkdir(parents=True, exist_ok=True)
    ch = Chapter(
        name=name, title=title, work_dir=work, threshold=suppression_threshold, sheets=sheets
    )
    ch._save()
    _listen(ch)
    return ch
