"""The demo report read as a board member and a checker would (issue 14's acceptance).

The demo (what ``dispro report --demo`` renders) is rendered once for this module; its PDF is read
with poppler's ``pdftotext``, ``pdfinfo`` and ``pdfimages`` and its HTML with the standard
library's parser: the key messages first, the pathway picture up front, a tagged PDF, no p or q
printed as ``0.00``, no axis label in ``×10`` notation, no long sentence repeated over and over,
no table wider than the text area or set in less than 8 pt; then the workbook with openpyxl, for
what tests/report/test_runner.py does not already check (whole numbers with a display format, q
values stored unrounded).

The figures are PNG pictures without text (the recorder writes no metadata), so their tick labels
cannot be read back from the report: the ``×10`` check here reads the report's text (captions,
alt text, tables); the drawn figures' tick labels are checked in tests/plots/test_axes.py.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from dispro import report
from dispro.ethnicity import GROUPS, SCHEMES, mapping
from dispro.forces import force_table

DEMO = {"area": "Wessex"}  # `dispro report --demo`
MM = 72 / 25.4  # points per millimetre
TOLERANCE = 2.0  # points
MIN_TABLE_PT = 8.0
MAX_REPEATS = 8
LONG = 15  # words: a sentence this long or longer may not be repeated more than MAX_REPEATS times
TABLE_TAGS = ("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption")
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """The demo rendered once: its files, the parsed HTML and the PDF's text."""
    folder = report.render(DEMO, tmp_path_factory.mktemp("board"))
    html_text = (folder / f"{folder.name}.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(html_text)
    return {
        "pdf": folder / f"{folder.name}.pdf",
        "xlsx": folder / f"{folder.name}.xlsx",
        "html": html_text,
        "page": page,
    }


def poppler(tool: str, *args: str) -> str:
    """The standard output of a poppler tool; a clear failure when it is not installed."""
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} not found: install poppler-utils (`make system-deps`, or "
            "`apt-get install poppler-utils`) to check the PDF"
        )
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{tool} {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def squash(text: str) -> str:
    """Lower-case letters and digits only: text as pdftotext and the HTML both give it, whatever
    the line breaks, bullets, padding or hyphens at line ends."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def spaced(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    """What the checks need of the report's HTML: the text blocks outside tables (with their tag),
    the tables (header labels and body rows, colspans expanded), the style sheet, inline styles of
    table elements, the images' alt text in order."""

    BLOCKS = {"p", "li", "div", "h1", "h2", "h3", "h4", "caption", "figcaption", "ul", "ol",
              "table", "tr", "td", "th", "figure", "nav", "section", "br", "header", "footer",
              "head", "title", "style", "script"}  # fmt: skip

    def __init__(self):
        super().__init__()
        self.blocks: list[tuple[str, bool, str]] = []  # (tag, inside <nav>, text)
        self.tables: list[dict] = []
        self.style, self.inline, self.alts = [], [], []
        self._tag, self._text, self._skip, self._nav = "", [], 0, 0
        self._in_style, self._cell, self._row, self._part = False, None, None, "body"

    def _flush(self):
        text = spaced("".join(self._text))
        if text and not self._skip:
            self.blocks.append((self._tag, self._nav > 0, text))
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in TABLE_TAGS and "font-size" in (attrs.get("style") or ""):
            self.inline.append((tag, attrs["style"]))
        if tag == "img":
            self.alts.append(attrs.get("alt") or "")
        if tag == "style":
            self._in_style = True
        if tag in self.BLOCKS:
            self._flush()
            self._tag = tag
        if tag == "nav":
            self._nav += 1
        if tag in ("td", "th", "style", "script", "title"):
            self._skip += 1
        if tag == "table":
            self.tables.append({"sheet": attrs.get("data-sheet", "?"), "head": [], "body": []})
            self._part = "body"
        if tag == "thead":
            self._part = "head"
        if tag == "tbody":
            self._part = "body"
        if tag == "tr" and self.tables:
            self._row = []
            self.tables[-1][self._part].append(self._row)
        if tag in ("td", "th") and self._row is not None:
            self._cell = ([], int(attrs.get("colspan") or 1), tag)

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self._flush()
        if tag == "style":
            self._in_style = False
        if tag == "nav":
            self._nav -= 1
        if tag in ("td", "th", "style", "script", "title"):
            self._skip -= 1
        if tag in ("td", "th") and self._cell is not None:
            parts, span, kind = self._cell
            self._row.extend([(kind, spaced("".join(parts)))] * span)
            self._cell = None
        if tag == "thead":
            self._part = "body"

    def handle_data(self, data):
        if self._in_style:
            self.style.append(data)
        if self._cell is not None:
            self._cell[0].append(data)
        self._text.append(data)

    def columns(self, table: dict) -> list[str]:
        """The header label of each column (header rows joined), or the first row's <th>s."""
        heads = table["head"] or [r for r in table["body"][:1] if r and r[0][0] == "th"]
        width = max((len(r) for r in heads), default=0)
        return [" ".join(r[j][1] for r in heads if j < len(r)) for j in range(width)]


def key_messages(page: Page) -> list[str]:
    """The bullets of the HTML's 'Key messages' list."""
    tags = [(tag, text) for tag, nav, text in page.blocks if not nav]
    at = next(
        (i for i, (tag, text) in enumerate(tags) if tag.startswith("h") and text == "Key messages"),
        None,
    )
    assert at is not None, "the HTML has no 'Key messages' heading"
    bullets = []
    for tag, text in tags[at + 1 :]:
        if tag != "li":
            break
        bullets.append(text)
    return bullets


# ---------------------------------------------------------------------------------------------
# The PDF: tagged, key messages first, the pathway picture up front


def test_the_pdf_is_tagged(demo):
    info = poppler("pdfinfo", str(demo["pdf"]))
    tagged = re.search(r"^Tagged:\s+(\S+)", info, flags=re.M)
    assert tagged and tagged.group(1) == "yes", f"pdfinfo says {tagged and tagged.group(0)!r}"


@pytest.mark.parametrize("layout", [False, True], ids=["raw", "layout"])
def test_page_one_opens_with_the_key_messages(demo, layout):
    """Page 1 holds, after the title, the synthetic-data banner, the 'Produced by' line and the
    'Summary' heading, the 'Key messages' heading and then its three to five bullets, nothing
    between; all of them come before 'About this report'."""
    bullets = key_messages(demo["page"])
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} key messages (want 3 to 5): {bullets}"
    mode = ["-layout"] if layout else []
    first = poppler("pdftotext", *mode, "-f", "1", "-l", "1", str(demo["pdf"]), "-")
    heading = re.search(r"Key\s+messages", first)
    assert heading, f"page 1 has no 'Key messages' heading; it reads: {spaced(first)[:600]!r}"
    # what page 1 holds before the heading: only the front matter
    title = next(t for tag, _, t in demo["page"].blocks if tag == "h1")
    banner = re.search(r'<div class="banner">(.*?)</div>', demo["html"], flags=re.S)
    before = squash(first[: heading.start()])
    for part in (title, html.unescape(banner.group(1)) if banner else "", "Summary"):
        before = before.replace(squash(part), "") if part else before
    before = re.sub(r"producedby[0-9a-z]*?on\d{8}", "", before)
    assert before == "", (
        "page 1 holds text before the key messages besides the title, banner and date: "
        f"{spaced(first[: heading.start()])!r} (letters left once the front matter is taken out: "
        f"{before[:300]!r})"
    )
    after = squash(first[heading.end() :])
    expected = "".join(squash(b) for b in bullets)
    assert after.startswith(expected), (
        "the key messages are not the text right after their heading on page 1; page 1 after "
        f"the heading reads: {spaced(first[heading.end() :])[:700]!r}"
    )
    whole = squash(poppler("pdftotext", *mode, str(demo["pdf"]), "-"))
    about = whole.find("aboutthisreport")
    assert about >= 0, "the PDF has no 'About this report' heading"
    assert whole.find(expected) + len(expected) <= about, (
        "the key messages do not all come before 'About this report'"
    )


