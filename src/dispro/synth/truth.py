"""The truth of the synthetic Wessex data: every generating parameter, in one place.

:data:`TRUTH` is the documentation of the data: the stop rates per 1,000 residents and their
ratios to White, the share of searches with self-defined ethnicity not stated, hit rates, strip
searches, section 60, and the adjusted odds ratios and confounding of the out-of-court, charging
and sentencing models. Also the datasets, the forces, the generator's version, the defaults and
the columns of the truth tables. Populations are never restated here: they come from the bundled
Census 2021 tables.
"""

from __future__ import annotations

import math

from ._common import _S60

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

_MDA = "Misuse of Drugs Act 1971 (section 23)"
_PACE = "Police and Criminal Evidence Act 1984 (section 1)"
_LOG = math.log

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

# The people of the three court and police outcome datasets, side by side: the mix of age bands
# and of offence groups before the groups' tilts (TRUTH[dataset]["age_mix"], ["offence_mix"]).
_PEOPLE = ("disposals", "charging", "sentencing")
_AGE_MIX = {  # age band: share in (disposals, charging, sentencing)
    "10-17": (0.14, 0.07, 0.04),   "18-20": (0.09, 0.08, 0.08),   "21-24": (0.11, 0.12, 0.12),
    "25-29": (0.13, 0.14, 0.15),   "30-39": (0.24, 0.27, 0.28),   "40-49": (0.15, 0.17, 0.17),
    "50-59": (0.09, 0.10, 0.11),   "60+": (0.05, 0.05, 0.05),
}
_OFFENCE_MIX = {  # offence group: share in (disposals, charging, sentencing)
    "violence_against_the_person":          (0.30, 0.38, 0.19),
    "sexual_offences":                      (0.02, 0.08, 0.02),
    "robbery":                              (0.02, 0.03, 0.015),
    "theft_offences":                       (0.20, 0.12, 0.16),
    "criminal_damage_and_arson":            (0.07, 0.04, 0.025),
    "drug_offences":                        (0.14, 0.12, 0.09),
    "possession_of_weapons":                (0.04, 0.05, 0.045),
    "public_order_offences":                (0.07, 0.05, 0.035),
    "miscellaneous_crimes_against_society": (0.03, 0.06, 0.055),
    "fraud_offences":                       (0.02, 0.04, 0.015),
    "summary_non_motoring":                 (0.07, 0.02, 0.20),
    "summary_motoring":                     (0.02, 0.01, 0.14),
}
# fmt: on


def _weights(female: float) -> dict:
    """How a dataset's people fall on force, group and sex: TRUTH[dataset]["force_weight"],
    ["group_multiplier"] (the same in every dataset) and ["sex_multiplier"]."""
    return {
        "force_weight": "resident population",
        "group_multiplier": dict(_GROUP_MULTIPLIER),
        "sex_multiplier": {"Male": 1.0, "Female": female},
    }


def _mixes(dataset: str) -> dict:
    """A dataset's age and offence mixes (from the tables above) and the groups' tilts of them
    (the same in every dataset): TRUTH[dataset]["age_mix"], ["age_tilt"], ["offence_mix"],
    ["offence_tilt"]."""
    i = _PEOPLE.index(dataset)
    return {
        "age_mix": {band: shares[i] for band, shares in _AGE_MIX.items()},
        "age_tilt": {"Black": dict(_YOUNGER), "Mixed": dict(_YOUNGER)},
        "offence_mix": {offence: shares[i] for offence, shares in _OFFENCE_MIX.items()},
        "offence_tilt": {
            "Black": dict(_OFFENCE_TILT_BLACK),
            "Mixed": dict(_OFFENCE_TILT_MIXED),
            "Asian": dict(_OFFENCE_TILT_ASIAN),
        },
    }


# fmt: off
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
        "dispro.population.census2021_age and the 19 detailed groups (for the detailed "
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
        **_weights(female=0.30),
        "note": (
            "Detected offenders of group g and sex s in force f are in proportion to the Census "
            "population[f][g][s] x group_multiplier[g] x sex_multiplier[s]. Age and offence "
            "follow age_mix and offence_mix, multiplied by the group's tilt (Black and Mixed "
            "people younger and with a heavier offence mix): the confounders of the out-of-"
            "court model."
        ),
        **_mixes("disposals"),
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
        **_weights(female=0.25),
        **_mixes("charging"),
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
        **_weights(female=0.25),
        "note": (
            "Confounding: Black defendants have a heavier offence mix (offence_tilt) and more "
            "previous convictions (previous_tilt), and Crown Court, plea and remand follow the "
            "offence and history, so the unadjusted custody RRI for Black exceeds the adjusted "
            "ratio; true_marginal_rr() gives both for a frame. No force or court cluster effect."
        ),
        **_mixes("sentencing"),
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
