"""The Wessex disproportionality report: parameters -> notebooks (papermill) -> HTML, PDF, XLSX.

- :mod:`~dispro.report.params`: the parameters (:data:`PARAMETERS`), the chapters of each report
  kind (:data:`CHAPTERS`), :func:`check_parameters` and :func:`report_name`;
- :mod:`~dispro.report.inputs`: the data of a run, loaded once and filtered to its area and period;
- :mod:`~dispro.report.recorder`: :class:`Chapter`, what a notebook records (every table through
  disclosure control);
- :mod:`~dispro.report.sections`: presentation, one module per chapter: prose, tables and figures
  written from results the library computed;
- :mod:`~dispro.report.wording`: plain-English sentences from result tables;
- :mod:`~dispro.report.assemble`: the HTML, PDF and workbook;
- :mod:`~dispro.report.runner`: papermill, kernels, staging, provenance: :func:`render` and
  :func:`render_batch`.

Notebooks talk to the renderer through :class:`Chapter` (``dispro.report.chapter(...)``).
"""

from .inputs import load
from .params import CHAPTERS, PARAMETERS, ReportError, check_parameters, report_name
from .recorder import Chapter, chapter
from .runner import render, render_batch
from .supply import NotSupplied, supplied

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
    "supplied",
    "NotSupplied",
]
