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
"""

from __future__ import annotations

import functools
import json
import math
import re
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ._version import __version__
from .dictionary import codelist, codes
from .errors import DataQualityWarning, DisproError, ParameterError, check_choice
from .population import census2021
from .population_age import census2021_age

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

#: Version of the generating model: it changes whenever the same seed would give other records.
GENERATOR_VERSION = "1.0"

#: The record datasets :func:`wessex` draws, in pathway order.
DATASETS = ("stop_search", "disposals", "charging", "sentencing")

#: The Wessex force areas (the ``wessex`` column of the police_force_area code list).
FORCES = ("Hampshire", "Dorset", "Wiltshire")

#: Columns of :func:`true_marginal_rr`.
TRUE_RR_COLUMNS = (
    "stage",
    "group",
    "records",
    "crude_rate",
    "crude_rri",
    "adjusted_rate",
    "adjusted_rr",
    "conditional_ratio",
)

#: Columns of :func:`expected_stop_rates`.
STOP_RATE_COLUMNS = ("area", "ethnicity", "population", "searches_per_year", "rate", "rri")

DEFAULT_START, DEFAULT_END, DEFAULT_SEED = "2021-04", "2024-03", 2026

_S60 = "Criminal Justice and Public Order Act 1994 (section 60)"
_MDA = "Misuse of Drugs Act 1971 (section 23)"
_PACE = "Police and Criminal Evidence Act 1984 (section 1)"
_NOT_STATED_LABEL = "Other ethnic group - Not stated"
_LOG = math.log
_Drawn = tuple[pd.DataFrame, dict]  # a generator's records and its truth inputs

# ---------------------------------------------------------------------------------------------
# the truth: every generating parameter, in one place
# ---------------------------------------------------------------------------------------------

# fmt: off
_OFFENCE_TILT_BLACK = {  # heavier offence mix for Black people (confounding)
    "violence_against_the_person": 1.1, "sexual_offences": 1.0, "robbery": 2.5,
    "theft_offences": 0.8, "criminal_damage_and_arson": 0.8, "drug_offences": 2.0,
    "possession_of_weapons": 2.2, "public_order_offences": 1.0,
    "miscellaneous_crimes_against_society": 1.0, "fraud_offences": 1.2,
    "summary_non_motoring": 0.8, "summary_motoring": 0.8,
}
_OFFENCE_TILT_MIXED = {
    "violence_against_the_person": 1.05, "sexual_offences": 1.0, "robbery": 1.6,
    "theft_offences": 0.9, "criminal_damage_and_arson": 0.9, "drug_offences": 1.4,
    "possession_of_weapons": 1.5, "public_order_offences": 1.0,
    "miscellaneous_crimes_against_society": 1.0, "fraud_offences": 1.0,
    "summary_non_motoring": 0.9, "summary_motoring": 0.9,
}
_OFFENCE_TILT_ASIAN = {
    "violence_against_the_person": 0.9, "sexual_offences": 1.1, "robbery": 1.0,
    "theft_offences": 0.9, "criminal_damage_and_arson": 0.8, "drug_offences": 1.1,
    "possession_of_weapons": 1.0, "public_order_offences": 0.9,
    "miscellaneous_crimes_against_society": 1.0, "fraud_offences": 1.6,
    "summary_non_motoring": 0.9, "summary_motoring": 1.4,
}
_YOUNGER = {"10-17": 1.4, "18-20": 1.4, "21-24": 1.25, "25-29": 1.1, "30-39": 1.0,
            "40-49": 0.8, "50-59": 0.65, "60+": 0.5}
_GROUP_MULTIPLIER = {"White": 1.0, "Asian": 0.9, "Black": 2.5, "Mixed": 1.8, "Other": 1.3}
_NON_CUSTODY = {
    "magistrates": {"suspended_sentence": 0.10, "community": 0.22, "fine": 0.50,
                    "discharge": 0.10, "other": 0.08},
    "crown": {"suspended_sentence": 0.55, "community": 0.30, "fine": 0.05, "discharge": 0.03,
              "other": 0.07},
}

TRUTH: dict = {
    "description": (
        "Synthetic Wessex records drawn by dispro.synth with known, seeded disparities. "
        "NOT REAL DATA: every record is invented; only the Census 2021 populations are real."
    ),
    "reference": "White",
    "forces": list(FORCES),
    "population": (
        "Census 2021 usual residents by police force area, ethnic group (5) and sex from "
        "dispro.population.census2021, age (data.police.uk bands, both sexes) from "
        "dispro.population_age.census2021_age and the 19 detailed groups (for the detailed "
        "labels) from census2021(scheme='19'); age and sex are taken as independent within "
        "each force and group. Nothing is restated in the generator."
    ),
    "time": {
        "seasonality": {"amplitude": 0.12, "peak_month": 7},
        "trend_per_year": -0.04,
        "anchor_month": "2022-10",
        "note": (
            "Expected volumes in month m are multiplied by (1 + amplitude cos(2 pi (m - peak) "
            "/ 12)) (1 + trend_per_year)^((m - anchor) / 12), the same for every group, force "
            "and dataset, so no ratio between groups changes over time. Counts are Poisson "
            "given these expectations; dates are uniform within the month."
        ),
    },
    "stop_search": {
        "rate_per_1000_white": {"Hampshire": 4.0, "Dorset": 3.5, "Wiltshire": 3.0},
        "rri": {
            "Hampshire": {"White": 1.0, "Asian": 1.2, "Black": 3.5, "Mixed": 1.8, "Other": 1.0},
            "Dorset": {"White": 1.0, "Asian": 1.1, "Black": 4.0, "Mixed": 2.0, "Other": 1.1},
            "Wiltshire": {"White": 1.0, "Asian": 1.3, "Black": 3.0, "Mixed": 1.6, "Other": 0.9},
        },
        "note": (
            "Person searches of group g in force f a year = rate_per_1000_white[f] x rri[f][g] "
            "x Census population[f][g] / 1000 (x the time factor): the planted ratios are the "
            "crude per-resident RRIs of each force by construction. Within a group, searches "
            "fall on sex x age in proportion to the group's Census sex and age shares times "
            "sex_propensity x age_propensity, the same for every group, so the age-specific "
            "RRIs differ from the crude ones only through the groups' age structures "
            "(minority groups are younger; expected_stop_rates() gives both)."
        ),
        "sex_propensity": {"Male": 1.0, "Female": 0.12},
        "age_propensity": {"under 10": 0.002, "10-17": 1.0, "18-24": 1.6, "25-34": 0.9,
                           "over 34": 0.18},
        "sex_blank_share": 0.003,
        "sex_other_share": 0.001,
        "age_blank_share": 0.02,
        "vehicle_only_share": 0.03,
        "person_and_vehicle_share": 0.15,
        "not_stated_share": {"Hampshire": 0.18, "Dorset": 0.24, "Wiltshire": 0.20},
        "not_stated_blank_share": 0.10,
        "not_stated_note": (
            "Self-defined ethnicity is not stated completely at random (the same share for every "
            "group within a force): 90% 'Other ethnic group - Not stated', 10% blank. The "
            "officer-defined ethnicity is filled in for every not-stated person search."
        ),
        "officer_perception": {
            "White": {"White": 0.97, "Black": 0.005, "Asian": 0.01, "Other": 0.015},
            "Black": {"White": 0.03, "Black": 0.93, "Asian": 0.01, "Other": 0.03},
            "Asian": {"White": 0.05, "Black": 0.02, "Asian": 0.85, "Other": 0.08},
            "Mixed": {"White": 0.40, "Black": 0.35, "Asian": 0.10, "Other": 0.15},
            "Other": {"White": 0.25, "Black": 0.10, "Asian": 0.25, "Other": 0.40},
        },
        "officer_blank_share": 0.01,
        "legislation_mix": {
            "White": {_MDA: 0.58, "Firearms Act 1968 (section 47)": 0.015,
                      "Criminal Justice Act 1988 (section 139B)": 0.002,
                      "Psychoactive Substances Act 2016 (s36(2))": 0.003, _PACE: 0.40},
            "Asian": {_MDA: 0.64, "Firearms Act 1968 (section 47)": 0.015,
                      "Criminal Justice Act 1988 (section 139B)": 0.002,
                      "Psychoactive Substances Act 2016 (s36(2))": 0.003, _PACE: 0.34},
            "Black": {_MDA: 0.68, "Firearms Act 1968 (section 47)": 0.02,
                      "Criminal Justice Act 1988 (section 139B)": 0.002,
                      "Psychoactive Substances Act 2016 (s36(2))": 0.003, _PACE: 0.295},
            "Mixed": {_MDA: 0.64, "Firearms Act 1968 (section 47)": 0.015,
                      "Criminal Justice Act 1988 (section 139B)": 0.002,
                      "Psychoactive Substances Act 2016 (s36(2))": 0.003, _PACE: 0.34},
            "Other": {_MDA: 0.60, "Firearms Act 1968 (section 47)": 0.015,
                      "Criminal Justice Act 1988 (section 139B)": 0.002,
                      "Psychoactive Substances Act 2016 (s36(2))": 0.003, _PACE: 0.38},
            "vehicle": {_MDA: 0.60, _PACE: 0.40},
        },
        "object_mix": {
            _MDA: {"Controlled drugs": 0.95, "Evidence of offences under the Act": 0.05},
            _PACE: {"Offensive weapons": 0.38, "Stolen goods": 0.27,
                    "Article for use in theft": 0.25,
                    "Articles for use in criminal damage": 0.08, "Fireworks": 0.02},
            "Firearms Act 1968 (section 47)": {"Firearms": 1.0},
            "Criminal Justice Act 1988 (section 139B)": {"Offensive weapons": 1.0},
            "Psychoactive Substances Act 2016 (s36(2))": {"Psychoactive substances": 1.0},
            _S60: {"Offensive weapons": 0.7, "Anything to threaten or harm anyone": 0.3},
        },
        "section60": {
            "force": "Hampshire",
            "months": "the two middle months of the period (2022-09 and 2022-10 by default)",
            "share_white": 0.10,
            "share_ratio": {"White": 1.0, "Asian": 1.3, "Black": 2.5, "Mixed": 1.8, "Other": 1.0},
            "note": (
                "Only Hampshire authorises section 60, only in those two months. A person "
                "search there is made under section 60 with probability share_white x "
                "share_ratio[group] (relabelled, not added: per-resident rates are unchanged). "
                "Section 60 searches are part of a policing operation ('Operation Sceptre')."
            ),
        },
        "hit_rate": {
            "outcome": "outcome_linked (the object of the search was found)",
            "kind": "logit",
            "intercept": -0.9,
            "terms": {
                "force": {"Hampshire": 0.0, "Dorset": 0.1, "Wiltshire": -0.1},
                "object_of_search": {
                    "Controlled drugs": 0.0, "Evidence of offences under the Act": -0.3,
                    "Psychoactive substances": -0.5, "Offensive weapons": -1.2,
                    "Anything to threaten or harm anyone": -1.4, "Firearms": -1.5,
                    "Stolen goods": -0.6, "Article for use in theft": -0.8,
                    "Articles for use in criminal damage": -0.9, "Fireworks": -0.5,
                },
                "legislation": {_S60: -1.2},
            },
            "odds_ratio": {"White": 1.0, "Asian": 1.0, "Black": 0.75, "Mixed": 0.9, "Other": 1.0},
            "note": (
                "A planted lower threshold of suspicion for Black people: the odds of finding "
                "the object are 0.75 times White's given force, object of search and section "
                "60 (unlisted legislation adds 0). Vehicle-only searches use the White odds. A "
                "hit-rate model with force and object fixed effects, section 60 excluded, "
                "recovers the odds ratios."
            ),
        },
        "outcome_given_hit": {
            "linked_drugs": {"arrest": 0.28, "summons_charged": 0.05, "caution": 0.02,
                             "cannabis_khat_warning": 0.27, "penalty_notice": 0.02,
                             "community_resolution": 0.22, "no_further_action": 0.14},
            "linked_other": {"arrest": 0.50, "summons_charged": 0.08, "caution": 0.03,
                             "cannabis_khat_warning": 0.0, "penalty_notice": 0.03,
                             "community_resolution": 0.18, "no_further_action": 0.18},
            "not_linked": {"arrest": 0.06, "summons_charged": 0.01, "caution": 0.003,
                           "cannabis_khat_warning": 0.01, "penalty_notice": 0.002,
                           "community_resolution": 0.03, "no_further_action": 0.885},
        },
        "outcome_vocabulary": {
            "old_wording": {"Dorset": "the first six months of the period", "Wiltshire": 0.15},
            "article_found_share": 0.10,
            "blank_share": 0.005,
            "note": (
                "Outcomes are written in the current data.police.uk wording, except Dorset's "
                "first six months and 15% of Wiltshire's searches, in the older wording ('Suspect "
                "arrested', 'Local resolution', ...); there a tenth of linked searches with "
                "further action say 'Article found - Detailed outcome unavailable' (harmonised "
                "outcome other). 0.5% of outcomes are blank (not_recorded)."
            ),
        },
        "outcome_linked_not_supplied": {
            "force": "Wiltshire",
            "months": "the first three months of the period",
            "note": "outcome_linked is blank for every search of those force-months.",
        },
        "strip_search": {
            "kind": "loglinear",
            "share_white": {"Hampshire": 0.012, "Dorset": 0.015, "Wiltshire": 0.010},
            "rate_ratio": {"White": 1.0, "Asian": 1.2, "Black": 2.0, "Mixed": 1.5, "Other": 1.0},
            "note": (
                "removal_outer_clothing is True with probability share_white[force] x "
                "rate_ratio[group] for person searches, independently of everything else; "
                "blank for vehicle-only searches."
            ),
        },
        "darkness": {
            "odds_ratio": 1.0,
            "note": (
                "No veil-of-darkness effect: date, clock time and place are drawn independently "
                "of ethnicity, so the minority share of stops does not depend on daylight."
            ),
        },
        "time_of_day": {
            "hour_weights": [4.5, 3.5, 2.5, 1.5, 1.0, 1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 4.5,
                             4.5, 5.0, 5.5, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 5.5, 5.0],
            "midnight_share": 0.005,
            "note": (
                "UK local clock hours (weights), minutes and seconds uniform; the instants are "
                "true UTC, stamped +00:00 as data.police.uk does, so clock='utc' is the right "
                "reading. A few searches (midnight_share) are stamped exactly 00:00:00+00:00."
            ),
        },
        "location": {
            "blank_share": 0.25,
            "jitter_degrees": {"latitude": 0.012, "longitude": 0.018},
            "towns": {
                "Hampshire": {"Southampton": [50.904, -1.404, 0.28],
                              "Portsmouth": [50.798, -1.091, 0.25],
                              "Basingstoke": [51.266, -1.087, 0.10],
                              "Winchester": [51.063, -1.308, 0.07],
                              "Aldershot": [51.248, -0.763, 0.07],
                              "Newport (Isle of Wight)": [50.701, -1.292, 0.06],
                              "Fareham": [50.852, -1.179, 0.06],
                              "Eastleigh": [50.967, -1.350, 0.06],
                              "Andover": [51.208, -1.480, 0.05]},
                "Dorset": {"Bournemouth": [50.720, -1.880, 0.40], "Poole": [50.715, -1.987, 0.22],
                           "Weymouth": [50.614, -2.457, 0.12],
                           "Dorchester": [50.716, -2.436, 0.08],
                           "Christchurch": [50.735, -1.778, 0.08],
                           "Bridport": [50.733, -2.758, 0.04],
                           "Wimborne Minster": [50.800, -1.988, 0.03],
                           "Shaftesbury": [51.005, -2.198, 0.03]},
                "Wiltshire": {"Swindon": [51.558, -1.782, 0.45], "Salisbury": [51.069, -1.795, 0.17],
                              "Chippenham": [51.458, -2.116, 0.10],
                              "Trowbridge": [51.319, -2.208, 0.10],
                              "Devizes": [51.350, -1.994, 0.06],
                              "Warminster": [51.205, -2.181, 0.05],
                              "Marlborough": [51.420, -1.728, 0.04]},
            },
            "note": "[latitude, longitude, weight] of town centres, with normal jitter; "
                    "independent of ethnicity. A quarter of locations are blank.",
        },
        "part_of_policing_operation": {
            "Hampshire": 0.01, "Dorset": None, "Wiltshire": 0.005,
            "note": "share True (section 60 searches are always True); Dorset never fills it.",
        },
    },
    "disposals": {
        "per_year": 6700,
        "force_weight": "resident population",
        "group_multiplier": dict(_GROUP_MULTIPLIER),
        "sex_multiplier": {"Male": 1.0, "Female": 0.30},
        "note": (
            "Detected offenders of group g and sex s in force f are in proportion to the Census "
            "population[f][g][s] x group_multiplier[g] x sex_multiplier[s]. Age and offence "
            "follow age_mix and offence_mix, multiplied by the group's tilt (Black and Mixed "
            "people younger and with a heavier offence mix): the confounders of the out-of-"
            "court model."
        ),
        "age_mix": {"10-17": 0.14, "18-20": 0.09, "21-24": 0.11, "25-29": 0.13, "30-39": 0.24,
                    "40-49": 0.15, "50-59": 0.09, "60+": 0.05},
        "age_tilt": {"Black": dict(_YOUNGER), "Mixed": dict(_YOUNGER)},
        "offence_mix": {
            "violence_against_the_person": 0.30, "sexual_offences": 0.02, "robbery": 0.02,
            "theft_offences": 0.20, "criminal_damage_and_arson": 0.07, "drug_offences": 0.14,
            "possession_of_weapons": 0.04, "public_order_offences": 0.07,
            "miscellaneous_crimes_against_society": 0.03, "fraud_offences": 0.02,
            "summary_non_motoring": 0.07, "summary_motoring": 0.02,
        },
        "offence_tilt": {"Black": dict(_OFFENCE_TILT_BLACK), "Mixed": dict(_OFFENCE_TILT_MIXED),
                         "Asian": dict(_OFFENCE_TILT_ASIAN)},
        "not_stated_share": 0.06,
        "offence_blank_share": 0.005,
        "out_of_court": {
            "outcome": "an out-of-court disposal rather than charge or summons",
            "kind": "logit",
            "intercept": -0.5,
            "terms": {
                "offence_group": {
                    "violence_against_the_person": 0.0, "sexual_offences": -2.0, "robbery": -2.5,
                    "theft_offences": 0.4, "criminal_damage_and_arson": 0.6, "drug_offences": 0.7,
                    "possession_of_weapons": -1.2, "public_order_offences": 0.3,
                    "miscellaneous_crimes_against_society": -0.8, "fraud_offences": -0.3,
                    "summary_non_motoring": 0.5, "summary_motoring": -0.5,
                },
                "age_band": {"10-17": 1.2, "18-20": 0.5, "21-24": 0.2, "25-29": 0.1, "30-39": 0.0,
                             "40-49": -0.1, "50-59": 0.0, "60+": 0.3},
                "sex": {"Male": 0.0, "Female": 0.4},
                "force": {"Hampshire": 0.0, "Dorset": 0.15, "Wiltshire": -0.1},
            },
            "odds_ratio": {"White": 1.0, "Asian": 1.0, "Black": 0.8, "Mixed": 0.9, "Other": 1.0},
        },
        "oocd_type": {
            "youth": {"youth_caution": 0.45, "youth_conditional_caution": 0.15,
                      "community_resolution": 0.40},
            "drug_offences": {"cannabis_khat_warning": 0.45, "community_resolution": 0.35,
                              "caution": 0.10, "conditional_caution": 0.10},
            "public_order_offences": {"penalty_notice": 0.25, "community_resolution": 0.45,
                                      "caution": 0.15, "conditional_caution": 0.15},
            "summary_non_motoring": {"penalty_notice": 0.25, "community_resolution": 0.45,
                                     "caution": 0.15, "conditional_caution": 0.15},
            "other": {"community_resolution": 0.55, "caution": 0.25, "conditional_caution": 0.20},
        },
    },
    "charging": {
        "per_year": 5000,
        "area": "CPS Wessex",
        "force_blank_share": 0.03,
        "force_weight": "resident population",
        "group_multiplier": dict(_GROUP_MULTIPLIER),
        "sex_multiplier": {"Male": 1.0, "Female": 0.25},
        "age_mix": {"10-17": 0.07, "18-20": 0.08, "21-24": 0.12, "25-29": 0.14, "30-39": 0.27,
                    "40-49": 0.17, "50-59": 0.10, "60+": 0.05},
        "age_tilt": {"Black": dict(_YOUNGER), "Mixed": dict(_YOUNGER)},
        "offence_mix": {
            "violence_against_the_person": 0.38, "sexual_offences": 0.08, "robbery": 0.03,
            "theft_offences": 0.12, "criminal_damage_and_arson": 0.04, "drug_offences": 0.12,
            "possession_of_weapons": 0.05, "public_order_offences": 0.05,
            "miscellaneous_crimes_against_society": 0.06, "fraud_offences": 0.04,
            "summary_non_motoring": 0.02, "summary_motoring": 0.01,
        },
        "offence_tilt": {"Black": dict(_OFFENCE_TILT_BLACK), "Mixed": dict(_OFFENCE_TILT_MIXED),
                         "Asian": dict(_OFFENCE_TILT_ASIAN)},
        "not_stated_share": 0.12,
        "offence_blank_share": 0.005,
        "charge": {
            "outcome": "a decision to charge rather than any other final decision",
            "kind": "logit",
            "intercept": 0.3,
            "terms": {
                "offence_group": {
                    "violence_against_the_person": 0.0, "sexual_offences": -1.2, "robbery": 0.4,
                    "theft_offences": 0.3, "criminal_damage_and_arson": 0.0, "drug_offences": 0.5,
                    "possession_of_weapons": 0.6, "public_order_offences": 0.2,
                    "miscellaneous_crimes_against_society": 0.2, "fraud_offences": -0.3,
                    "summary_non_motoring": 0.1, "summary_motoring": 0.5,
                },
                "age_band": {"10-17": -0.5, "18-20": -0.1, "21-24": 0.0, "25-29": 0.0, "30-39": 0.0,
                             "40-49": 0.0, "50-59": -0.1, "60+": -0.3},
                "sex": {"Male": 0.0, "Female": -0.2},
                "force": {"Hampshire": 0.0, "Dorset": -0.1, "Wiltshire": 0.1},
            },
            "odds_ratio": {"White": 1.0, "Asian": 1.0, "Black": 1.2, "Mixed": 1.1, "Other": 1.0},
        },
        "not_charged": {"nfa_evidential": 0.60, "nfa_public_interest": 0.15, "out_of_court": 0.20,
                        "other": 0.05},
    },
    "sentencing": {
        "per_year": 5000,
        "force_weight": "resident population",
        "group_multiplier": dict(_GROUP_MULTIPLIER),
        "sex_multiplier": {"Male": 1.0, "Female": 0.25},
        "note": (
            "Confounding: Black defendants have a heavier offence mix (offence_tilt) and more "
            "previous convictions (previous_tilt), and Crown Court, plea and remand follow the "
            "offence and history, so the unadjusted custody RRI for Black exceeds the adjusted "
            "ratio; true_marginal_rr() gives both for a frame. No force or court cluster effect."
        ),
        "age_mix": {"10-17": 0.04, "18-20": 0.08, "21-24": 0.12, "25-29": 0.15, "30-39": 0.28,
                    "40-49": 0.17, "50-59": 0.11, "60+": 0.05},
        "age_tilt": {"Black": dict(_YOUNGER), "Mixed": dict(_YOUNGER)},
        "offence_mix": {
            "violence_against_the_person": 0.19, "sexual_offences": 0.02, "robbery": 0.015,
            "theft_offences": 0.16, "criminal_damage_and_arson": 0.025, "drug_offences": 0.09,
            "possession_of_weapons": 0.045, "public_order_offences": 0.035,
            "miscellaneous_crimes_against_society": 0.055, "fraud_offences": 0.015,
            "summary_non_motoring": 0.20, "summary_motoring": 0.14,
        },
        "offence_tilt": {"Black": dict(_OFFENCE_TILT_BLACK), "Mixed": dict(_OFFENCE_TILT_MIXED),
                         "Asian": dict(_OFFENCE_TILT_ASIAN)},
        "previous_mix": {"0": 0.30, "1-2": 0.18, "3-6": 0.18, "7-10": 0.11, "11-14": 0.07,
                         "15+": 0.16},
        "previous_tilt": {
            "Black": {"0": 0.6, "1-2": 0.85, "3-6": 1.1, "7-10": 1.35, "11-14": 1.5, "15+": 1.6},
            "Mixed": {"0": 0.8, "1-2": 0.95, "3-6": 1.05, "7-10": 1.15, "11-14": 1.2, "15+": 1.25},
        },
        "crown_share": {
            "violence_against_the_person": 0.25, "sexual_offences": 0.75, "robbery": 0.85,
            "theft_offences": 0.08, "criminal_damage_and_arson": 0.05, "drug_offences": 0.30,
            "possession_of_weapons": 0.25, "public_order_offences": 0.10,
            "miscellaneous_crimes_against_society": 0.12, "fraud_offences": 0.35,
            "summary_non_motoring": 0.0, "summary_motoring": 0.0,
        },
        "plea_mix": {"crown": {"guilty": 0.78, "not_guilty": 0.20, "no_plea": 0.02},
                     "magistrates": {"guilty": 0.62, "not_guilty": 0.06, "no_plea": 0.32}},
        "remand": {
            "kind": "logit",
            "outcome": "remanded in custody",
            "intercept": -3.2,
            "terms": {
                "court_type": {"magistrates": 0.0, "crown": 1.8},
                "previous_convictions": {"0": 0.0, "1-2": 0.2, "3-6": 0.4, "7-10": 0.6,
                                         "11-14": 0.8, "15+": 1.0},
                "offence_group": {"robbery": 1.0, "sexual_offences": 0.6,
                                  "possession_of_weapons": 0.5, "drug_offences": 0.4,
                                  "violence_against_the_person": 0.3},
            },
            "bail_share_if_not_custody": {"crown": 0.75, "magistrates": 0.35},
        },
        "not_stated_share": 0.08,
        "blank_share": {"offence_group": 0.005, "plea": 0.01, "previous_convictions": 0.01,
                        "remand_status": 0.01},
        "custody": {
            "outcome": "immediate custody",
            "kind": "logit",
            "intercept": -2.2,
            "terms": {
                "offence_group": {
                    "violence_against_the_person": 0.0, "sexual_offences": 1.4, "robbery": 1.8,
                    "theft_offences": 0.1, "criminal_damage_and_arson": -0.4, "drug_offences": 0.3,
                    "possession_of_weapons": 0.9, "public_order_offences": -0.2,
                    "miscellaneous_crimes_against_society": 0.3, "fraud_offences": 0.2,
                    "summary_non_motoring": -1.5, "summary_motoring": -2.5,
                },
                "previous_convictions": {"0": 0.0, "1-2": 0.4, "3-6": 0.9, "7-10": 1.3,
                                         "11-14": 1.6, "15+": 2.0},
                "plea": {"guilty": 0.0, "not_guilty": 0.4, "no_plea": -0.6},
                "remand_status": {"not_remanded": 0.0, "bail": 0.3, "custody": 1.8},
                "age_band": {"10-17": -1.5, "18-20": -0.4, "21-24": -0.1, "25-29": 0.0,
                             "30-39": 0.0, "40-49": 0.0, "50-59": -0.2, "60+": -0.5},
                "sex": {"Male": 0.0, "Female": -0.6},
                "court_type": {"magistrates": 0.0, "crown": 1.0},
            },
            "odds_ratio": {"White": 1.0, "Asian": 1.0, "Black": 1.25, "Mixed": 1.1, "Other": 1.0},
        },
        "non_custody": _NON_CUSTODY,
        "sentence_length": {
            "outcome": "custody_months (immediate custody only)",
            "kind": "gamma",
            "shape": 2.0,
            "intercept": _LOG(3.0),
            "terms": {
                "offence_group": {
                    "violence_against_the_person": 0.0, "sexual_offences": 1.4, "robbery": 1.3,
                    "theft_offences": -0.3, "criminal_damage_and_arson": -0.3, "drug_offences": 0.6,
                    "possession_of_weapons": 0.2, "public_order_offences": -0.2,
                    "miscellaneous_crimes_against_society": 0.0, "fraud_offences": 0.5,
                    "summary_non_motoring": -0.8, "summary_motoring": -0.8,
                },
                "previous_convictions": {"0": 0.0, "1-2": 0.05, "3-6": 0.10, "7-10": 0.15,
                                         "11-14": 0.20, "15+": 0.25},
                "plea": {"guilty": _LOG(0.75), "not_guilty": 0.0, "no_plea": -0.1},
                "remand_status": {"not_remanded": 0.0, "bail": 0.0, "custody": 0.2},
                "age_band": {"10-17": -0.5, "18-20": -0.1, "21-24": 0.0, "25-29": 0.0,
                             "30-39": 0.0, "40-49": 0.0, "50-59": 0.0, "60+": 0.0},
                "sex": {"Male": 0.0, "Female": -0.15},
                "court_type": {"magistrates": 0.0, "crown": 1.0},
            },
            "ratio_of_means": {"White": 1.0, "Asian": 1.0, "Black": 1.1, "Mixed": 1.05,
                               "Other": 1.0},
            "minimum_months": 0.1,
            "indeterminate_share": 0.02,
            "note": (
                "custody_months ~ Gamma(shape 2) with log mean = intercept + terms + "
                "log ratio_of_means[group], rounded to 2 decimals and at least 0.1 months. 2% "
                "of Crown Court custodial sentences for violence or sexual offences are "
                "indeterminate (custody_months blank), chosen at random given the covariates."
            ),
        },
    },
}

# fmt: on

# stages that true_marginal_rr knows: dataset, where the model lives in TRUTH, the group ratio key
_STAGES = {
    "hit_rate": ("stop_search", ("stop_search", "hit_rate"), "odds_ratio"),
    "strip_search": ("stop_search", ("stop_search", "strip_search"), "rate_ratio"),
    "out_of_court": ("disposals", ("disposals", "out_of_court"), "odds_ratio"),
    "charge": ("charging", ("charging", "charge"), "odds_ratio"),
    "custody": ("sentencing", ("sentencing", "custody"), "odds_ratio"),
    "sentence_length": ("sentencing", ("sentencing", "sentence_length"), "ratio_of_means"),
}
_DEFAULT_STAGE = {
    "stop_search": "hit_rate",
    "disposals": "out_of_court",
    "charging": "charge",
    "sentencing": "custody",
}


# ---------------------------------------------------------------------------------------------
# code lists and populations (cached: they never change within a run)
# ---------------------------------------------------------------------------------------------


@functools.cache
def _groups() -> tuple[str, ...]:
    """The five Census groups in the code list's order (``Not stated`` has no population)."""
    table = codelist("ethnicity_groups")
    table = table[table["not_recorded"].str.lower() != "true"]
    return tuple(table.sort_values("order", key=lambda s: s.astype(int))["code"])


