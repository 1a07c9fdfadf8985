"""Assembly of what the chapters recorded into the report's outputs: one self-contained HTML
document, the PDF printed from it (weasyprint) and the workbook of every table (openpyxl)."""

from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..disclosure import publishable
from ._html_tables import table_html
from .params import slug
from .present import present, read_values
from .workbook import write_workbook

__all__ = [
    "CSS",
    "WARNING_COLUMNS",
    "html_table",
    "assemble_html",
    "warnings_table",
    "write_xlsx",
    "write_pdf",
]

#: Columns of the table of warnings raised while the report rendered (:func:`warnings_table`).
WARNING_COLUMNS = ("chapter", "warning", "message", "times")
#: At most this many warnings are listed (the most frequent first after the first 200).
_MAX_WARNINGS = 200


CSS = """
@page { size: A4; margin: 18mm 14mm 20mm 14mm;
  @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; }
  @top-center { content: string(banner); font-size: 8pt; color: #a00; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; line-height: 1.4; color: #111;
  max-width: 60em; margin: auto; padding: 0 1em; }
.banner { string-set: banner content(); background: #fde8e8; color: #900; border: 1px solid #e0a0a0;
  padding: 4px 8px; font-weight: bold; margin: 6px 0; }
h1 { font-size: 18pt; margin-top: 0.5em; } h2 { font-size: 14pt; border-bottom: 1px solid #ccc;
  page-break-before: always; margin-top: 1em; } h2.first { page-break-before: avoid; }
h3 { font-size: 11.5pt; } table { border-collapse: collapse; margin: 0.5em 0 0.2em 0; font-size: 8pt;
  width: 100%; table-layout: auto; page-break-inside: auto; } tr { page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: right; vertical-align: top; }
td.num, td.count { white-space: nowrap; } td.text, th.text { text-align: left; overflow-wrap: break-word; }
td.reference { text-align: center; font-style: italic; color: #444; }
th { background: #eef; font-weight: bold; } .table-wrap { overflow-x: auto; max-width: 100%; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 3px 0; font-size: 9pt; }
.notes { font-size: 8pt; color: #333; margin-bottom: 1em; } figure { margin: 0.5em 0; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; } figcaption { font-size: 8.5pt; color: #333; }
nav ol { columns: 2; } @media print { nav { display: none; } .table-wrap { overflow: visible; } }
"""


def read_published(path: Path) -> pd.DataFrame:
    """A published table recorded by a chapter (text cells, JSON; nothing that runs code)."""
    import json

    doc = json.loads(path.read_text(encoding="utf-8"))
    return pd.DataFrame(doc["data"], columns=doc["columns"], dtype=object)


def html_table(frame: pd.DataFrame, block: dict, *, params: dict | None = None, values=None) -> str:
    """A published table as the report's HTML (:func:`dispro.report.present.present`'s labels and
    text, laid out to fit the page by :func:`dispro.report._html_tables.table_html`).
    ``values``: the full values of its shown cells (:func:`dispro.report.present.read_values`)."""
    shown = present(frame, block, params or {}, values=values)
    return table_html(shown, block)


def warnings_table(chapters: list[dict], *, loading: list | None = None) -> pd.DataFrame:
    """Every warning kept while the report rendered (:data:`WARNING_COLUMNS`): those raised
    while the data were loaded, then each chapter's in the report's order; one row per chapter,
    warning class and message, with how often it was raised."""
    rows = [{"chapter": "Loading the data", **w} for w in loading or []]
    for ch in chapters:
        rows += [{"chapter": ch["title"], **w} for w in ch.get("warnings", [])]
    table = pd.DataFrame(rows, columns=["chapter", "category", "message", "times"])
    table = table.rename(columns={"category": "warning"})[list(WARNING_COLUMNS)]
    return table.head(_MAX_WARNINGS).reset_index(drop=True)


def assemble_html(
    chapters: list[dict],
    work: Path,
    params: dict,
    synthetic: bool,
    *,
    loading: list | None = None,
) -> tuple[str, list]:
    """The report as one HTML document, and its tables ``(block, published frame, chapter
    title)`` for the workbook. ``loading``: the warnings kept while the data were loaded."""
    title = params["title"] or (
        f"{params['area']} disproportionality report, {params['period_start']} to {params['period_end']}"
        if params["report"] == "wessex"
        else f"{params['area']} out-of-court disposals scrutiny pack, {params['period_start']} to {params['period_end']}"
        if params["report"] == "oocd"
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
        anchor = slug(ch["name"])
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
                frame = read_published(work / "content" / f"{ch['name']}__{block['name']}.json")
                values = read_values(work / "content", block, frame)
                if block.get("printed", True):
                    parts.append(html_table(frame, block, params=params, values=values))
                tables.append((block, frame, ch["title"]))
            elif kind == "warnings":
                raised = warnings_table(chapters, loading=loading)
                if raised.empty:
                    parts.append("<p>No warning was raised while the report was rendered.</p>")
                    continue
                frame = publishable(raised, threshold=params["suppression_threshold"], counts=())
                table = {
                    "type": "table",
                    "name": "warnings",
                    "sheet": f"{ch['name'][:12]}_warnings",
                    "caption": block["caption"],
                    "notes": "",
                    "count_columns": [],
                }
                parts.append(html_table(frame, table, params=params))
                tables.append((table, frame, ch["title"]))
            elif kind == "figure":
                data = base64.b64encode((work / "content" / block["file"]).read_bytes()).decode()
                parts.append(
                    f'<figure><img alt="{html.escape(block.get("alt") or block["caption"])}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(block['caption'])}</figcaption></figure>"
                )
    nav.append("</ol></nav>")
    body = parts[:3] + nav + parts[3:]
    document = (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return document, tables


def write_xlsx(path: Path, tables: list, params: dict, synthetic: bool, **options) -> None:
    """The workbook (:func:`dispro.report.workbook.write_workbook`: cover, contents, notes,
    then one table per sheet; ``options``: its ``content`` and ``inputs``)."""
    write_workbook(path, tables, params, synthetic, **options)


def write_pdf(html_text: str, path: Path) -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html_text).write_pdf(path, pdf_tags=True)  # a tagged (accessible) PDF
