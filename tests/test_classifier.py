"""The emotion classifier: exact scores on hand-made predictions, learning on synthetic melodies,
and its cross-validated accuracy on the real data set."""

import json
import warnings

import numpy as np
import pytest

from emovae.classifier import (
    CANDIDATES,
    EmotionClassifier,
    control_accuracy,
    cross_validate,
    tune_groups,
)
from emovae.errors import EmovaeError, EmovaeWarning
from emovae.features import FEATURE_NAMES

H = 129
MAJOR = [64, 69, 71, 76]  # E A B E: in C major only
MINOR = [63, 68, 70, 75]  # Eb Ab Bb Eb: in C minor only


def synthetic(per_emotion: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Melodies whose emotion is plain: fast (eighths) or slow (halves) x notes of C major or C minor only."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for e, (step, scale) in enumerate([(2, MAJOR), (2, MINOR), (8, MINOR), (8, MAJOR)]):
        for _ in range(per_emotion):
            row = []
            for p in rng.choice(scale, size=64 // step):
                row += [int(p)] + [H] * (step - 1)
            rows.append(row)
            labels.append(e)
    return np.asarray(rows, dtype=np.int64), np.asarray(labels, dtype=np.int64)


class Fixed(EmotionClassifier):
    """A 'classifier' that answers given emotions, to test the scores exactly."""

    def __init__(self, answers):
        super().__init__()
        self.answers = np.asarray(answers)

    def predict(self, tokens):
        return self.answers


def test_control_accuracy_exact():
    tokens = np.full((6, 4), 60)
    asked = [0, 0, 1, 2, 3, 3]
    # assigned: e1 ok; e2 (arousal right, valence wrong); e2 ok; e4 (arousal right, valence wrong);
    # e1 (arousal wrong, valence right); e3 (arousal right, valence wrong)
    r = control_accuracy(Fixed([0, 1, 1, 3, 0, 2]), tokens, asked)
    assert r["n"] == 6
    assert r["accuracy"] == pytest.approx(2 / 6)
    assert r["arousal_accuracy"] == pytest.approx(5 / 6)
    assert r["valence_accuracy"] == pytest.approx(3 / 6)
    assert r["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 0]]
    assert r["per_emotion"] == [0.5, 1.0, 0.0, 0.0]
    json.dumps(r)


def test_control_accuracy_one_asked_emotion_for_all():
    tokens = np.full((4, 4), 60)
    r = control_accuracy(Fixed([2, 2, 3, 1]), tokens, "sad")
    assert r["accuracy"] == pytest.approx(2 / 4)
    assert r["confusion"][2] == [0, 1, 2, 1] and r["per_emotion"] == [0.0, 0.0, 0.5, 0.0]
    assert control_accuracy(Fixed([2, 2, 3, 1]), tokens, 2) == r


def test_tune_groups():
    assert tune_groups([[60, H], [62, H], [60, H], [60, 60], [62, H]]).tolist() == [0, 1, 0, 2, 1]


def test_fit_predict_and_va_on_plain_synthetic_melodies():
    x, y = synthetic(12, seed=1)
    clf = EmotionClassifier(candidates=("logreg",)).fit(x, y, seed=0)
    xt, yt = synthetic(5, seed=2)
    pred = clf.predict(xt)
    assert pred.dtype == np.int64 and pred.tolist() == yt.tolist()
    va = clf.predict_va(xt)
    assert va.shape == (20, 2) and np.all(np.abs(va) <= 1)
    assert np.sign(va[:, 0]).tolist() == [1.0 if e in (0, 3) else -1.0 for e in yt]  # valence
    assert np.sign(va[:, 1]).tolist() == [1.0 if e in (0, 1) else -1.0 for e in yt]  # arousal
    p = clf.predict_proba(xt)
    assert va[:, 0] == pytest.approx(2 * (p[:, 0] + p[:, 3]) - 1)
    assert va[:, 1] == pytest.approx(2 * (p[:, 0] + p[:, 1]) - 1)
    assert clf.predict(np.zeros((0, 64), dtype=np.int64)).shape == (0,)


def test_fit_chooses_a_candidate_by_cross_validation():
    x, y = synthetic(8, seed=3)
    clf = EmotionClassifier().fit(x, y, seed=0)
    assert set(clf.cv_scores_) == set(CANDIDATES)
    assert clf.chosen_ == max(clf.cv_scores_, key=lambda c: (clf.cv_scores_[c], -list(CANDIDATES).index(c)))
    assert all(0.8 <= v <= 1.0 for v in clf.cv_scores_.values())
    xt, yt = synthetic(5, seed=6)
    assert (clf.predict(xt) == yt).mean() >= 0.9


def test_cross_validate_synthetic_is_perfect_json_ready_and_seeded():
    x, y = synthetic(12, seed=4)
    r = cross_validate(x, y, seed=3, candidates=("logreg",))
    assert r["accuracy"] == r["arousal_accuracy"] == r["valence_accuracy"] == 1.0
    assert r["confusion"] == [[12, 0, 0, 0], [0, 12, 0, 0], [0, 0, 12, 0], [0, 0, 0, 12]]
    assert len(r["fold_accuracy"]) == 5 and r["chosen"] == ["logreg"] * 5 and r["model"] == "logreg"
    assert r["features"] == list(FEATURE_NAMES) and r["n"] == 48
    assert 0 <= r["valence_l1"] < 1 and 0 <= r["arousal_l1"] < 1
    assert json.loads(json.dumps(r)) == r
    assert cross_validate(x, y, seed=3, candidates=("logreg",)) == r


def test_cross_validate_keeps_copies_of_a_tune_in_one_fold():
    """Exact copies of a melody share a fold: no tune is both in training and in validation."""
    from emovae.classifier import _folds

    x, y = synthetic(5, seed=5)
    xx, yy = np.concatenate([x, x]), np.concatenate([y, y])
    groups = tune_groups(xx)
    for train, test in _folds(yy, groups, seed=0, what="test"):
        assert not set(groups[train].tolist()) & set(groups[test].tolist())


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0, 1], "expected 24 emotion labels"),
        (np.arange(24) % 5, "value\\(s\\) 4 outside 0..3"),
        (np.zeros(24, dtype=float), "integer labels"),
        (np.arange(24) % 3, "all four emotions"),
    ],
)
def test_fit_bad_labels(labels, match):
    x, _ = synthetic(6, seed=0)
    with pytest.raises(EmovaeError, match=match):
        EmotionClassifier().fit(x, labels)


