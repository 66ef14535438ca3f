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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .atomic import jsonable
from .emotions import LABELS, NAMES, QUADRANTS, as_labels, as_points, axis_sign, quadrant_of_point
from .errors import EmovaeError

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


# ---------------------------------------------------------------------------- a trained model


def model_split(model, data_root=None, data=None):
    """The data set encoded with the model's vocabulary and split as the model's run split it
    (an :class:`emovae.train.EncodedData`)."""
    from .corpus import resolve_data_root
    from .training import encode_dataset

    if data is not None:
        return data
    tc = model.train_config
    data = encode_dataset(
        resolve_data_root(data_root),
        vocab=model.vocab,
        split_seed=tc.split_seed,
        heldout=tc.heldout,
        vocab_owner=str(model.path or "model"),
    )
    if model.state.names == data.names and model.state.train_idx:  # the very split the model was trained with
        data.train_idx = np.asarray(model.state.train_idx)
        data.heldout_idx = np.asarray(model.state.heldout_idx)
    return data


@dataclass
class SplitEvaluation:
    """The latent points of one split, their labels and their quadrant accuracy."""

    points: np.ndarray
    labels: np.ndarray
    accuracy: QuadrantAccuracy


def evaluate_model(model, data_root=None, data=None) -> dict[str, SplitEvaluation]:
    """Table 2 of a trained model (a :class:`~emovae.checkpoint.TrainedModel`, a checkpoint
    file, a run folder or a bundled name): ``{"train": ..., "heldout": ...}``, each the mu of
    every example of that split (encoded under its own label) and its quadrant accuracy."""
    from .checkpoint import load_model

    model = load_model(model)
    data = model_split(model, data_root, data)
    out = {}
    for split, rows in (("train", data.train_idx), ("heldout", data.heldout_idx)):
        if len(rows):
            raw = model.vocab.decode(data.indices[rows])
            pts = model.encode(raw, data.labels[rows])
            out[split] = SplitEvaluation(pts, data.labels[rows], quadrant_accuracy(pts, data.labels[rows]))
    return out


def write_evaluation(evaluation: dict[str, SplitEvaluation], out_dir, name: str = "model") -> list:
    """Write ``latent_<split>.png`` and ``accuracy.json`` for :func:`evaluate_model`'s result."""
    import json
    from pathlib import Path

    from .atomic import write_text
    from .plots import plot_latent

    out = Path(out_dir)
    paths = [
        plot_latent(
            ev.points, ev.labels, out / f"latent_{split}.png", title=f"{name}: {split} split", accuracy=ev.accuracy
        )
        for split, ev in evaluation.items()
    ]
    write_text(out / "accuracy.json", json.dumps({s: ev.accuracy.to_dict() for s, ev in evaluation.items()}, indent=1))
    return [*paths, out / "accuracy.json"]


def evaluation_markdown(evaluation: dict[str, SplitEvaluation]) -> str:
    """Table 2 of each split as Markdown, one after the other."""
    text = []
    for split, ev in evaluation.items():
        text += [
            f"quadrant accuracy, {split} split ({len(ev.labels)} examples):",
            table2_markdown({"model": ev.accuracy}),
        ]
    return "\n".join(text)


class QuadrantLog:
    """Training callback: every ``every`` epochs (and at the last), the quadrant accuracy of
    both splits goes into the history row (``d_train``, ``d_heldout``), and with ``out_dir``
    a picture of the training split's latent plane is written to ``latent/epoch_NNNN.png``."""

    def __init__(self, every: int = 50, out_dir=None):
        self.every = every  # epochs between measurements
        self.out_dir = out_dir  # run folder for the pictures (None: no pictures)

    def on_epoch_end(self, trainer, row: dict) -> None:
        from pathlib import Path

        epoch = trainer.epoch
        if epoch % self.every and epoch != trainer.config.epochs:
            return
        for split in ("train", "heldout"):
            if len(trainer.splits[split][2]):
                pts, labels = trainer.latent(split)
                acc = quadrant_accuracy(pts, labels)
                row[f"d_{split}"] = acc.to_dict()
                if self.out_dir is not None and split == "train":
                    from .plots import plot_latent

                    plot_latent(
                        pts,
                        labels,
                        Path(self.out_dir) / "latent" / f"epoch_{epoch:04d}.png",
                        title=f"epoch {epoch}: training split",
                        accuracy=acc,
                    )


