"""The report's sections: presentation only, one module per chapter.

Each function writes one section's prose, tables and figures into a
:class:`dispro.report.Chapter` from results computed by the library.
"""

from . import appendix, oocd, scrutiny, stages, stop_search, summary, use_of_force

__all__ = ["appendix", "oocd", "scrutiny", "stages", "stop_search", "summary", "use_of_force"]
