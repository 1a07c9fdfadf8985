"""A published table as HTML that fits the page: :func:`dispro.report.present.present`'s labels
and text, an interval's two bounds in one column ("1.17 to 1.30"), the reference group's
not-applicable cells as one cell, and a table too wide for an A4 page at 8 pt split into parts
that repeat the row labels, so that no number is ever broken across lines or cut off."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from pathlib import Path

from .present import MARKERS, STATUS_WORDS, Presented

__all__ = ["TEXT_WIDTH_PT", "TABLE_FONT_PT", "table_html", "column_widths"]

#: The width of the A4 page's text area: 210 mm less the 14 mm side margins, in points.
TEXT_WIDTH_PT = (210 - 2 * 14) / 25.4 * 72
#: The type size of tables in print (the accessible minimum).
TABLE_FONT_PT = 8.0
#: Each cell's padding and border, in points (``padding: 2px 4px``, a 1px border).
_CELL_EXTRA_PT = 8 * 0.75 + 0.75
#: The share of the text area a table is planned to fill (the width estimate's margin).
_FILL = 0.94
#: A word longer than this may break anywhere (a file path in a warning), so it is planned
#: at this width.
_LONGEST_WORD_PT = 110.0


@functools.cache
def _font(bold: bool):
    import matplotlib
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), 100)


@functools.lru_cache(maxsize=65536)
def _width(text: str, bold: bool = False) -> float:
    """The width of ``text`` in DejaVu Sans at the table size, in points."""
    return _font(bold).getlength(text) * TABLE_FONT_PT / 100


def _widest_word(text: str, bold: bool = False) -> float:
    words = text.replace("-", "- ").split() or [""]
    return min(max(_width(w, bold) for w in words), _LONGEST_WORD_PT)


@dataclass
class _Column:
    label: str
    texts: list[str]
    kind: str  # "text", "num" or "count"
    name: str = ""

    def width(self) -> float:
        """The narrowest the column can be: its header's longest word (bold), a number whole
        (numbers never wrap), a text cell's longest word."""
        cells = [_width(t) if self.kind != "text" else _widest_word(t) for t in self.texts]
        return max([_widest_word(self.label, bold=True), *cells]) + _CELL_EXTRA_PT


def _columns(shown: Presented) -> list[_Column]:
    """The display columns: an interval's lower and upper bounds side by side become one."""
    out, i, names = [], 0, shown.columns
    cells = list(zip(*shown.rows, strict=True)) if shown.rows else [() for _ in names]
    while i < len(names):
        c, texts = names[i], [x.text for x in cells[i]]
        number = [x.number for x in cells[i]]
        kind = "count" if c in shown.counts else "num" if any(number) else "text"
        if c.endswith("ci_lower") and i + 1 < len(names) and names[i + 1] == c[:-5] + "upper":
            uppers = [x.text for x in cells[i + 1]]
            joined = [lo if lo == hi and not n else f"{lo} to {hi}"
                      for lo, hi, n in zip(texts, uppers, number, strict=True)]  # fmt: skip
            label = shown.labels[i].replace(": lower", "")
            out.append(_Column(label, joined, "num", c))
            i += 2
            continue
        out.append(_Column(shown.labels[i], texts, kind, c))
        i += 1
    return out


def column_widths(shown: Presented) -> list[tuple[str, float]]:
    """Each display column's label and narrowest width in points (for the split and tests)."""
    return [(c.label, c.width()) for c in _columns(shown)]


def _parts(columns: list[_Column]) -> list[list[int]]:
    """The columns of each part: all of them when they fit the text area, else the leading
    text columns (the row labels) repeated in parts that each fit."""
    budget = TEXT_WIDTH_PT * _FILL
    widths = [c.width() for c in columns]
    if sum(widths) <= budget:
        return [list(range(len(columns)))]
    keys = []
    for i, c in enumerate(columns):
        if c.kind != "text" or sum(widths[j] for j in keys) + widths[i] > budget * 0.45:
            break
        keys.append(i)
    room = budget - sum(widths[j] for j in keys)
    parts, current, used = [], [], 0.0
    for i in range(len(keys), len(columns)):
        if current and used + widths[i] > room:
            parts.append(current)
            current, used = [], 0.0
        current.append(i)
        used += widths[i]
    if current:
        parts.append(current)
    return [keys + p for p in parts]


def _row_html(columns: list[_Column], index: list[int], r: int, reference: bool) -> str:
    cells, k = [], 0
    while k < len(index):
        col = columns[index[k]]
        text = col.texts[r]
        if reference and text == "[z]":  # the reference group's not-applicable cells: one cell
            span = 1
            while k + span < len(index) and columns[index[k + span]].texts[r] == "[z]":
                span += 1
            attr = f' colspan="{span}"' if span > 1 else ""
            cells.append(f'<td class="reference"{attr}>reference group [z]</td>')
            k += span
            continue
        cells.append(f'<td class="{col.kind}">{html.escape(text)}</td>')
        k += 1
    return "<tr>" + "".join(cells) + "</tr>"


