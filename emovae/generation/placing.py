"""Placing a melody on the plane, fitting it into the vocabulary, and moving it to another quadrant.

**Placing a melody** (:func:`place`). The paper's encoder reads the emotion label as well as the
melody, so a melody's point depends on the label it is given. A melody is therefore encoded
under each of the four labels; a label is *consistent* when its point lies in its own quadrant.
That says more about the label than the melody, so the emotion comes from evidence where
there is some: given an emotion classifier (:mod:`emovae.verdict`), the melody is encoded under
the label it finds, with its probability. Without one the emotion is reported unknown, and the
point shown is that of the label whose point lies deepest inside its own quadrant
(largest ``min(s_v * v, s_a * a)``, s the quadrant's signs). With a label given, the point under that label is used, and nothing is guessed. A model
with a label-free encoder (``encoder_condition=False``: the ``label-free`` and ``content``
presets) places the melody by the melody alone; a label given then only names the emotion.

**Into the vocabulary.** A melody whose pitches are not all in the model's vocabulary is
shifted by whole octaves (the smallest shift first: 0, -12, +12, -24, +24, ...) until they are,
and the output is shifted back by the same amount. A melody no octave shift brings in is an
error that names the pitches.

**Moving a melody** (:func:`transform_point`): the point is mirrored across the axes into the
target quadrant, ``(v, a) -> (s_v |v|, s_a |a|)``, so it keeps its distance to each axis (how
strongly it leans on valence and on arousal), and decoded with the target emotion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checkpoint import load_model
from ..data import N_STEPS, REST
from ..emotions import AROUSAL, LABELS, NAMES, VALENCE, check_point, emotion_index, quadrant_of_point
from ..errors import EmovaeError

__all__ = ["Placement", "fit_vocabulary", "place", "transform_point"]


def fit_vocabulary(tokens, vocab, what: str = "melody") -> tuple[np.ndarray, int]:
    """(tokens shifted by whole octaves into the vocabulary, the shift in semitones)."""
    arr = np.asarray(tokens, dtype=np.int64)
    pitches = arr[arr < REST]
    have = set(vocab.pitches)
    for k in (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5):
        if all(int(p) + 12 * k in have for p in np.unique(pitches)):
            out = arr.copy()
            out[arr < REST] += 12 * k
            return out, 12 * k
    missing = sorted({int(p) for p in pitches} - have)
    raise EmovaeError(
        f"{what}: pitch(es) {', '.join(map(str, missing[:8]))} cannot be brought into the model's vocabulary "
        f"({len(vocab.pitches)} pitches from {vocab.pitches[0]} to {vocab.pitches[-1]}) by any octave shift"
    )


@dataclass
class Placement:
    """Where a 4-bar melody lies on the plane."""

    points: np.ndarray  # (4, 2): its point under each label e1..e4 (or (1, 2) under a given label)
    labels: tuple[int, ...]  # the labels the points were encoded under
    consistent: tuple[int, ...]  # the labels whose point lies in their own quadrant
    emotion: int  # the label whose point is the melody's place
    point: tuple[float, float]  # the melody's place (valence, arousal)
    given: bool  # True when the label was given, not found
    octave_shift: int = 0  # semitones the melody was shifted to fit the vocabulary
    label_free: bool = False  # placed by a label-free encoder (no label read)
    probabilities: tuple[float, ...] = ()  # the emotion classifier's P(e1..e4) when it chose the label
    unknown: str = ""  # no label given nor found: why the emotion is unknown

    @property
    def quadrant(self) -> int:
        return quadrant_of_point(*self.point)

    @property
    def found(self) -> int | None:
        """The melody's emotion 0..3: the label given, the classifier's, or the label-free point's
        quadrant; None when unknown."""
        if self.unknown:
            return None
        if self.given or self.probabilities:
            return self.emotion
        return self.quadrant

    def verdict(self) -> str:
        """One phrase: what the placement means."""
        q = self.quadrant
        where = f"Q{q + 1} {NAMES[q]}"
        if self.label_free:
            return f"{where} (the label-free encoder places the melody itself)"
        if self.given:
            return f"{where} (encoded as {NAMES[self.emotion]})"
        if self.probabilities:
            e = self.emotion
            lies = "also lies there" if q == e else f"lies in {where}"
            return (
                f"Q{e + 1} {NAMES[e]} by the emotion classifier (probability {self.probabilities[e]:.2f}); "
                f"its point, encoded as {NAMES[e]}, {lies}"
            )
        if self.unknown:
            return (
                f"emotion unknown ({self.unknown}; give --emotion); the point is the deepest of the four "
                f"labels' points, {where}, which the label steers"
            )
        if len(self.consistent) == 1:
            return f"{where} (the only label whose point lies in its own quadrant)"
        if self.consistent:
            names = ", ".join(NAMES[i] for i in self.consistent)
            return f"{where} (several labels land in their own quadrant: {names}; the deepest chosen)"
        return f"{where} (no label lands in its own quadrant; the nearest chosen)"

    def to_dict(self) -> dict:
        q = self.quadrant
        return {
            "point": [round(float(x), 4) for x in self.point],
            "quadrant": f"Q{q + 1}",
            "emotion": NAMES[q],
            "label": LABELS[self.emotion],
            "label_given": self.given,
            "label_free": self.label_free,
            "found_emotion": None if self.found is None else NAMES[self.found],
            "classifier_probabilities": (
                {LABELS[i]: round(float(p), 4) for i, p in enumerate(self.probabilities)}
                if self.probabilities
                else None
            ),
            "unknown": self.unknown or None,
            "consistent_labels": [LABELS[i] for i in self.consistent],
            "points_by_label": {
                LABELS[lab]: [round(float(x), 4) for x in pt] for lab, pt in zip(self.labels, self.points)
            },
            "octave_shift": self.octave_shift,
        }


def _depth(point, emotion: int) -> float:
    """How deep a point lies inside the emotion's quadrant: min(s_v v, s_a a) (< 0 outside)."""
    return min(VALENCE[emotion] * float(point[0]), AROUSAL[emotion] * float(point[1]))


