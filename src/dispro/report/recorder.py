"""What a chapter notebook records for the renderer: headings, text, bullets, tables (through
disclosure control) and figures, kept in the run's work folder (:class:`Chapter`)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .params import ReportError

__all__ = ["Chapter", "chapter", "publish", "COUNT_COLUMNS", "MAX_ROWS"]


COUNT_COLUMNS = (
    "events", "base", "reference_events", "reference_base", "searches", "hits", "searches_total",
    "n", "n_minority", "n_reference", "count", "unknown_events", "events_missing_age",
)  # fmt: skip


MAX_ROWS = 400


@dataclass
class Chapter:
    """A chapter's content, recorded by a notebook for the renderer.

    Every table passes through disclosure control: count columns are suppressed at the threshold
    (values from 1 to k become ``[c]``), and a table whose rows look like records (more than
    400 rows, or an identifier column) is refused.
    """

    name: str
    title: str
    work_dir: Path
    threshold: int
    blocks: list = field(default_factory=list)
    tables: list = field(default_factory=list)

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

    def table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        caption: str,
        notes: str = "",
        counts: tuple[str, ...] | None = None,
        decimals: int = 2,
    ) -> pd.DataFrame:
        """Record a table; returns the published (suppressed, rounded) version."""
        if len(frame) > MAX_ROWS:
            raise ReportError(
                f"table {name!r} has {len(frame)} rows: published tables hold aggregates, not "
                f"records (at most {MAX_ROWS} rows)"
            )
        for ident in ("record_id", "latitude", "longitude", "date"):
            if ident in frame.columns:
                raise ReportError(
                    f"table {name!r} has a record-level column {ident!r}; publish aggregates only"
                )
        published = publish(frame, threshold=self.threshold, counts=counts, decimals=decimals)
        sheet = f"{self.name[:12]}_{name}"[:31]
        self.tables.append({"name": name, "sheet": sheet, "caption": caption, "notes": notes})
        published.to_pickle(self.work_dir / "content" / f"{self.name}__{name}.pkl")
        self.blocks.append(
            {
                "type": "table",
                "name": name,
                "sheet": sheet,
                "caption": caption,
                "notes": notes,
                "count_columns": [c for c in published.columns if c in (counts or COUNT_COLUMNS)],
            }
        )
        self._save()
        return published

    def figure(self, ax, *, caption: str) -> None:
        """Record a matplotlib figure (as an embedded PNG)."""
        import matplotlib.pyplot as plt

        fig = ax.figure if hasattr(ax, "figure") else ax
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        index = sum(1 for b in self.blocks if b["type"] == "figure")
        path = self.work_dir / "content" / f"{self.name}__figure{index}.png"
        path.write_bytes(buf.getvalue())
        self.blocks.append({"type": "figure", "file": path.name, "caption": caption})
        self._save()

    def _save(self) -> None:
        path = self.work_dir / "content" / f"{self.name}.json"
        path.write_text(
            json.dumps({"name": self.name, "title": self.title, "blocks": self.blocks}, indent=1)
        )


def chapter(name: str, *, title: str, work_dir: str, suppression_threshold: int) -> Chapter:
    """Start recording a chapter (called by each notebook after its parameter check)."""
    work = Path(work_dir)
    (work / "content").mkdir(parents=True, exist_ok=True)
    ch = Chapter(name=name, title=title, work_dir=work, threshold=suppression_threshold)
    ch._save()
    return ch


def publish(frame: pd.DataFrame, *, threshold: int, counts=None, decimals: int = 2) -> pd.DataFrame:
    """A table as published: counts from 1 to ``threshold`` become ``[c]``, missing values ``[x]``,
    floats rounded for display. Rows with status ``suppressed`` lose their rates and ratios too."""
    from ..disclosure import CONFIDENTIAL, NOT_AVAILABLE

    out = frame.copy().reset_index(drop=True)
    count_cols = [c for c in out.columns if c in (counts or COUNT_COLUMNS)]
    hide_row = np.zeros(len(out), dtype=bool)
    if "status" in out.columns:
        hide_row = (out["status"] == "suppressed").to_numpy()
    for c in out.columns:
        col = out[c]
        if c in count_cols:
            num = pd.to_numeric(col, errors="coerce")
            small = ((num >= 1) & (num <= threshold)).to_numpy()
            text = num.map(
                lambda v: (
                    NOT_AVAILABLE
                    if pd.isna(v)
                    else f"{int(round(v)):,}"
                    if float(v).is_integer()
                    else f"{v:,.1f}"
                )
            )
            text[small] = CONFIDENTIAL
            text[col.astype(object).eq(CONFIDENTIAL).to_numpy()] = CONFIDENTIAL  # withheld upstream
            out[c] = text.astype(object)
        elif pd.api.types.is_float_dtype(col):
            text = col.map(lambda v: NOT_AVAILABLE if pd.isna(v) else f"{v:,.{decimals}f}")
            text[hide_row] = CONFIDENTIAL
            out[c] = text.astype(object)
        elif pd.api.types.is_bool_dtype(col) or str(col.dtype) == "boolean":
            out[c] = col.map(
                lambda v: NOT_AVAILABLE if pd.isna(v) else ("yes" if v else "no")
            ).astype(object)
        else:
            out[c] = col.map(
                lambda v: (
                    NOT_AVAILABLE if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                )
            ).astype(object)
    return out
