"""An emotion classifier of melodies, trained on real melodies only and kept apart from the generator.

Input: the symbolic features of :mod:`emovae.features` (:data:`~emovae.features.FEATURE_NAMES`)
of raw-token melodies. Output: the emotion 0..3 = e1 happy (valence +, arousal +), e2 angry
(-, +), e3 sad (-, -), e4 relaxed (+, -) (:mod:`emovae.emotions`).

Models (:data:`CANDIDATES`), scikit-learn:

- ``"logreg"``: ``StandardScaler`` + multinomial ``LogisticRegression(C=1)``;
- ``"hgb"``: ``HistGradientBoostingClassifier`` (depth 3, 100 iterations, learning rate 0.1,
  at least 10 melodies per leaf, ``random_state=seed``).

:meth:`EmotionClassifier.fit` picks the candidate with the best mean accuracy over a seeded
stratified 5-fold cross-validation of the training data (ties: the first in :data:`CANDIDATES`),
then refits it on all of it. The folds are **grouped by tune**: identical token sequences (the
data set repeats tunes: 344 melodies, 293 distinct) always fall in the same fold
(``StratifiedGroupKFold``), so a copy of a validation melody is never in training.

Continuous valence and arousal (:meth:`EmotionClassifier.predict_va`) come from the chosen
model's class probabilities ``P(e1..e4)``: ``valence = 2 (P(e1) + P(e4)) - 1`` and
``arousal = 2 (P(e1) + P(e2)) - 1``, each in [-1, 1] (the probability of the positive side of
the axis, mapped from [0, 1]); not a separately trained regressor.

:func:`cross_validate` estimates all this honestly (nested: the model choice is redone inside
each outer training fold) and :func:`control_accuracy` scores generated melodies against the
emotion they were asked for. Every dict returned is JSON-ready (ints, floats, lists, strings).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .emotions import AROUSAL, LABELS, VALENCE, emotion_index
from .errors import EmovaeError
from .features import FEATURE_NAMES, as_melodies, feature_matrix
from .limits import check_seed

__all__ = [
    "CANDIDATES",
    "EmotionClassifier",
    "control_accuracy",
    "cross_validate",
    "tune_groups",
]

N_FOLDS = 5
_VALENCE = np.asarray(VALENCE)
_AROUSAL = np.asarray(AROUSAL)


def _logreg(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))


def _hgb(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_depth=3, max_iter=100, learning_rate=0.1, min_samples_leaf=10, random_state=seed
    )


#: name -> factory(seed) of an unfitted scikit-learn classifier; the model choice is among these.
CANDIDATES: dict[str, Callable[[int], object]] = {"logreg": _logreg, "hgb": _hgb}


# ---------------------------------------------------------------------------- input


def _labels(labels, n: int, what: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != n:
        raise EmovaeError(f"{what}: expected {n} emotion labels (one per melody), got shape {arr.shape}")
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise EmovaeError(f"{what}: expected integer labels 0..3, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = sorted(set(arr[(arr < 0) | (arr > 3)].tolist()))
    if bad:
        raise EmovaeError(f"{what}: value(s) {', '.join(map(str, bad[:10]))} outside 0..3 (e1..e4)")
    return arr


def _asked(asked, n: int) -> np.ndarray:
    """Asked emotions: one per melody (ints 0..3), or one emotion (0..3, 'e1', 'Q1', 'happy') for all."""
    if isinstance(asked, (str, int, np.integer)) and not isinstance(asked, bool):
        return np.full(n, emotion_index(int(asked) if isinstance(asked, np.integer) else asked), dtype=np.int64)
    return _labels(asked, n, "asked emotions")


def tune_groups(tokens) -> np.ndarray:
    """Group ids ``(N,)``: melodies with identical token sequences share an id (0, 1, ... in order
    of first appearance)."""
    arr = as_melodies(tokens)
    seen: dict[bytes, int] = {}
    return np.asarray([seen.setdefault(row.tobytes(), len(seen)) for row in arr], dtype=np.int64)


def _folds(labels: np.ndarray, groups: np.ndarray, seed: int, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified 5-fold split of the rows, grouped by tune; EmovaeError if impossible."""
    from sklearn.model_selection import StratifiedGroupKFold

    counts = np.bincount(labels, minlength=4)
    if counts.min() < N_FOLDS or len(np.unique(groups)) < N_FOLDS:
        raise EmovaeError(
            f"{what}: {N_FOLDS}-fold cross-validation needs at least {N_FOLDS} melodies of each emotion and "
            f"{N_FOLDS} distinct ones in all, got {', '.join(f'{LABELS[e]} {int(c)}' for e, c in enumerate(counts))} "
            f"({len(np.unique(groups))} distinct)"
        )
    cv = StratifiedGroupKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(labels)), labels, groups))


