"""Pictures of the latent plane (the paper's Figs. 5-7) and of the training curves.

Figures are built with :class:`matplotlib.figure.Figure` and rendered by the Agg canvas
directly: no pyplot, no display, no global figure registry, so calling these functions every
50 epochs leaks nothing. Files are written atomically (:func:`emovae.atomic.atomic_path`),
parent folders created.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .atomic import atomic_path
from .emotions import LABELS, NAMES, QUADRANTS, as_labels, as_points
from .errors import EmovaeError

__all__ = ["EMOTION_COLORS", "EMOTION_MARKERS", "plot_history", "plot_latent", "plot_plane"]

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
    ax.axhline(0.0, color="0.4", linewidth=0.8, zorder=1)
    ax.axvline(0.0, color="0.4", linewidth=0.8, zorder=1)
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
    for i, (x, y, ha, va) in enumerate(_CORNERS):
        text = f"{QUADRANTS[i]} {NAMES[i]}"
        if accuracy is not None:
            text += f"\nrecall {_fmt_pct(accuracy.recall[i])}\nprecision {_fmt_pct(accuracy.precision[i])}"
        ax.text(
            x,
            y,
            text,
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
    return _save(fig, path)


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
    if title is not None:
        title = title.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if len(mark_labels) != mk.shape[0]:
            raise EmovaeError(f"mark labels: {len(mark_labels)} labels for {mk.shape[0]} marks")
    route = as_points(path_points) if path_points is not None else np.zeros((0, 2))

    everything = np.concatenate([pts, mk, route])
    finite = everything[np.isfinite(everything).all(axis=1)]
    extent = float(np.abs(finite).max()) if finite.size else 0.0
    lim = 1.1 * extent if extent > 0 else 1.0

    fig = _new_figure(6.4, 7.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0.0, color="0.4", linewidth=0.8, zorder=1)
    ax.axvline(0.0, color="0.4", linewidth=0.8, zorder=1)
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
    for i, (x, y, ha, va) in enumerate(_CORNERS):
        ax.text(
            x,
            y,
            f"{QUADRANTS[i]} {NAMES[i]}",
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
    if title:
        ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8, frameon=False)
    return _save(fig, path)


# Panels of the training-curve figure: title and the history keys drawn in it.
_HISTORY_PANELS = (
    ("total loss", ("loss", "val_loss")),
    ("reconstruction L_R", ("recon", "val_recon")),
    ("KL divergence L_KLD", ("kld", "val_kld")),
    ("emotion terms L_EmoA, L_EmoV", ("emo_a", "emo_v", "val_emo_a", "val_emo_v")),
    ("mean quadrant accuracy D (recall, %)", ("d_mean_train", "d_mean_val", "d_train", "d_heldout", "d_val")),
)


def _series(history: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of the records holding a finite number under ``key``.

    A dict value (a :meth:`QuadrantAccuracy.to_dict`, as the trainer logs under ``d_train``)
    contributes its ``mean_recall``.
    """
    xs, ys = [], []
    for n, record in enumerate(history):
        value = record.get(key)
        if isinstance(value, dict):
            value = value.get("mean_recall")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            continue
        if not math.isfinite(float(value)):
            continue
        xs.append(float(record.get("epoch", n + 1)))
        ys.append(float(value))
    return xs, ys


