"""Pictures of the plane as a grid (``emovae report``): predicted valence/arousal, validity, feature
profiles along the axes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..errors import EmovaeError
from . import _figure
from ._figure import EMOTION_COLORS, _new_figure


def _grid_array(values, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise EmovaeError(f"{what}: expected a square (grid, grid) array, got shape {arr.shape}")
    return arr


def plot_va_plane(
    valence, arousal, path: str | os.PathLike, *, limit: float = 6.0, valid=None, title: str | None = None
) -> Path:
    """The plane coloured by predicted valence and by predicted arousal; writes a PNG.

    ``valence`` and ``arousal`` are ``(g, g)`` arrays over a grid of ``[-limit, limit]^2``:
    row ``i`` is the ``i``-th arousal value from the bottom, column ``j`` the ``j``-th valence
    value from the left. Each is drawn in its own panel on a diverging scale fixed to [-1, 1]
    (blue negative, red positive), with the axes through 0. With ``valid`` (a ``(g, g)``
    boolean array) a third panel shows the valid points light and the invalid ones black.
    Written atomically to ``path`` (parents created); bad shapes raise EmovaeError first.
    """
    panels = [
        ("predicted valence", _grid_array(valence, "valence grid")),
        ("predicted arousal", _grid_array(arousal, "arousal grid")),
    ]
    if panels[0][1].shape != panels[1][1].shape:
        raise EmovaeError(f"valence grid {panels[0][1].shape} and arousal grid {panels[1][1].shape} differ in shape")
    ok = None
    if valid is not None:
        ok = np.asarray(valid, dtype=bool)
        if ok.shape != panels[0][1].shape:
            raise EmovaeError(f"validity grid: expected shape {panels[0][1].shape}, got {ok.shape}")
    lim = float(limit)
    if not math.isfinite(lim) or lim <= 0:
        raise EmovaeError(f"plane limit: expected a number > 0, got {limit!r}")
    n = len(panels) + (ok is not None)
    fig = _new_figure(4.4 * n, 4.6)
    extent = (-lim, lim, -lim, lim)
    axes = []
    for k, (name, values) in enumerate(panels):
        ax = fig.add_subplot(1, n, k + 1)
        axes.append(ax)
        image = ax.imshow(
            values, origin="lower", extent=extent, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest"
        )
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(name, fontsize=10)
    if ok is not None:
        ax = fig.add_subplot(1, n, n)
        axes.append(ax)
        ax.imshow(
            np.where(ok, 0.85, 0.0),
            origin="lower",
            extent=extent,
            cmap="gray",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_title(f"valid melodies (black: invalid, {int((~ok).sum())})", fontsize=10)
    for ax in axes:
        ax.axhline(0.0, color="0.3", linewidth=0.7)
        ax.axvline(0.0, color="0.3", linewidth=0.7)
        ax.set_xlabel("valence  z[0]")
        ax.set_ylabel("arousal  z[1]")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _figure._save(fig, path)


def plot_axis_profiles(coords, profiles: dict, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Small plots of melody features along each axis of the plane; writes a PNG.

    ``coords`` ``(g,)`` are the grid's coordinates on either axis; ``profiles`` maps a feature
    name to ``(along_valence, along_arousal)``, each ``(g,)``: the feature's mean over the other
    axis at each coordinate (NaN where nothing was measured: a gap in the line). One column per
    feature; the top row runs along valence, the bottom row along arousal. Written atomically
    to ``path`` (parents created); bad shapes raise EmovaeError first.
    """
    x = np.asarray(coords, dtype=np.float64)
    if x.ndim != 1 or x.size < 1:
        raise EmovaeError(f"profile coordinates: expected a 1-D array, got shape {x.shape}")
    rows = []
    for name, pair in profiles.items():
        if len(pair) != 2:
            raise EmovaeError(f"profile {name!r}: expected (along valence, along arousal)")
        a, b = (np.asarray(v, dtype=np.float64) for v in pair)
        if a.shape != x.shape or b.shape != x.shape:
            raise EmovaeError(
                f"profile {name!r}: expected {x.size} values along each axis, got {a.shape} and {b.shape}"
            )
        rows.append((str(name), a, b))
    if not rows:
        raise EmovaeError("profiles: no feature to draw")
    n = len(rows)
    fig = _new_figure(2.6 * n, 4.8)
    for k, (name, along_v, along_a) in enumerate(rows):
        for r, (values, axis, colour) in enumerate(
            ((along_v, "valence", EMOTION_COLORS[0]), (along_a, "arousal", EMOTION_COLORS[2]))
        ):
            ax = fig.add_subplot(2, n, r * n + k + 1)
            ax.plot(x, values, color=colour, marker="o" if x.size <= 15 else None, markersize=3, linewidth=1.3)
            ax.axvline(0.0, color="0.6", linewidth=0.6)
            ax.set_title(f"{name} along {axis}", fontsize=8)
            ax.set_xlabel(axis, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _figure._save(fig, path)
