"""The renderer: parameters -> notebooks (papermill) -> HTML, PDF, XLSX.

The renderer checks the parameters, loads the data once into a private work folder, executes the
chapter notebooks with papermill from the project root, and assembles what the notebooks recorded
(headings, text, suppressed tables, figures) into one report:

- ``<name>.html``: self-contained (figures embedded, no request to any network), printable;
- ``<name>.pdf``: the same, paginated (weasyprint);
- ``<name>.xlsx``: every table of the report (suppressed), one per sheet after a cover,
  contents and notes sheet (:mod:`dispro.report.workbook`);
- ``notebooks/``: the executed notebooks; ``provenance.json``: version, parameters, run id,
  input file hashes and timings.

Nothing record-level is ever written under the output folder (see :mod:`._staging`):

- the data (staged as parquet, read back by :func:`~dispro.report.inputs.load`; no pickle), the
  synthetic demo's input files, what the chapters record and the executed notebooks live in a
  private temporary folder (``$TMPDIR/dispro-<pid>-*``, mode 0700), removed when the run ends:
  normally, on an error, on Ctrl-C or on SIGTERM (turned into ``SystemExit`` while a render
  runs); the next run removes the private and staging folders of a run that was killed;
- the published files are assembled in ``<out>/.<name>.partial-<pid>-<run id>/<name>/`` and
  swapped into place: on Linux by one atomic exchange with the earlier report (so that
  ``<out>/<name>`` always holds a complete report), elsewhere by two renames with the earlier
  report moved to ``.<name>.old-<pid>-<run id>`` between them (restored by the next run if the
  process dies there).

A failed run leaves no report, only the failing notebook under ``<name>.failed/`` (every output
removed but the error's traceback) and a clear message. An output folder that is a file, cannot
be written or is on a full disk gives a :class:`ReportError` that names it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import html
import json
import os
import shutil
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import pandas as pd

from .._paths import PACKAGE_DIR
from .._version import __version__
from ..errors import DisproWarning
from . import _staging
from ._kernels import Kernels, Pool
from ._staging import (
    check_outside,
    clean_stale,
    output_errors,
    pause_point,
    prepare_out_dir,
    private_folder,
    remove,
    strip_outputs,
    swap_into_place,
    terminating,
)
from .assemble import CSS, assemble_html, write_pdf, write_xlsx
from .disclose import RULES, solve_plans, suppression_log
from .inputs import absent_datasets, filter_data, load_data, stage
from .params import (
    CHAPTER_DATA,
    CHAPTERS,
    PARAMETERS,
    ReportError,
    ReportInputError,
    check_parameters,
    report_name,
)

__all__ = ["render", "render_batch", "notebooks_dir", "project_root"]


def notebooks_dir() -> Path:
    installed = PACKAGE_DIR / "notebooks"
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent.parent / "notebooks"


def project_root() -> Path:
    root = PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def _execute(
    chapter_name: str, work: Path, nb_params: dict, failed_dir: Path, aborted, *, km=None
) -> float:
    """Execute one chapter notebook with papermill (in kernel ``km`` if given) into the private
    ``work/notebooks/``; its wall time. A failure keeps the notebook, its outputs stripped but
    the error's, under ``failed_dir`` (not when the run was interrupted)."""
    import papermill as pm

    source = notebooks_dir() / f"{chapter_name}.ipynb"
    target = work / "notebooks" / f"{chapter_name}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=nb_params,
            cwd=str(project_root()),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            report_mode=True,
            **({"km": km} if km is not None else {}),
        )
    except Exception as exc:  # papermill raises its own and kernel errors
        if aborted.is_set():
            raise
        kept = failed_dir / target.name
        where = "No executed notebook was written"
        if target.exists():
            with output_errors(failed_dir, "the failed notebook"):
                failed_dir.mkdir(parents=True, exist_ok=True)
                notebook = strip_outputs(json.loads(target.read_text(encoding="utf-8")))
                kept.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
            where = (
                f"The executed notebook is kept at {kept}, with every cell output removed but "
                "the error's traceback (the outputs may show unpublished tables)"
            )
        raise ReportError(f"{_failure(chapter_name, exc)} {where}; no report was written.") from exc
    pause_point("chapter-done")
    return round(time.perf_counter() - t0, 3)


