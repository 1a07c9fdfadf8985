"""The Wessex disproportionality report: parameters -> notebooks (papermill) -> HTML, PDF, XLSX.

The renderer checks the parameters, loads the data once into a private work folder, executes the
chapter notebooks with papermill from the project root, and assembles what the notebooks recorded
(headings, text, suppressed tables, figures) into one report:

- ``<name>.html``: self-contained (figures embedded, no request to any network), printable;
- ``<name>.pdf``: the same, paginated (weasyprint);
- ``<name>.xlsx``: every table of the report (suppressed) with a notes sheet;
- ``notebooks/``: the executed notebooks; ``provenance.json``: version, parameters, run id,
  input file hashes and timings.

Everything is written into a staging folder and moved into place at the end: a failed run leaves
no report, only the failing notebook under ``<name>.failed/`` and a clear message.

Notebooks talk to the renderer through :class:`Chapter` (``dispro.report.chapter(...)``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import io
import json
import os
import pickle
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import ledger
from ._paths import PACKAGE_DIR
from ._version import __version__
from .errors import DisproError, ParameterError, did_you_mean

__all__ = [
    "PARAMETERS",
    "CHAPTERS",
    "ReportError",
    "check_parameters",
    "render",
    "chapter",
    "Chapter",
    "load",
    "render_batch",
    "report_name",
]


class ReportError(DisproError):
    """A report could not be rendered; nothing that looks like a report was left behind."""


#: The report parameters: name -> (type, default, description). ``None`` default = required.
PARAMETERS: dict[str, tuple[type | tuple, object, str]] = {
    "report": (
        str,
        "wessex",
        "'wessex' (the full report) or 'scrutiny' (the stop-and-search pack)",
    ),
    "area": (str, None, "'Wessex', 'Hampshire', 'Dorset', 'Wiltshire' or any police force area"),
    "period_start": (str, "2021-04", "first month of the period, YYYY-MM"),
    "period_end": (str, "2024-03", "last month of the period, YYYY-MM"),
    "comparison_start": (
        str,
        "",
        "first month of the comparison period (blank: the first year of the period)",
    ),
    "comparison_end": (
        str,
        "",
        "last month of the comparison period (blank: the first year of the period)",
    ),
    "reference": (str, "White", "the reference group of every ratio"),
    "ethnicity": (str, "self_defined", "'self_defined', 'officer_defined' or 'fallback'"),
    "alpha": (
        float,
        0.05,
        "significance level: intervals are at 1 - alpha confidence (after Benjamini-Hochberg)",
    ),
    "suppression_threshold": (int, 4, "counts from 1 to this are suppressed ([c])"),
    "data": (
        str,
        "demo",
        "'demo' (bundled synthetic Wessex data) or a YAML data configuration file",
    ),
    "seed": (int, 2026, "seed of the synthetic demo data"),
    "scale": (
        float,
        1.0,
        "size of the synthetic demo data (1.0 gives a few tens of thousands of records)",
    ),
    "title": (str, "", "report title (blank: built from the area and period)"),
}

#: Chapter notebooks of each report kind, in order.
CHAPTERS = {
    "wessex": [
        "summary",
        "stop_search",
        "out_of_court",
        "charging",
        "sentencing",
        "data_quality",
        "methods",
    ],
    "scrutiny": ["summary", "stop_search", "data_quality", "methods"],
}
_INTERNAL = ("work_dir",)


def _notebooks_dir() -> Path:
    installed = PACKAGE_DIR / "notebooks"
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent.parent / "notebooks"


def _project_root() -> Path:
    root = PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def check_parameters(params: dict) -> dict:
    """Refuse unknown or missing parameters and wrong types; fill defaults. Returns a new dict."""
    if not isinstance(params, dict):
        raise ParameterError(f"report parameters must be a mapping, not {type(params).__name__}")
    unknown = [k for k in params if k not in PARAMETERS and k not in _INTERNAL]
    if unknown:
        raise ParameterError(
            "unknown report parameter(s): "
            + ", ".join(f"{k!r}{did_you_mean(k, PARAMETERS)}" for k in unknown)
            + f"; the parameters are {list(PARAMETERS)}"
        )
    out = {}
    for name, (kind, default, description) in PARAMETERS.items():
        if name not in params or params[name] is None:
            if default is None:
                raise ParameterError(f"the report parameter {name!r} is missing: {description}")
            out[name] = default
            continue
        value = params[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ParameterError(
                f"the report parameter {name!r} must be {kind.__name__}, but {value!r} was passed ({description})"
            )
        out[name] = value
    if out["report"] not in CHAPTERS:
        raise ParameterError(
            f"`report` must be one of {tuple(CHAPTERS)}, but {out['report']!r} was passed"
        )
    for key in ("period_start", "period_end", "comparison_start", "comparison_end"):
        if out[key] and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", out[key]):
            raise ParameterError(
                f"`{key}` must be a month written YYYY-MM, but {out[key]!r} was passed"
            )
    if out["period_start"] > out["period_end"]:
        raise ParameterError("`period_start` is after `period_end`")
    if not out["comparison_start"]:
        start = pd.Period(out["period_start"], freq="M")
        out["comparison_start"] = str(start)
        out["comparison_end"] = str(min(start + 11, pd.Period(out["period_end"], freq="M")))
    if not (0 < out["alpha"] < 1):
        raise ParameterError(f"`alpha` must lie between 0 and 1, but {out['alpha']!r} was passed")
    if out["suppression_threshold"] < 0:
        raise ParameterError("`suppression_threshold` must not be negative")
    for internal in _INTERNAL:
        if internal in params:
            out[internal] = params[internal]
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def report_name(params: dict) -> str:
    """The output folder and file name built from the parameters."""
    kind = (
        "wessex-disproportionality-report"
        if params["report"] == "wessex"
        else "stop-search-scrutiny-pack"
    )
    return f"{kind}_{_slug(params['area'])}_{params['period_start']}_{params['period_end']}"


# --------------------------------------------------------------------------------------------
# data: loaded once per run into the work folder
# --------------------------------------------------------------------------------------------


def _load_data(params: dict, work: Path) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Datasets for the report and the input files with their hashes."""
    from .readers import read_police_uk, read_records

    inputs: list[dict] = []
    if params["data"] == "demo":
        from . import synth

        start, end = params["period_start"], params["period_end"]
        folder = work / "demo_inputs"
        paths = synth.write(
            folder, start=start, end=end, scale=params["scale"], seed=params["seed"]
        )
        data = {}
        for dataset in ("disposals", "charging", "sentencing"):
            matches = sorted(folder.glob(f"synthetic_{dataset}_*"))
            if matches:
                data[dataset] = read_records(matches[0], dataset=dataset)
        data["stop_search"] = read_police_uk(folder / "stop_search")
        for p in paths:
            p = Path(p)
            if p.is_file():
                inputs.append(
                    {"file": f"synthetic demo: {p.relative_to(folder)}", "sha256": _sha256(p)}
                )
        return data, inputs
    config_path = Path(params["data"])
    if not config_path.is_file():
        raise ReportError(f"the data configuration {str(config_path)!r} does not exist")
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    base = config_path.parent
    data = {}
    unknown = [
        k
        for k in config
        if k not in ("stop_search", "disposals", "charging", "sentencing", "mappings")
    ]
    if unknown:
        raise ReportError(
            f"{config_path}: unknown dataset(s) {unknown}; use stop_search, disposals, charging, sentencing"
        )
    mappings = config.get("mappings") or {}
    for dataset, spec in config.items():
        if dataset == "mappings":
            continue
        paths = [spec] if isinstance(spec, str) else list(spec)
        resolved = [(base / p) if not Path(p).is_absolute() else Path(p) for p in paths]
        if dataset == "stop_search":
            data[dataset] = read_police_uk(resolved)
        else:
            data[dataset] = read_records(resolved, dataset=dataset, mapping=mappings.get(dataset))
        for p in resolved:
            files = sorted(p.rglob("*.csv")) if p.is_dir() else [p]
            for f in files:
                inputs.append({"file": str(f), "sha256": _sha256(f)})
    if not data:
        raise ReportError(f"{config_path} names no input files")
    return data, inputs


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _filter(data: dict[str, pd.DataFrame], params: dict) -> dict[str, pd.DataFrame]:
    """Keep the report's area and period (and count what is left out)."""
    from .forces import normalise_force, wessex_forces

    area = params["area"]
    forces = wessex_forces() if area.lower() == "wessex" else [normalise_force(area)]
    start = pd.Period(params["period_start"], freq="M")
    end = pd.Period(params["period_end"], freq="M")
    out = {}
    for name, frame in data.items():
        keep = np.ones(len(frame), dtype=bool)
        if "force" in frame.columns:
            keep &= frame["force"].isin(forces).to_numpy()
        if "month" in frame.columns:
            month = pd.PeriodIndex(frame["month"].astype(str), freq="M")
        else:
            month = pd.to_datetime(frame["date"], utc=True).dt.tz_localize(None).dt.to_period("M")
        keep &= np.asarray((month >= start) & (month <= end))
        sub = frame.loc[keep].copy()
        sub.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in frame.attrs.items()}
        ledger.record(
            sub, "report", f"{name}: rows outside {area} {start} to {end}", int((~keep).sum())
        )
        if "coverage" in frame.attrs:
            cov = pd.DataFrame(frame.attrs["coverage"])
            cm = pd.PeriodIndex(cov["month"].astype(str), freq="M")
            cov = cov[
                cov["force"].isin(forces).to_numpy() & np.asarray((cm >= start) & (cm <= end))
            ]
            sub.attrs["coverage"] = cov.to_dict("records")
        out[name] = sub
    return out


