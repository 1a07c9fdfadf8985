"""The ``dispro`` command.

Everything the command prints is literal text: messages and data values are never read as Rich
console markup or emoji codes (a value ``[/]``, ``[c]`` or ``[bold red]x`` prints as written), and
terminal control sequences in them are dropped. Errors print ``error: <message>`` and exit 2
(bad input or parameters) or 1 (a report chapter failed, or ``validate`` found errors).
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._version import __version__
from .errors import DisproError, DisproWarning

app = typer.Typer(
    name="dispro",
    help="Disproportionality analysis for the criminal justice system of England and Wales.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# markup and emoji off: data values (group labels, file names) print exactly as they are
err = Console(stderr=True, markup=False, emoji=False, highlight=False)
out = Console(markup=False, emoji=False, highlight=False)

#: Terminal escape sequences (CSI, OSC and single-character ones) and control characters other
#: than newline and tab: dropped from what is printed, so that a value cannot drive the terminal.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]"
)
#: File types the commands read (an older .xls workbook is refused with a hint).
_READABLE = (".csv", ".parquet", ".xlsx", ".xlsm")
#: File types ``-o`` writes for tables.
_WRITABLE = (".csv", ".xlsx")


def _plain(text: object) -> Text:
    """``text`` as literal console text, control sequences dropped."""
    return Text(_CONTROL.sub("", str(text)))


def _say(label: str, style: str, message: object, console: Console | None = None) -> None:
    (console or err).print(Text.assemble((label, style), " ", _plain(message)), soft_wrap=True)


def _fail(exc: Exception, code: int = 2) -> None:
    _say("error:", "bold red", exc)
    raise typer.Exit(code)


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV, parquet or xlsx file as text columns; for CSV the index is the file's line number
    (header = line 1), for xlsx the row number, for parquet the row (1 = first)."""
    from .readers import read_table

    if not path.exists():
        raise DisproError(f"file {str(path)!r} does not exist")
    if path.is_dir():
        raise DisproError(f"{str(path)!r} is a folder; give a CSV, parquet or xlsx file")
    if not path.is_file():
        raise DisproError(f"{str(path)!r} is not a regular file; give a CSV, parquet or xlsx file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DisproError(
            f"{str(path)!r} is an Excel 97-2003 workbook (.xls), which is not read; save it as "
            ".xlsx or CSV UTF-8"
        )
    frame = read_table(path)
    frame.index.name = "line" if suffix not in _READABLE[1:] else "row"
    return frame


def _check_output(output: Path | None, allowed: tuple[str, ...] | None = _WRITABLE) -> None:
    """Refuse an output path before any work: a suffix not ``allowed`` (``None``: any), a
    folder, or a parent that is a file. A missing parent folder is created when it is written."""
    if output is None:
        return
    if allowed is not None and output.suffix.lower() not in allowed:
        raise DisproError(
            f"output {str(output)!r} must end in {' or '.join(allowed)} (the suffix sets the "
            "format), but "
            + (f"it ends in {output.suffix!r}" if output.suffix else "it has no suffix")
        )
    if output.is_dir():
        raise DisproError(f"output {str(output)!r} is a folder; give a file name in it")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DisproError(
                    f"output {str(output)!r}: {str(parent)!r} is a file, not a folder; choose "
                    "another output path"
                )
            break