def _constants(columns: list[_Column]) -> tuple[list[_Column], list[str]]:
    """The columns left once those holding one value on every row (two rows or more) are
    taken out, and those values as "label: value" for the caption (an empty column goes
    unsaid, and so does a status that is "Estimated" on every row). A count column always
    stays."""
    kept, said = [], []
    for col in columns:
        values = set(col.texts)
        if (
            col.kind != "count"
            and len(col.texts) > 1
            and len(values) == 1
            and not values <= set(MARKERS)
        ):  # a column withheld on every row stays a column
            (value,) = values
            if value.strip() and not (col.name == "status" and value == STATUS_WORDS["ok"]):
                said.append(f"{col.label}: {value}")
            continue
        kept.append(col)
    return (kept, said) if kept else (columns, [])


#: Text columns whose few filled cells are said below the table rather than in a column.
ROW_NOTES = ("note", "notes")


def _row_notes(columns: list[_Column]) -> tuple[list[_Column], list[str]]:
    """A note column filled on at most half of the rows, taken out of the table: each note
    said once below it, with the rows it belongs to (named by the leading text columns)."""
    keys = []
    for col in columns:
        if col.kind != "text" or col.name in ROW_NOTES:
            break
        if len(set(col.texts)) > 1:  # a column of one value names no row (said in the caption)
            keys.append(col)
    kept, said = [], []
    for col in columns:
        filled = [i for i, t in enumerate(col.texts) if t.strip()]
        if col.name in ROW_NOTES and 2 * len(filled) <= len(col.texts):
            rows: dict[str, list[str]] = {}
            for i in filled:
                rows.setdefault(col.texts[i], []).append(", ".join(k.texts[i] for k in keys))
            said += [f"{'; '.join(where)}: {note}" for note, where in rows.items()]
            continue
        kept.append(col)
    return kept, said


def _turned(columns: list[_Column], shown: Presented, block: dict, caption: str) -> str:
    """A table of a few rows too wide for the page, turned: a row per column, a column per
    row (headed by the row's first cell)."""
    head = "".join(f'<th scope="col" class="num">{html.escape(t)}</th>' for t in columns[0].texts)
    body = "".join(
        f'<tr><td class="text">{html.escape(col.label)}</td>'
        + "".join(f'<td class="{col.kind}">{html.escape(t)}</td>' for t in col.texts)
        + "</tr>"
        for col in columns[1:]
    )
    return (
        f'<div class="table-wrap"><table data-sheet="{html.escape(block["sheet"])}">'
        f"<caption>{html.escape(caption)}</caption><thead><tr>"
        f'<th scope="col" class="text">{html.escape(columns[0].label)}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth")  # fmt: skip
_CARDINALS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _part(n: int, of: int) -> str:
    """ "second of three parts": in words, so that no caption reads as a small count."""
    if of <= len(_ORDINALS):
        return f"{_ORDINALS[n - 1]} of {_CARDINALS[of - 1]} parts"
    return f"part {n:,} of {of:,}"


#: A table of at most this many rows that is too wide for the page is turned, not split.
TURN_ROWS = 3


def table_html(shown: Presented, block: dict) -> str:
    """The table as HTML: a column holding one value on every row said once in the caption;
    then one ``<table>``, or, when too wide for the page, the table turned (a few rows) or one
    ``<table>`` per part (the caption saying "part k of n"); the notes after the last."""
    columns, notes = _row_notes(_columns(shown))
    columns, said = _constants(columns)
    caption = block["caption"] + (f" ({'; '.join(said)})" if said else "")
    parts = _parts(columns)
    out = []
    if len(parts) > 1 and 0 < len(shown.rows) <= TURN_ROWS:
        out.append(_turned(columns, shown, block, caption))
        parts = []
    for n, index in enumerate(parts, start=1):
        title = caption + (f" ({_part(n, len(parts))})" if len(parts) > 1 else "")
        head = "".join(
            f'<th scope="col" class="{columns[i].kind}">{html.escape(columns[i].label)}</th>'
            for i in index
        )
        body = "".join(
            _row_html(columns, index, r, shown.reference[r]) for r in range(len(shown.rows))
        )
        out.append(
            f'<div class="table-wrap"><table data-sheet="{html.escape(block["sheet"])}">'
            f"<caption>{html.escape(title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )
    if notes:
        out.append(f'<p class="notes">Notes on rows: {html.escape(". ".join(notes))}.</p>')
    if block.get("notes"):
        out.append(f'<p class="notes">{html.escape(block["notes"])}</p>')
    return "".join(out)