def place(
    model, segments, emotion=None, what: str = "melody", *, classifier=None, unknown: str = ""
) -> list[Placement]:
    """The place of each 4-bar segment (raw tokens (k, 64) or (64,)) on the plane (module doc).
    Without ``emotion``, a label-conditioned encoder is given the label of ``classifier`` (an
    :class:`emovae.classifier.EmotionClassifier`); without that either, the emotion is unknown
    (``unknown``: why)."""
    model = load_model(model)
    segs = np.atleast_2d(np.asarray(segments, dtype=np.int64))
    if segs.shape[1] != N_STEPS:
        raise EmovaeError(f"melody segments must be {N_STEPS} steps long, got {segs.shape[1]}")
    fitted, shift = fit_vocabulary(segs, model.vocab, what)
    out = []
    if not model.model_config.encoder_condition:  # a label-free encoder: the melody alone places it
        for pt in model.encode(fitted):
            q = quadrant_of_point(*pt)
            e = emotion_index(emotion) if emotion is not None else q
            out.append(Placement(pt[None], (), (q,), e, (float(pt[0]), float(pt[1])), False, shift, label_free=True))
        return out
    if emotion is not None:
        e = emotion_index(emotion)
        pts = model.encode(fitted, [e] * len(fitted))
        for pt in pts:
            inside = (e,) if quadrant_of_point(*pt) == e else ()
            out.append(Placement(pt[None], (e,), inside, e, (float(pt[0]), float(pt[1])), True, shift))
        return out
    if classifier is not None:
        probs = classifier.predict_proba(segs)
        found = [int(np.argmax(p)) for p in probs]
        pts = model.encode(fitted, found)
        for pt, e, p in zip(pts, found, probs):
            inside = (e,) if quadrant_of_point(*pt) == e else ()
            prob = tuple(float(x) for x in p)
            out.append(
                Placement(pt[None], (e,), inside, e, (float(pt[0]), float(pt[1])), False, shift, probabilities=prob)
            )
        return out
    rep = np.repeat(fitted, 4, axis=0)
    labels = np.tile(np.arange(4), len(fitted))
    pts = model.encode(rep, labels).reshape(len(fitted), 4, -1)
    for seg_pts in pts:
        consistent = tuple(i for i in range(4) if quadrant_of_point(*seg_pts[i]) == i)
        best = max(range(4), key=lambda i: _depth(seg_pts[i], i))
        out.append(
            Placement(
                seg_pts,
                (0, 1, 2, 3),
                consistent,
                best,
                (float(seg_pts[best][0]), float(seg_pts[best][1])),
                False,
                shift,
                unknown=unknown or "no emotion classifier",
            )
        )
    return out


def transform_point(point, to) -> tuple[float, float]:
    """Mirror a point across the axes into the quadrant of emotion ``to``: (s_v |v|, s_a |a|)."""
    e = emotion_index(to)
    v, a = check_point(*point)
    return (VALENCE[e] * abs(v), AROUSAL[e] * abs(a))
