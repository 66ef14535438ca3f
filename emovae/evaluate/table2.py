"""Quadrant accuracy of the latent plane: the paper's Table 2.

Each example's latent point ``z = (z[0], z[1]) = (valence, arousal)`` lies in one quadrant of
Russell's plane; emotion ``e{i+1}`` belongs in quadrant ``Q{i+1}`` (see :mod:`emovae.emotions`).
A coordinate ``>= 0`` counts as positive (the authors' rule), so the origin lies in Q1 and the
axes belong to the quadrants on their positive side.

The paper defines ``D_i = PQ_i / PT_i * 100%`` and its text reads it as a **recall**: of the
examples labelled ``i``, the share whose point lies in quadrant ``i``. The authors' code
computes, per quadrant, a **precision** instead: of the points lying in quadrant ``i``, the
share labelled ``i``; and overall the share of all points in their own label's quadrant. Which
one produced Table 2 is not known, so :func:`quadrant_accuracy` reports all three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..atomic import jsonable
from ..emotions import LABELS, NAMES, QUADRANTS, as_labels, as_points, quadrant_of_point
from ..errors import EmovaeError

#: The paper's Table 2: D_i in percent for Q1, Q2, Q3, Q4 and their mean.
PAPER_TABLE2 = {
    "CVAE-Base": (24, 20, 23, 25, 23),
    "CVAE-EmoReg": (83, 84, 92, 92, 88),
}


def quadrant_of(points) -> np.ndarray:
    """Return the quadrant 0..3 (Q1..Q4) of each latent point; ``points`` has shape (N, 2).

    With ``x = z[0]`` (valence) and ``y = z[1]`` (arousal), and ``>= 0`` counting as positive:

    ====  =============  ==========================
    0     Q1  happy      x >= 0 and y >= 0
    1     Q2  angry      x <  0 and y >= 0
    2     Q3  sad        x <  0 and y <  0
    3     Q4  relaxed    x >= 0 and y <  0
    ====  =============  ==========================

    So ``(0, 0)`` is in Q1 and ``-0.0`` counts as ``>= 0``. A NaN coordinate raises
    :class:`EmovaeError` (it lies in no quadrant).
    """
    pts = as_points(points)
    if np.isnan(pts).any():
        row = int(np.argwhere(np.isnan(pts))[0, 0])
        raise EmovaeError(f"latent point {row} is NaN: it lies in no quadrant")
    return np.asarray(quadrant_of_point(pts[:, 0], pts[:, 1]), dtype=np.int64)


def _nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN values; NaN (without a warning) if there are none."""
    values = np.asarray(values, dtype=np.float64)
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else math.nan


@dataclass
class QuadrantAccuracy:
    """Quadrant accuracy of one set of latent points, all figures in percent.

    ``recall[i]``: of the examples labelled ``i``, the share whose point lies in quadrant
    ``i`` (the paper's D_i); NaN when no example is labelled ``i``.
    ``precision[i]``: of the points lying in quadrant ``i``, the share labelled ``i`` (the
    authors' code); NaN when no point lies in quadrant ``i``.
    ``overall``: the share of all points lying in their own label's quadrant.
    ``counts[i]``: the number of examples labelled ``i``.
    """

    recall: np.ndarray
    precision: np.ndarray
    overall: float
    counts: np.ndarray

    @property
    def present(self) -> np.ndarray:
        """Boolean mask (4,): the emotions that occur among the labels."""
        return np.asarray(self.counts) > 0

    @property
    def mean_recall(self) -> float:
        """Mean recall over the emotions present (the paper's "mean" row); NaN if none."""
        return _nanmean(np.asarray(self.recall)[self.present])

    @property
    def mean_precision(self) -> float:
        """Mean precision over the emotions present, leaving out quadrants no point lies in."""
        return _nanmean(np.asarray(self.precision)[self.present])

    def to_dict(self) -> dict:
        """A JSON-friendly dict: lists of floats, ``None`` for NaN, quadrant names alongside."""
        return jsonable(
            {
                "quadrants": list(QUADRANTS),
                "recall": [float(v) for v in self.recall],
                "precision": [float(v) for v in self.precision],
                "overall": float(self.overall),
                "counts": [int(c) for c in self.counts],
                "mean_recall": self.mean_recall,
                "mean_precision": self.mean_precision,
            }
        )