def _writing(output: Path, write) -> None:
    """``write(output)`` into a folder created if missing; a failure is a :class:`DisproError`."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write(output)
    except OSError as exc:
        raise DisproError(
            f"cannot write {str(output)!r}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(output) else "")
            + "; choose a file in a folder you can write to, with space left"
        ) from None


def _write(frame: pd.DataFrame, output: Path | None) -> None:
    """Print ``frame``, or write it to ``output``: ``.xlsx`` with every text cell as text (a
    label starting with ``=``, ``+``, ``-`` or ``@`` is never a formula:
    :func:`dispro._excel.write_frame`), or ``.csv``.

    A CSV is written as data, value for value: cells are not prefixed with a quote against
    spreadsheet formula injection (OWASP's advice for CSV opened in a spreadsheet), because the
    prefix would change the values every other program reads. To open a table in a spreadsheet,
    write ``.xlsx``.
    """
    from ._excel import write_frame

    if output is None:
        with pd.option_context("display.max_rows", 200, "display.width", 200):
            out.print(_plain(frame.to_string(index=False)), soft_wrap=True)
        return
    _check_output(output)
    if output.suffix.lower() == ".xlsx":
        _writing(output, lambda path: write_frame(frame, path, sheet_name="dispro"))
    else:
        _writing(output, lambda path: frame.to_csv(path, index=False))
    err.print(_plain(f"wrote {output} ({len(frame)} rows)"), soft_wrap=True)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, DisproWarning):
            _say("warning:", "yellow", w.message)


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Disproportionality analysis for the criminal justice system of England and Wales."""
    if version:
        out.print(f"dispro {__version__}")
        raise typer.Exit()


@app.command("rri")
def rri_command(
    counts: Annotated[Path, typer.Argument(help="Counts table (CSV, parquet or xlsx).")],
    group: Annotated[str, typer.Option(help="Column holding the groups compared.")] = "ethnicity",
    reference: Annotated[str, typer.Option(help="Reference group.")] = "White",
    events: Annotated[str, typer.Option(help="Column of event counts.")] = "events",
    base: Annotated[
        str, typer.Option(help="Column of numbers at risk (ignored with --population).")
    ] = "base",
    by: Annotated[
        list[str] | None, typer.Option(help="Column splitting the table; repeat for several.")
    ] = None,
    population: Annotated[
        str | None, typer.Option(help="Use a bundled population as the base: 'census2021'.")
    ] = None,
    area: Annotated[
        list[str] | None,
        typer.Option(help="Area(s) of the population (with --population); repeatable."),
    ] = None,
    level: Annotated[str, typer.Option(help="Population level: 'pfa' or 'la'.")] = "pfa",
    months: Annotated[
        float | None,
        typer.Option(
            help="Months the counts cover (with --population): rates per 1,000 residents a year "
            "(person-years = residents x months / 12). Without it, rates are over the whole "
            "period of the counts."
        ),
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="katz, poisson_exact or poisson_wald (default by base type).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="1 - confidence level; significance level.")] = 0.05,
    per: Annotated[
        float | None, typer.Option(help="Rates per this many (default 1000 for population).")
    ] = None,
    suppress: Annotated[
        int | None, typer.Option(help="Disclosure threshold k (counts 1..k suppressed).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write .csv or .xlsx.")
    ] = None,
) -> None:
    """Relative rate indices of each group against a reference, with intervals and q-values.

    With --population census2021, each row is rated against the residents of its own area: the
    area named by --area, or, per row, the area in the counts' --by column naming it (force or
    area). Without either the command refuses (England and Wales would be every count's base).

    Example: dispro rri searches.csv --group ethnicity --reference White --by force
    --population census2021 --months 12 -o rri.xlsx

    Example: dispro rri dorset.csv --population census2021 --area Dorset --months 12
    """
    from .rates import rri

    try:
        _check_output(output)
        table = _read_table(counts)
        base_arg: str | pd.DataFrame = base
        if population is not None:
            if population != "census2021":
                raise DisproError(
                    f"--population must be 'census2021', but {population!r} was passed"
                )
            base_arg = _census_base(table, area, by, level, months).rename(
                columns={"ethnicity": group}
            )
        numeric = [events] + ([base] if population is None else [])
        for col in numeric:
            if col in table.columns:
                converted = pd.to_numeric(table[col], errors="coerce")
                if converted.notna().sum() == table[col].notna().sum():
                    table[col] = converted
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = rri(
                table,
                group=group,
                reference=reference,
                events=events,
                base=base_arg,
                by=by,
                per=per,
                method=method,
                alpha=alpha,
                suppress=suppress,
            )
        _show_warnings(caught)
        _write(result, output)
    except DisproError as exc:
        _fail(exc)


def _census_base(table, area, by, level, months) -> pd.DataFrame:
    """The Census 2021 residents (or person-years) of the areas the counts are for."""
    from .population import AREA_COLUMNS, census2021, person_years

    if area:
        names = list(area)
    else:
        named = [c for c in by or [] if c in AREA_COLUMNS]
        carried = [c for c in table.columns if c in AREA_COLUMNS]
        if not named:
            hint = (
                f" The counts name areas in column {carried[0]!r}: add --by {carried[0]} to rate "
                "each row against its own area's residents."
                if carried
                else ""
            )
            raise DisproError(
                "--population census2021 needs the area the counts are for: give --area (e.g. "
                "--area Dorset), or a column naming each row's area (e.g. force) with --by. "
                "Without either, all of England and Wales would be the base of every count." + hint
            )
        names = [str(v) for v in pd.unique(table[named[0]].dropna())]
    pop = census2021(names, level=level, scheme="5+1", by=())
    return pop if months is None else person_years(pop, months)


@app.command("validate")
def validate_command(
    dataset: Annotated[
        str, typer.Argument(help="stop_search, disposals, charging, sentencing or population.")
    ],
    files: Annotated[
        list[Path], typer.Argument(help="CSV, parquet or xlsx files in the canonical schema.")
    ],
) -> None:
    """Check files against the data standard and list every problem; exit 1 if any is an error.

    Example: dispro validate sentencing courts_2023.csv courts_2024.csv
    """
    from .dictionary import validate

    failed = False
    try:
        for path in files:
            frame = _read_table(path)
            problems = validate(frame, dataset, strict=False, source=str(path))
            errors = problems[problems["severity"] == "error"]
            if problems.empty:
                text = f"{path}: {len(frame)} rows meet the {dataset} standard"
                _say("ok", "green", text, out)
                continue
            failed |= not errors.empty
            table = Table(
                title=_plain(
                    f"{path}: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
                )
            )
            for col in ("severity", "column", "problem", "count", "rows", "values", "hint"):
                table.add_column(col, overflow="fold")
            for p in problems.itertuples(index=False):
                table.add_row(*(_plain(v) for v in p))
            out.print(table)
    except DisproError as exc:
        _fail(exc)
    if failed:
        raise typer.Exit(1)


@app.command("dictionary")
def dictionary_command(
    format: Annotated[str, typer.Option("--format", "-f", help="markdown or html.")] = "markdown",  # noqa: A002
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.")
    ] = None,
) -> None:
    """Render the data standard (datasets, fields, code lists) as Markdown or HTML.

    Example: dispro dictionary --format html -o data_standard.html
    """
    from .dictionary import render

    try:
        if output is not None and output.suffix.lower() in (".html", ".htm"):
            format = "html"
        _check_output(output, None)
        text = render(format)
        if output is not None:
            _writing(output, lambda path: path.write_text(text, encoding="utf-8"))
    except DisproError as exc:
        _fail(exc)
    if output is None:
        sys.stdout.write(text)
    else:
        err.print(_plain(f"wrote {output}"), soft_wrap=True)


@app.command("population")
def population_command(
    area: Annotated[
        list[str] | None, typer.Option(help="Area name or code; repeatable; 'Wessex' allowed.")
    ] = None,
    level: Annotated[
        str, typer.Option(help="'pfa' (police force area) or 'la' (local authority).")
    ] = "pfa",
    scheme: Annotated[
        str, typer.Option(help="'5+1' (five groups) or '19' (Census categories).")
    ] = "5+1",
    by_sex: Annotated[bool, typer.Option("--by-sex/--no-sex", help="Split by sex.")] = True,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write .csv or .xlsx.")
    ] = None,
) -> None:
    """Census 2021 usual residents by ethnic group (and sex), bundled; no network needed.

    Example: dispro population --area Wessex --level la --scheme 19 -o wessex.csv
    """
    from .population import census2021

    try:
        _check_output(output)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = census2021(
                area or None, level=level, scheme=scheme, by=("sex",) if by_sex else ()
            )
        _show_warnings(caught)
        _write(table, output)
    except DisproError as exc:
        _fail(exc)


