"""A seeded sentencing-like generator with known effects, shared by the tests of dispro.models
(deliberately independent of ``dispro.synth``), and record-level reference fits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special

GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
GROUP_SHARES = [0.70, 0.10, 0.09, 0.05, 0.04, 0.02]
#: planted conditional log odds ratios of custody against White
TRUE_LOG_OR = {
    "White": 0.0,
    "Black": math.log(1.25),
    "Asian": math.log(1.10),
    "Mixed": 0.0,
    "Other": math.log(0.90),
    "Not stated": 0.0,
}
OFFENCES = [
    "violence_against_the_person",
    "robbery",
    "theft_offences",
    "drug_offences",
    "public_order_offences",
    "summary_non_motoring",
]
OFFENCE_LOG_OR = np.array([0.8, 1.6, 0.0, 0.5, -0.4, -1.2])
#: offence mix by group: the planted confounding (Black and Mixed defendants more often sentenced
#: for robbery, drugs and violence, which carry more custody)
OFFENCE_MIX = {
    "White": [0.20, 0.03, 0.35, 0.12, 0.15, 0.15],
    "Black": [0.25, 0.10, 0.20, 0.25, 0.10, 0.10],
    "Asian": [0.22, 0.05, 0.28, 0.18, 0.13, 0.14],
    "Mixed": [0.24, 0.08, 0.25, 0.20, 0.12, 0.11],
    "Other": [0.20, 0.04, 0.33, 0.13, 0.15, 0.15],
    "Not stated": [0.20, 0.03, 0.35, 0.12, 0.15, 0.15],
}
PREVIOUS = ["0", "1-2", "3-6", "7-10"]
PREVIOUS_LOG_OR = np.array([-0.7, -0.2, 0.2, 0.6])
PREVIOUS_MIX = {
    "White": [0.35, 0.30, 0.20, 0.15],
    "Black": [0.25, 0.27, 0.25, 0.23],
    "Asian": [0.38, 0.30, 0.18, 0.14],
    "Mixed": [0.28, 0.28, 0.23, 0.21],
    "Other": [0.36, 0.30, 0.19, 0.15],
    "Not stated": [0.35, 0.30, 0.20, 0.15],
}
SEXES, SEX_SHARES, SEX_LOG_OR = ["Male", "Female"], [0.85, 0.15], np.array([0.4, 0.0])
AGES = ["18-20", "21-24", "25-29", "30-39", "40-49"]
AGE_SHARES, AGE_LOG_OR = [0.12, 0.18, 0.22, 0.30, 0.18], np.array([-0.3, 0.0, 0.1, 0.1, 0.0])
PLEAS, PLEA_SHARES, PLEA_LOG_OR = (
    ["guilty", "not_guilty", "no_plea"],
    [0.72, 0.18, 0.10],
    np.array([0.0, 0.5, 0.2]),
)
INTERCEPT = -1.3
YEARS = ["2022", "2023", "2024"]
#: planted log ratio of mean custody months against White (Gamma, log link)
TRUE_LOG_LENGTH = {"White": 0.0, "Black": math.log(1.15), "Asian": math.log(1.05)}
OFFENCE_LOG_LENGTH = np.array([0.6, 1.0, 0.0, 0.3, -0.3, -0.6])
GAMMA_SHAPE = 2.0


def _draw(rng, labels, probs_by_row):
    """One categorical draw per row from row-specific probabilities (inverse CDF)."""
    cum = np.cumsum(probs_by_row, axis=1)
    u = rng.random(len(cum))[:, None]
    idx = (u > cum).sum(axis=1)
    return np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]


def make_sentencing(
    n: int,
    seed: int,
    *,
    controls=("sex", "age_band", "offence_group", "plea", "previous_convictions"),
    force_sd: float = 0.0,
    n_forces: int = 30,
    trend: dict | None = None,
) -> pd.DataFrame:
    """Seeded sentencing-like records with known effects.

    Custody (``outcome == "immediate_custody"``) follows a logistic model with
    ``logit P = -1.3 + TRUE_LOG_OR[ethnicity] + OFFENCE_LOG_OR[offence] + PREVIOUS_LOG_OR[band] +
    SEX_LOG_OR + AGE_LOG_OR + PLEA_LOG_OR (+ a force effect N(0, force_sd) + trend)``: Black 1.25,
    Asian 1.10, Other 0.90, Mixed and Not stated 1.00 conditional odds ratios against White. Only
    the columns in ``controls`` carry their effect (the others are drawn but inert), so a model
    with exactly those controls is correctly specified. Offence mix and previous convictions differ
    by group (``OFFENCE_MIX``, ``PREVIOUS_MIX``): the planted confounding makes the raw RRI of the
    Black group exceed its adjusted ratio. ``trend`` adds ``{group: {year: log OR}}``.
    Custody months are Gamma (shape 2) with log mean ``1.5 + TRUE_LOG_LENGTH + OFFENCE_LOG_LENGTH
    + 0.1 × previous band index``. Columns also hold ``force`` (``n_forces`` forces),
    ``court_type``, ``year`` and the linear predictor ``_eta`` (for the true marginal RR).
    """
    rng = np.random.default_rng(seed)
    eth = rng.choice(np.asarray(GROUPS, dtype=object), n, p=GROUP_SHARES)
    gi = pd.Index(GROUPS).get_indexer(eth)
    off = _draw(rng, OFFENCES, np.asarray([OFFENCE_MIX[g] for g in GROUPS])[gi])
    prev = _draw(rng, PREVIOUS, np.asarray([PREVIOUS_MIX[g] for g in GROUPS])[gi])
    sex = rng.choice(np.asarray(SEXES, dtype=object), n, p=SEX_SHARES)
    age = rng.choice(np.asarray(AGES, dtype=object), n, p=AGE_SHARES)
    plea = rng.choice(np.asarray(PLEAS, dtype=object), n, p=PLEA_SHARES)
    force_idx = rng.integers(0, n_forces, n)
    force_effect = np.random.default_rng(1000 + seed).normal(0, force_sd, n_forces)
    year = rng.choice(np.asarray(YEARS, dtype=object), n)
    eta = INTERCEPT + np.array([TRUE_LOG_OR[g] for g in GROUPS])[gi]
    effects = {
        "offence_group": OFFENCE_LOG_OR[pd.Index(OFFENCES).get_indexer(off)],
        "previous_convictions": PREVIOUS_LOG_OR[pd.Index(PREVIOUS).get_indexer(prev)],
        "sex": SEX_LOG_OR[pd.Index(SEXES).get_indexer(sex)],
        "age_band": AGE_LOG_OR[pd.Index(AGES).get_indexer(age)],
        "plea": PLEA_LOG_OR[pd.Index(PLEAS).get_indexer(plea)],
    }
    for c in controls:
        eta = eta + effects[c]
    eta = eta + force_effect[force_idx]
    for g, by_year in (trend or {}).items():
        for y, v in by_year.items():
            eta = eta + v * ((eth == g) & (year == y))
    custody = rng.random(n) < special.expit(eta)
    log_mean = (
        1.5
        + np.array([TRUE_LOG_LENGTH.get(g, 0.0) for g in GROUPS])[gi]
        + OFFENCE_LOG_LENGTH[pd.Index(OFFENCES).get_indexer(off)]
        + 0.1 * pd.Index(PREVIOUS).get_indexer(prev)
    )
    months = rng.gamma(GAMMA_SHAPE, np.exp(log_mean) / GAMMA_SHAPE)
    outcome = np.where(
        custody, "immediate_custody", rng.choice(["community", "fine", "suspended_sentence"], n)
    )
    return pd.DataFrame(
        {
            "ethnicity": eth,
            "sex": sex,
            "age_band": age,
            "offence_group": off,
            "plea": plea,
            "previous_convictions": prev,
            "force": np.asarray([f"force_{i:02d}" for i in range(n_forces)], dtype=object)[
                force_idx
            ],
            "court_type": np.where(off == "robbery", "crown", "magistrates"),
            "year": year,
            "outcome": outcome,
            "custody": custody,
            "custody_months": np.where(custody, months, np.nan),
            "_eta": eta,
        }
    )


def true_marginal_rr(frame: pd.DataFrame, group: str, reference: str = "White") -> float:
    """The true marginal RR under the data's covariate distribution: each record's true custody
    probability as if in ``group`` and as if in ``reference``, averaged over all records."""
    base = frame["_eta"].to_numpy() - frame["ethnicity"].map(TRUE_LOG_OR).to_numpy()
    p_g = special.expit(base + TRUE_LOG_OR[group]).mean()
    p_r = special.expit(base + TRUE_LOG_OR[reference]).mean()
    return float(p_g / p_r)


CONTROLS = ["sex", "age_band", "offence_group", "plea", "previous_convictions"]


def rhs(fit) -> str:
    return fit.info["formula"].split("~", 1)[1]


def record_glm(frame, fit, **fit_kwargs):
    data = frame.assign(_y=frame["custody"].astype(int))
    return smf.glm("_y ~" + rhs(fit), data=data, family=sm.families.Binomial()).fit(
        tol=1e-12, **fit_kwargs
    )