def test_the_pathway_picture_is_on_page_one_or_two(demo):
    alts = demo["page"].alts
    assert alts and "pathway" in alts[0].lower(), (
        f"the report's first picture is not the pathway picture; its alt text: {alts[:1]}"
    )
    listing = poppler("pdfimages", "-list", str(demo["pdf"]))
    pages = [int(line.split()[0]) for line in listing.splitlines()[2:]
             if len(line.split()) > 2 and line.split()[2] == "image"]  # fmt: skip
    assert pages, f"pdfimages lists no image:\n{listing}"
    assert pages[0] <= 2, f"the first picture (the pathway) is on page {pages[0]}"


# ---------------------------------------------------------------------------------------------
# Plain numbers: p and q, axis labels

P_OR_Q = re.compile(r"\b[pq][ -]?values?\b", re.I)
ZERO = re.compile(r"[-+]?0(?:\.0+)?")
SCIENTIFIC = re.compile(r"[-+]?\d(?:\.\d+)?\s*(?:e|E|×\s*10)\s*[-+−⁻]?\s*\d+")


def test_no_p_or_q_value_is_printed_as_zero_in_the_html_tables(demo):
    """A p or q value below 0.001 reads '<0.001', never '0', '0.00', '0.000' or '1.00e-05'."""
    page, found, bad = demo["page"], [], []
    for table in page.tables:
        labels = page.columns(table)
        for j, label in enumerate(labels):
            if not P_OR_Q.search(label):
                continue
            found.append((table["sheet"], label))
            for row in table["body"]:
                cell = row[j][1] if j < len(row) else ""
                if ZERO.fullmatch(cell) or SCIENTIFIC.fullmatch(cell):
                    bad.append(f"{table['sheet']} / {label!r} / row {row[0][1]!r}: {cell!r}")
    assert found, "no table column of the HTML is headed 'p value' or 'q value'"
    assert not bad, (
        f"{len(bad)} p or q values printed as zero or in e-notation (want '<0.001'), in "
        f"{sorted({b.split(' / ')[0] for b in bad})}; the first: {bad[:8]}"
    )