def test_too_few_melodies_for_five_folds():
    x, y = synthetic(4, seed=0)
    with pytest.raises(EmovaeError, match="at least 5 melodies of each emotion"):
        cross_validate(x, y)


def test_unfitted_unknown_candidate_bad_seed_and_bad_classifier():
    with pytest.raises(EmovaeError, match="not fitted"):
        EmotionClassifier().predict(np.full((1, 64), 60))
    with pytest.raises(EmovaeError, match="unknown 'svm'"):
        EmotionClassifier(candidates=("svm",))
    x, y = synthetic(6, seed=0)
    with pytest.raises(EmovaeError, match="seed"):
        EmotionClassifier().fit(x, y, seed=-1)
    with pytest.raises(EmovaeError, match="expected an EmotionClassifier"):
        control_accuracy(object(), x, y)
    with pytest.raises(EmovaeError, match="unknown emotion"):
        control_accuracy(Fixed(y), x, "joyful")


def test_real_data_cross_validated_accuracy(data_root):
    """On the 344 real melodies the classifier must clearly beat chance (25% / 50% / 50%)."""
    from emovae.data import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)
        ds = load_dataset(data_root)
    r = cross_validate(ds.tokens, ds.labels, seed=0)
    assert r["n"] == 344 and sum(map(sum, r["confusion"])) == 344
    assert [sum(row) for row in r["confusion"]] == np.bincount(ds.labels).tolist()
    assert r["accuracy"] >= 0.7
    assert r["arousal_accuracy"] >= 0.85 and r["valence_accuracy"] >= 0.75
    assert r["model"] in CANDIDATES
