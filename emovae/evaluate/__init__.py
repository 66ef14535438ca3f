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

Also the other figures of a trained model that ``emovae report`` and the sweep share: D_i with the
reconstruction per split (:func:`split_figures`), the generated melodies they judge
(:func:`generated_set`), the report's grid over the plane (:func:`plane_grid`), how predicted
valence and arousal follow its coordinates (:func:`va_agreement`, :func:`pearson`) and the mean
and sample sd over runs (:func:`mean_sd`).

Modules: :mod:`~emovae.evaluate.table2` (Table 2: :func:`quadrant_accuracy`, :func:`table2_markdown`),
:mod:`~emovae.evaluate.trained` (a trained model: :func:`evaluate_model`, :class:`QuadrantLog`,
:func:`split_figures`, :func:`generated_set`), :mod:`~emovae.evaluate.grid` (the grid and statistics
formulas); every name is importable from ``emovae.evaluate`` as before.
"""

from __future__ import annotations

from .grid import GRID_LIMIT, mean_sd, pearson, plane_grid, va_agreement
from .table2 import PAPER_TABLE2, QuadrantAccuracy, quadrant_accuracy, quadrant_of, table2_markdown
from .trained import (
    QuadrantLog,
    SplitEvaluation,
    evaluate_model,
    evaluation_markdown,
    generated_set,
    model_split,
    reconstruction,
    reconstruction_accuracy,
    split_figures,
    write_evaluation,
)

__all__ = [
    "GRID_LIMIT",
    "PAPER_TABLE2",
    "QuadrantLog",
    "SplitEvaluation",
    "evaluate_model",
    "evaluation_markdown",
    "generated_set",
    "mean_sd",
    "model_split",
    "pearson",
    "plane_grid",
    "write_evaluation",
    "QuadrantAccuracy",
    "quadrant_accuracy",
    "quadrant_of",
    "reconstruction",
    "reconstruction_accuracy",
    "split_figures",
    "table2_markdown",
    "va_agreement",
]