def _ordered(name: str) -> tuple[str, ...]:
    table = codelist(name)
    if "order" in table.columns:
        table = table.sort_values("order", key=lambda s: s.astype(int))
    return tuple(table["code"])


@functools.cache
def _levels() -> dict[str, tuple[str, ...]]:
    return {
        "offence_group": _ordered("offence_group"),
        "age_band": _ordered("age_band"),
        "age_band_police_uk": _ordered("age_band_police_uk"),
        "previous_convictions": _ordered("previous_convictions"),
        "plea": tuple(codes("plea")),
        "remand_status": tuple(codes("remand_status")),
        "court_type": tuple(codes("court_type")),
        "sex": ("Female", "Male"),
    }


@functools.cache
def _census() -> tuple[np.ndarray, np.ndarray]:
    """Census 2021 residents as arrays: (force, group, sex) and (force, group, police.uk age)."""
    groups = _groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = census2021(list(FORCES), by=("sex",))
    table = table.assign(population=table["population"].astype("Float64").fillna(0).astype(float))
    sexes = _levels()["sex"]
    pop = (
        table.pivot_table(
            index=["area", "ethnicity"], columns="sex", values="population", aggfunc="sum"
        )
        .reindex(pd.MultiIndex.from_product([FORCES, groups]))[list(sexes)]
        .to_numpy(dtype=float)
        .reshape(len(FORCES), len(groups), len(sexes))
    )
    if not np.isfinite(pop).all() or (pop.sum(axis=2) <= 0).any():
        raise DisproError("the bundled Census 2021 table has no population for a Wessex group")
    bands = _levels()["age_band_police_uk"]
    with warnings.catch_warnings():
        # suppressed cells of the age table: the shares within a group are all that is used
        warnings.simplefilter("ignore", DataQualityWarning)
        age = census2021_age(list(FORCES))
    age = age.assign(population=age["population"].astype("Float64").fillna(0).astype(float))
    ages = (
        age.pivot_table(
            index=["area", "ethnicity"], columns="age_band", values="population", aggfunc="sum"
        )
        .reindex(pd.MultiIndex.from_product([FORCES, groups]))
        .reindex(columns=list(bands))
        .fillna(0)
        .to_numpy(dtype=float)
        .reshape(len(FORCES), len(groups), len(bands))
    )
    if (ages.sum(axis=2) <= 0).any():
        raise DisproError("the bundled Census 2021 age table has no population for a Wessex group")
    return pop, ages / ages.sum(axis=2, keepdims=True)


