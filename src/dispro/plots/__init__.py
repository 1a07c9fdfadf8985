"""Figures: each takes a results table (never raw records), accepts ``ax=`` and returns the Axes.

Nothing here calls ``plt.show()``.
"""

from .darkness import plot_darkness
from .hitrate import plot_hit_rates
from .rates import plot_forest, plot_trend

__all__ = ["plot_darkness", "plot_forest", "plot_hit_rates", "plot_trend"]
