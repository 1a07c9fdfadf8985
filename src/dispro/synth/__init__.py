"""Synthetic Wessex records with known, seeded disparities: the demo data and the tests' truth.

:func:`wessex` draws the four record datasets (``stop_search``, ``disposals``, ``charging``,
``sentencing``) for the three Wessex forces (Hampshire, Dorset, Wiltshire) over the months asked
for, in the canonical schemas of ``data_dictionary/`` and with codes from its code lists. Every
generating parameter is in the module constant :data:`TRUTH`, which is the documentation of the
data: the stop rates per 1,000 residents and their ratios to White, the share of searches with
self-defined ethnicity not stated, hit rates, strip searches, section 60, and the adjusted odds
ratios and confounding of the out-of-court, charging and sentencing models. Populations (ethnic
group, sex and age by force area) come from the bundled Census 2021 tables
(:func:`dispro.population.census2021`), never from numbers restated here.

Every frame says it is synthetic (``attrs["synthetic"] = True``, ``attrs["description"]``) and
carries its dataset's truths in ``attrs["truth"]``. :func:`write` writes files whose names say
``synthetic``: the three court and police outcome datasets as
``synthetic_<dataset>_wessex_<start>_<end>.csv`` (or parquet) and stop and search as
data.police.uk-format monthly files, so that the demo exercises the real reader
(:func:`dispro.read_police_uk`), plus ``SYNTHETIC.md`` and ``synthetic_metadata.json``.

How a tester gets the truth
---------------------------
- Stop rates: :func:`expected_stop_rates` gives the expected searches per 1,000 residents a year
  and the RRI against White for each force and for Wessex (the planted ratios in
  ``TRUTH["stop_search"]["rri"]`` are the crude per-resident ratios of each force, by
  construction; self-defined ethnicity is not stated at random, so dropping Not stated leaves
  the ratio unbiased).
- Binary stages (``hit_rate``, ``strip_search``, ``out_of_court``, ``charge``, ``custody``) and
  ``sentence_length``: :func:`true_marginal_rr` evaluates the generating model on a frame's own
  rows: the expected crude rate and RRI of each group, the true adjusted rate and adjusted risk
  ratio by marginal standardisation (what :mod:`dispro.models` estimates), and the planted
  conditional ratio (odds ratio, rate ratio or ratio of means). The generating model is logistic
  (or log-linear, or Gamma with a log link) in exactly the covariates listed in :data:`TRUTH`, so
  a correctly specified regression on those covariates recovers the planted ratio.

The package
-----------
- :mod:`~dispro.synth.truth`: :data:`TRUTH` and the constants (datasets, forces, version,
  defaults, the truth tables' columns).
- :mod:`~dispro.synth.generate`: :func:`wessex`, drawing each dataset with its own generator
  (``_stop_search``; ``_offenders`` for police outcomes, charging and sentencing) from the
  shared parts of the model (``_model``: Census 2021 arrays, the time factor, the truth table)
  and the drawing kernels (``_draws``, ``_common``).
- :mod:`~dispro.synth.expected`: :func:`expected_sizes`, :func:`expected_stop_rates`,
  :func:`true_marginal_rr`.
- :mod:`~dispro.synth.writer`: :func:`write` (data.police.uk files, record files,
  ``SYNTHETIC.md``, ``synthetic_metadata.json``).
"""

from .expected import expected_sizes, expected_stop_rates, true_marginal_rr
from .generate import wessex
from .truth import (
    DATASETS,
    FORCES,
    GENERATOR_VERSION,
    STOP_RATE_COLUMNS,
    TRUE_RR_COLUMNS,
    TRUTH,
)
from .writer import POLICE_UK_COLUMNS, write

__all__ = [
    "TRUTH",
    "DATASETS",
    "FORCES",
    "GENERATOR_VERSION",
    "TRUE_RR_COLUMNS",
    "STOP_RATE_COLUMNS",
    "wessex",
    "write",
    "true_marginal_rr",
    "expected_stop_rates",
    "expected_sizes",
    "POLICE_UK_COLUMNS",
]