@functools.cache
def _detailed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Police.uk 2011 labels, their 18+1 codes and Census 2021 shares per force x group.

    Three (force x group, K) tables, row ``f * groups + g``, padded with zero shares. The shares
    are the force's Census 2021 residents in each of the 19 categories; a category with no police
    label (White: Roma) is left out of the within-group split.
    """
    groups = _groups()
    sd = codelist("ethnicity_police_self_defined")
    sd = sd[sd["wording"].str.startswith("2011") & (sd["not_recorded"].str.lower() != "true")]
    label_of = dict(zip(sd["census2021"], sd["code"], strict=True))
    code_of = dict(zip(sd["census2021"], sd["sde_code"], strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = census2021(list(FORCES), scheme="19", by=())
    census = codelist("ethnicity_census2021").set_index("code")["group"]
    table = table.assign(
        population=table["population"].astype("Float64").fillna(0).astype(float),
        group=table["ethnicity"].map(census),
    )
    width = int(table.groupby("group")["ethnicity"].nunique().max())
    labels = np.full((len(FORCES) * len(groups), width), None, dtype=object)
    sde = labels.copy()
    shares = np.zeros(labels.shape)
    for fi, force in enumerate(FORCES):
        for gi, group in enumerate(groups):
            rows = table[(table["area"] == force) & (table["group"] == group)]
            rows = rows[rows["ethnicity"].isin(label_of)]
            share = rows["population"].to_numpy(dtype=float)
            if share.sum() <= 0:  # pragma: no cover
                share = np.ones(len(rows))
            k, row = len(rows), fi * len(groups) + gi
            labels[row, :k] = rows["ethnicity"].map(label_of).to_numpy(dtype=object)
            sde[row, :k] = rows["ethnicity"].map(code_of).to_numpy(dtype=object)
            shares[row, :k] = share / share.sum()
    return labels, sde, shares


@functools.cache
def _outcome_labels() -> tuple[dict[str, str], dict[str, str], dict[str, tuple[bool, bool]]]:
    """Harmonised outcome -> current police.uk label, -> older label, -> (further action, arrest)."""
    current = codelist("stop_search_outcome")
    new = {
        c: lab for c, lab in zip(current["code"], current["police_uk_label"], strict=True) if lab
    }
    flags = {
        c: (a.lower() == "true", b.lower() == "true")
        for c, a, b in zip(
            current["code"], current["any_further_action"], current["arrest"], strict=True
        )
        if a
    }
    table = codelist("stop_search_outcome_map")
    older = table[table["vocabulary"].str.startswith("older")]
    old = {}
    for label, outcome in zip(older["code"], older["outcome"], strict=True):
        old.setdefault(outcome, label)
    return new, old, flags


# ---------------------------------------------------------------------------------------------
# small vectorised kernels
# ---------------------------------------------------------------------------------------------


class _SharedDict(dict):
    """A frame attribute that pandas shares between derived frames instead of deep-copying it
    on every operation (pandas deep-copies ``attrs``; the truth is read-only by convention)."""

    def __deepcopy__(self, memo):
        return self


class _SharedList(list):
    """As :class:`_SharedDict`, for the coverage table (a list of row dicts)."""

    def __deepcopy__(self, memo):
        return self


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cells(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, ...]:
    """Poisson counts per cell of ``expected``; one row per event, as indices of each axis."""
    counts = rng.poisson(expected.ravel())
    flat = np.repeat(np.arange(counts.size), counts)
    return np.unravel_index(flat, expected.shape)


def _draw(
    rng: np.random.Generator,
    probs: np.ndarray,
    keys: np.ndarray | None = None,
    n: int | None = None,
) -> np.ndarray:
    """Categorical draws: ``probs`` is (K,) for every row, or (G, K) with row ``i`` using
    ``probs[keys[i]]`` (inverse CDF, one uniform per row, one pass per key in use)."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    # from each row's last positive category on, +inf: rounding never picks a zero-weight one
    positive = probs > 0
    last = probs.shape[-1] - 1 - np.argmax(positive[..., ::-1], axis=-1)
    cum[np.arange(probs.shape[-1]) >= np.expand_dims(last, -1)] = np.inf
    if probs.ndim == 1:
        return np.searchsorted(cum, rng.random(n), side="right")
    u = rng.random(len(keys))
    out = np.empty(len(keys), dtype=np.int64)
    for key in np.flatnonzero(np.bincount(keys, minlength=len(probs))):
        rows = np.flatnonzero(keys == key)
        out[rows] = np.searchsorted(cum[key], u[rows], side="right")
    return out