@app.command("report")
def report_command(
    demo: Annotated[
        bool, typer.Option("--demo", help="Render from the bundled synthetic Wessex data.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML file of report parameters (see docs/configuration.md).",
        ),
    ] = None,
    area: Annotated[str | None, typer.Option(help="Override the area (e.g. Dorset).")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="'wessex' (full report), 'scrutiny' (stop-and-search pack) or 'oocd' (out-of-court disposals pack).",
        ),
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Render Wessex and each force, with an index page.")
    ] = False,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder the report folder is written into.")
    ] = Path("reports"),
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Skip the PDF.")] = False,
) -> None:
    """Render the disproportionality report (HTML, PDF, Excel, executed notebooks, provenance).

    Example: dispro report --demo   (the full Wessex report on synthetic data, into reports/)
    Example: dispro report --config reports/config/city_of_london.yaml

    Every report parameter and every data-configuration key (mappings included), with worked
    examples: docs/configuration.md.
    """
    from .report import check_parameters, render, render_batch
    from .report.config import read_config, read_parameters
    from .report.params import ReportError, ReportInputError

    params: dict = {"area": "Wessex"}
    try:
        if not demo and config is None:
            raise DisproError("give --demo or --config FILE.yaml")
        if config is not None:
            params.update(read_parameters(config))
        if area:
            params["area"] = area
        if kind:
            params["report"] = kind
        checked = check_parameters(params)
        if checked["data"] != "demo":  # the data configuration, checked before any work
            read_config(checked["data"])
        _check_folder(out, "--out")
    except DisproError as exc:
        _fail(exc)
    try:
        if batch:
            written = render_batch(params, out, pdf=not no_pdf, progress=True)
        else:
            written = render(params, out, pdf=not no_pdf, progress=True)
    except DisproError as exc:  # a chapter that failed: 1; the inputs: 2
        failed_chapter = isinstance(exc, ReportError) and not isinstance(exc, ReportInputError)
        _fail(exc, code=1 if failed_chapter else 2)
    except OSError as exc:
        _fail(_os_error(exc, out, "--out"))
    # the label on stderr, the path alone and whole on stdout (plain print: never wrapped or cut)
    err.print("wrote the reports and their index:" if batch else "wrote the report into:")
    print(_plain(Path(written).resolve()).plain, flush=True)


