"""Churn and lapses: each customer has a daily hazard raised by the late deliveries and complaints
they experienced recently (exponentially decayed counts, half-life about three weeks); a churned
customer stops buying (and nearly stops browsing) from the next day on. At-risk customers may also
lapse for a few weeks and come back.
"""
from __future__ import annotations

import numpy as np

from .customers import Population
from .world import persona_array

CHURN_CAUSES = ("natural", "late_delivery", "complaint")
LATE_HAZARD_GAIN = 1.5  # relative hazard added per recent late or failed delivery
COMPLAINT_HAZARD_GAIN = 4.0  # relative hazard added per recent complaint
EXPERIENCE_DECAY = 0.97  # daily decay of the recent experience counts
LAPSE_RATE = 0.004  # daily lapse probability per unit of recent risk (late + 2 x complaints)
LAPSE_DAYS = (14, 43)
LAPSE_ORDER_MULT = 0.05
LAPSE_BROWSE_MULT = 0.3
CHURNED_BROWSE_MULT = 0.03


def advance(pop: Population, rng: np.random.Generator, day: int) -> None:
    """End of day `day`: draw churn (effective from day + 1) and new lapses, in place."""
    base = persona_array("churn_hazard")[pop.persona]
    components = np.stack([base, base * LATE_HAZARD_GAIN * pop.recent_late,
                           base * COMPLAINT_HAZARD_GAIN * pop.recent_complaints], axis=1)
    hazard = components.sum(axis=1)
    alive = (pop.signup_day <= day) & ~pop.churned
    churn = alive & (rng.random(pop.size) < hazard)
    cause_u = rng.random(pop.size) * hazard
    cause = (np.cumsum(components, axis=1) <= cause_u[:, None]).sum(axis=1)
    pop.churned |= churn
    pop.churn_day = np.where(churn, day + 1, pop.churn_day)
    pop.churn_cause = np.where(churn, np.minimum(cause, len(CHURN_CAUSES) - 1), pop.churn_cause)
    risk = pop.recent_late + 2 * pop.recent_complaints
    lapse = alive & ~churn & (pop.lapse_until <= day) & (rng.random(pop.size) < LAPSE_RATE * risk)
    length = rng.integers(*LAPSE_DAYS, pop.size)
    pop.lapse_until = np.where(lapse, day + 1 + length, pop.lapse_until)
    pop.lapses += lapse
    pop.recent_late *= EXPERIENCE_DECAY
    pop.recent_complaints *= EXPERIENCE_DECAY


def order_mult(pop: Population, day: int) -> np.ndarray:
    """Order-probability multiplier of every customer today (0 churned or not signed up)."""
    active = (pop.signup_day <= day) & ~pop.churned
    return np.where(active, np.where(pop.lapse_until > day, LAPSE_ORDER_MULT, 1.0), 0.0)


def browse_mult(pop: Population, day: int) -> np.ndarray:
    """Browsing-probability multiplier of every customer today."""
    signed = pop.signup_day <= day
    mult = np.where(pop.churned, CHURNED_BROWSE_MULT, np.where(pop.lapse_until > day, LAPSE_BROWSE_MULT, 1.0))
    return np.where(signed, mult, 0.0)