def _vector(mapping: dict, levels) -> np.ndarray:
    """Coefficients (or weights) in the order of ``levels``; unlisted levels get 0."""
    return np.array([float(mapping.get(level, 0.0)) for level in levels])


def _index_of(values, levels) -> np.ndarray:
    """Position of each value in ``levels`` (-1 for a blank or unlisted value), by factorising."""
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    position = {level: i for i, level in enumerate(levels)}
    lookup = np.array([position.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[found]  # the sentinel -1 picks the trailing -1


def _lookup(values: pd.Series, mapping: dict) -> tuple[np.ndarray, np.ndarray]:
    """``mapping[value]`` for each value (0 if unlisted) and whether the value is present."""
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.array([float(mapping.get(u, 0.0)) for u in uniques] + [0.0])
    return lookup[found], found >= 0


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame whose text columns stay numpy object arrays (no string conversion cost)."""
    n = len(next(iter(columns.values())))
    index = pd.RangeIndex(n)
    return pd.DataFrame(
        {
            k: pd.Series(v, index=index, dtype=object)
            if isinstance(v, np.ndarray) and v.dtype == object
            else v
            for k, v in columns.items()
        },
        index=index,
    )


def _group_log_ratio(spec: dict, key: str) -> np.ndarray:
    return np.log(_vector(spec[key], _groups()))


def _months(start: str, end: str) -> pd.PeriodIndex:
    out = []
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ParameterError(
                f"`{name}` must be a month written YYYY-MM (e.g. '2021-04'), but {value!r} was "
                "passed"
            )
        out.append(pd.Period(value, freq="M"))
    if out[1] < out[0]:
        raise ParameterError(f"`end` ({end!r}) must not be before `start` ({start!r})")
    return pd.period_range(out[0], out[1], freq="M")


def _time_factor(months: pd.PeriodIndex) -> np.ndarray:
    spec = TRUTH["time"]
    month_of_year = months.month.to_numpy()
    season = 1 + spec["seasonality"]["amplitude"] * np.cos(
        2 * np.pi * (month_of_year - spec["seasonality"]["peak_month"]) / 12
    )
    anchor = pd.Period(spec["anchor_month"], freq="M")
    offset = np.array([(m - anchor).n for m in months], dtype=float)
    return season * (1 + spec["trend_per_year"]) ** (offset / 12)


def _month_bounds(months: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray]:
    """Month starts (naive datetime64[s]) and days in each month."""
    starts = months.to_timestamp().to_numpy().astype("datetime64[s]")
    return starts, months.days_in_month.to_numpy()


def _check_scale(scale) -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(f"`scale` must be a positive number, but {scale!r} was passed")
    return value


def _labels(levels, index: np.ndarray) -> np.ndarray:
    """``levels[index]`` as an object array (a new array, safe to modify)."""
    table = np.empty(len(levels), dtype=object)
    table[:] = list(levels)
    return table[index]


def _text(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """An object array of labels, with None where ``mask`` is True."""
    out = np.asarray(values, dtype=object)
    if mask is not None and mask.any():
        out = out.copy()
        out[mask] = None
    return out


def _boolean(values: np.ndarray, blank: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    mask = np.zeros(len(values), dtype=bool) if blank is None else blank
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), mask.copy())


# ---------------------------------------------------------------------------------------------
# stop and search
# ---------------------------------------------------------------------------------------------


def _stop_search(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["stop_search"]
    groups, levels = _groups(), _levels()
    sexes, ages = levels["sex"], levels["age_band_police_uk"]
    pop, age_share = _census()
    n_f, n_g, n_m = len(FORCES), len(groups), len(months)
    force_arr = np.array(FORCES, dtype=object)

    # --- person searches: Poisson counts per force x month x group x sex x age
    sex_share = pop / pop.sum(axis=2, keepdims=True)
    weight = (
        sex_share[..., None]
        * age_share[:, :, None, :]
        * _vector(spec["sex_propensity"], sexes)[None, None, :, None]
        * _vector(spec["age_propensity"], ages)[None, None, None, :]
    )
    weight /= weight.sum(axis=(2, 3), keepdims=True)
    rri = np.array([_vector(spec["rri"][f], groups) for f in FORCES])
    rate = _vector(spec["rate_per_1000_white"], FORCES) / 1000 / 12
    yearly = rate[:, None] * rri * pop.sum(axis=2)  # (F, G) searches a month, before time
    time = _time_factor(months)
    expected = (
        scale
        * yearly[:, None, :, None, None]
        * time[None, :, None, None, None]
        * weight[:, None, :, :, :]
    )
    f, m, g, s, a = _cells(rng, expected)
    # --- vehicle-only searches: no person
    vshare = spec["vehicle_only_share"]
    vexpected = expected.sum(axis=(2, 3, 4)) * vshare / (1 - vshare)
    vf, vm = _cells(rng, vexpected)
    n_person, n_vehicle = len(f), len(vf)
    n = n_person + n_vehicle
    f = np.concatenate([f, vf])
    m = np.concatenate([m, vm])
    g = np.concatenate([g, np.full(n_vehicle, -1)])
    s = np.concatenate([s, np.zeros(n_vehicle, dtype=np.int64)])
    a = np.concatenate([a, np.zeros(n_vehicle, dtype=np.int64)])
    vehicle = np.zeros(n, dtype=bool)
    vehicle[n_person:] = True
    person = ~vehicle

    # --- search type
    pv = rng.random(n) < spec["person_and_vehicle_share"]
    search_type = _labels(
        ["Person search", "Person and Vehicle search", "Vehicle search"],
        np.where(vehicle, 2, pv.astype(np.int64)),
    )

    # --- date and time: UK local clock, converted to true UTC instants
    starts, days = _month_bounds(months)
    day = np.floor(rng.random(n) * days[m]).astype(np.int64)
    hour = _draw(rng, np.array(spec["time_of_day"]["hour_weights"]), n=n)
    second = hour * 3600 + np.floor(rng.random(n) * 3600).astype(np.int64)
    local_day = starts[m] + day.astype("timedelta64[D]")
    wall = pd.DatetimeIndex((local_day + second.astype("timedelta64[s]")).astype("datetime64[ns]"))
    instant = wall.tz_localize(
        "Europe/London", ambiguous=np.ones(n, dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")
    midnight = rng.random(n) < spec["time_of_day"]["midnight_share"]
    midnight_instant = pd.DatetimeIndex(local_day.astype("datetime64[ns]")).tz_localize("UTC")
    date_ns = np.where(midnight, midnight_instant.asi8, instant.asi8)
    date = pd.DatetimeIndex(date_ns.astype("datetime64[ns]")).tz_localize("UTC")

    # --- self-defined ethnicity (not stated at random), the 5+1 group, officer-defined
    ns_share = _vector(spec["not_stated_share"], FORCES)[f]
    not_stated = person & (rng.random(n) < ns_share)
    blank_ns = not_stated & (rng.random(n) < spec["not_stated_blank_share"])
    stated = person & ~not_stated
    labels, _, shares = _detailed()
    key = f * n_g + np.maximum(g, 0)
    self_label = labels[key, _draw(rng, shares, keys=key)]
    self_label[not_stated] = _NOT_STATED_LABEL
    self_label[blank_ns | vehicle] = None
    ethnicity = _labels([*groups, "Not stated"], np.where(stated, g, n_g))
    basis = _labels(["self_defined", "not_recorded"], (~stated).astype(np.int64))
    officer_levels = ("White", "Black", "Asian", "Other")
    perception = np.array(
        [_vector(spec["officer_perception"][gr], officer_levels) for gr in groups]
    )
    officer_idx = _draw(rng, perception, keys=np.maximum(g, 0))
    officer_blank = vehicle | (stated & (rng.random(n) < spec["officer_blank_share"]))
    officer_idx[officer_blank] = len(officer_levels)
    officer = _labels([*officer_levels, None], officer_idx)
    officer_group = _labels([*officer_levels, "Not stated"], officer_idx)

    # --- sex and age (blank for vehicle-only searches)
    sex = np.array(sexes, dtype=object)[s]
    r = rng.random(n)
    sex[r < spec["sex_other_share"]] = "Other"
    sex = _text(
        sex,
        vehicle
        | (
            (r >= spec["sex_other_share"]) & (r < spec["sex_other_share"] + spec["sex_blank_share"])
        ),
    )
    age = _text(
        np.array(ages, dtype=object)[a], vehicle | (rng.random(n) < spec["age_blank_share"])
    )

    # --- legislation and object of search; section 60 in one force-period
    mixes = spec["legislation_mix"]
    leg_levels = tuple(dict.fromkeys(k for mix in mixes.values() for k in mix))
    leg_probs = np.array([_vector(mixes[k], leg_levels) for k in (*groups, "vehicle")])
    leg_idx = _draw(rng, leg_probs, keys=np.where(vehicle, len(groups), g))
    s60_spec = spec["section60"]
    s60_months = _s60_months(months)
    s60_force = FORCES.index(s60_spec["force"])
    in_period = person & (f == s60_force) & np.isin(m, [months.get_loc(p) for p in s60_months])
    s60_share = s60_spec["share_white"] * _vector(s60_spec["share_ratio"], groups)
    s60 = in_period & (rng.random(n) < s60_share[np.maximum(g, 0)])
    objects = spec["object_mix"]
    leg_all = tuple(dict.fromkeys((*leg_levels, *objects)))
    leg_idx[s60] = leg_all.index(_S60)
    legislation = _labels(leg_all, leg_idx)
    obj_levels = tuple(dict.fromkeys(k for mix in objects.values() for k in mix))
    obj_probs = np.array([_vector(objects[k], obj_levels) for k in leg_all])
    obj_idx = _draw(rng, obj_probs, keys=leg_idx)
    object_of_search = np.array(obj_levels, dtype=object)[obj_idx]

    # --- hit (outcome linked to the object): the planted lower threshold
    hit = spec["hit_rate"]
    eta_hit = (
        hit["intercept"]
        + _vector(hit["terms"]["force"], FORCES)[f]
        + _vector(hit["terms"]["object_of_search"], obj_levels)[obj_idx]
        + np.where(s60, hit["terms"]["legislation"][_S60], 0.0)
    )
    group_term = np.where(vehicle, 0.0, _group_log_ratio(hit, "odds_ratio")[np.maximum(g, 0)])
    linked = rng.random(n) < _expit(eta_hit + group_term)

    # --- outcome, in current or older police.uk wording
    table = spec["outcome_given_hit"]
    outcomes = tuple(table["not_linked"])
    categories = codelist("object_of_search").set_index("code")["category"]
    drugs = np.array([categories.get(o) == "drugs" for o in obj_levels])[obj_idx]
    which = np.where(linked, np.where(drugs, 0, 1), 2)
    out_probs = np.array(
        [_vector(table[k], outcomes) for k in ("linked_drugs", "linked_other", "not_linked")]
    )
    new_label, old_label, flags = _outcome_labels()
    codes_all = tuple(flags)  # every harmonised outcome with a police.uk label
    out_code = np.array([codes_all.index(o) for o in outcomes])[_draw(rng, out_probs, keys=which)]
    vocab = spec["outcome_vocabulary"]
    old = np.zeros(n, dtype=bool)
    dorset = FORCES.index("Dorset")
    old |= (f == dorset) & (m < min(6, n_m))
    old |= (f == FORCES.index("Wiltshire")) & (rng.random(n) < vocab["old_wording"]["Wiltshire"])
    further_action = out_code != codes_all.index("no_further_action")
    found = old & linked & further_action & (rng.random(n) < vocab["article_found_share"])
    out_code[found] = codes_all.index("other")
    wording = [new_label.get(c) for c in codes_all] + [old_label.get(c) for c in codes_all]
    raw = _labels(wording, out_code + old * len(codes_all))
    blank_outcome = rng.random(n) < vocab["blank_share"]
    raw[blank_outcome] = None
    outcome = _labels(
        [*codes_all, "not_recorded"], np.where(blank_outcome, len(codes_all), out_code)
    )
    further = np.array([flags[c][0] for c in codes_all])[out_code]
    arrest = np.array([flags[c][1] for c in codes_all])[out_code]

    # --- outcome linked: not supplied by one force for the first three months
    not_supplied = (f == FORCES.index(spec["outcome_linked_not_supplied"]["force"])) & (m < 3)

    # --- strip searches (removal of more than outer clothing)
    strip_spec = spec["strip_search"]
    p_strip = (
        _vector(strip_spec["share_white"], FORCES)[f]
        * _vector(strip_spec["rate_ratio"], groups)[np.maximum(g, 0)]
    )
    strip = rng.random(n) < p_strip

    # --- policing operations
    op = spec["part_of_policing_operation"]
    op_share = np.array([op[x] if op[x] is not None else 0.0 for x in FORCES])[f]
    operation = s60 | (rng.random(n) < op_share)
    operation_blank = np.array([op[x] is None for x in FORCES])[f]
    operation_name = _labels([None, "Operation Sceptre"], s60.astype(np.int64))

    # --- location: town centres with jitter, a quarter blank
    loc = spec["location"]
    width = max(len(loc["towns"][x]) for x in FORCES)
    towns = np.zeros((n_f, width, 3))
    for fi, force in enumerate(FORCES):
        centres = np.array(list(loc["towns"][force].values()))
        towns[fi, : len(centres)] = centres
    town = _draw(rng, towns[:, :, 2], keys=f)
    lat = towns[f, town, 0] + rng.normal(0, loc["jitter_degrees"]["latitude"], n)
    lon = towns[f, town, 1] + rng.normal(0, loc["jitter_degrees"]["longitude"], n)
    no_location = rng.random(n) < loc["blank_share"]
    lat = np.where(no_location, np.nan, np.round(lat, 6))
    lon = np.where(no_location, np.nan, np.round(lon, 6))

    frame = _frame(
        {
            "date": date,
            "month": months.strftime("%Y-%m").to_numpy(dtype=object)[m],
            "force": force_arr[f],
            "search_type": search_type.astype(object),
            "vehicle_only": _boolean(vehicle),
            "part_of_policing_operation": _boolean(operation, operation_blank),
            "policing_operation": operation_name,
            "latitude": lat,
            "longitude": lon,
            "sex": sex,
            "age_band": age,
            "self_defined_ethnicity": self_label,
            "officer_defined_ethnicity": officer,
            "ethnicity": ethnicity,
            "ethnicity_basis": basis,
            "officer_ethnicity": officer_group,
            "legislation": legislation,
            "object_of_search": object_of_search,
            "outcome": outcome,
            "outcome_raw": raw,
            "any_further_action": _boolean(further, blank_outcome),
            "arrest": _boolean(arrest, blank_outcome),
            "outcome_linked": _boolean(linked, not_supplied),
            "removal_outer_clothing": _boolean(strip, vehicle),
        }
    )
    # the order of read_police_uk on the written files: month, force file (by slug), time
    slugs = codelist("police_force_area").set_index("code")["police_uk_slug"]
    file_rank = np.argsort(np.argsort([slugs[x] for x in FORCES]))
    order = np.lexsort((date_ns, file_rank[f], m))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.attrs["s60_months"] = [str(p) for p in s60_months]
    frame.attrs["coverage"] = _coverage(
        f,
        m,
        months,
        {
            "outcome_linked_supplied": ~not_supplied,
            "removal_outer_clothing_supplied": ~vehicle,
            "part_of_policing_operation_supplied": ~operation_blank,
            "location_supplied": ~no_location,
            "self_defined_ethnicity_supplied": ~(blank_ns | vehicle),
        },
    )
    own = _own(g, stated)
    strip_eta = np.log(_vector(strip_spec["share_white"], FORCES)[f])
    inputs = {
        "hit_rate": (eta_hit, own, stated & ~s60 & ~not_supplied),
        "strip_search": (strip_eta, own, stated),
    }
    return frame, {k: tuple(a[order] for a in v) for k, v in inputs.items()}


def _s60_months(months: pd.PeriodIndex) -> list[pd.Period]:
    """The two middle months of the period (one if the period is a single month)."""
    mid = (len(months) - 1) // 2
    return list(months[mid : mid + 2])


def _coverage(f: np.ndarray, m: np.ndarray, months: pd.PeriodIndex, supplied: dict) -> list[dict]:
    """Force x month coverage in the layout of :func:`dispro.coverage` (every month present).

    ``supplied`` maps each ``<field>_supplied`` flag to a row mask of non-blank values.
    """
    cell = f * len(months) + m
    size = len(FORCES) * len(months)
    rows = np.bincount(cell, minlength=size)
    flags = {k: np.bincount(cell[mask], minlength=size) > 0 for k, mask in supplied.items()}
    labels = months.strftime("%Y-%m")
    out = []
    for force in sorted(FORCES):  # the reader's order: force, then month
        for mi, month in enumerate(labels):
            i = FORCES.index(force) * len(months) + mi
            out.append(
                {
                    "force": force,
                    "month": month,
                    "present": True,
                    "rows": int(rows[i]),
                    "source": "synthetic (dispro.synth)",
                    **{k: bool(v[i]) for k, v in flags.items()},
                }
            )
    return out


# ---------------------------------------------------------------------------------------------
# people in the court and police outcome datasets
# ---------------------------------------------------------------------------------------------


def _tilted(spec: dict, mix_key: str, tilt_key: str, level_key: str) -> np.ndarray:
    """(group, level) weights: the mix times each group's tilt (1 where none is given)."""
    levels = _levels()[level_key]
    base = _vector(spec[mix_key], levels)
    tilts = spec.get(tilt_key, {})
    return np.array([base * _vector(tilts[g], levels) if g in tilts else base for g in _groups()])


def _people(rng: np.random.Generator, spec: dict, months: pd.PeriodIndex, scale: float) -> dict:
    """Force, month, group, sex, age band, offence group and date of each person (arrays)."""
    groups, levels = _groups(), _levels()
    pop, _ = _census()
    share = (
        pop
        * _vector(spec["group_multiplier"], groups)[None, :, None]
        * _vector(spec["sex_multiplier"], levels["sex"])[None, None, :]
    )
    share = share / share.sum(axis=(1, 2), keepdims=True)
    force_weight = pop.sum(axis=(1, 2)) / pop.sum()
    expected = (
        scale
        * spec["per_year"]
        / 12
        * force_weight[:, None, None, None]
        * _time_factor(months)[None, :, None, None]
        * share[:, None, :, :]
    )
    f, m, g, s = _cells(rng, expected)
    n = len(f)
    age = _draw(rng, _tilted(spec, "age_mix", "age_tilt", "age_band"), keys=g)
    offence = _draw(rng, _tilted(spec, "offence_mix", "offence_tilt", "offence_group"), keys=g)
    starts, days = _month_bounds(months)
    day = np.floor(rng.random(n) * days[m]).astype(np.int64)
    date = (starts[m] + day.astype("timedelta64[D]")).astype("datetime64[ns]")
    return {
        "f": f,
        "m": m,
        "g": g,
        "s": s,
        "age": age,
        "offence": offence,
        "date": date,
        "n": n,
    }


def _recorded_ethnicity(rng: np.random.Generator, people: dict, share: float) -> dict:
    """Recorded 5+1 group, the 18+1 code it came from, and the basis; not stated at random."""
    n, f, g = people["n"], people["f"], people["g"]
    groups = _groups()
    not_stated = rng.random(n) < share
    _, sde, shares = _detailed()
    key = f * len(groups) + g
    detailed = sde[key, _draw(rng, shares, keys=key)]
    detailed[not_stated] = "NS"
    return {
        "ethnicity": _labels([*groups, "Not stated"], np.where(not_stated, len(groups), g)),
        "ethnicity_detailed": detailed,
        "ethnicity_basis": _labels(["self_defined", "not_recorded"], not_stated.astype(np.int64)),
    }


def _eta(model: dict, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Linear predictor of a TRUTH model, without the group term, from level indices."""
    levels = _levels()
    eta = np.full(n, float(model["intercept"]))
    for column, coefs in model["terms"].items():
        names = FORCES if column == "force" else levels[column]
        eta += _vector(coefs, names)[values[column]]
    return eta


def _own(g: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """The group index where ethnicity is recorded, -1 where it is Not stated."""
    return np.where(stated, g, -1)


def _finish(frame: pd.DataFrame, prefix: str, order_keys, inputs: dict):
    """Sort by force and date, number the records, and put the truth inputs in the same order."""
    order = np.lexsort(order_keys)
    frame = frame.iloc[order].reset_index(drop=True)
    inputs = {k: tuple(a[order] for a in v) for k, v in inputs.items()}
    # Arrow builds a million ids without making a million Python strings
    number = pc.utf8_lpad(pa.array(np.arange(1, len(frame) + 1)).cast(pa.string()), 7, "0")
    ids = pc.binary_join_element_wise(f"SYN-{prefix}-", number, "")
    frame.insert(0, "record_id", pd.Series(ids, dtype="str"))
    return frame, inputs


def _disposals(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["disposals"]
    levels = _levels()
    p = _people(rng, spec, months, scale)
    n = p["n"]
    eth = _recorded_ethnicity(rng, p, spec["not_stated_share"])
    values = {"offence_group": p["offence"], "age_band": p["age"], "sex": p["s"], "force": p["f"]}
    model = spec["out_of_court"]
    eta = _eta(model, values, n)
    oocd = rng.random(n) < _expit(eta + _group_log_ratio(model, "odds_ratio")[p["g"]])
    types = spec["oocd_type"]
    kinds = tuple(types)
    disposal_levels = tuple(codes("disposal"))
    type_probs = np.array([_vector(types[k], disposal_levels) for k in kinds])
    offences = np.array(levels["offence_group"], dtype=object)[p["offence"]]
    youth = np.array(levels["age_band"])[p["age"]] == "10-17"
    kind = np.where(youth, kinds.index("youth"), kinds.index("other"))
    for k in kinds:
        if k in levels["offence_group"]:
            kind = np.where(~youth & (offences == k), kinds.index(k), kind)
    disposal = np.array(disposal_levels, dtype=object)[_draw(rng, type_probs, keys=kind)]
    disposal[~oocd] = "charge_summons"
    offence_blank = rng.random(n) < spec["offence_blank_share"]
    frame = _frame(
        {
            "date": p["date"],
            "force": np.array(FORCES, dtype=object)[p["f"]],
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(offences, offence_blank),
            "disposal": disposal,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    inputs = {"out_of_court": (eta, _own(p["g"], stated), stated & ~offence_blank)}
    return _finish(frame, "DIS", (p["date"].astype(np.int64), p["f"]), inputs)


def _charging(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["charging"]
    levels = _levels()
    p = _people(rng, spec, months, scale)
    n = p["n"]
    eth = _recorded_ethnicity(rng, p, spec["not_stated_share"])
    values = {"offence_group": p["offence"], "age_band": p["age"], "sex": p["s"], "force": p["f"]}
    model = spec["charge"]
    eta = _eta(model, values, n)
    charged = rng.random(n) < _expit(eta + _group_log_ratio(model, "odds_ratio")[p["g"]])
    other = tuple(spec["not_charged"])
    decision = np.array(other, dtype=object)[_draw(rng, _vector(spec["not_charged"], other), n=n)]
    decision[charged] = "charge"
    force_blank = rng.random(n) < spec["force_blank_share"]
    offence_blank = rng.random(n) < spec["offence_blank_share"]
    frame = _frame(
        {
            "date": p["date"],
            "area": np.full(n, spec["area"], dtype=object),
            "force": _text(np.array(FORCES, dtype=object)[p["f"]], force_blank),
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(
                np.array(levels["offence_group"], dtype=object)[p["offence"]], offence_blank
            ),
            "decision": decision,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    inputs = {"charge": (eta, _own(p["g"], stated), stated & ~offence_blank & ~force_blank)}
    return _finish(frame, "CHG", (p["date"].astype(np.int64), p["f"]), inputs)


def _sentencing(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["sentencing"]
    levels = _levels()
    p = _people(rng, spec, months, scale)
    n, g = p["n"], p["g"]
    eth = _recorded_ethnicity(rng, p, spec["not_stated_share"])
    previous = _draw(
        rng, _tilted(spec, "previous_mix", "previous_tilt", "previous_convictions"), keys=g
    )
    courts = levels["court_type"]
    crown = rng.random(n) < _vector(spec["crown_share"], levels["offence_group"])[p["offence"]]
    court = np.where(crown, courts.index("crown"), courts.index("magistrates"))
    plea_probs = np.array([_vector(spec["plea_mix"][c], levels["plea"]) for c in courts])
    plea = _draw(rng, plea_probs, keys=court)
    remand_spec = spec["remand"]
    values = {
        "offence_group": p["offence"],
        "age_band": p["age"],
        "sex": p["s"],
        "force": p["f"],
        "previous_convictions": previous,
        "court_type": court,
        "plea": plea,
    }
    eta = np.full(n, remand_spec["intercept"])
    for column, coefs in remand_spec["terms"].items():
        eta += _vector(coefs, levels[column])[values[column]]
    remanded = rng.random(n) < _expit(eta)
    bail_share = _vector(remand_spec["bail_share_if_not_custody"], courts)[court]
    bail = ~remanded & (rng.random(n) < bail_share)
    remand_levels = levels["remand_status"]
    remand = np.where(
        remanded,
        remand_levels.index("custody"),
        np.where(bail, remand_levels.index("bail"), remand_levels.index("not_remanded")),
    )
    values["remand_status"] = remand
    model = spec["custody"]
    eta = _eta(model, values, n)
    custody = rng.random(n) < _expit(eta + _group_log_ratio(model, "odds_ratio")[g])
    outcomes = tuple(codes("sentencing_outcome"))
    other_probs = np.array([_vector(spec["non_custody"][c], outcomes) for c in courts])
    outcome = np.array(outcomes, dtype=object)[_draw(rng, other_probs, keys=court)]
    outcome[custody] = "immediate_custody"
    length = spec["sentence_length"]
    eta_length = _eta(length, values, n)
    mean = np.exp(eta_length + _group_log_ratio(length, "ratio_of_means")[g])
    months_ = rng.gamma(length["shape"], mean / length["shape"])
    months_ = np.maximum(np.round(months_, 2), length["minimum_months"])
    offences = np.array(levels["offence_group"], dtype=object)[p["offence"]]
    long_kind = crown & np.isin(offences, ["violence_against_the_person", "sexual_offences"])
    indeterminate = custody & long_kind & (rng.random(n) < length["indeterminate_share"])
    custody_months = np.where(custody & ~indeterminate, months_, np.nan)
    blank = {k: rng.random(n) < v for k, v in spec["blank_share"].items()}
    frame = _frame(
        {
            "date": p["date"],
            "force": np.array(FORCES, dtype=object)[p["f"]],
            "court_type": np.array(courts, dtype=object)[court],
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(offences, blank["offence_group"]),
            "plea": _text(np.array(levels["plea"], dtype=object)[plea], blank["plea"]),
            "previous_convictions": _text(
                np.array(levels["previous_convictions"], dtype=object)[previous],
                blank["previous_convictions"],
            ),
            "remand_status": _text(
                np.array(remand_levels, dtype=object)[remand], blank["remand_status"]
            ),
            "outcome": outcome,
            "custody_months": custody_months,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    complete = stated & ~np.logical_or.reduce(list(blank.values()))
    inputs = {
        "custody": (eta, _own(g, stated), complete),
        "sentence_length": (eta_length, _own(g, stated), complete & custody & ~indeterminate),
    }
    return _finish(frame, "SEN", (p["date"].astype(np.int64), p["f"]), inputs)


_GENERATORS = {
    "stop_search": _stop_search,
    "disposals": _disposals,
    "charging": _charging,
    "sentencing": _sentencing,
}


# ---------------------------------------------------------------------------------------------
# the public functions
# ---------------------------------------------------------------------------------------------


def _check_datasets(datasets) -> tuple[str, ...]:
    if datasets is None:
        return DATASETS
    chosen = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    for d in chosen:
        check_choice("datasets", d, DATASETS)
    return tuple(d for d in DATASETS if d in chosen)


def _description(dataset: str, start: str, end: str, scale: float, seed: int) -> str:
    return (
        f"SYNTHETIC {dataset} records for Wessex (Hampshire, Dorset, Wiltshire), {start} to "
        f"{end}, drawn by dispro.synth {GENERATOR_VERSION} (seed {seed}, scale {scale:g}) with "
        "known, planted disparities (attrs['truth']). Not real records: for demonstrations "
        "and tests only. Populations are real Census 2021 figures."
    )


def wessex(
    *,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    datasets=None,
) -> dict[str, pd.DataFrame]:
    """Synthetic Wessex records with known, seeded disparities, in the canonical schemas.

    Parameters
    ----------
    start, end : str
        First and last month (``YYYY-MM``), inclusive. Default April 2021 to March 2024 (three
        financial years).
    scale : float
        Multiplies every expected volume. At 1 (default), over three years: about 43,000
        searches, 20,000 police outcomes, 15,000 charging decisions and 15,000 sentences
        (:func:`expected_sizes` gives the expectation for any period and scale). Use 0.1 to 0.5
        for tests and 10 to 100 for benchmarks; generation is vectorised.
    seed : int
        Seed of :func:`numpy.random.default_rng`. Each dataset draws from its own child stream
        (``numpy.random.SeedSequence(seed).spawn``), so asking for one dataset gives the same
        frame as asking for all four.
    datasets : str or list of str, optional
        Which of :data:`DATASETS` to draw (default all).

    Returns
    -------
    dict of str to DataFrame
        ``"stop_search"``, ``"disposals"``, ``"charging"``, ``"sentencing"``: the records, with
        the canonical fields of ``data_dictionary/datasets/<dataset>.yaml`` that the source would
        hold (stop and search also the columns :func:`dispro.read_police_uk` derives, ``month``
        and the reader's ``attrs``: ``coverage``, ``clock`` = ``"utc"``, ``fallback``). Each
        frame passes :func:`dispro.validate`. Each frame's ``attrs`` hold ``synthetic`` (True),
        ``description``, ``dataset``, ``truth`` (its section of :data:`TRUTH` plus
        ``expected``: the true crude and adjusted ratios evaluated on the frame, see
        :func:`true_marginal_rr`, and for stop and search :func:`expected_stop_rates`; shared,
        not copied, by frames derived from it: read it, do not modify it), ``seed``, ``scale``,
        ``start``, ``end``, ``generator_version`` and an empty exclusions ledger.

    Raises
    ------
    ParameterError
        A month not written ``YYYY-MM``, ``end`` before ``start``, a scale that is not a
        positive number, or an unknown dataset.

    Notes
    -----
    The populations by force, ethnic group, sex and age are Census 2021's
    (:func:`dispro.population.census2021`); the planted effects are in :data:`TRUTH`.

    Examples
    --------
    >>> from dispro import synth
    >>> data = synth.wessex(scale=0.05, seed=1)
    >>> sorted(data)
    ['charging', 'disposals', 'sentencing', 'stop_search']
    >>> data["sentencing"].attrs["synthetic"]
    True
    >>> synth.TRUTH["sentencing"]["custody"]["odds_ratio"]["Black"]
    1.25
    """
    months = _months(start, end)
    scale = _check_scale(scale)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"`seed` must be a non-negative integer, but {seed!r} was passed")
    chosen = _check_datasets(datasets)
    streams = dict(
        zip(DATASETS, np.random.SeedSequence(int(seed)).spawn(len(DATASETS)), strict=True)
    )
    out = {}
    for name in chosen:
        rng = np.random.default_rng(streams[name])
        frame, inputs = _GENERATORS[name](rng, months, scale)
        extra = {}
        if name == "stop_search":
            extra = {
                "coverage": _SharedList(frame.attrs.pop("coverage")),
                "clock": "utc",
                "fallback": False,
                "source": "synthetic (dispro.synth)",
                "section60_months": frame.attrs.pop("s60_months"),
            }
        truth = json.loads(json.dumps(TRUTH[name]))
        truth["expected"] = {}
        frame.attrs = {
            "synthetic": True,
            "description": _description(name, str(months[0]), str(months[-1]), scale, int(seed)),
            "dataset": name,
            "seed": int(seed),
            "scale": scale,
            "start": str(months[0]),
            "end": str(months[-1]),
            "generator_version": GENERATOR_VERSION,
            "exclusions": [],
            **extra,
        }
        for stage, (eta, own, rows) in inputs.items():
            table = _truth_table(stage, eta[rows], own[rows], "White", "all")
            truth["expected"][stage] = table.drop(columns="stage").to_dict("records")
        if name == "stop_search":
            truth["expected"]["stop_rates"] = expected_stop_rates(
                start=str(months[0]), end=str(months[-1])
            ).to_dict("records")
            labels = [str(p) for p in months]
            truth["section60"]["months"] = extra["section60_months"]
            truth["outcome_linked_not_supplied"]["months"] = labels[:3]
            truth["outcome_vocabulary"]["old_wording"]["Dorset"] = labels[:6]
        frame.attrs["truth"] = _SharedDict(truth)
        out[name] = frame
    return out


def expected_sizes(
    *, start: str = DEFAULT_START, end: str = DEFAULT_END, scale: float = 1.0
) -> dict[str, float]:
    """Expected number of records of each dataset (searches include vehicle-only ones).

    Examples
    --------
    >>> from dispro import synth
    >>> {k: round(v, -3) for k, v in synth.expected_sizes().items()}  # doctest: +NORMALIZE_WHITESPACE
    {'stop_search': 43000.0, 'disposals': 20000.0, 'charging': 15000.0, 'sentencing': 15000.0}
    """
    months = _months(start, end)
    scale = _check_scale(scale)
    time = _time_factor(months).sum()
    searches = expected_stop_rates(start=start, end=end)
    forces = searches[searches["area"].isin(FORCES)]
    person = forces["searches_per_year"].sum() / 12 * time * scale
    vshare = TRUTH["stop_search"]["vehicle_only_share"]
    out = {"stop_search": person / (1 - vshare)}
    for name in DATASETS[1:]:
        out[name] = TRUTH[name]["per_year"] / 12 * time * scale
    return {k: float(v) for k, v in out.items()}


def expected_stop_rates(*, start: str = DEFAULT_START, end: str = DEFAULT_END) -> pd.DataFrame:
    """The true person-search rates per 1,000 residents a year and RRIs, by force and Wessex.

    The expectation of what a crude per-resident analysis of :func:`wessex`'s searches gives
    (Census 2021 populations, self-defined ethnicity, Not stated left out: it is missing at
    random, so the ratios are unbiased), averaged over the period's months (seasonality and
    trend included).

    Returns
    -------
    DataFrame
        Columns :data:`STOP_RATE_COLUMNS`: ``area`` (each force, then ``Wessex``),
        ``ethnicity``, ``population`` (Census 2021), ``searches_per_year`` (expected person
        searches a year at scale 1, all ethnicities as recorded or not), ``rate`` (per 1,000
        residents a year), ``rri`` (against White). Also ``attrs["age_specific_rri"]``: the
        RRI within every age band (the same in each band by construction), i.e. the RRI an
        age-standardised analysis estimates, as ``{area: {group: rri}}`` for the forces.
    """
    months = _months(start, end)
    spec = TRUTH["stop_search"]
    groups, levels = _groups(), _levels()
    pop, age_share = _census()
    time = _time_factor(months).mean()
    rri = np.array([_vector(spec["rri"][f], groups) for f in FORCES])
    rate = _vector(spec["rate_per_1000_white"], FORCES)[:, None] * rri * time  # per 1,000 a year
    people = pop.sum(axis=2)
    rows = []
    for fi, force in enumerate(FORCES):
        for gi, group in enumerate(groups):
            rows.append((force, group, people[fi, gi], rate[fi, gi] * people[fi, gi] / 1000))
    for gi, group in enumerate(groups):
        rows.append(
            ("Wessex", group, people[:, gi].sum(), (rate[:, gi] * people[:, gi]).sum() / 1000)
        )
    table = pd.DataFrame(rows, columns=["area", "ethnicity", "population", "searches_per_year"])
    table["rate"] = table["searches_per_year"] / table["population"] * 1000
    white = table[table["ethnicity"] == "White"].set_index("area")["rate"]
    table["rri"] = table["rate"] / table["area"].map(white)
    # age-specific RRI: rri x (sum_a share_W(a) p(a)) / (sum_a share_g(a) p(a)); sex likewise
    sexes, ages = levels["sex"], levels["age_band_police_uk"]
    sex_share = pop / pop.sum(axis=2, keepdims=True)
    norm = (sex_share * _vector(spec["sex_propensity"], sexes)).sum(axis=2) * (
        age_share * _vector(spec["age_propensity"], ages)
    ).sum(axis=2)
    white_i = groups.index("White")
    table.attrs["age_specific_rri"] = {
        force: {
            group: float(rri[fi, gi] * norm[fi, white_i] / norm[fi, gi])
            for gi, group in enumerate(groups)
        }
        for fi, force in enumerate(FORCES)
    }
    return table.loc[:, list(STOP_RATE_COLUMNS)]


def _frame_eta(frame: pd.DataFrame, model: dict) -> tuple[np.ndarray, np.ndarray]:
    """Linear predictor without the group term, and which rows have every covariate."""
    eta = np.full(len(frame), float(model.get("intercept", 0.0)))
    complete = np.ones(len(frame), dtype=bool)
    for column, coefs in model.get("terms", {}).items():
        value, present = _lookup(frame[column], coefs)
        eta += value
        complete &= present
    return eta, complete


def true_marginal_rr(
    frame: pd.DataFrame,
    stage: str | None = None,
    *,
    reference: str = "White",
    standard: str = "all",
) -> pd.DataFrame:
    """The true crude and adjusted ratios of a synthetic frame, from the generating model.

    Evaluates the model in :data:`TRUTH` on the frame's own rows: each row's true probability
    (or mean sentence length) given its covariates, under its own group and under every group.

    Parameters
    ----------
    frame : DataFrame
        Records from :func:`wessex` (or read back from :func:`write`'s files) of the stage's
        dataset.
    stage : {"hit_rate", "strip_search", "out_of_court", "charge", "custody", "sentence_length"}
        Default: the dataset's main stage (``hit_rate``, ``out_of_court``, ``charge``,
        ``custody``), found from ``frame.attrs["dataset"]``.
    reference : str
        The reference group (default White).
    standard : str
        The population over which adjusted rates are averaged: ``"all"`` (every analysed row
        with a stated group: marginal standardisation as in METHODS.md section 5, what a
        g-computation estimate targets), or a group name (that group's own rows: the effect on
        the treated).

    Returns
    -------
    DataFrame
        One row per group (the five Census groups), columns :data:`TRUE_RR_COLUMNS`:
        ``stage``; ``group``; ``records`` (rows analysed: stated group, every covariate
        present, and for hit rates person searches outside section 60 with the outcome
        supplied; for sentence length immediate custody with a length); ``crude_rate`` (mean
        true probability, or mean true expected months, over the group's own rows: the
        expectation of the observed crude rate given these rows); ``crude_rri`` (against the
        reference); ``adjusted_rate`` (mean over the standard rows of the probability had each
        row been in the group); ``adjusted_rr`` (against the reference: the true marginal risk
        ratio, or ratio of means); ``conditional_ratio`` (the planted odds ratio, rate ratio or
        ratio of means).

    Notes
    -----
    For a logit stage with linear predictor ``eta_i`` (intercept plus the covariate terms of
    :data:`TRUTH`) and planted odds ratio ``OR_g``: ``p_i(g) = expit(eta_i + log OR_g)``;
    ``adjusted_rate_g = mean_i p_i(g)`` over the standard rows; ``adjusted_rr_g =
    adjusted_rate_g / adjusted_rate_ref``; ``crude_rate_g = mean_{i in g} p_i(g)``. A covariate
    value not listed in a term adds 0; a blank covariate drops the row (blanks are missing at
    random). The unadjusted RRI exceeds the adjusted ratio by ``crude_rri / adjusted_rr``.

    Examples
    --------
    >>> from dispro import synth
    >>> sentences = synth.wessex(scale=0.05, seed=3, datasets="sentencing")["sentencing"]
    >>> truth = synth.true_marginal_rr(sentences).set_index("group")
    >>> float(truth.loc["Black", "conditional_ratio"])
    1.25
    >>> bool(truth.loc["Black", "crude_rri"] > truth.loc["Black", "adjusted_rr"] > 1)
    True
    """
    dataset = frame.attrs.get("dataset")
    if stage is None:
        if dataset not in _DEFAULT_STAGE:
            raise ParameterError(
                "`stage` must be given when the frame does not say its dataset (attrs['dataset']); "
                f"one of {tuple(_STAGES)}"
            )
        stage = _DEFAULT_STAGE[dataset]
    check_choice("stage", stage, tuple(_STAGES))
    groups = _groups()
    check_choice("reference", reference, groups)
    if standard != "all":
        check_choice("standard", standard, ("all", *groups))
    expected_dataset, path, _ = _STAGES[stage]
    model = TRUTH[path[0]][path[1]]
    kind = model["kind"]
    own = _index_of(frame["ethnicity"], groups)
    rows = own >= 0
    if expected_dataset == "stop_search":
        rows &= ~frame["vehicle_only"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if stage == "hit_rate":
            rows &= _index_of(frame["legislation"], (_S60,)) < 0
            rows &= frame["outcome_linked"].notna().to_numpy()
        else:
            rows &= frame["removal_outer_clothing"].notna().to_numpy()
    if stage == "sentence_length":
        rows &= _index_of(frame["outcome"], ("immediate_custody",)) == 0
        rows &= frame["custody_months"].notna().to_numpy()
    if kind == "loglinear":  # strip searches: share_white[force] x rate_ratio[group]
        base, complete = _lookup(frame["force"], model["share_white"])
        complete &= base > 0
        eta = np.log(np.where(complete, base, 1.0))
    else:
        eta, complete = _frame_eta(frame, model)
    rows &= complete
    return _truth_table(stage, eta[rows], own[rows], reference, standard)


def _truth_table(
    stage: str, eta: np.ndarray, own: np.ndarray, reference: str, standard: str
) -> pd.DataFrame:
    """Crude and standardised true rates from the base predictor and group of analysed rows."""
    groups = _groups()
    _, path, ratio_key = _STAGES[stage]
    model = TRUTH[path[0]][path[1]]
    log_ratio = _group_log_ratio(model, ratio_key)
    link = _expit if model["kind"] == "logit" else np.exp
    weights = np.ones(len(eta), dtype=bool) if standard == "all" else own == groups.index(standard)
    crude, adjusted, records = [], [], []
    for gi in range(len(groups)):
        mine = own == gi
        records.append(int(mine.sum()))
        crude.append(float(link(eta[mine] + log_ratio[gi]).mean()) if mine.any() else np.nan)
        adjusted.append(
            float(link(eta[weights] + log_ratio[gi]).mean()) if weights.any() else np.nan
        )
    crude, adjusted = np.array(crude), np.array(adjusted)
    ref = groups.index(reference)
    return pd.DataFrame(
        {
            "stage": stage,
            "group": list(groups),
            "records": records,
            "crude_rate": crude,
            "crude_rri": crude / crude[ref],
            "adjusted_rate": adjusted,
            "adjusted_rr": adjusted / adjusted[ref],
            "conditional_ratio": np.exp(log_ratio - log_ratio[ref]),
        }
    ).loc[:, list(TRUE_RR_COLUMNS)]


# ---------------------------------------------------------------------------------------------
# writing the files
# ---------------------------------------------------------------------------------------------

#: The 15 data.police.uk columns and the canonical field each one comes from.
POLICE_UK_COLUMNS = {
    "Type": "search_type",
    "Date": "date",
    "Part of a policing operation": "part_of_policing_operation",
    "Policing operation": "policing_operation",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Gender": "sex",
    "Age range": "age_band",
    "Self-defined ethnicity": "self_defined_ethnicity",
    "Officer-defined ethnicity": "officer_defined_ethnicity",
    "Legislation": "legislation",
    "Object of search": "object_of_search",
    "Outcome": "outcome_raw",
    "Outcome linked to object of search": "outcome_linked",
    "Removal of more than just outer clothing": "removal_outer_clothing",
}
_FORMATS = ("csv", "parquet")


def _bool_text(values: pd.Series) -> pa.Array:
    """``True``/``False`` as police.uk writes them; blank (null) where not recorded."""
    arr = values.astype("boolean")
    index = np.where(arr.isna().to_numpy(), 2, arr.fillna(False).to_numpy(dtype=bool).astype(int))
    return pa.array(np.array(["False", "True", None], dtype=object)[index], type=pa.string())


def _coord_text(values: pd.Series) -> pa.Array:
    """Decimal degrees with six decimals (``-1.087760``), as police.uk writes them."""
    arr = values.to_numpy(dtype=float)
    blank = np.isnan(arr)
    micro = np.rint(np.nan_to_num(arr) * 1e6).astype(np.int64)
    whole = pa.array(np.abs(micro) // 1_000_000).cast(pa.string())
    part = pc.utf8_lpad(pa.array(np.abs(micro) % 1_000_000).cast(pa.string()), 6, "0")
    sign = pa.array(np.where(micro < 0, "-", ""))
    text = pc.binary_join_element_wise(sign, whole, ".", part, "")
    return pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)


def _police_uk_text(frame: pd.DataFrame) -> pa.Table:
    """The searches as the 15 police.uk columns, as text (blank where police.uk is blank)."""
    instants = pa.array(frame["date"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    stamp = pc.binary_join_element_wise(
        pc.strftime(instants.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S"), "+00:00", ""
    )
    text = {}
    for column, field in POLICE_UK_COLUMNS.items():
        if field == "date":
            text[column] = stamp
        elif field in ("part_of_policing_operation", "outcome_linked", "removal_outer_clothing"):
            text[column] = _bool_text(frame[field])
        elif field in ("latitude", "longitude"):
            text[column] = _coord_text(frame[field])
        else:
            values = frame[field].astype(object).where(frame[field].notna(), None).to_numpy()
            text[column] = pa.array(values, type=pa.string())
    return pa.table(text)


def _records_table(frame: pd.DataFrame) -> pa.Table:
    """A canonical records frame as an Arrow table: dates ``YYYY-MM-DD``, blanks as nulls."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            day = values.to_numpy().astype("datetime64[D]")
            columns[name] = pa.array(np.datetime_as_string(day, unit="D").astype(object))
        elif pd.api.types.is_float_dtype(values):
            columns[name] = pa.array(values.to_numpy(), from_pandas=True)
        else:
            text = values.astype(object).where(values.notna(), None).to_numpy()
            columns[name] = pa.array(text, type=pa.string())
    return pa.table(columns)


def _write_csv(path: Path, table: pa.Table) -> None:
    """Write a CSV file as data.police.uk does: an unquoted header, values quoted only when
    they must be, blanks empty. Arrow writes it (pandas' writer is ~10x slower at millions)."""
    header = ",".join(table.column_names) + "\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        if table.num_rows == 0:
            return
        try:  # no value of the synthetic data needs quotes; Arrow refuses any that would
            pacsv.write_csv(
                table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # pragma: no cover - a label with a comma: quote strings
            handle.seek(len(header.encode("utf-8")))
            handle.truncate()
            pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))


def _markdown(meta: dict) -> str:
    """SYNTHETIC.md: what the files are and the truths planted in them."""
    t = TRUTH
    ss = t["stop_search"]
    groups = _groups()
    lines = [
        "# SYNTHETIC DATA: not real records",
        "",
        "Every record in this folder was invented by `dispro.synth` "
        f"(generator {meta['generator_version']}, dispro {meta['dispro_version']}, seed "
        f"{meta['seed']}, scale {meta['scale']:g}, {meta['start']} to {meta['end']}). The records "
        "describe no real person, search, case or sentence. Only the Census 2021 populations "
        "behind them are real. Use them to demonstrate and test dispro, never as evidence.",
        "",
        "The data carry **known, planted disparities** so that every analysis can be checked "
        "against the truth. The full generating model is `dispro.synth.TRUTH` (also in "
        "`synthetic_metadata.json`); `dispro.synth.true_marginal_rr(frame)` and "
        "`dispro.synth.expected_stop_rates()` evaluate it.",
        "",
        "## Files",
        "",
        "| file | dataset | rows |",
        "|---|---|---:|",
    ]
    for f in meta["files"]:
        lines.append(f"| `{f['path']}` | {f['dataset']} | {f['rows']:,} |")
    lines += [
        "",
        "Stop and search is written as data.police.uk monthly files (15 columns, "
        "`stop_search/YYYY-MM/synthetic-YYYY-MM-<force>-stop-and-search.csv`): read them with "
        "`dispro.read_police_uk`. The other datasets are in the canonical schemas of "
        "`data_dictionary/`: read them with `dispro.read_records(path, dataset=...)`.",
        "",
        "## Planted truths",
        "",
        "### Stop and search per 1,000 residents (crude RRI against White, by construction)",
        "",
        "| force | White rate per 1,000 a year | "
        + " | ".join(g for g in groups if g != "White")
        + " |",
        "|---|---:|" + "---:|" * (len(groups) - 1),
    ]
    for force in FORCES:
        ratios = " | ".join(f"{ss['rri'][force][g]:g}" for g in groups if g != "White")
        lines.append(f"| {force} | {ss['rate_per_1000_white'][force]:g} | {ratios} |")
    wessex_rows = [r for r in meta["expected_stop_rates"] if r["area"] == "Wessex"]
    lines += [
        "",
        "Wessex as a whole (population-weighted): "
        + ", ".join(
            f"{r['ethnicity']} {r['rri']:.2f}" for r in wessex_rows if r["ethnicity"] != "White"
        )
        + ". Self-defined ethnicity is not stated for "
        + ", ".join(f"{f} {ss['not_stated_share'][f]:.0%}" for f in FORCES)
        + " of person searches, at random (the same share in every group), with the "
        "officer-defined ethnicity filled in.",
        "",
        "- Hit rate (outcome linked to the object): odds ratio against White, given force, "
        "object of search and section 60: "
        + ", ".join(f"{g} {v:g}" for g, v in ss["hit_rate"]["odds_ratio"].items() if g != "White")
        + " (a lower threshold of suspicion for Black people).",
        "- Strip searches (removal of more than outer clothing): share "
        + ", ".join(f"{f} {v:.1%}" for f, v in ss["strip_search"]["share_white"].items())
        + " for White people, times "
        + ", ".join(
            f"{g} {v:g}" for g, v in ss["strip_search"]["rate_ratio"].items() if g != "White"
        )
        + ".",
        f"- Section 60: only {ss['section60']['force']}, only in {', '.join(meta['section60_months'])}; "
        f"{ss['section60']['share_white']:.0%} of White people's searches there, times "
        + ", ".join(f"{g} {v:g}" for g, v in ss["section60"]["share_ratio"].items() if g != "White")
        + ".",
        "- Veil of darkness: no effect (odds ratio 1): time, date and place do not depend on "
        "ethnicity. Times are true UTC stamped `+00:00` (read with clock='utc').",
        f"- outcome_linked is not supplied by {ss['outcome_linked_not_supplied']['force']} in "
        f"{', '.join(meta['months'][:3])} (blank for the whole force-month: not supplied, not "
        "False). Outcomes mix the current and the older police.uk wording (Dorset "
        f"{meta['months'][0]} to {meta['months'][min(5, len(meta['months']) - 1)]}, 15% of "
        "Wiltshire's searches).",
        "",
        "### Police outcomes, charging and sentencing (adjusted, given the model's controls)",
        "",
        "| stage | controls | " + " | ".join(g for g in groups if g != "White") + " |",
        "|---|---|" + "---:|" * (len(groups) - 1),
    ]
    for stage in ("out_of_court", "charge", "custody", "sentence_length"):
        dataset, path, key = _STAGES[stage]
        model = t[path[0]][path[1]]
        ratios = " | ".join(f"{model[key][g]:g}" for g in groups if g != "White")
        what = {"odds_ratio": "odds ratio", "ratio_of_means": "ratio of means"}[key]
        lines.append(f"| {stage} ({what}) | {', '.join(model['terms'])} | {ratios} |")
    lines += [
        "",
        "True crude and adjusted ratios for Black people in these files "
        "(`true_marginal_rr`, marginal standardisation over all rows):",
        "",
    ]
    lines += [
        "| stage | expected crude RRI | true adjusted RR | planted conditional ratio |",
        "|---|---:|---:|---:|",
    ]
    for stage, table in meta["expected"].items():
        black = next(r for r in table if r["group"] == "Black")
        lines.append(
            f"| {stage} | {black['crude_rri']:.3f} | {black['adjusted_rr']:.3f} | "
            f"{black['conditional_ratio']:g} |"
        )
    lines += [
        "",
        "Confounding is planted: Black (and Mixed) people in these data are younger, have a "
        "heavier offence mix and (in sentencing) more previous convictions, so the unadjusted "
        "custody RRI for Black people exceeds the adjusted ratio. Ethnicity is Not stated at "
        "random for "
        + ", ".join(f"{d} {t[d]['not_stated_share']:.0%}" for d in DATASETS[1:])
        + " of records.",
        "",
    ]
    return "\n".join(lines)


def write(
    out_dir: str | PathLike,
    *,
    data: dict[str, pd.DataFrame] | None = None,
    format: str = "csv",  # noqa: A002 - the CLI's word
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
) -> list[Path]:
    """Write synthetic Wessex files whose names say they are synthetic.

    Parameters
    ----------
    out_dir : str or Path
        The folder (created if needed). The files of an earlier synthetic set written here
        (``synthetic_<dataset>_wessex_*.csv`` or ``.parquet`` and
        ``stop_search/*/synthetic-*-stop-and-search.csv``) are removed first, so that the folder
        holds one consistent set; no other file is touched.
    data : dict of DataFrame, optional
        Frames from :func:`wessex` (all four datasets); by default they are drawn here with
        ``start``, ``end``, ``scale`` and ``seed``.
    format : {"csv", "parquet"}
        File format of the disposals, charging and sentencing records. Stop and search is
        always written as data.police.uk CSV files.
    start, end, scale, seed
        As in :func:`wessex` (ignored when ``data`` is given).

    Returns
    -------
    list of Path
        The files written: ``synthetic_<dataset>_wessex_<start>_<end>.<csv|parquet>`` for
        disposals, charging and sentencing; one ``stop_search/YYYY-MM/synthetic-YYYY-MM-<slug>-
        stop-and-search.csv`` per force and month (the 15 data.police.uk columns and labels,
        times stamped ``+00:00``, blanks where police.uk has them); ``SYNTHETIC.md`` (what the
        files are and their truths) and ``synthetic_metadata.json`` (seed, sizes, truths,
        generator version).

    Examples
    --------
    >>> import tempfile, dispro
    >>> from dispro import synth
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = synth.write(folder, scale=0.02, start="2023-01", end="2023-03")
    ...     searches = dispro.read_police_uk(f"{folder}/stop_search")
    ...     print(all("synthetic" in p.name.lower() for p in paths), len(searches) > 0)
    True True
    """
    check_choice("format", format, _FORMATS)
    if data is None:
        data = wessex(start=start, end=end, scale=scale, seed=seed)
    missing = [d for d in DATASETS if d not in data]
    if missing:
        raise ParameterError(
            f"`data` must hold all of {DATASETS} (as wessex() returns), but {missing} are missing"
        )
    not_synthetic = [d for d in DATASETS if not data[d].attrs.get("synthetic")]
    if not_synthetic:
        raise ParameterError(
            f"`data` must be synthetic frames from dispro.synth.wessex(); {not_synthetic} do not "
            "say so (attrs['synthetic']); write() only labels synthetic data as synthetic"
        )
    attrs = data["stop_search"].attrs
    first, last = attrs["start"], attrs["end"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    files = []
    for name in DATASETS[1:]:
        for ext in _FORMATS:  # an earlier synthetic set (another period or format)
            for old in out.glob(f"synthetic_{name}_wessex_*.{ext}"):
                old.unlink()
        frame = data[name]
        path = out / f"synthetic_{name}_wessex_{first}_{last}.{format}"
        if format == "csv":
            _write_csv(path, _records_table(frame))
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
        files.append({"path": path.name, "dataset": name, "rows": len(frame)})
    # stop and search: data.police.uk monthly files
    folder = out / "stop_search"
    if folder.is_dir():
        for old in folder.rglob("synthetic-*-stop-and-search.csv"):
            old.unlink()
    searches = data["stop_search"]
    slugs = codelist("police_force_area").set_index("code")["police_uk_slug"]
    text = _police_uk_text(searches)
    positions = searches.groupby(["force", "month"], sort=False).indices
    months = pd.period_range(first, last, freq="M").strftime("%Y-%m")
    for force in FORCES:
        for month in months:
            rows = positions.get((force, month), np.array([], dtype=np.int64))
            path = folder / month / f"synthetic-{month}-{slugs[force]}-stop-and-search.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_csv(path, text.take(pa.array(rows, type=pa.int64())))
            written.append(path)
    files.append({"path": "stop_search/", "dataset": "stop_search", "rows": len(searches)})
    # the description and the metadata
    expected = {}
    for name in DATASETS:
        expected.update(
            {k: v for k, v in data[name].attrs["truth"]["expected"].items() if k != "stop_rates"}
        )
    meta = {
        "synthetic": True,
        "description": TRUTH["description"],
        "generator": "dispro.synth.wessex",
        "generator_version": attrs["generator_version"],
        "dispro_version": __version__,
        "seed": attrs["seed"],
        "scale": attrs["scale"],
        "start": first,
        "end": last,
        "forces": list(FORCES),
        "sizes": {d: len(data[d]) for d in DATASETS},
        "files": files,
        "section60_months": attrs["section60_months"],
        "months": [str(p) for p in pd.period_range(first, last, freq="M")],
        "expected_stop_rates": attrs["truth"]["expected"]["stop_rates"],
        "expected": expected,
        "truth": TRUTH,
    }
    md = out / "SYNTHETIC.md"
    md.write_text(_markdown(meta), encoding="utf-8")
    js = out / "synthetic_metadata.json"
    js.write_text(json.dumps(meta, indent=2, default=float) + "\n", encoding="utf-8")
    written += [md, js]
    return written
