"""Figures: each takes a results table (never raw records), accepts ``ax=`` and returns the Axes.

Nothing here calls ``plt.show()``.
"""

from .darkness import plot_darkness
from .hitrate import plot_hit_rates
from .pathway import plot_adjusted, plot_pathway, plot_pathway_heatmap, plot_where_disparity
from .rates import plot_forest, plot_trend

__all__ = [
    "plot_adjusted",
    "plot_darkness",
    "plot_forest",
    "plot_hit_rates",
    "plot_pathway",
    "plot_pathway_heatmap",
    "plot_trend",
    "plot_where_disparity",
]