# ---------------------------------------------------------------------------- reconstruction


def reconstruction_accuracy(reconstructed, original) -> dict:
    """Token and melody accuracy of reconstructions ``(N, T)`` against the originals ``(N, T)``.

    ``token_accuracy = #{(n, t) : r[n, t] = x[n, t]} / (N T)``;
    ``melody_accuracy = #{n : r[n] = x[n] at every step} / N``; both 0 for ``N = 0``.
    """
    r, x = np.asarray(reconstructed), np.asarray(original)
    if r.shape != x.shape or r.ndim != 2:
        raise EmovaeError(f"reconstruction: expected two (N, T) token arrays of one shape, got {r.shape} and {x.shape}")
    if not r.size:
        return {"n": int(r.shape[0]), "token_accuracy": 0.0, "melody_accuracy": 0.0}
    same = r == x
    return {
        "n": int(r.shape[0]),
        "token_accuracy": float(same.mean()),
        "melody_accuracy": float(same.all(axis=1).mean()),
    }


def reconstruction(model, raw, labels) -> dict:
    """How well a model rebuilds melodies from their codes: each of the raw-token melodies
    ``(N, 64)`` is encoded under its label to its whole latent mean mu and decoded back (argmax).
    The one measure the report and the sweep use: :func:`reconstruction_accuracy`'s
    ``token_accuracy`` and ``melody_accuracy``, plus per melody the cross-entropy
    ``ce = -sum_t log p(x_t | mu) / N`` and the KL term ``kl = sum_d -(1 + logvar - mu^2 - e^logvar) / 2``
    averaged over the melodies (NaN for N = 0)."""
    import torch
    import torch.nn.functional as F

    raw = np.asarray(raw)
    if len(raw) == 0:
        return {"n": 0, "token_accuracy": math.nan, "melody_accuracy": math.nan, "ce": math.nan, "kl": math.nan}
    net = model.net
    net.eval()
    with torch.no_grad():
        idx = torch.as_tensor(model.vocab.encode(raw), device=model.device)
        lab = torch.as_tensor(np.asarray(labels), device=model.device)
        mu, logvar = net.encode(idx, lab)
        logits = net.decode(mu, lab).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx.reshape(-1), reduction="sum") / len(idx)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()
        rebuilt = model.vocab.decode(logits.argmax(-1).cpu().numpy())
    return {**reconstruction_accuracy(rebuilt, raw), "ce": float(ce), "kl": float(kl)}


# ---------------------------------------------------------------------------- D_i and reconstruction of a model


def split_figures(model, data) -> dict[str, dict]:
    """D_i and reconstruction of a trained model on each split of ``data`` that holds melodies
    (``"train"``, ``"heldout"``): ``{"accuracy": QuadrantAccuracy}`` (:func:`evaluate_model`: the
    quadrant recall D_i, precision and overall share of the melodies' latent means) merged with
    :func:`reconstruction` of the same melodies under their labels (``n``, ``token_accuracy``,
    ``melody_accuracy``, ``ce``, ``kl``). The figures ``emovae report`` (section 5) and the
    sweep's rows are made of."""
    out = {}
    for split, ev in evaluate_model(model, data=data).items():
        rows = data.train_idx if split == "train" else data.heldout_idx
        raw = model.vocab.decode(data.indices[rows])
        out[split] = {"accuracy": ev.accuracy, **reconstruction(model, raw, ev.labels)}
    return out


