"""Curves over the epochs: a run's training history, and D per seed (``emovae report``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from . import _figure
from ._figure import _new_figure

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
    return _figure._save(fig, path)


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
    return _figure._save(fig, path)