def load(work_dir: str) -> dict[str, pd.DataFrame]:
    """The report's datasets (for the notebooks): read from the run's private work folder."""
    with open(Path(work_dir) / "data.pkl", "rb") as fh:
        return pickle.load(fh)


# --------------------------------------------------------------------------------------------
# what notebooks record
# --------------------------------------------------------------------------------------------

_COUNT_COLUMNS = (
    "events", "base", "reference_events", "reference_base", "searches", "hits", "searches_total",
    "n", "n_minority", "n_reference", "count", "unknown_events", "events_missing_age",
)  # fmt: skip
_MAX_ROWS = 400


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
        if len(frame) > _MAX_ROWS:
            raise ReportError(
                f"table {name!r} has {len(frame)} rows: published tables hold aggregates, not "
                f"records (at most {_MAX_ROWS} rows)"
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
                "count_columns": [c for c in published.columns if c in (counts or _COUNT_COLUMNS)],
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
    from .disclosure import CONFIDENTIAL, NOT_AVAILABLE

    out = frame.copy().reset_index(drop=True)
    count_cols = [c for c in out.columns if c in (counts or _COUNT_COLUMNS)]
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


# --------------------------------------------------------------------------------------------
# assembly: HTML, PDF, XLSX
# --------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 18mm 14mm 20mm 14mm;
  @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; }
  @top-center { content: string(banner); font-size: 8pt; color: #a00; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; line-height: 1.4; color: #111;
  max-width: 60em; margin: auto; padding: 0 1em; }
