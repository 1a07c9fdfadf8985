"""Statistical disclosure control for published tables of counts.

Small counts are replaced by the markers of the UK Government Analysis Function's guidance on
symbols in tables (primary suppression), and further cells are withheld so that no replaced count
can be worked out exactly from the published cells and totals (secondary suppression).

The markers are exported as constants: :data:`CONFIDENTIAL` (``"[c]"``), :data:`NOT_AVAILABLE`
(``"[x]"``), :data:`NOT_APPLICABLE` (``"[z]"``) and :data:`LOW` (``"[low]"``, a value that rounds
to zero; not produced by :func:`suppress`, which works on whole counts, but kept here so that every
table in the package uses the same strings).
"""

from ._linked import IdentityError, Structure
from ._linked import solve as solve_linked
from ._markers import CONFIDENTIAL, LOW, MARKERS, NOT_APPLICABLE, NOT_AVAILABLE, STATUSES, TOTAL
from ._publish import (
    COUNT_COLUMNS,
    Counts,
    Margins,
    cell_keys,
    period_months,
    publishable,
    withheld_cells,
)
from ._suppress import suppress, suppression_mask

__all__ = [
    "CONFIDENTIAL",
    "NOT_AVAILABLE",
    "NOT_APPLICABLE",
    "LOW",
    "MARKERS",
    "TOTAL",
    "STATUSES",
    "suppress",
    "suppression_mask",
    "COUNT_COLUMNS",
    "Margins",
    "withheld_cells",
    "publishable",
    "Counts",
    "cell_keys",
    "period_months",
    "Structure",
    "IdentityError",
    "solve_linked",
]
