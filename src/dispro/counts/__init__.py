"""Records to counts: the only place in dispro where records are grouped.

- :func:`aggregate`: record files (CSV, parquet; pandas or DuckDB) or an Ibis table to
  ``by..., events, base``, with the code-list checks and the exclusions ledger;
- :func:`count_events`: records in a data frame or an Ibis table to ``by..., group, events,
  base``; :func:`tally`: the group-by behind every table that counts records per cell;
- :mod:`~dispro.counts.conditions`: the one condition language (a True/False column,
  ``{column: codes}`` or a function) that says which records are events, at risk or excluded,
  evaluated in pandas, SQL and Ibis alike;
- :mod:`~dispro.counts.periods`: months, quarters, financial years and years from dates;
- :mod:`~dispro.counts.ibis`: records where they live (DuckDB, Spark, SQL warehouses):
  :func:`connect`, :func:`table`, :func:`read`.
"""

from .aggregate import (
    COUNT_COLUMNS,
    DEFAULT_THRESHOLD_BYTES,
    ENGINES,
    PERIODS,
    THRESHOLD_ENV,
    aggregate,
)
from .conditions import Condition, all_of, evaluate
from .ibis import URL_ENV, backend_name, connect, is_table, read, table
from .records import count_events, tally

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_THRESHOLD_BYTES",
    "ENGINES",
    "PERIODS",
    "THRESHOLD_ENV",
    "URL_ENV",
    "Condition",
    "aggregate",
    "all_of",
    "backend_name",
    "connect",
    "count_events",
    "evaluate",
    "is_table",
    "read",
    "table",
    "tally",
]
