"""Figures: each takes a results table (never raw records), accepts ``ax=`` and returns the Axes.

Nothing here calls ``plt.show()``.
"""

from .rates import plot_forest, plot_trend

__all__ = ["plot_forest", "plot_trend"]
