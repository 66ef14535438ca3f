"""What every picture shares: the emotions' colours and markers, a fresh Agg figure, the atomic
PNG writer (:func:`_save`), and the emotion plane's frame (:func:`_plane_axes`,
:func:`_label_plane`) that the latent and plane pictures draw alike."""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_path
from ..emotions import NAMES, QUADRANTS

#: One colour and one marker per emotion e1..e4 (colour-blind safe Okabe-Ito colours; the
#: markers tell the emotions apart in greyscale too).
EMOTION_COLORS = ("#E69F00", "#D55E00", "#0072B2", "#009E73")
EMOTION_MARKERS = ("o", "^", "s", "D")

# Corner of each quadrant: (x, y) in axes coordinates and text alignment.
_CORNERS = (
    (0.98, 0.98, "right", "top"),  # Q1 top right
    (0.02, 0.98, "left", "top"),  # Q2 top left
    (0.02, 0.02, "left", "bottom"),  # Q3 bottom left
    (0.98, 0.02, "right", "bottom"),  # Q4 bottom right
)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
    finally:
        fig.clear()
    return path


def _fmt_pct(x: float) -> str:
    return "n/a" if math.isnan(float(x)) else f"{float(x):.0f}%"


def _plane_axes(ax) -> None:
    """The valence and arousal axes drawn through 0, under everything else."""
    ax.axhline(0.0, color="0.4", linewidth=0.8, zorder=1)
    ax.axvline(0.0, color="0.4", linewidth=0.8, zorder=1)


def _label_plane(ax, lim: float, notes=None) -> None:
    """Each quadrant named in its corner in its emotion's colour ("Q1 happy", then ``notes[i]``
    when given), the limits +-``lim`` on both axes, equal aspect, the axes named."""
    for i, (x, y, ha, va) in enumerate(_CORNERS):
        ax.text(
            x,
            y,
            f"{QUADRANTS[i]} {NAMES[i]}" + (notes[i] if notes is not None else ""),
            transform=ax.transAxes,
            ha=ha,
            va=va,
            fontsize=9,
            color=EMOTION_COLORS[i],
            fontweight="bold",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "edgecolor": "none"},
        )
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("valence  z[0]")
    ax.set_ylabel("arousal  z[1]")