def generated_set(
    model, n_per_emotion: int, *, seed: int, sampler: str = "paper", unique: bool = False, spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(tokens (4 n, 64), asked (4 n,))``: ``n_per_emotion`` melodies of each emotion e1..e4 in
    turn, drawn by :meth:`~emovae.checkpoint.TrainedModel.sample` (``sampler``, ``seed``; ``unique``:
    the copy guard; ``spread``: the fitted sampler's), and the emotion each was asked for. The
    generated melodies ``emovae report`` and the sweep judge (control, novelty, Table 3)."""
    tokens = np.concatenate(
        [model.sample(e, n_per_emotion, seed=seed, sampler=sampler, unique=unique, spread=spread) for e in range(4)]
    )
    return tokens, np.repeat(np.arange(4), n_per_emotion)


# ---------------------------------------------------------------------------- the plane as a grid; statistics

GRID_LIMIT = 6.0  # emovae report's grid covers [-GRID_LIMIT, GRID_LIMIT]^2


def plane_grid(grid: int, limit: float = GRID_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (g,), points (g*g, 2))``: ``coords = linspace(-limit, limit, g)`` and the lattice
    in row-major order, row ``i`` = arousal ``coords[i]`` (bottom to top), column ``j`` = valence
    ``coords[j]``: ``points[i * g + j] = (coords[j], coords[i])``."""
    coords = np.linspace(-limit, limit, grid)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    return coords, np.stack([xx.ravel(), yy.ravel()], axis=1)


def pearson(a, b) -> float | None:
    """Pearson correlation of two equal-length series, with ``d_x = x - mean(x)``:
    ``r = sum(d_x d_y) / sqrt(sum(d_x^2) sum(d_y^2))`` (= ``cov(a, b) / (sd(a) sd(b))``); None when
    either is constant (or has fewer than 2 values), where it is undefined.
    (1, 2, 3, 4) against (1, 3, 2, 4): 4 / sqrt(5 * 5) = 0.8."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise EmovaeError(f"pearson: expected two 1-D series of equal length, got {x.shape} and {y.shape}")
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if den == 0.0:
        return None
    return float((dx * dy).sum()) / den


def va_agreement(predicted, points, limit: float = GRID_LIMIT) -> dict:
    """How well predicted (valence, arousal) in [-1, 1] follow the points' coordinates.

    ``predicted`` and ``points`` are ``(N, 2)`` (valence, arousal). For each axis, with ``p`` the
    prediction and ``c`` the coordinate:

    - ``l1_sign = mean |p - s(c)|`` with ``s(c) = +1`` if ``c >= 0`` else ``-1`` (the quadrant
      rule of :func:`quadrant_of`);
    - ``l1_scaled = mean |p - c / limit|`` (the coordinate scaled linearly to [-1, 1]);
    - ``pearson`` = :func:`pearson` of ``p`` and ``c`` (scale-free; None if either is constant).

    Example: predicted valences (1, 0) at x = (6, -3) with limit 6: l1_sign = (0 + 1) / 2 = 0.5,
    l1_scaled = (0 + 0.5) / 2 = 0.25, pearson = 1.
    """
    p = np.asarray(predicted, dtype=np.float64)
    c = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape != c.shape:
        raise EmovaeError(f"va_agreement: expected predictions and points of shape (N, 2), got {p.shape} and {c.shape}")
    if not p.size:
        raise EmovaeError("va_agreement: no points")
    out = {}
    for k, axis in enumerate(("valence", "arousal")):
        sign = axis_sign(c[:, k])
        out[axis] = {
            "l1_sign": float(np.abs(p[:, k] - sign).mean()),
            "l1_scaled": float(np.abs(p[:, k] - c[:, k] / limit).mean()),
            "pearson": pearson(p[:, k], c[:, k]),
        }
    return out


def mean_sd(values) -> dict:
    """``{"n", "mean", "sd"}`` of numbers (None and NaN values left out): the mean and the sample
    standard deviation ``sqrt(sum (v - mean)^2 / (n - 1))``; sd None for fewer than 2 values,
    both None for none. (1, 2, 3) -> mean 2, sd 1."""
    vals = np.asarray([float(v) for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if not vals.size:
        return {"n": 0, "mean": None, "sd": None}
    return {"n": int(vals.size), "mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if vals.size > 1 else None}
