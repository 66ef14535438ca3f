"""1. The emotion classifier on real melodies (:mod:`emovae.classifier`): nested, tune-grouped 5-fold
cross-validated accuracy (4 quadrants, arousal alone, valence alone) and its confusion matrix; the
accuracy on the authors' held-out split when trained on its training split, also on the held-out
melodies whose exact token sequence does not occur in the training split (that split is not grouped
by tune). Trains ``ctx.classifier`` on ALL real melodies for the sections after it."""

from __future__ import annotations

import numpy as np

from ..context import Context
from ..fmt import confusion_table, pct, table


def steps(ctx: Context) -> int:
    return 2


def compute(ctx: Context) -> dict:
    from ...classifier import EmotionClassifier, control_accuracy, cross_validate, tune_groups
    from ...data import split

    ds, seed = ctx.ds, ctx.seed
    with ctx.step("classifier: cross-validation"):
        cv = cross_validate(ds.tokens, ds.labels, seed=seed)
    with ctx.step("classifier: fitting"):
        clf = ctx.classifier = EmotionClassifier().fit(ds.tokens, ds.labels, seed=seed)
        if ctx.models:
            first = next(iter(ctx.models.values()))[1]
            train_idx, held_idx = np.asarray(first.train_idx), np.asarray(first.heldout_idx)
            split_from = next(iter(ctx.models))
        else:
            train_idx, held_idx = split(ds.labels)
            split_from = None
        # the data set in load order and a model's encoded rows share the order (both e1..e4 by name)
        held_clf = EmotionClassifier().fit(ds.tokens[train_idx], ds.labels[train_idx], seed=seed)
        held = control_accuracy(held_clf, ds.tokens[held_idx], ds.labels[held_idx])
        groups = tune_groups(ds.tokens)
        unseen = ~np.isin(groups[held_idx], groups[train_idx])
        held_unseen = control_accuracy(held_clf, ds.tokens[held_idx][unseen], ds.labels[held_idx][unseen])
    return {
        "classifier": {
            "cross_validation": cv,
            "chosen_on_all": clf.chosen_,
            "cv_scores_on_all": clf.cv_scores_,
            "heldout": {**held, "split_from": split_from, "train": len(train_idx), "chosen": held_clf.chosen_},
            "heldout_unseen_tunes": held_unseen,
            "heldout_with_twin_in_train": int((~unseen).sum()),
            "distinct_melodies": int(len(np.unique(groups))),
        }
    }


def _scores(what: str, n, c: dict) -> list:
    return [what, n, pct(c["accuracy"]), pct(c["arousal_accuracy"]), pct(c["valence_accuracy"])]


def markdown(r: dict, figures: dict) -> list:
    cls = r["classifier"]
    cv, held, unseen = cls["cross_validation"], cls["heldout"], cls["heldout_unseen_tunes"]
    chosen = ", ".join(sorted(set(cv["chosen"])))
    return [
        "## 1. The emotion classifier on real melodies",
        "",
        f"{len(cv['features'])} symbolic features per melody (note density, pitch range, mean and spread, major/minor "
        "scale rates, intervals, step/leap ratio, contour, rhythm and syncopation; `emovae.features`); "
        f"logistic regression or gradient boosting, picked by cross-validation (on all melodies: **{cls['chosen_on_all']}**"
        + "".join(f", {k} {pct(v)}%" for k, v in cls["cv_scores_on_all"].items())
        + "). "
        "Trained on real melodies only; the generator never sees it.",
        "",
        table(
            ["evaluation", "n", "4 quadrants %", "arousal %", "valence %"],
            [
                _scores(
                    f"nested {cv['folds']}-fold cross-validation, grouped by tune (folds chose: {chosen})", cv["n"], cv
                ),
                _scores(f"authors' held-out split, trained on its {held['train']} training melodies", held["n"], held),
                _scores("  the same, held-out melodies without an identical tune in training", unseen["n"], unseen),
            ],
        ),
        f"Caveat: the authors' split is not grouped by tune; {cls['heldout_with_twin_in_train']} of its "
        f"{held['n']} held-out melodies have an identical token sequence in the training split, which the "
        "classifier may simply recognise. The cross-validation keeps identical tunes in one fold.",
        "",
        "Confusion matrix of the cross-validation (rows: true emotion, columns: predicted):",
        "",
        confusion_table(cv["confusion"], "true"),
    ]
