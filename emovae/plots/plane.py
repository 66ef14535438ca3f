"""The emotion plane with generated melodies (or the user's) and paths over the training points."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..emotions import LABELS, NAMES, as_labels, as_points
from ..errors import EmovaeError
from . import _figure
from ._figure import EMOTION_COLORS, _label_plane, _new_figure, _plane_axes


def plot_plane(
    train_points,
    train_labels,
    path: str | os.PathLike,
    *,
    marks=None,
    mark_labels=None,
    path_points=None,
    title: str | None = None,
    mark_name: str = "generated",
    mark_emotions=None,
) -> Path:
    """The emotion plane with generated points over the training points; writes a PNG.

    ``mark_name`` is the marks' legend entry ("generated", "your melodies"); ``mark_emotions``
    (M ints 0..3), when given, colours each mark by its emotion (one legend entry per emotion).

    Valence ``z[0]`` across, arousal ``z[1]`` up, axes drawn through 0, quadrant names in the
    corners (Q1 happy top right ... Q4 relaxed bottom right), equal aspect, limits symmetric
    about 0 at 1.1 times the largest coordinate of every finite point drawn (training points,
    marks and path; +-1 when there is none). The training points are faint dots coloured by
    emotion (:data:`EMOTION_COLORS`); ``marks`` (M, 2) are drawn boldly on top as black stars,
    each labelled with its ``mark_labels`` entry (M strings) when given; ``path_points``
    (P, 2) is drawn as a line from point to point with an arrow on every segment, in order,
    its start ringed. Written atomically to ``path`` (parents created); returns ``path``.
    Bad shapes (points not (N, 2), labels or mark labels of another length) raise EmovaeError
    before anything is written.
    """
    pts = as_points(train_points)
    lab = as_labels(train_labels, pts.shape[0])
    mk = as_points(marks) if marks is not None else np.zeros((0, 2))
    if mark_labels is not None:  # a non-UTF-8 file name's bytes shown as U+FFFD
        mark_labels = [str(x).encode("utf-8", "surrogateescape").decode("utf-8", "replace") for x in mark_labels]
        if len(mark_labels) != mk.shape[0]:
            raise EmovaeError(f"mark labels: {len(mark_labels)} labels for {mk.shape[0]} marks")
    if title is not None:
        title = title.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    route = as_points(path_points) if path_points is not None else np.zeros((0, 2))

    everything = np.concatenate([pts, mk, route])
    finite = everything[np.isfinite(everything).all(axis=1)]
    extent = float(np.abs(finite).max()) if finite.size else 0.0
    lim = 1.1 * extent if extent > 0 else 1.0

    fig = _new_figure(6.4, 7.0)
    ax = fig.add_subplot(1, 1, 1)
    _plane_axes(ax)
    ok = np.isfinite(pts).all(axis=1)
    for i in range(4):
        sel = (lab == i) & ok
        if sel.any():
            ax.scatter(
                pts[sel, 0],
                pts[sel, 1],
                s=10,
                c=EMOTION_COLORS[i],
                alpha=0.3,
                linewidths=0,
                label=f"training {LABELS[i]} {NAMES[i]}",
                zorder=2,
            )
    if route.shape[0]:
        ax.plot(route[:, 0], route[:, 1], color="0.15", linewidth=1.4, marker="o", markersize=4, label="path", zorder=4)
        for k in range(route.shape[0] - 1):
            a, b = route[k], route[k + 1]
            if np.isfinite(a).all() and np.isfinite(b).all() and not np.array_equal(a, b):
                ax.annotate(
                    "",
                    xy=tuple(b),
                    xytext=tuple(a),
                    zorder=5,
                    arrowprops={
                        "arrowstyle": "-|>",
                        "color": "0.15",
                        "linewidth": 1.4,
                        "mutation_scale": 14,
                        "shrinkA": 0,
                        "shrinkB": 4,
                    },
                )
        ax.scatter(route[:1, 0], route[:1, 1], s=110, facecolors="none", edgecolors="0.15", linewidths=1.5, zorder=5)
    if mk.shape[0] and mark_emotions is not None:
        mark_emotions = as_labels(mark_emotions, mk.shape[0])
        for i in range(4):
            sel = mark_emotions == i
            if sel.any():
                ax.scatter(
                    mk[sel, 0],
                    mk[sel, 1],
                    s=190,
                    marker="*",
                    c=EMOTION_COLORS[i],
                    edgecolors="black",
                    linewidths=0.6,
                    label=f"{mark_name} {LABELS[i]} {NAMES[i]}",
                    zorder=6,
                )
    elif mk.shape[0]:
        ax.scatter(
            mk[:, 0],
            mk[:, 1],
            s=190,
            marker="*",
            c="black",
            edgecolors="white",
            linewidths=0.8,
            label=mark_name,
            zorder=6,
        )
        for (x, y), text in zip(mk, mark_labels or []):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(
                    text,
                    (x, y),
                    xytext=(6, 6),
                    textcoords="offset points",
                    fontsize=9,
                    fontweight="bold",
                    zorder=7,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "edgecolor": "none"},
                )
    _label_plane(ax, lim)
    if title:
        ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8, frameon=False)
    return _figure._save(fig, path)