def plot_history(history: list[dict], path: str | os.PathLike) -> Path:
    """Draw the training curves of ``history`` (one dict per epoch) and write a PNG.

    One panel per group of keys that occurs: total loss (``loss``, ``val_loss``),
    reconstruction (``recon``, ``val_recon``), KL (``kld``, ``val_kld``), emotion terms
    (``emo_a``, ``emo_v``), mean quadrant accuracy (``d_mean_train``, ``d_mean_val``, or
    ``d_train`` / ``d_heldout`` holding a :meth:`QuadrantAccuracy.to_dict`, whose
    ``mean_recall`` is drawn; often logged only every few epochs, then drawn with markers),
    and any other numeric key (``seconds`` ...) in a last panel. The x axis is ``epoch`` (the record's position + 1 where it is missing).
    A validation curve is dashed. Written atomically to ``path`` (parents created).
    """
    history = list(history)
    known = {key for _, keys in _HISTORY_PANELS for key in keys} | {"epoch"}
    others: list[str] = []
    for record in history:
        for key, value in record.items():
            if key in known or key in others:
                continue
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                others.append(key)
    panels = [(t, keys) for t, keys in _HISTORY_PANELS if any(_series(history, k)[0] for k in keys)]
    if others:
        panels.append((", ".join(others), tuple(others)))

    n = max(len(panels), 1)
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    fig = _new_figure(5.5 * cols, 3.2 * rows)
    if not panels:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no training history yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    for p, (panel_title, keys) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, p + 1)
        all_y: list[float] = []
        for key in keys:
            xs, ys = _series(history, key)
            if not xs:
                continue
            sparse = len(xs) < max(2, len(history) // 2)
            dashed = key.startswith("val_") or key.endswith(("_val", "_heldout"))
            ax.plot(
                xs,
                ys,
                label=key,
                linestyle="--" if dashed else "-",
                marker="o" if sparse else None,
                markersize=3,
                linewidth=1.2,
            )
            all_y += ys
        positive = [y for y in all_y if y > 0]
        if len(positive) == len(all_y) and positive and max(positive) > 50 * min(positive):
            ax.set_yscale("log")
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


# ---------------------------------------------------------------------------- report pictures (emovae report)

__all__ += ["plot_axis_profiles", "plot_seed_curves", "plot_va_plane"]


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
    return _save(fig, path)


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
    return _save(fig, path)


def plot_seed_curves(histories: dict, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Each run's mean quadrant accuracy D (recall, %) over the epochs, in one picture; writes a PNG.

    ``histories`` maps a run's name to its training history (one dict per epoch); the records
    holding ``d_train`` / ``d_heldout`` (a :meth:`QuadrantAccuracy.to_dict`, or a number) give
    the points, training split solid, held-out split dashed, one colour per run. A run with no
    logged D still gets a legend entry saying so. Written atomically to ``path``.
    """
    fig = _new_figure(7.0, 4.4)
    ax = fig.add_subplot(1, 1, 1)
    cycle = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
    drawn = 0
    for k, (name, history) in enumerate(histories.items()):
        colour = cycle[k % len(cycle)]
        any_points = False
        for key, style in (("d_train", "-"), ("d_heldout", "--")):
            xs, ys = _series(list(history), key)
            if xs:
                split = "train" if key == "d_train" else "held-out"
                ax.plot(
                    xs,
                    ys,
                    linestyle=style,
                    color=colour,
                    marker="o" if len(xs) <= 30 else None,
                    markersize=3,
                    linewidth=1.2,
                    label=f"{name} ({split})",
                )
                any_points = True
        if not any_points:
            ax.plot([], [], color=colour, label=f"{name} (no D logged)")
        drawn += any_points
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean D_i recall (%)")
    ax.set_ylim(0, 102)
    ax.grid(True, alpha=0.3)
    if histories:
        ax.legend(fontsize=7, ncol=2)
    if not drawn:
        ax.text(0.5, 0.5, "no quadrant accuracy logged", ha="center", va="center", transform=ax.transAxes)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_pareto(rows: list[dict], path: str | os.PathLike) -> Path:
    """Held-out D (mean recall) against held-out reconstruction token accuracy, one point per
    run of a sweep (:mod:`emovae.sweep`), one colour per configuration; the paper's
    configurations drawn as crosses, collapsed runs hollow, and the runs no other run beats on
    both axes (the Pareto front) joined by a line."""
    fig = _new_figure(7.5, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    configs = list(dict.fromkeys(r["config"] for r in rows))
    cmap = __import__("matplotlib").colormaps["tab20"]
    for i, name in enumerate(configs):
        group = [r for r in rows if r["config"] == name]
        x = [100 * float(r["acc_heldout"]) for r in group]
        y = [float(r["d_recall_heldout"]) for r in group]
        paper = bool(group[0].get("paper"))
        collapsed = [bool(r["collapsed"]) for r in group]
        colour = cmap(i % 20)
        for xi, yi, c in zip(x, y, collapsed):
            ax.scatter(
                xi,
                yi,
                s=70 if paper else 40,
                marker="X" if paper else "o",
                facecolors="none" if c else colour,
                edgecolors=colour,
                linewidths=1.5,
                label=None,
            )
        ax.scatter([], [], marker="X" if paper else "o", color=colour, label=f"{name}{' (paper)' if paper else ''}")
    pts = sorted(((100 * float(r["acc_heldout"]), float(r["d_recall_heldout"])) for r in rows), reverse=True)
    front, best_y = [], -math.inf
    for x, y in pts:
        if y > best_y:
            front.append((x, y))
            best_y = y
    if front:
        ax.plot([p[0] for p in front], [p[1] for p in front], color="0.5", lw=1, ls="--", label="Pareto front")
    ax.set_xlabel("held-out reconstruction token accuracy (%)")
    ax.set_ylabel("held-out D, mean recall (%)")
    ax.set_title("Sweep: order of the plane against reconstruction (hollow = collapsed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    return _save(fig, path)
