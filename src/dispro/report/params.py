"""The report's parameters: what a run accepts (:data:`PARAMETERS`), the chapters of each report
kind (:data:`CHAPTERS`), the check every notebook and the renderer make (:func:`check_parameters`)
and the name of the output (:func:`report_name`)."""

from __future__ import annotations

import re

import pandas as pd

from ..errors import DisproError, ParameterError, did_you_mean

__all__ = [
    "PARAMETERS",
    "CHAPTERS",
    "CHAPTER_DATA",
    "INTERNAL",
    "ReportError",
    "ReportInputError",
    "check_parameters",
    "report_name",
]


class ReportError(DisproError):
    """A report could not be rendered; nothing that looks like a report was left behind."""


class ReportInputError(ReportError):
    """The report's inputs cannot be used (a configuration file, an input path, a period with no
    data): found before any chapter ran."""


#: The report parameters: name -> (type, default, description). ``None`` default = required.
PARAMETERS: dict[str, tuple[type | tuple, object, str]] = {
    "report": (
        str,
        "wessex",
        "'wessex' (the full report), 'scrutiny' (the stop-and-search pack) or 'oocd' (the "
        "out-of-court disposals pack)",
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
    "min_base": (int, 20, "a rate or share over fewer people at risk than this is withheld"),
    "min_population": (
        int,
        100,
        "a rate per resident over fewer residents than this is withheld",
    ),
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
    "contact": (str, "", "who to contact about the figures (shown on the workbook's cover)"),
    "annex": (
        bool,
        False,
        "print the data standard as an annex of the report (it is always in the workbook)",
    ),
}


#: Chapter notebooks of each report kind, in order.
CHAPTERS = {
    "wessex": [
        "summary",
        "stop_search",
        "use_of_force",
        "out_of_court",
        "charging",
        "sentencing",
        "data_quality",
        "methods",
    ],
    "scrutiny": ["summary", "scrutiny", "use_of_force", "data_quality", "methods"],
    "oocd": ["summary", "oocd_scrutiny", "data_quality", "methods"],
}


#: The dataset each chapter presents: a chapter whose dataset has no rows for the report's area
#: and period is left out, and the summary says why (:func:`dispro.report.inputs.absent_datasets`).
CHAPTER_DATA = {
    "stop_search": "stop_search",
    "scrutiny": "stop_search",
    "out_of_court": "disposals",
    "charging": "charging",
    "sentencing": "sentencing",
    "oocd_scrutiny": "disposals",
    "use_of_force": "use_of_force",
}

#: Parameters the renderer sets: the run's private work folder, and the datasets left out with
#: the reason (``{dataset: reason}``).
INTERNAL = ("work_dir", "absent")


def check_parameters(params: dict) -> dict:
    """Refuse unknown or missing parameters and wrong types; fill defaults. Returns a new dict."""
    if not isinstance(params, dict):
        raise ParameterError(f"report parameters must be a mapping, not {type(params).__name__}")
    unknown = [k for k in params if k not in PARAMETERS and k not in INTERNAL]
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
        if out[key] and not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", out[key]):
            raise ParameterError(
                f"`{key}` must be a month written YYYY-MM (years 1900 to 2099), but "
                f"{out[key]!r} was passed"
            )
    if out["period_start"] > out["period_end"]:
        raise ParameterError(
            f"`period_start` ({out['period_start']}) is after `period_end` ({out['period_end']})"
        )
    if bool(out["comparison_start"]) != bool(out["comparison_end"]):
        raise ParameterError(
            "give both `comparison_start` and `comparison_end` (or neither, for the first year "
            f"of the period), but only {'`comparison_start`' if out['comparison_start'] else '`comparison_end`'} was given"
        )
    if out["comparison_start"] > out["comparison_end"]:
        raise ParameterError(
            f"`comparison_start` ({out['comparison_start']}) is after `comparison_end` "
            f"({out['comparison_end']})"
        )
    _check_area(out["area"])
    if not out["comparison_start"]:
        start = pd.Period(out["period_start"], freq="M")
        out["comparison_start"] = str(start)
        out["comparison_end"] = str(min(start + 11, pd.Period(out["period_end"], freq="M")))
    if not (0 < out["alpha"] < 1):
        raise ParameterError(f"`alpha` must lie between 0 and 1, but {out['alpha']!r} was passed")
    if out["suppression_threshold"] < 0:
        raise ParameterError("`suppression_threshold` must not be negative")
    for name in ("min_base", "min_population"):
        if out[name] < 0:
            raise ParameterError(f"`{name}` must not be negative (0 turns the rule off)")
    for internal in INTERNAL:
        if internal in params:
            out[internal] = params[internal]
    return out


def _check_area(area: str) -> None:
    """The area is Wessex or a police force area (a name, code or alias)."""
    from ..forces import normalise_force

    if area.strip().lower() == "wessex":
        return
    try:
        normalise_force(area)
    except DisproError as exc:
        raise ParameterError(
            f"`area` must be 'Wessex' or a police force area (e.g. 'Dorset', 'City of London'): "
            f"{exc}"
        ) from None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def report_name(params: dict) -> str:
    """The output folder and file name built from the parameters."""
    kind = {
        "wessex": "wessex-disproportionality-report",
        "oocd": "oocd-scrutiny-pack",
    }.get(params["report"], "stop-search-scrutiny-pack")
    return f"{kind}_{slug(params['area'])}_{params['period_start']}_{params['period_end']}"