.banner { string-set: banner content(); background: #fde8e8; color: #900; border: 1px solid #e0a0a0;
  padding: 4px 8px; font-weight: bold; margin: 6px 0; }
h1 { font-size: 18pt; margin-top: 0.5em; } h2 { font-size: 14pt; border-bottom: 1px solid #ccc;
  page-break-before: always; margin-top: 1em; } h2.first { page-break-before: avoid; }
h3 { font-size: 11.5pt; } table { border-collapse: collapse; margin: 0.5em 0 0.2em 0; font-size: 7.5pt;
  width: 100%; table-layout: auto; page-break-inside: auto; } tr { page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: right; word-break: break-word; }
th { background: #eef; } td.text, th.text { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 3px 0; }
.notes { font-size: 8pt; color: #333; margin-bottom: 1em; } figure { margin: 0.5em 0; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; } figcaption { font-size: 8.5pt; color: #333; }
nav ol { columns: 2; } @media print { nav { display: none; }
  table.wide { font-size: 6.5pt; } table.wide th, table.wide td { padding: 1px 2px; }
  table.wider { font-size: 5.8pt; } table.wider th, table.wider td { padding: 1px 1.5px; } }
"""


def _html_table(frame: pd.DataFrame, block: dict) -> str:
    counts = set(block.get("count_columns", []))
    head = "".join(
        f'<th class="{"count" if c in counts else "text" if frame[c].map(lambda v: not _numeric(v)).all() else "num"}">'
        f"{html.escape(str(c).replace('_', ' '))}</th>"
        for c in frame.columns
    )
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, values, strict=True):
            cls = "count" if c in counts else ("num" if _numeric(v) else "text")
            text = html.escape(str(v))
            if (
                cls == "text"
            ):  # a line may break after an underscore (codes such as partly_supplied)
                text = text.replace("_", "_<wbr>")
            cells.append(f'<td class="{cls}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = f'<p class="notes">{html.escape(block["notes"])}</p>' if block.get("notes") else ""
    # wide tables get a smaller type and tighter cells so that they fit an A4 page in print
    ncol = len(frame.columns)
    width = ' class="wide"' if 10 < ncol <= 14 else ' class="wider"' if ncol > 14 else ""
    return (
        f'<table{width} data-sheet="{html.escape(block["sheet"])}"><caption>{html.escape(block["caption"])}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{notes}"
    )


def _numeric(v) -> bool:
    return bool(re.fullmatch(r"-?[\d,]+(\.\d+)?", str(v)))


def _assemble_html(
    chapters: list[dict], work: Path, params: dict, synthetic: bool
) -> tuple[str, list]:
    title = params["title"] or (
        f"{params['area']} disproportionality report, {params['period_start']} to {params['period_end']}"
        if params["report"] == "wessex"
        else f"{params['area']} stop and search scrutiny pack, {params['period_start']} to {params['period_end']}"
    )
    banner = (
        '<div class="banner">SYNTHETIC DEMONSTRATION DATA: not real people, not real figures '
        "(population denominators are real Census 2021)</div>"
        if synthetic
        else ""
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        banner,
        f"<p>Produced by dispro {html.escape(__version__)} on "
        f"{html.escape(_dt.date.today().isoformat())}.</p>",
    ]
    nav = ["<nav><h3>Contents</h3><ol>"]
    tables = []
    for i, ch in enumerate(chapters):
        anchor = _slug(ch["name"])
        nav.append(f'<li><a href="#{anchor}">{html.escape(ch["title"])}</a></li>')
        parts.append(
            f'<h2 id="{anchor}" class="{"first" if i == 0 else ""}">{html.escape(ch["title"])}</h2>'
        )
        if synthetic and i > 0:
            parts.append(banner)
        for block in ch["blocks"]:
            kind = block["type"]
            if kind == "heading":
                level = min(max(block["level"], 3), 4)
                parts.append(f"<h{level}>{html.escape(block['text'])}</h{level}>")
            elif kind == "text":
                parts.append(f"<p>{html.escape(block['text'])}</p>")
            elif kind == "bullets":
                parts.append(
                    "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in block["items"]) + "</ul>"
                )
            elif kind == "table":
                frame = pd.read_pickle(work / "content" / f"{ch['name']}__{block['name']}.pkl")
                parts.append(_html_table(frame, block))
                tables.append((block, frame, ch["title"]))
            elif kind == "figure":
                data = base64.b64encode((work / "content" / block["file"]).read_bytes()).decode()
                parts.append(
                    f'<figure><img alt="{html.escape(block["caption"])}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(block['caption'])}</figcaption></figure>"
                )
    nav.append("</ol></nav>")
    body = parts[:3] + nav + parts[3:]
    document = (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return document, tables


def _write_xlsx(path: Path, tables: list, params: dict, synthetic: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    lines = [
        "dispro disproportionality report: tables",
        "SYNTHETIC DEMONSTRATION DATA: not real people or figures" if synthetic else "",
        f"Area: {params['area']}; period {params['period_start']} to {params['period_end']}",
        f"Reference group: {params['reference']}; ethnicity: {params['ethnicity']}",
        f"Symbols (Government Analysis Function guidance): [c] confidential: a count from 1 to "
        f"{params['suppression_threshold']}, suppressed; [x] not available; [z] not applicable.",
        f"Significance: Benjamini-Hochberg q-value below {params['alpha']} over each table "
        "(dispro's convention; official tables flag on raw p-values).",
        "Intervals: 95% unless stated; rates per 1,000 residents use Census 2021 usual residents.",
        "",
        "Sheet | Chapter | Table",
    ]
    for line in lines:
        notes.append([line])
    for block, _, chapter_title in tables:
        notes.append([f"{block['sheet']} | {chapter_title} | {block['caption']}"])
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 120
    for block, frame, _ in tables:
        ws = wb.create_sheet(block["sheet"])
        ws.append([block["caption"]])
        ws["A1"].font = Font(bold=True)
        if block.get("notes"):
            ws.append([block["notes"]])
        ws.append([str(c) for c in frame.columns])
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
        for values in frame.itertuples(index=False):
            row = []
            for v in values:
                text = str(v)
                if _numeric(text):
                    number = float(text.replace(",", ""))
                    row.append(int(number) if number.is_integer() and "." not in text else number)
                else:
                    row.append(text)
            ws.append(row)
        for i, c in enumerate(frame.columns, start=1):
            width = max([len(str(c))] + [len(str(v)) for v in frame[c].head(50)]) + 2
            ws.column_dimensions[get_column_letter(i)].width = min(width, 60)
            for cell in ws[get_column_letter(i)][header_row:]:
                cell.alignment = Alignment(horizontal="right" if _numeric(cell.value) else "left")
    wb.properties.creator = f"dispro {__version__}"
    wb.properties.created = _dt.datetime(2000, 1, 1)
    wb.properties.modified = _dt.datetime(2000, 1, 1)
    wb.save(path)


def _write_pdf(html_text: str, path: Path) -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html_text).write_pdf(path)


# --------------------------------------------------------------------------------------------
# the renderer
# --------------------------------------------------------------------------------------------


class _Kernels:
    """Jupyter kernels started once and reused by the chapters of one run (or of a batch).

    Starting a kernel and importing the scientific stack costs about 3 seconds; a report has 7
    chapters and a batch 28. Each chapter still runs in a clean namespace: the kernel's
    variables are cleared and open figures closed before it starts (imported modules stay).
    """

    def __init__(self, n: int):
        import queue

        self.size = n
        self._free: queue.Queue = queue.Queue()
        self._all: list = []

    def __enter__(self):
        for _ in range(self.size):
            km = self._start()
            self._all.append(km)
            self._free.put(km)
        return self

    def __exit__(self, *exc):
        for km in self._all:
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # pragma: no cover - a kernel that is already gone
                pass
        return False

    @staticmethod
    def _start():
        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(_project_root()))
        return km

    def run(self, fn, *args):
        km = self._free.get()
        try:
            if not km.is_alive():  # a chapter crashed its kernel: start another
                self._all.remove(km)
                km = self._start()
                self._all.append(km)
            _clean(km)
            return fn(*args, km=km)
        finally:
            self._free.put(km)


def _clean(km) -> None:
    """Clear the kernel's namespace and close its figures before the next chapter."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        kc.execute_interactive(
            "get_ipython().run_line_magic('reset', '-f')\n"
            "import sys as _s\n"
            "if 'matplotlib.pyplot' in _s.modules: _s.modules['matplotlib.pyplot'].close('all')\n"
            "del _s",
            timeout=120,
            store_history=False,
        )
    finally:
        kc.stop_channels()


def _execute(
    chapter_name: str, final_stage: Path, nb_params: dict, failed_dir: Path, *, km=None
) -> float:
    """Execute one chapter notebook with papermill (in kernel ``km`` if given); its wall time."""
    import papermill as pm

    source = _notebooks_dir() / f"{chapter_name}.ipynb"
    target = final_stage / "notebooks" / f"{chapter_name}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=nb_params,
            cwd=str(_project_root()),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            report_mode=True,
            **({"km": km} if km is not None else {}),
        )
    except Exception as exc:  # papermill raises its own and kernel errors
        failed_dir.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.copy2(target, failed_dir / target.name)
        raise ReportError(
            f"the {chapter_name!r} chapter failed ({type(exc).__name__}: {str(exc).strip()[:2000]}). "
            f"The executed notebook is kept at {failed_dir / target.name}; no report was written."
        ) from exc
    return round(time.perf_counter() - t0, 3)


