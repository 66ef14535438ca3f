"""The latent points of a data set on the emotion plane, by emotion (the paper's Figs. 5-7)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..emotions import LABELS, NAMES, QUADRANTS, as_labels, as_points
from . import _figure
from ._figure import EMOTION_COLORS, EMOTION_MARKERS, _fmt_pct, _label_plane, _new_figure, _plane_axes


def plot_latent(
    points,
    labels,
    path: str | os.PathLike,
    title: str | None = None,
    accuracy=None,  # an emovae.evaluate.QuadrantAccuracy (recall, precision, mean_recall, ...)
) -> Path:
    """Scatter the latent points (valence ``z[0]`` across, arousal ``z[1]`` up) by emotion.

    Each emotion has its own colour and marker (legend "e1 happy (Q1)" ...); the axes are
    drawn through 0, the quadrants are named in their corners (Q1 happy top right, Q2 angry
    top left, Q3 sad bottom left, Q4 relaxed bottom right), the aspect is equal and the limits
    symmetric about 0. With ``accuracy``, each corner also shows that quadrant's recall and
    precision and the subtitle the means and the overall share. Writes a PNG atomically to
    ``path`` (parents created) and returns ``path``.
    """
    pts = as_points(points)
    lab = as_labels(labels, pts.shape[0])
    finite = np.isfinite(pts).all(axis=1)
    extent = float(np.abs(pts[finite]).max()) if finite.any() else 0.0
    lim = 1.1 * extent if extent > 0 else 1.0

    fig = _new_figure(6.4, 7.0)
    ax = fig.add_subplot(1, 1, 1)
    _plane_axes(ax)
    for i in range(4):
        sel = (lab == i) & finite
        if not sel.any():
            continue
        ax.scatter(
            pts[sel, 0],
            pts[sel, 1],
            s=18,
            c=EMOTION_COLORS[i],
            marker=EMOTION_MARKERS[i],
            alpha=0.8,
            linewidths=0.3,
            edgecolors="black",
            label=f"{LABELS[i]} {NAMES[i]} ({QUADRANTS[i]})",
            zorder=2,
        )
    notes = None
    if accuracy is not None:
        notes = [
            f"\nrecall {_fmt_pct(accuracy.recall[i])}\nprecision {_fmt_pct(accuracy.precision[i])}" for i in range(4)
        ]
    _label_plane(ax, lim, notes)
    heading = title or ""
    if accuracy is not None:
        summary = (
            f"mean recall {_fmt_pct(accuracy.mean_recall)}, "
            f"mean precision {_fmt_pct(accuracy.mean_precision)}, "
            f"overall {_fmt_pct(accuracy.overall)}"
        )
        heading = f"{heading}\n{summary}" if heading else summary
    if heading:
        ax.set_title(heading, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=9, frameon=False)
    return _figure._save(fig, path)
