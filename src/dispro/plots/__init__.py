"""Figures: each takes a results table (never raw records), accepts ``ax=`` and returns the Axes.

Nothing here calls ``plt.show()``.
"""

from .hitrate import plot_hit_rates
from .rates import plot_forest, plot_trend

__all__ = ["plot_forest", "plot_hit_rates", "plot_trend"]
