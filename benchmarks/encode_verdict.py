"""How often ``encode`` without ``--emotion`` names a melody's own emotion, before and after.

    .venv/bin/python benchmarks/encode_verdict.py [MODEL ...] [--data DIR]

On the data set's melodies (default: $EMOVAE_DATA; the 344 of musgenvae), for each model
(default: the bundled CVAE-Plane and CVAE-EmoReg):

- before: the label whose point lies deepest in its own quadrant (the encoder reads a label; the
  rule ``encode`` used, still shown when there is no classifier);
- after: the emotion classifier's label (:mod:`emovae.verdict`). A melody the classifier was
  trained on would be judged optimistically, so each melody gets the label of a classifier fitted
  without it (and without any copy of it): nested, grouped, stratified 5-fold cross-validation
  (the folds of :func:`emovae.classifier.cross_validate`, grouped by :func:`tune_groups`). The
  label does not depend on the model; the point does: "point in it" is the share whose point,
  encoded under that label, lies in its quadrant.

Also the time to load the data set and fit the classifier on all of it (what ``encode`` does once
per process). Prints the CPU with the figures.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from train_speed import cpu_name  # benchmarks/ is on the path when run as a script


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "models", nargs="*", default=["plane", "emoreg"], help="checkpoints, run folders or plane/emoreg/base"
    )
    p.add_argument("--data", help="data set folder (default: $EMOVAE_DATA or the rebuilt set)")
    args = p.parse_args()

    warnings.simplefilter("ignore")
    from emovae import classifier as C
    from emovae import generation as gen
    from emovae.api import load
    from emovae.corpus import resolve_data_root
    from emovae.data import load_dataset
    from emovae.emotions import quadrant_of_point

    root = resolve_data_root(args.data, build_missing=False)
    t0 = time.perf_counter()
    ds = load_dataset(root)
    t1 = time.perf_counter()
    C.EmotionClassifier().fit(ds.tokens, ds.labels, seed=0)
    t2 = time.perf_counter()
    y = ds.labels
    x, groups = C.feature_matrix(ds.tokens), C.tune_groups(ds.tokens)
    oof = np.zeros(len(y), dtype=np.int64)
    for tr, te in C._folds(y, groups, 0, "data set"):
        clf = C.EmotionClassifier()
        clf._fit(x[tr], y[tr], groups[tr], 0)
        oof[te] = clf.model_.predict(x[te])
    print(f"CPU: {cpu_name()}")
    print(f"data set: {root}, {len(y)} melodies")
    print(f"classifier: load the data set {t1 - t0:.1f} s, fit (model choice by 5-fold CV + refit) {t2 - t1:.1f} s")
    print("| model | before: deepest label | after: classifier (grouped CV) | point in it |\n|---|---|---|---|")
    for spec in args.models:
        model = load(None if spec == "plane" else spec).trained
        before = np.asarray([pl.emotion for pl in gen.place(model, ds.tokens)])
        if model.model_config.encoder_condition:
            pts = model.encode(gen.fit_vocabulary(ds.tokens, model.vocab, "data set")[0], oof)
            after, inside = oof, np.mean([quadrant_of_point(*pt) == e for pt, e in zip(pts, oof)])
        else:  # label-free: the plane's quadrant is the verdict
            after, inside = before, 1.0
        print(
            f"| {model.title} | {int((before == y).sum())}/{len(y)} ({100 * np.mean(before == y):.1f}%) "
            f"| {int((after == y).sum())}/{len(y)} ({100 * np.mean(after == y):.1f}%) | {100 * inside:.1f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