def test_no_p_or_q_value_is_printed_as_zero_in_the_pdf_text(demo):
    text = spaced(poppler("pdftotext", str(demo["pdf"]), "-"))
    said = re.compile(
        r"\b[pq](?:[ -]?values?)?\s*(?:=|:|of|is|was)?\s*"
        r"(?:0(?:\.0+)?(?![.\d]*[1-9])|\d(?:\.\d+)?e-\d+)",
        re.I,
    )
    hits = [text[max(0, m.start() - 60) : m.end() + 10] for m in said.finditer(text)]
    assert not hits, f"{len(hits)} p or q values read as zero in the PDF, e.g. {hits[:5]}"


def test_no_number_in_times_ten_notation(demo):
    """No '×10', superscript power or e-notation in the report's text (captions and alt text
    included); the figures' own tick labels: tests/plots/test_axes.py."""
    text = poppler("pdftotext", str(demo["pdf"]), "-")
    html_text = re.sub(r"data:image/[^\"']+", "", demo["html"])
    for where, body in (("PDF", text), ("HTML", html_text)):
        hits = [m.group(0) for m in re.finditer(rf"×\s*10|10\^|10[{SUPERSCRIPTS}]+", body)]
        hits += [m.group(0) for m in re.finditer(r"(?<![\w.])\d(?:\.\d+)?e[-+]\d+\b", body)]
        assert not hits, f"the {where} prints numbers in powers of ten: {hits[:8]}"


# ---------------------------------------------------------------------------------------------
# Plain writing: no long sentence said over and over


def _names() -> list[str]:
    """Every ethnic group and area name the report may print, longest first."""
    names = set(GROUPS) | {"Wessex"}
    for scheme in SCHEMES:
        names |= set(mapping(scheme).index)
    forces = force_table()
    for column in ("code", "label", "cps_area"):
        names |= set(forces[column].dropna())
    return sorted((n for n in names if n), key=len, reverse=True)


def test_no_long_sentence_is_repeated_more_than_eight_times(demo):
    """Sentences of 15 or more words of the HTML text (tables' cells aside), each group, area and
    number replaced by a placeholder: none more than 8 times."""
    names = re.compile("|".join(re.escape(n) for n in _names()))
    number = re.compile(r"\d[\d,]*(?:\.\d+)?")
    counts: Counter = Counter()
    for _, _, block in demo["page"].blocks:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z'\"(])", block):
            if len(sentence.split()) >= LONG:
                counts[number.sub("#", names.sub("NAME", sentence))] += 1
    assert counts, "no sentence of 15 or more words in the HTML"
    worst, times = counts.most_common(1)[0]
    assert times <= MAX_REPEATS, (
        f"a {LONG}+ word sentence is repeated {times} times (names and numbers aside), at most "
        f"{MAX_REPEATS} allowed: {worst!r}; next: {counts.most_common(3)[1:]}"
    )


