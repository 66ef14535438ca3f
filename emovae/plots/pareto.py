"""The sweep's picture: held-out D against reconstruction, one point per run (:mod:`emovae.sweep`)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from . import _figure
from ._figure import _new_figure


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
    return _figure._save(fig, path)