def _confusion(true: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    m = np.zeros((4, 4), dtype=np.int64)
    np.add.at(m, (true, pred), 1)
    return m.tolist()


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _scores(true: np.ndarray, pred: np.ndarray) -> dict:
    """4-quadrant, arousal-only and valence-only accuracy and the confusion matrix (rows: true)."""
    return {
        "accuracy": _share(pred == true),
        "arousal_accuracy": _share(_AROUSAL[pred] == _AROUSAL[true]),
        "valence_accuracy": _share(_VALENCE[pred] == _VALENCE[true]),
        "confusion": _confusion(true, pred),
    }


# ---------------------------------------------------------------------------- the classifier


class EmotionClassifier:
    """Features -> emotion 0..3; the model picked by grouped, stratified, seeded 5-fold CV.

    After :meth:`fit`: ``chosen_`` (the name in :data:`CANDIDATES`), ``cv_scores_`` (name -> mean
    validation accuracy), ``model_`` (the refitted scikit-learn estimator).
    """

    def __init__(self, candidates: tuple[str, ...] | None = None):
        names = tuple(CANDIDATES) if candidates is None else tuple(candidates)
        unknown = [c for c in names if c not in CANDIDATES]
        if not names or unknown:
            raise EmovaeError(
                f"classifier candidates: unknown {', '.join(map(repr, unknown)) or 'none given'}; "
                f"use some of {', '.join(CANDIDATES)}"
            )
        self.candidates = names
        self.chosen_: str | None = None
        self.cv_scores_: dict[str, float] = {}
        self.model_ = None

    def fit(self, tokens, labels, seed: int = 0) -> EmotionClassifier:
        """Pick the best candidate by cross-validation on ``(tokens (N, T), labels (N,))``, refit it
        on all of them; returns self."""
        arr = as_melodies(tokens)
        y = _labels(labels, len(arr))
        self._fit(feature_matrix(arr), y, tune_groups(arr), check_seed(seed))
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> None:
        if set(np.unique(y).tolist()) != {0, 1, 2, 3}:
            raise EmovaeError("classifier training data: needs melodies of all four emotions e1..e4")
        if len(self.candidates) == 1:
            self.cv_scores_ = {}
            self.chosen_ = self.candidates[0]
        else:
            folds = _folds(y, groups, seed, "classifier training data")
            scores = {}
            for name in self.candidates:
                acc = []
                for tr, va in folds:
                    model = CANDIDATES[name](seed).fit(x[tr], y[tr])
                    acc.append(float((model.predict(x[va]) == y[va]).mean()))
                scores[name] = float(np.mean(acc))
            self.cv_scores_ = scores
            self.chosen_ = max(self.candidates, key=lambda c: (scores[c], -self.candidates.index(c)))
        self.model_ = CANDIDATES[self.chosen_](seed).fit(x, y)

    def _model(self):
        if self.model_ is None:
            raise EmovaeError("emotion classifier: not fitted (call fit first)")
        return self.model_

    def _features(self, tokens) -> np.ndarray:
        self._model()
        return feature_matrix(as_melodies(tokens))

    def predict_proba(self, tokens) -> np.ndarray:
        """``(N, 4)`` probabilities of e1..e4 for melodies ``(N, T)``."""
        x = self._features(tokens)
        return self._model().predict_proba(x) if len(x) else np.zeros((0, 4))

    def predict(self, tokens) -> np.ndarray:
        """``(N,)`` int64 emotions 0..3 (e1..e4) for melodies ``(N, T)``."""
        x = self._features(tokens)
        return self._model().predict(x).astype(np.int64) if len(x) else np.zeros(0, dtype=np.int64)

    def predict_va(self, tokens) -> np.ndarray:
        """``(N, 2)`` (valence, arousal) in [-1, 1]: ``2 (P(e1) + P(e4)) - 1`` and ``2 (P(e1) + P(e2)) - 1``."""
        p = self.predict_proba(tokens)
        return np.stack([2 * (p[:, 0] + p[:, 3]) - 1, 2 * (p[:, 0] + p[:, 1]) - 1], axis=1)


# ---------------------------------------------------------------------------- measures


def cross_validate(tokens, labels, seed: int = 0, candidates: tuple[str, ...] | None = None) -> dict:
    """Nested, grouped, stratified, seeded 5-fold cross-validation of :class:`EmotionClassifier`.

    Each outer fold trains a classifier (its own inner model choice) on the other four folds and
    predicts the held-out one; the out-of-fold predictions ``pred`` of all N melodies give

    - ``accuracy = #{pred = label} / N`` (4 quadrants), ``arousal_accuracy`` and
      ``valence_accuracy`` = the share with the right sign of arousal / valence;
    - ``confusion``: 4 x 4 counts, row = true emotion e1..e4, column = predicted;
    - ``fold_accuracy`` (one per outer fold), ``chosen`` (the model chosen in each outer fold);
    - ``valence_l1``, ``arousal_l1``: mean ``|predict_va - sign|`` against the true signs (+-1);

    plus ``model``, the choice :meth:`EmotionClassifier.fit` makes on all the data, with its
    ``cv_scores`` (name -> mean validation accuracy).
    """
    arr = as_melodies(tokens)
    y = _labels(labels, len(arr))
    seed = check_seed(seed)
    x, groups = feature_matrix(arr), tune_groups(arr)
    pred = np.zeros(len(y), dtype=np.int64)
    va = np.zeros((len(y), 2))
    fold_acc, chosen = [], []
    for tr, te in _folds(y, groups, seed, "cross-validation data"):
        clf = EmotionClassifier(candidates)
        clf._fit(x[tr], y[tr], groups[tr], seed)
        pred[te] = clf.model_.predict(x[te])
        p = clf.model_.predict_proba(x[te])
        va[te] = np.stack([2 * (p[:, 0] + p[:, 3]) - 1, 2 * (p[:, 0] + p[:, 1]) - 1], axis=1)
        fold_acc.append(float((pred[te] == y[te]).mean()))
        chosen.append(clf.chosen_)
    full = EmotionClassifier(candidates)
    full._fit(x, y, groups, seed)
    return {
        "n": len(y),
        "folds": N_FOLDS,
        "seed": seed,
        "grouped_by_tune": True,
        "labels": list(LABELS),
        **_scores(y, pred),
        "fold_accuracy": fold_acc,
        "chosen": chosen,
        "valence_l1": float(np.abs(va[:, 0] - _VALENCE[y]).mean()),
        "arousal_l1": float(np.abs(va[:, 1] - _AROUSAL[y]).mean()),
        "model": full.chosen_,
        "cv_scores": full.cv_scores_,
        "features": list(FEATURE_NAMES),
    }


def control_accuracy(classifier: EmotionClassifier, tokens, asked_labels) -> dict:
    """How often a fitted classifier assigns generated melodies to the emotion they were asked for.

    ``asked_labels``: one emotion 0..3 per melody, or one emotion (0..3, 'e1', 'Q1', 'happy') for
    all. With ``pred`` the classifier's emotions: ``accuracy = #{pred = asked} / N``,
    ``arousal_accuracy`` / ``valence_accuracy`` = the share whose predicted arousal / valence has
    the asked sign, ``confusion`` (row = asked e1..e4, column = assigned), ``per_emotion``
    (accuracy among the melodies asked for e1..e4; 0 where none was asked) and ``n``.
    """
    if not isinstance(classifier, EmotionClassifier):
        raise EmovaeError(f"control_accuracy: expected an EmotionClassifier, got {type(classifier).__name__}")
    arr = as_melodies(tokens)
    asked = _asked(asked_labels, len(arr))
    pred = classifier.predict(arr)
    per = [_share(pred[asked == e] == e) for e in range(4)]
    return {"n": len(arr), **_scores(asked, pred), "per_emotion": per, "labels": list(LABELS)}