# ---------------------------------------------------------------------------------------------
# Tables that fit the page, in print of at least 8 pt


def css_rules(css: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule of a style sheet, nested at-rules opened (the
    selector of a nested rule is the enclosing at-rule's plus its own)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules, stack, buf = [], [], ""
    for ch in css:
        if ch == "{":
            cut = buf.rfind(";") + 1  # declarations of the enclosing rule before a nested one
            if stack and buf[:cut].strip():
                rules.append((stack[-1], buf[:cut]))
            stack.append(" ".join([*stack[-1:], buf[cut:].strip()]))
            buf = ""
        elif ch == "}":
            if stack and buf.strip():
                rules.append((stack[-1], buf))
            stack.pop() if stack else None
            buf = ""
        else:
            buf += ch
    return rules


def points(value: str, base: float = 10.0) -> float | None:
    """A CSS font size in points (em, rem and % against the 10 pt body), None if not a length."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(pt|px|em|rem|%|mm)\s*(?:!important)?\s*", value)
    if not m:
        return None
    size, unit = float(m.group(1)), m.group(2)
    return {"pt": size, "px": size * 0.75, "em": size * base, "rem": size * base,
            "%": size * base / 100, "mm": size * MM}[unit]  # fmt: skip


def page_margins(css: str) -> tuple[float, float, float, float]:
    """The top, right, bottom and left margins (pt) of the style sheet's ``@page`` rule."""
    rule = next((d for s, d in css_rules(css) if s.strip() == "@page"), "")
    m = re.search(r"(?:^|;)\s*margin\s*:\s*([^;]+)", rule)
    assert m, f"no margin in the @page rule of the report's style sheet: {rule!r}"
    sizes = [points(v) for v in m.group(1).split()]
    assert all(s is not None for s in sizes) and 1 <= len(sizes) <= 4, m.group(1)
    # CSS shorthand: one value for all sides; two: vertical, horizontal; three: top,
    # horizontal, bottom; four: top, right, bottom, left
    top, right, bottom, left = {1: sizes * 4, 2: sizes * 2, 3: [*sizes, sizes[1]], 4: sizes}[
        len(sizes)
    ]
    return top, right, bottom, left


def bbox_pages(pdf: Path) -> list[tuple[float, float, list[tuple]]]:
    """Each page's width, height and words (xMin, yMin, xMax, yMax, text) as pdftotext places
    them."""
    out = poppler("pdftotext", "-bbox-layout", str(pdf), "-")
    pages = []
    for chunk in re.split(r"<page ", out)[1:]:
        width, height = map(float, re.match(r'width="([\d.]+)" height="([\d.]+)"', chunk).groups())
        words = [
            (*map(float, w[:4]), w[4])
            for w in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
                chunk,
            )
        ]
        pages.append((width, height, words))
    return pages


def test_no_text_runs_past_the_text_area(demo):
    """Every word of the page body (the running header and footer aside) lies within the page's
    width less its left and right margins (2 pt tolerance), on portrait and landscape pages."""
    css = "".join(demo["page"].style)
    top, right, bottom, left = page_margins(css)
    past = []
    for number, (width, height, words) in enumerate(bbox_pages(demo["pdf"]), start=1):
        for x0, y0, x1, y1, text in words:
            if not top < (y0 + y1) / 2 < height - bottom:
                continue
            over = max(x1 - (width - right), left - x0)
            if over > TOLERANCE:
                past.append((round(over, 1), number, round(x0, 1), round(x1, 1), text))
    past.sort(reverse=True)
    assert not past, (
        f"{len(past)} words on {len({p[1] for p in past})} pages run past the text area "
        f"({left:.1f} to width - {right:.1f} pt); the worst (pt over, page, xMin, xMax, word): "
        f"{past[:6]}"
    )


def test_table_text_is_at_least_8pt_in_the_style_sheet(demo):
    """No CSS rule (print media included) nor inline style sets a table, its rows, cells or
    caption in less than 8 pt."""
    small = []
    for selector, declarations in css_rules("".join(demo["page"].style)):
        if not re.search(rf"(?:^|[\s>+~,])(?:{'|'.join(TABLE_TAGS)})(?=[.#:\[\s,>+~]|$)", selector):
            continue
        for m in re.finditer(r"(?:^|;)\s*font-size\s*:\s*([^;]+)", declarations):
            size = points(m.group(1))
            if size is None or size < MIN_TABLE_PT:
                small.append((spaced(selector), m.group(1).strip()))
    for tag, style in demo["page"].inline:
        m = re.search(r"font-size\s*:\s*([^;]+)", style)
        size = points(m.group(1)) if m else None
        if size is None or size < MIN_TABLE_PT:
            small.append((f"<{tag} style>", style))
    assert not small, f"table text under {MIN_TABLE_PT:g} pt (selector, font-size): {small}"


def test_no_body_text_is_smaller_than_the_8pt_page_footer(demo):
    """The PDF itself: no word of the page body is set in less than 8 pt, measured against the
    'Page n of m' footer, whose size the style sheet gives (a word's box height scales with its
    font size)."""
    rules = css_rules("".join(demo["page"].style))
    footer = next(
        (points(m.group(1)) for s, d in rules if "@bottom-center" in s
         for m in [re.search(r"font-size\s*:\s*([^;]+)", d)] if m),
        None,
    )  # fmt: skip
    assert footer, "the style sheet gives no font size for the page footer: no yardstick"
    top, _, bottom, _ = page_margins("".join(demo["page"].style))
    pages = bbox_pages(demo["pdf"])
    marks = [y1 - y0 for _, height, words in pages for x0, y0, x1, y1, t in words
             if (y0 + y1) / 2 > height - bottom and t == "Page"]  # fmt: skip
    assert marks, "no 'Page n of m' footer found in the PDF"
    per_point = min(marks) / footer  # box height of a word per point of font size
    small = [
        (round((y1 - y0) / per_point, 1), number, text)
        for number, (_, height, words) in enumerate(pages, start=1)
        for x0, y0, x1, y1, text in words
        if top < (y0 + y1) / 2 < height - bottom and (y1 - y0) / per_point < MIN_TABLE_PT - 0.05
    ]
    small.sort()
    assert not small, (
        f"{len(small)} words on pages {sorted({s[1] for s in small})} are set in less than 8 pt; "
        f"the smallest (about pt, page, word): {small[:5]}"
    )


# ---------------------------------------------------------------------------------------------
# The workbook: what test_runner.py's test_the_workbook_follows_the_spreadsheet_guidance leaves


def _table_sheets(wb):
    for ws in wb.worksheets:
        if ws.title in ("Cover", "Contents", "Notes"):
            continue
        assert len(ws.tables) == 1, f"sheet {ws.title!r} holds {len(ws.tables)} Excel tables"
        (table,) = ws.tables.values()
        first = int(re.match(r"[A-Z]+(\d+):", table.ref).group(1))
        header = [str(c.value or "") for c in ws[first]]
        yield ws, first, header


def test_whole_numbers_in_the_workbook_have_a_display_format(demo):
    """Counts as well as decimals are shown with a number format, never 'General'."""
    wb = openpyxl.load_workbook(demo["xlsx"])
    general = []
    for ws, first, header in _table_sheets(wb):
        for row in ws.iter_rows(min_row=first + 1):
            for cell in row:
                v = cell.value
                if (
                    isinstance(v, int)
                    and not isinstance(v, bool)
                    and cell.number_format == "General"
                ):
                    general.append((ws.title, header[cell.column - 1], cell.coordinate, v))
    assert not general, f"{len(general)} whole numbers formatted 'General', e.g. {general[:6]}"


def test_q_values_are_stored_unrounded(demo):
    """A q value is stored at full precision (shown to three decimals by its format)."""
    wb = openpyxl.load_workbook(demo["xlsx"])
    stored = []
    for ws, first, header in _table_sheets(wb):
        columns = [j for j, h in enumerate(header) if re.search(r"\bq[ -]?value", h, re.I)]
        for row in ws.iter_rows(min_row=first + 1, values_only=True):
            stored += [row[j] for j in columns if isinstance(row[j], float)]
    assert stored, "no q value column with numbers in the workbook"
    assert any(round(v, 3) != v for v in stored), (
        f"every stored q value has at most three decimals: {stored[:10]}"
    )