def _failure(chapter_name: str, exc: BaseException) -> str:
    """What went wrong in a chapter, in the exception's own words: the step (the cell's first
    line) and the error's type and message, never a cut traceback."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename is None:  # a kernel or papermill error, not one raised by the notebook's code
        return f"the {chapter_name!r} chapter failed ({type(exc).__name__}: {str(exc).strip()})."
    source = str(getattr(exc, "source", "") or "").strip().splitlines()
    step = f" at the step `{source[0][:200]}`" if source else ""
    ours = ename.rsplit(".", 1)[-1] in _dispro_errors()
    cause = (
        "the data or the configuration cannot give this chapter"
        if ours
        else "this looks like a defect in dispro: please report it with the notebook below"
    )
    return f"the {chapter_name!r} chapter failed{step}: {ename}: {evalue} ({cause})."


def _dispro_errors() -> frozenset[str]:
    from .. import errors

    found, stack = set(), [errors.DisproError]
    while stack:
        cls = stack.pop()
        found.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return frozenset(found)


def _workers(jobs: int) -> int:
    return max(1, min(int(os.environ.get("DISPRO_REPORT_WORKERS", os.cpu_count() or 1)), jobs))


def _keeping_warnings(fn, *args):
    """``fn(*args)`` and the :class:`~dispro.errors.DisproWarning` family it raised, once each
    with how often (``category, message, times`` records, for the data-quality appendix); other
    warnings are shown as usual."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DisproWarning)
        result = fn(*args)
    kept: list[dict] = []
    for w in caught:
        if issubclass(w.category, DisproWarning):
            kept = _merge_warnings(kept, [{"category": w.category.__name__,
                                           "message": str(w.message), "times": 1}])  # fmt: skip
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result, kept


def _merge_warnings(kept: list[dict], more: list[dict]) -> list[dict]:
    """Kept warnings with ``more`` added (the same category and message counted once)."""
    out = [dict(w) for w in kept]
    for w in more:
        same = next(
            (o for o in out if (o["category"], o["message"]) == (w["category"], w["message"])),
            None,
        )
        if same is None:
            out.append(dict(w))
        else:
            same["times"] += w["times"]
    return out