def _check_folder(folder: Path, option: str) -> None:
    """Refuse an output folder that is a file (or under one) before any work."""
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                raise DisproError(
                    f"{option} {str(folder)!r}: {str(path)!r} is a file, not a folder; give a "
                    "folder (it is created if missing)"
                )
            return


def _os_error(exc: OSError, folder: Path, option: str) -> DisproError:
    """An operating system error while writing into ``folder``, as a :class:`DisproError`."""
    return DisproError(
        f"cannot write into {option} {str(folder)!r}: {exc.strerror or exc}"
        + (f" ({exc.filename})" if exc.filename else "")
        + "; choose a folder you can write to, with space left"
    )


@app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the synthetic files into.")],
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2021-04",
    end: Annotated[str, typer.Option(help="Last month, YYYY-MM.")] = "2024-03",
    scale: Annotated[float, typer.Option(help="Size (1 = the demo).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2026,
) -> None:
    """Write synthetic Wessex records (all four datasets) with known, seeded disparities.

    Example: dispro synth --out data/synthetic --scale 0.5
    """
    from . import synth

    try:
        _check_folder(out, "--out")
        paths = synth.write(out, start=start, end=end, scale=scale, seed=seed)
    except DisproError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(_os_error(exc, out, "--out"))
    err.print(_plain(f"wrote {len(paths)} files into {out} (synthetic: see SYNTHETIC.md)"))


if __name__ == "__main__":  # pragma: no cover
    app()
