"""One run's figures: the CSV columns, D and reconstruction, and the generated melodies' figures
under each sampler, by the functions ``emovae report`` uses."""

from __future__ import annotations

import math

import numpy as np

COLLAPSE_ACCURACY = 0.80  # training-split token accuracy below this: the decoder did not learn
COLLAPSE_DISTINCT = 20.0  # or fewer distinct melodies than this per 100 generated
GENERATED_PER_EMOTION = 100

# the figures of 400 generated melodies, measured under each sampler ("_fitted" for the fitted one)
GENERATION_KEYS = (
    "distinct_per_100",
    "distinct_share",
    "exact_copies",
    "degenerate",
    "table3_within",
    "control_accuracy",
)
SAMPLER_SUFFIX = {"paper": "", "fitted": "_fitted"}

COLUMNS = (
    "run",
    "config",
    "seed",
    "epochs",
    "d_recall_train",
    "d_precision_train",
    "d_recall_heldout",
    "d_precision_heldout",
    "acc_train",
    "acc_heldout",
    "ce_train",
    "ce_heldout",
    "kl_train",
    "best_d_epoch",
    "best_d_train",
    *GENERATION_KEYS,
    *(f"{k}_fitted" for k in GENERATION_KEYS),
    "collapsed",
    "diverged",
    "seconds",
)


def run_metrics(model, data, *, classifier=None, seed: int | None = None) -> tuple[dict, np.ndarray]:
    """The CSV figures of one trained model on its data split, and the melodies it generated
    (``GENERATED_PER_EMOTION`` per emotion, the paper's sampling, seeded by the run's seed):
    ``(row, generated (4 * n, 64) raw tokens)``. D_i and the reconstruction come from
    :func:`emovae.evaluate.split_figures`, as in ``emovae report``."""
    from ..evaluate import split_figures

    seed = model.train_config.seed if seed is None else seed
    row: dict = {}
    splits = split_figures(model, data)
    for split in ("train", "heldout"):
        f = splits.get(split)  # None: no melody in that split
        row[f"d_recall_{split}"] = f["accuracy"].mean_recall if f else math.nan
        row[f"d_precision_{split}"] = f["accuracy"].mean_precision if f else math.nan
        row[f"acc_{split}"], row[f"ce_{split}"] = (f["token_accuracy"], f["ce"]) if f else (math.nan, math.nan)
        if split == "train":
            row["kl_train"] = f["kl"] if f else math.nan
    tracked = [(h["epoch"], h["d_train"]["mean_recall"]) for h in model.history if "d_train" in h]
    best = max(tracked, key=lambda t: t[1]) if tracked else (math.nan, math.nan)
    row["best_d_epoch"], row["best_d_train"] = best
    generated = None
    for sampler, suffix in SAMPLER_SUFFIX.items():
        if sampler == "fitted" and model.sampler is None:
            from ..training import fit_to_data

            fit_to_data(model, data)  # an older checkpoint: fitted here, as `emovae fit-sampler` would
        figures, tokens = generation_figures(model, data, sampler, classifier=classifier, seed=seed)
        row.update({k + suffix: v for k, v in figures.items()})
        generated = tokens if generated is None else generated  # the paper sampler's are kept
    row["collapsed"] = bool(row["acc_train"] < COLLAPSE_ACCURACY or row["distinct_per_100"] < COLLAPSE_DISTINCT)
    return row, generated


def generation_figures(
    model, data, sampler: str, *, classifier=None, seed: int = 0, unique: bool = False, spread: float = 1.0
) -> tuple[dict, np.ndarray]:
    """The :data:`GENERATION_KEYS` of ``GENERATED_PER_EMOTION`` melodies per emotion drawn with
    ``sampler`` (:func:`emovae.evaluate.generated_set`, seeded by ``seed``; ``unique``: with the
    copy guard; ``spread``: the fitted one's) against the data split, by the functions of
    ``emovae report``: distinct per 100 (per emotion, averaged), exact copies of a training-split
    melody and degenerate (no note, one pitch, a rest longer than the training set's longest)
    from :func:`emovae.novelty.novelty_by_emotion`, and the distinct share; Table 3 cells within
    0.5 sigma (:func:`emovae.metrics.token_metrics`, :func:`~emovae.metrics.within_sigma`,
    :func:`~emovae.metrics.count_within`); the classifier's control accuracy
    (:func:`emovae.classifier.control_accuracy`)."""
    from ..emotions import LABELS
    from ..evaluate import generated_set
    from ..novelty import novelty_by_emotion

    generated, asked = generated_set(
        model, GENERATED_PER_EMOTION, seed=seed, sampler=sampler, unique=unique, spread=spread
    )
    training = model.vocab.decode(data.indices[data.train_idx])
    novelty = novelty_by_emotion(generated, asked, training)
    out = {"distinct_per_100": float(np.mean([novelty[LABELS[e]]["distinct_per_100"] for e in range(4)]))}
    out["distinct_share"] = len(np.unique(generated, axis=0)) / len(generated)
    out["exact_copies"] = novelty["all"]["exact_share"]
    out["degenerate"] = novelty["all"]["degenerate_share"]
    out["table3_within"] = _table3_within(generated, asked, model.vocab.decode(data.indices), data.labels)
    out["control_accuracy"] = math.nan
    if classifier is not None:
        from ..classifier import control_accuracy

        out["control_accuracy"] = control_accuracy(classifier, generated, asked)["accuracy"]
    return out, generated


def _table3_within(generated, asked, reference, labels) -> float:
    """How many of Table 3's 16 cells (4 MusPy metrics x 4 emotions) of the generated melodies
    lie within 0.5 sigma of the data set's (:func:`emovae.metrics.within_sigma`; the data set's
    melodies as encoded, 64 steps each). NaN where MusPy is not installed."""
    try:
        from ..metrics import count_within, token_metrics, within_sigma
    except ImportError:
        return math.nan

    return float(count_within(within_sigma(token_metrics(generated, asked), token_metrics(reference, labels))))