class _Run:
    """One report being rendered: private work, its chapters, then the assembled outputs staged
    beside the destination and swapped into place."""

    def __init__(self, params: dict, out_dir: Path, loaded: tuple | None, private: Path):
        self.params = params = check_parameters(params)
        self.name = report_name(params)
        self.out_dir = out_dir
        self.run_id = uuid.uuid4().hex[:12]
        self.aborted = threading.Event()
        tag = f"{os.getpid()}-{self.run_id}"
        self.staging = out_dir / f".{self.name}.partial-{tag}"
        self.aside = out_dir / f".{self.name}.old-{tag}"
        self.final_stage = self.staging / self.name
        self.work = private / self.run_id
        self.failed_dir = out_dir / f"{self.name}.failed"
        self.timings: dict[str, float] = {}
        self.started = time.perf_counter()
        _staging.ACTIVE.update({self.staging.name, self.aside.name})
        try:
            with output_errors(out_dir):
                self.final_stage.mkdir(parents=True)
            with output_errors(private, "the report's private work (set TMPDIR to change it)"):
                for sub in ("content", "notebooks"):
                    (self.work / sub).mkdir(parents=True)
            pause_point("staging")
            t0 = time.perf_counter()
            if loaded is None:
                with output_errors(private, "the report's private work (set TMPDIR to change it)"):
                    loaded = _keeping_warnings(load_data, params, self.work)
            (read, self.inputs), self.loading = loaded
            data, filtering = _keeping_warnings(filter_data, read, params)
            self.loading = _merge_warnings(self.loading, filtering)
            chapters = CHAPTERS[params["report"]]
            needed = {CHAPTER_DATA[n] for n in chapters if n in CHAPTER_DATA}
            absent = {
                k: why for k, why in absent_datasets(read, data, params).items() if k in needed
            }
            self.chapters = [n for n in chapters if CHAPTER_DATA.get(n, "") not in absent]
            main = chapters[1]  # a pack without the dataset of its own chapter is refused
            if params["report"] != "wessex" and main not in self.chapters:
                raise ReportInputError(f"{self.name}: {absent[CHAPTER_DATA[main]]}")
            with output_errors(private, "the report's private work (set TMPDIR to change it)"):
                stage(data, self.work)
            pause_point("data-staged")
        except BaseException:
            self.cleanup()
            raise
        self.timings["load_data"] = round(time.perf_counter() - t0, 3)
        self.nb_params = {
            **{k: params[k] for k in PARAMETERS},
            "work_dir": str(self.work),
            "absent": absent,
        }

    def chapter(self, name: str, *, km=None) -> None:
        self.timings[name] = _execute(
            name, self.work, self.nb_params, self.failed_dir, self.aborted, km=km
        )

    def start_plan(self) -> None:
        """The chapters' first run records the cells of every table (``work/plan``)."""
        (self.work / "plan").mkdir()

    def end_plan(self, solved: dict) -> None:
        """After the joint solve: forget the first run's content, keep the decisions."""
        shutil.rmtree(self.work / "plan")
        for path in (self.work / "content").iterdir():
            path.unlink()
        self.disclosure = {k: v for k, v in solved.items() if k != "seconds"}
        self.timings["disclosure_solve"] = solved["seconds"]
        self.timings["disclosure_plan"] = round(
            sum(self.timings.pop(n, 0.0) for n in self.chapters), 3
        )

    def _go_on(self) -> None:
        if self.aborted.is_set():
            raise ReportError(f"{self.name}: the run was interrupted")

    def finish(self, pdf: bool) -> Path:
        """Assemble the HTML, workbook, PDF and provenance, and swap the report into place."""
        params, name, final_stage = self.params, self.name, self.final_stage
        chapters = [
            json.loads((self.work / "content" / f"{n}.json").read_text()) for n in self.chapters
        ]
        synthetic = params["data"] == "demo" or any(
            Path(i["file"]).name.lower().startswith("synthetic") for i in self.inputs
        )  # the demo, or files `dispro synth` wrote (their names say synthetic)
        t0 = time.perf_counter()
        document, tables = assemble_html(
            chapters, self.work, params, synthetic, loading=self.loading
        )
        log, log_rows = suppression_log(chapters, threshold=params["suppression_threshold"])
        tables.append(({
            "type": "table", "name": "suppression_log", "sheet": "suppression_log",
            "caption": "Suppression log: every withheld cell of the report and the rule that "
            "withheld it (never its value)",
            "notes": " ".join(f"{k}: {v}." for k, v in RULES.items()), "count_columns": [],
        }, pd.DataFrame(log_rows, columns=["sheet", "row", "column", "rule"], dtype=object),
            "Suppression log"))  # fmt: skip
        with output_errors(self.out_dir):
            (final_stage / f"{name}.html").write_text(document, encoding="utf-8")
            pause_point("html-written")
            write_xlsx(final_stage / f"{name}.xlsx", tables, params, synthetic,
                       content=self.work / "content", inputs=self.inputs)  # fmt: skip
            self.timings["html_xlsx"] = round(time.perf_counter() - t0, 3)
            if pdf:
                self._go_on()
                t0 = time.perf_counter()
                write_pdf(document, final_stage / f"{name}.pdf")
                self.timings["pdf"] = round(time.perf_counter() - t0, 3)
            # the executed notebooks, without their outputs: a cell's output is not published
            # through the door (the report's tables, figures and text are)
            (final_stage / "notebooks").mkdir()
            for nb in sorted((self.work / "notebooks").glob("*.ipynb")):
                stripped = strip_outputs(json.loads(nb.read_text(encoding="utf-8")))
                (final_stage / "notebooks" / nb.name).write_text(
                    json.dumps(stripped, indent=1), encoding="utf-8"
                )
            self.timings["total"] = round(time.perf_counter() - self.started, 3)
            (final_stage / "suppression.json").write_text(
                json.dumps(log, indent=1), encoding="utf-8"
            )
            (final_stage / "provenance.json").write_text(
                json.dumps(self._provenance(tables, synthetic), indent=2), encoding="utf-8"
            )
            pause_point("staged")
            self._go_on()
            destination = self.out_dir / name
            swap_into_place(final_stage, destination, self.aside)
            pause_point("swapped")
        remove(self.staging)  # the earlier report, if the swap left it there
        remove(self.aside)
        if self.failed_dir.exists():
            shutil.rmtree(self.failed_dir, ignore_errors=True)
        return destination

    def _provenance(self, tables: list, synthetic: bool) -> dict:
        timings = {k: self.timings[k] for k in ["load_data", "disclosure_plan", "disclosure_solve", *self.chapters,
                                                 "html_xlsx", "pdf", "total"]
                   if k in self.timings}  # fmt: skip
        return {
            "dispro_version": __version__,
            "report": self.name,
            "run_id": self.run_id,
            "parameters": {k: self.params[k] for k in PARAMETERS},
            "synthetic": synthetic,
            "inputs": self.inputs,
            "tables": [{"sheet": b["sheet"], "caption": b["caption"]} for b, _, _ in tables],
            "timings_seconds": timings,
            "disclosure": getattr(self, "disclosure", None),
            "rendered_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def cleanup(self) -> None:
        """Remove the staging folder, a report moved aside and the private work."""
        for path in (self.staging, self.aside, self.work):
            remove(path)


@contextlib.contextmanager
def _workspace(out_dir: Path):
    """SIGTERM handled as an exit; stale work of killed runs cleaned; a private work folder
    for this call, removed on leaving however the block ends."""
    with terminating():
        clean_stale(out_dir)
        private = private_folder()
        try:
            check_outside(private, out_dir)
            yield private
        finally:
            remove(private)


def _abort(runs: list[_Run], kernels: Kernels, *pools: Pool) -> None:
    """Stop an interrupted or failed run: queued chapters cancelled, kernels stopped."""
    for run in runs:
        run.aborted.set()
    for pool in pools:
        if pool is not None:
            pool.close(wait=False, cancel=True)
    kernels.stop()


def _plan(runs: list[_Run], kernels: Kernels) -> tuple[list[_Run], list[ReportError]]:
    """Run every chapter of ``runs`` once to plan, and solve the suppression of every count
    the runs whose chapters all ran publish, at once
    (:func:`dispro.report.disclose.solve_plans`). Returns those runs and the failures of the
    others (a failed run publishes nothing, so it takes no part in the solve)."""
    for run in runs:
        run.start_plan()
    futures = [(run, kernels.submit(run.chapter, n, key=n)) for run in runs for n in run.chapters]
    errors: list[ReportError] = []
    failed: set[int] = set()
    for run, f in futures:
        try:
            f.result()
        except ReportError as exc:
            errors.append(exc)
            failed.add(id(run))
    ok = [r for r in runs if id(r) not in failed]
    if ok:
        solved = solve_plans([r.work for r in ok], threshold=ok[0].params["suppression_threshold"])
        for run in ok:
            run.end_plan(solved)
    return ok, errors


def _say(progress: bool, line: str) -> None:
    """One progress line on stderr (only when ``progress``)."""
    if progress:
        print(line, file=sys.stderr, flush=True)


def _chapter_lines(run: _Run, futures: list) -> None:
    """``rendering 3/7 out_of_court ... 2.1 s`` on stderr as each chapter's final run ends."""
    lock, done = threading.Lock(), [0]

    def report(name, future):
        if future.cancelled() or future.exception() is not None:
            return  # the failure itself is reported
        with lock:
            done[0] += 1
            _say(True, f"rendering {done[0]}/{len(futures)} {name} ... {run.timings[name]:.1f} s")

    for name, future in zip(run.chapters, futures, strict=True):
        future.add_done_callback(lambda f, name=name: report(name, f))


def render(
    params: dict,
    out_dir: str | Path = "reports",
    *,
    pdf: bool = True,
    progress: bool = False,
    _loaded: tuple | None = None,
) -> Path:
    """Render a report from its parameters into ``out_dir/<name>/``; returns that folder.

    Parameters
    ----------
    params : dict
        The report parameters (:data:`PARAMETERS`); unknown or missing ones are refused.
    out_dir : path
        Where the report folder is written (default ``reports/``; created if missing).
    pdf : bool
        Also write the PDF (default).
    progress : bool
        Print a line on stderr as each step ends: the data loaded, the planning run of the
        chapters, each chapter (``rendering 3/7 out_of_court ... 2.1 s``), the files written.

    Raises
    ------
    ParameterError
        Unknown, missing or ill-typed parameters.
    ReportError
        A notebook failed: the message names it and where its executed copy was kept
        (``out_dir/<name>.failed/``, outputs removed but the error's); no report files are
        left. Or the output folder is a file, cannot be written, or its disk is full.

    Notes
    -----
    The chapters run as many at a time as there are cores (``DISPRO_REPORT_WORKERS`` to
    change it), each in a kernel started once for the run and cleared between chapters. The
    record-level data stay in a private temporary folder (``$TMPDIR``), never in ``out_dir``;
    an earlier report at ``out_dir/<name>`` stays whole until the new one replaces it.
    """
    params = check_parameters(params)
    out_dir = prepare_out_dir(Path(out_dir))
    with _workspace(out_dir) as private:
        run = None
        workers = _workers(len(CHAPTERS[params["report"]]))
        _say(progress, f"{report_name(params)}: loading the data, starting {workers} kernels")
        with Kernels(workers, project_root(), private) as kernels:
            try:
                run = _Run(params, out_dir, _loaded, private)  # while the kernels warm up
                _say(progress, f"loaded the data ... {run.timings['load_data']:.1f} s")
                t0 = time.perf_counter()
                _, failures = _plan([run], kernels)
                if failures:
                    raise failures[0]
                _say(
                    progress,
                    f"ran the {len(run.chapters)} chapters once to plan the suppression "
                    f"... {time.perf_counter() - t0:.1f} s",
                )
                futures = [kernels.submit(run.chapter, n, key=n) for n in run.chapters]
                if progress:
                    _chapter_lines(run, futures)
                errors = []
                for f in futures:
                    try:
                        f.result()
                    except ReportError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
            except BaseException:
                if run is not None:
                    _abort([run], kernels)
                    run.cleanup()
                raise
        try:
            t0 = time.perf_counter()
            folder = run.finish(pdf)
            files = "the HTML, workbook and PDF" if pdf else "the HTML and workbook"
            _say(progress, f"wrote {files} ... {time.perf_counter() - t0:.1f} s")
            return folder
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

    from ..forces import wessex_forces

    areas = ["Wessex", *wessex_forces()]
    checked = check_parameters({**params, "area": areas[0]})
    for area in areas[1:]:
        check_parameters({**params, "area": area})
    out_dir = prepare_out_dir(Path(out_dir))
    runs: list[_Run] = []
    folders: dict[str, Path] = {}
    errors: list[ReportError] = []
    bar = None
    jobs = len(areas) * len(CHAPTERS[checked["report"]])
    with (
        _workspace(out_dir) as private,
        Kernels(_workers(jobs), project_root(), private) as kernels,
    ):
        finisher = Pool(1)
        try:
            # the data are loaded once for every area (each run keeps its own), while the
            # kernels warm up
            scratch = private / "batch"
            with output_errors(private, "the report's private work (set TMPDIR to change it)"):
                scratch.mkdir()
                loaded = _keeping_warnings(load_data, checked, scratch)
            for a in areas:
                runs.append(_Run({**params, "area": a}, out_dir, loaded, private))
            remove(scratch)
            # one suppression for every report of the batch (a failed area takes no part)
            planned, failures = _plan(runs, kernels)
            errors.extend(failures)
            if progress:
                from rich.progress import Progress

                bar = Progress()
                bar.start()
                task = bar.add_task("rendering", total=jobs + len(runs))
            pending = {}
            for run in planned:
                for n in run.chapters:
                    pending[kernels.submit(run.chapter, n, key=n)] = run
            left = {id(r): len(r.chapters) for r in planned}
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
                        except ReportError as exc:
                            errors.append(exc)
                        except Exception as exc:  # noqa: BLE001 - reported below
                            errors.append(ReportError(f"{run.name}: {exc}"))
                    if bar is not None:
                        bar.advance(task)
            finisher.close(wait=True)
        except BaseException:
            _abort(runs, kernels)
            finisher.close(wait=True, cancel=True)  # a report being swapped in is let finish
            raise
        finally:
            if bar is not None:
                bar.stop()
            for run in runs:
                run.cleanup()
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
    partial = out_dir / f".index.html.partial-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    with output_errors(out_dir):
        partial.write_text(
            '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>dispro reports</title>'
            f"<style>{CSS}</style></head><body><h1>Disproportionality reports</h1><ul>{items}</ul></body></html>\n",
            encoding="utf-8",
        )
        os.replace(partial, index)
    return index