def quadrant_accuracy(points, labels) -> QuadrantAccuracy:
    r"""Quadrant recall, precision and overall accuracy of latent points against their labels.

    ``points`` has shape (N, 2) (``z[0]`` valence, ``z[1]`` arousal), ``labels`` shape (N,)
    with 0..3 = e1..e4, whose home quadrants are Q1..Q4. With ``q_n`` the quadrant of point
    ``n`` (:func:`quadrant_of`) and ``y_n`` its label:

    .. math::

        recall_i = 100 \cdot \#\{n : y_n = i, q_n = i\} / \#\{n : y_n = i\}

        precision_i = 100 \cdot \#\{n : y_n = i, q_n = i\} / \#\{n : q_n = i\}

        overall = 100 \cdot \#\{n : q_n = y_n\} / N

    A zero denominator gives NaN (an emotion absent from the labels, a quadrant no point lies
    in, or no points at all).
    """
    pts = as_points(points)
    lab = as_labels(labels, pts.shape[0])
    quad = quadrant_of(pts)
    hit = quad == lab
    counts = np.bincount(lab, minlength=4)
    in_quadrant = np.bincount(quad, minlength=4)
    hits = np.bincount(lab[hit], minlength=4)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(counts > 0, 100.0 * hits / np.maximum(counts, 1), np.nan)
        precision = np.where(in_quadrant > 0, 100.0 * hits / np.maximum(in_quadrant, 1), np.nan)
    overall = 100.0 * float(hit.sum()) / len(lab) if len(lab) else math.nan
    return QuadrantAccuracy(
        recall=recall.astype(np.float64),
        precision=precision.astype(np.float64),
        overall=overall,
        counts=counts.astype(np.int64),
    )


def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(float(x)) else f"{float(x):.1f}"


def table2_markdown(results: dict[str, QuadrantAccuracy], paper: bool = True) -> str:
    """Table 2 as Markdown: rows Q1..Q4, the mean and the overall share, in percent.

    Each result gives two columns, ``<name> recall`` (the paper's D_i) and
    ``<name> precision`` (the authors' code's per-quadrant figure); the "mean" row averages
    each column over the emotions present, the "overall" row is the share of all points in
    their own quadrant (the same figure for both columns). With ``paper=True`` the paper's
    CVAE-Base and CVAE-EmoReg columns follow (it printed D_i and a mean only).
    """
    header = ["quadrant"]
    for name in results:
        header += [f"{name} recall", f"{name} precision"]
    if paper:
        header += [f"paper {name}" for name in PAPER_TABLE2]
    rows = []
    for i, quadrant in enumerate(QUADRANTS):
        row = [f"{quadrant} ({LABELS[i]} {NAMES[i]})"]
        for acc in results.values():
            row += [_pct(acc.recall[i]), _pct(acc.precision[i])]
        if paper:
            row += [f"{values[i]:.0f}" for values in PAPER_TABLE2.values()]
        rows.append(row)
    row = ["mean"]
    for acc in results.values():
        row += [_pct(acc.mean_recall), _pct(acc.mean_precision)]
    if paper:
        row += [f"{values[4]:.0f}" for values in PAPER_TABLE2.values()]
    rows.append(row)
    row = ["overall"]
    for acc in results.values():
        row += [_pct(acc.overall), _pct(acc.overall)]
    if paper:
        row += ["n/a" for _ in PAPER_TABLE2]
    rows.append(row)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
