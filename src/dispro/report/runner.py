"""The renderer: parameters -> notebooks (papermill) -> HTML, PDF, XLSX.

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
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import pickle
import shutil
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._paths import PACKAGE_DIR
from .._version import __version__
from ..errors import DisproWarning
from .assemble import CSS, assemble_html, write_pdf, write_xlsx
from .inputs import filter_data, load_data
from .params import CHAPTERS, PARAMETERS, ReportError, check_parameters, report_name

__all__ = ["render", "render_batch", "notebooks_dir", "project_root"]


def notebooks_dir() -> Path:
    installed = PACKAGE_DIR / "notebooks"
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent.parent / "notebooks"


def project_root() -> Path:
    root = PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


#: What every kernel imports as soon as it starts, while the renderer loads the data: the
#: modules the chapters use (imported modules stay between chapters; variables do not).
WARM_UP = (
    "import matplotlib.pyplot, dispro.report.sections, dispro.pathway, dispro.models, "
    "dispro.readers.quality, dispro.stopsearch.scrutiny, dispro.stopsearch.change, "
    "dispro.stopsearch.darkness_areas"
)


class _Kernels:
    """Jupyter kernels started once and reused by the chapters of one run (or of a batch).

    Starting a kernel and importing the scientific stack costs about 2 seconds; a report has 7
    chapters and a batch 28. The kernels start, and import :data:`WARM_UP`, while the data are
    loaded. Each chapter still runs in a clean namespace: the kernel's variables are cleared and
    open figures closed before it starts (imported modules stay).
    """

    def __init__(self, n: int):
        import queue

        self.size = n
        self._free: queue.Queue = queue.Queue()
        self._all: list = []
        self._warming: dict = {}

    def __enter__(self):
        for _ in range(self.size):
            km = self._start()
            self._all.append(km)
            self._free.put(km)
        for km in self._all:  # in the background: the imports run while the data are loaded
            thread = threading.Thread(target=_warm_up, args=(km,), daemon=True)
            thread.start()
            self._warming[id(km)] = thread
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
        km.start_kernel(cwd=str(project_root()))
        return km

    def run(self, fn, *args):
        km = self._free.get()
        try:
            warming = self._warming.pop(id(km), None)
            if warming is not None:
                warming.join()
            if not km.is_alive():  # a chapter crashed its kernel: start another
                self._all.remove(km)
                km = self._start()
                self._all.append(km)
            _clean(km)
            return fn(*args, km=km)
        finally:
            self._free.put(km)


def _warm_up(km) -> None:
    """Import :data:`WARM_UP` in a kernel (a failure is left to the first chapter to report)."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        kc.execute_interactive(
            WARM_UP, timeout=300, store_history=False, output_hook=lambda m: None
        )
    except Exception:  # noqa: BLE001 - the chapter's own imports will say what is wrong
        pass
    finally:
        kc.stop_channels()


def _clean(km) -> None:
    """Clear the kernel's namespace and close its figures before the next chapter.

    Only the reply on the shell channel is awaited (a message there waits for the connection),
    so the client need not wait for the kernel's broadcasts to reach it first.
    """
    kc = km.client()
    kc.start_channels()
    try:
        kc.execute(
            "get_ipython().run_line_magic('reset', '-f')\n"
            "import sys as _s\n"
            "if 'matplotlib.pyplot' in _s.modules: _s.modules['matplotlib.pyplot'].close('all')\n"
            "del _s",
            store_history=False,
            reply=True,
            timeout=120,
        )
    finally:
        kc.stop_channels()


def _execute(
    chapter_name: str, final_stage: Path, nb_params: dict, failed_dir: Path, *, km=None
) -> float:
    """Execute one chapter notebook with papermill (in kernel ``km`` if given); its wall time."""
    import papermill as pm

    source = notebooks_dir() / f"{chapter_name}.ipynb"
    target = final_stage / "notebooks" / f"{chapter_name}.ipynb"
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
            if loaded is None:
                loaded = _keeping_warnings(load_data, params, self.work)
            (data, self.inputs), self.loading = loaded
            data, filtering = _keeping_warnings(filter_data, data, params)
            self.loading = _merge_warnings(self.loading, filtering)
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
        document, tables = assemble_html(
            chapters, self.work, params, synthetic, loading=self.loading
        )
        (final_stage / f"{name}.html").write_text(document, encoding="utf-8")
        write_xlsx(final_stage / f"{name}.xlsx", tables, params, synthetic)
        self.timings["html_xlsx"] = round(time.perf_counter() - t0, 3)
        if pdf:
            t0 = time.perf_counter()
            write_pdf(document, final_stage / f"{name}.pdf")
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
    with _Kernels(_workers(len(CHAPTERS[params["report"]]))) as kernels:
        run = _Run(params, Path(out_dir).resolve(), _loaded)  # while the kernels warm up
        try:
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
        except BaseException:
            run.cleanup()
            raise
    try:
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

    from ..forces import wessex_forces

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
    jobs = len(areas) * len(CHAPTERS[checked["report"]])
    try:
        with (
            _Kernels(_workers(jobs)) as kernels,
            ThreadPoolExecutor(max_workers=kernels.size) as pool,
            ThreadPoolExecutor(max_workers=1) as finisher,
        ):
            # the data are loaded once for every area (each run keeps its own), while the
            # kernels warm up
            loaded = _keeping_warnings(load_data, checked, scratch)
            runs = [_Run({**params, "area": a}, out_dir, loaded) for a in areas]
            if progress:
                from rich.progress import Progress

                bar = Progress()
                bar.start()
                task = bar.add_task("rendering", total=jobs + len(runs))
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
        f"<style>{CSS}</style></head><body><h1>Disproportionality reports</h1><ul>{items}</ul></body></html>\n",
        encoding="utf-8",
    )
    return index
