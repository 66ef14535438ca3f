"""Pictures: the latent plane (the paper's Figs. 5-7), generated melodies and paths on it, training
curves, the report's grids and the sweep's Pareto picture.

Figures are built with :class:`matplotlib.figure.Figure` and rendered by the Agg canvas
directly: no pyplot, no display, no global figure registry, so calling these functions every
50 epochs leaks nothing. Files are written atomically (:func:`emovae.atomic.atomic_path`),
parent folders created.

One module per kind of picture; every name is importable from ``emovae.plots`` as before:
:mod:`~emovae.plots.latent` (:func:`plot_latent`), :mod:`~emovae.plots.plane` (:func:`plot_plane`),
:mod:`~emovae.plots.curves` (:func:`plot_history`, :func:`plot_seed_curves`),
:mod:`~emovae.plots.grids` (:func:`plot_va_plane`, :func:`plot_axis_profiles`),
:mod:`~emovae.plots.pareto` (:func:`plot_pareto`); what they share is in :mod:`~emovae.plots._figure`
(colours, markers, the PNG writer ``_save``).
"""

from __future__ import annotations

from ._figure import EMOTION_COLORS, EMOTION_MARKERS
from ._figure import _save as _save
from .curves import _series as _series
from .curves import plot_history, plot_seed_curves
from .grids import plot_axis_profiles, plot_va_plane
from .latent import plot_latent
from .pareto import plot_pareto
from .plane import plot_plane

__all__ = [
    "EMOTION_COLORS",
    "EMOTION_MARKERS",
    "plot_history",
    "plot_latent",
    "plot_plane",
    "plot_axis_profiles",
    "plot_seed_curves",
    "plot_va_plane",
    "plot_pareto",
]