def _workers(jobs: int) -> int:
    return max(1, min(int(os.environ.get("DISPRO_REPORT_WORKERS", os.cpu_count() or 1)), jobs))


class _Run:
    """One report being rendered: a staging folder, its chapters, then the assembled outputs."""

    def __init__(self, params: dict, out_dir: Path, loaded: tuple | None):
        self.params = params = check_parameters(params)
        self.name = report_name(params)
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = uuid.uuid4().hex[:12]
        self.staging = out_dir / f".{self.name}.partial-{self.run_id}"
        self.final_stage = self.staging / self.name
        self.work = self.staging / "work"
        (self.final_stage / "notebooks").mkdir(parents=True)
        (self.work / "content").mkdir(parents=True)
        self.timings: dict[str, float] = {}
        self.started = time.perf_counter()
        self.failed_dir = out_dir / f"{self.name}.failed"
        t0 = time.perf_counter()
        try:
            data, self.inputs = loaded if loaded is not None else _load_data(params, self.work)
            data = _filter(data, params)
            with open(self.work / "data.pkl", "wb") as fh:
                pickle.dump(data, fh)
        except BaseException:
            self.cleanup()
            raise
        self.timings["load_data"] = round(time.perf_counter() - t0, 3)
        self.nb_params = {**{k: params[k] for k in PARAMETERS}, "work_dir": str(self.work)}
        self.chapters = list(CHAPTERS[params["report"]])

    def chapter(self, name: str, *, km=None) -> None:
        self.timings[name] = _execute(
            name, self.final_stage, self.nb_params, self.failed_dir, km=km
        )

    def finish(self, pdf: bool) -> Path:
        """Assemble the HTML, workbook, PDF and provenance, and move the report into place."""
        params, name, final_stage = self.params, self.name, self.final_stage
        chapters = [
            json.loads((self.work / "content" / f"{n}.json").read_text()) for n in self.chapters
        ]
        synthetic = params["data"] == "demo"
        t0 = time.perf_counter()
        document, tables = _assemble_html(chapters, self.work, params, synthetic)
        (final_stage / f"{name}.html").write_text(document, encoding="utf-8")
        _write_xlsx(final_stage / f"{name}.xlsx", tables, params, synthetic)
        self.timings["html_xlsx"] = round(time.perf_counter() - t0, 3)
        if pdf:
            t0 = time.perf_counter()
            _write_pdf(document, final_stage / f"{name}.pdf")
            self.timings["pdf"] = round(time.perf_counter() - t0, 3)
        self.timings["total"] = round(time.perf_counter() - self.started, 3)
        timings = {k: self.timings[k] for k in ["load_data", *self.chapters, "html_xlsx", "pdf",
                                                 "total"] if k in self.timings}  # fmt: skip
        provenance = {
            "dispro_version": __version__,
            "report": name,
            "run_id": self.run_id,
            "parameters": {k: params[k] for k in PARAMETERS},
            "synthetic": synthetic,
            "inputs": self.inputs,
            "tables": [{"sheet": b["sheet"], "caption": b["caption"]} for b, _, _ in tables],
            "timings_seconds": timings,
            "rendered_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        (final_stage / "provenance.json").write_text(
            json.dumps(provenance, indent=2), encoding="utf-8"
        )
        destination = self.out_dir / name
        if destination.exists():
            trash = self.out_dir / f".{name}.old-{self.run_id}"
            os.replace(destination, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(final_stage, destination)
        if self.failed_dir.exists():
            shutil.rmtree(self.failed_dir, ignore_errors=True)
        return destination

    def cleanup(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def render(
    params: dict, out_dir: str | Path = "reports", *, pdf: bool = True, _loaded: tuple | None = None
) -> Path:
    """Render a report from its parameters into ``out_dir/<name>/``; returns that folder.

    Parameters
    ----------
    params : dict
        The report parameters (:data:`PARAMETERS`); unknown or missing ones are refused.
    out_dir : path
        Where the report folder is written (default ``reports/``).
    pdf : bool
        Also write the PDF (default).

    Raises
    ------
    ParameterError
        Unknown, missing or ill-typed parameters.
    ReportError
        A notebook failed: the message names it and where its executed copy was kept
        (``out_dir/<name>.failed/``); no report files are left.

    Notes
    -----
    The chapters run as many at a time as there are cores (``DISPRO_REPORT_WORKERS`` to
    change it), each in a kernel started once for the run and cleared between chapters.
    """
    params = check_parameters(params)
    run = _Run(params, Path(out_dir).resolve(), _loaded)
    try:
        with _Kernels(_workers(len(run.chapters))) as kernels:
            with ThreadPoolExecutor(max_workers=kernels.size) as pool:
                futures = [pool.submit(kernels.run, run.chapter, n) for n in run.chapters]
                errors = []
                for f in futures:
                    try:
                        f.result()
                    except ReportError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
        return run.finish(pdf)
    finally:
        run.cleanup()


def render_batch(
    params: dict, out_dir: str | Path = "reports", *, pdf: bool = True, progress: bool = False
) -> Path:
    """Render the report for Wessex and for each Wessex force, and an index page linking them.

    Returns the path of ``index.html`` in ``out_dir``. The data are loaded once; the chapters of
    every area share one pool of kernels (one per core), and each area's HTML, workbook and PDF
    are written while the next areas' chapters run. A failed area leaves no report of its own
    (the others are written) and the first failure is raised at the end.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from .forces import wessex_forces

    areas = ["Wessex", *wessex_forces()]
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    checked = check_parameters({**params, "area": areas[0]})
    for area in areas[1:]:
        check_parameters({**params, "area": area})
    scratch = out_dir / f".batch-{uuid.uuid4().hex[:12]}"
    scratch.mkdir()
    runs: list[_Run] = []
    folders: dict[str, Path] = {}
    errors: list[ReportError] = []
    bar = None
    try:
        loaded = _load_data(checked, scratch)  # once for every area: each run keeps its own
        runs = [_Run({**params, "area": a}, out_dir, loaded) for a in areas]
        jobs = sum(len(r.chapters) for r in runs)
        if progress:
            from rich.progress import Progress

            bar = Progress()
            bar.start()
            task = bar.add_task("rendering", total=jobs + len(runs))
        with (
            _Kernels(_workers(jobs)) as kernels,
            ThreadPoolExecutor(max_workers=kernels.size) as pool,
            ThreadPoolExecutor(max_workers=1) as finisher,
        ):
            pending = {}
            for run in runs:
                for n in run.chapters:
                    pending[pool.submit(kernels.run, run.chapter, n)] = run
            left = {id(r): len(r.chapters) for r in runs}
            failed: set[int] = set()
            finishing = {}
            while pending or finishing:
                done, _ = wait([*pending, *finishing], return_when=FIRST_COMPLETED)
                for f in done:
                    if f in pending:
                        run = pending.pop(f)
                        try:
                            f.result()
                        except ReportError as exc:
                            errors.append(exc)
                            failed.add(id(run))
                        left[id(run)] -= 1
                        if left[id(run)] == 0 and id(run) not in failed:
                            finishing[finisher.submit(run.finish, pdf)] = run
                    else:
                        run = finishing.pop(f)
                        try:
                            folders[run.params["area"]] = f.result()
                        except Exception as exc:  # noqa: BLE001 - reported below
                            errors.append(ReportError(f"{run.name}: {exc}"))
                    if bar is not None:
                        bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
        for run in runs:
            run.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
    if errors:
        raise errors[0]
    folders = [(a, folders[a]) for a in areas]
    items = "".join(
        f'<li><a href="{html.escape(f.name)}/{html.escape(f.name)}.html">{html.escape(a)}</a> '
        f'(<a href="{html.escape(f.name)}/{html.escape(f.name)}.pdf">PDF</a>, '
        f'<a href="{html.escape(f.name)}/{html.escape(f.name)}.xlsx">Excel</a>)</li>'
        for a, f in folders
    )
    index = out_dir / "index.html"
    index.write_text(
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>dispro reports</title>'
        f"<style>{_CSS}</style></head><body><h1>Disproportionality reports</h1><ul>{items}</ul></body></html>\n",
        encoding="utf-8",
    )
    return index
