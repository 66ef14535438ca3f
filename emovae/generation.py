"""Generation: sample, pick a point, place a melody, move it, walk a path across the plane.

All of it goes through :class:`emovae.checkpoint.TrainedModel` (``encode`` / ``decode`` /
``sample``); tokens are raw tokens (see :mod:`emovae.data`).

**Sampling (the paper).** z ~ N(0, std^2 I) with std = 2; for CVAE-EmoReg shifted to the centre
of the emotion's quadrant (e1 (+2, +2), e2 (-2, +2), e3 (-2, -2), e4 (+2, -2)), not truncated.
CVAE-Base is sampled unshifted. The decoder's softmax is read by argmax at each step
(``temperature=0``, what the paper and the authors' code do); a temperature above 0 draws each
step from softmax(logits / T) instead.

**A chosen point.** (valence, arousal) anywhere on [-PLANE_LIMIT, PLANE_LIMIT]^2, decoded with
the emotion of its quadrant as condition unless another emotion is named.

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

**Longer melodies** (:func:`along_path`): ``bars / 4`` segments, one per point along the path
through the waypoints (:func:`path_points`: every waypoint is visited when there are enough segments); each segment decoded with its point's
quadrant emotion. The join: a segment's leading HOLDs would extend the previous segment's last
note, so they become rests; and each segment after the first is chosen among the exact point
and ``candidates - 1`` points jittered around it (N(0, 0.3^2), seeded) as the one whose first
pitch is nearest the previous segment's last pitch (the exact point wins ties). A jittered point
is mirrored back into its exact point's quadrant (as the web page's jitter is), so each
segment's point lies in the quadrant of the emotion it is decoded with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import TrainedModel, load_model
from .data import HOLD, N_STEPS, REST, write_midi
from .emotions import (
    AROUSAL,
    LABELS,
    NAMES,
    PLANE_LIMIT,
    VALENCE,
    axis_sign,
    check_point,
    emotion_index,
    quadrant_centre,
    quadrant_of_point,
)
from .errors import EmovaeError
from .limits import MAX_PATH_POINTS, check_count, check_path_length, check_seed, check_temperature

__all__ = [
    "PLANE_LIMIT",
    "Placement",
    "along_path",
    "check_point",
    "fit_vocabulary",
    "generate_set",
    "interpolate_points",
    "path_points",
    "place",
    "transform_point",
    "MAX_BARS",
]

MAX_BARS = 256  # bars of a path melody (64 segments)
JITTER = 0.3  # std of the candidate points around a path segment's point


def generate(
    model,
    emotion,
    n: int = 20,
    *,
    seed: int = 0,
    shift: bool | None = None,
    std: float = 2.0,
    at: tuple[float, float] | None = None,
    temperature: float = 0.0,
    sampler: str | None = None,
) -> np.ndarray:
    """n melodies (raw tokens, (n, 64)) of one emotion from a model (loaded, a path or a name).

    ``shift`` defaults to True for CVAE-EmoReg and False for CVAE-Base; ``at`` = (valence,
    arousal) decodes that one point n times instead of sampling (the same melody at
    temperature 0). ``sampler``: "paper", "fitted", or None for the model's own
    (:meth:`emovae.checkpoint.TrainedModel.sample_points`).

    A thin wrapper for scripts: :meth:`emovae.checkpoint.TrainedModel.sample` (the model's verb)
    or, with ``at``, :meth:`~emovae.checkpoint.TrainedModel.decode`; for melodies as objects
    use :meth:`emovae.api.Model.generate`. Each value is checked by the function that uses it."""
    model: TrainedModel = load_model(model)
    emotion = emotion_index(emotion)
    if at is None:
        return model.sample(emotion, n, seed=seed, shift=shift, std=std, temperature=temperature, sampler=sampler)
    v, a = check_point(*at)
    z = np.tile(np.asarray([[v, a]], dtype=np.float32), (check_count(n), 1))
    return model.decode(z, emotion, temperature=temperature, seed=check_seed(seed))


def generate_set(
    model,
    out_dir,
    *,
    n_per_emotion: int = 20,
    seed: int = 0,
    emotions=LABELS,
    shift: bool | None = None,
    std: float = 2.0,
) -> list[Path]:
    """Write n melodies per emotion as out_dir/e1..e4/NNN.mid (the paper's generated sets)."""
    model = load_model(model)
    paths = []
    for emotion in emotions:
        i = emotion_index(emotion)
        tokens = generate(model, i, n_per_emotion, seed=seed, shift=shift, std=std, sampler="paper")
        for k, melody in enumerate(tokens):
            path = Path(out_dir) / LABELS[i] / f"{LABELS[i]}_{k:03d}.mid"
            write_midi(melody, path)
            paths.append(path)
    return paths


# ---------------------------------------------------------------------------- placing a melody


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


# ---------------------------------------------------------------------------- paths


def _waypoint(item) -> tuple[float, float]:
    if isinstance(item, str):
        text = item.strip()
        if "," in text:
            try:
                v, a = (float(t) for t in text.split(","))
            except ValueError:
                raise EmovaeError(f"path point {item!r}: write VALENCE,AROUSAL, e.g. 2,-1.5") from None
            return check_point(v, a)
        return quadrant_centre(text)
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        return quadrant_centre(int(item))
    try:
        v, a = item
    except (TypeError, ValueError):
        raise EmovaeError(f"path point {item!r}: an emotion or a (valence, arousal) pair is needed") from None
    return check_point(v, a)


def path_points(waypoints, n: int) -> np.ndarray:
    """n points along the path through the waypoints (emotions stand for their quadrant centres
    (+-2, +-2)). With at least as many points as waypoints, waypoint j falls on point
    round(j (n - 1) / (m - 1)) and the points between two waypoints lie evenly on the straight
    line between them, so every waypoint is visited; with fewer, the n points are spread evenly
    by arc length along the polyline, first and last at its ends."""
    items = list(waypoints) if not isinstance(waypoints, str) else [w for w in waypoints.split(";")]
    check_path_length(len(items))
    pts = np.asarray([_waypoint(w) for w in items], dtype=np.float64)
    n = check_count(n)
    m = len(pts)
    if m == 1 or n == 1:
        return np.repeat(pts[:1], n, axis=0)
    if n >= m:
        at = np.rint(np.arange(m) * (n - 1) / (m - 1)).astype(int)
        return np.stack([np.interp(np.arange(n), at, pts[:, 0]), np.interp(np.arange(n), at, pts[:, 1])], axis=1)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] == 0:
        return np.repeat(pts[:1], n, axis=0)
    targets = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(targets, cum, pts[:, 0]), np.interp(targets, cum, pts[:, 1])], axis=1)


def check_bars(bars) -> int:
    """A melody length in bars: a multiple of 4 between 4 and MAX_BARS."""
    if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 4 or bars % 4 or bars > MAX_BARS:
        raise EmovaeError(f"bars {bars!r}: a multiple of 4 from 4 to {MAX_BARS} is needed")
    return int(bars)


def _first_pitch(tokens: np.ndarray) -> int | None:
    notes = tokens[tokens < REST]
    return int(notes[0]) if notes.size else None


def _last_pitch(tokens: np.ndarray) -> int | None:
    notes = tokens[tokens < REST]
    return int(notes[-1]) if notes.size else None


def _in_quadrant(exact: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """``moved`` (float32 (N, 2)) mirrored into the quadrants of the ``exact`` points (N, 2) and
    kept on the plane: s * min(|moved|, PLANE_LIMIT), s the sign of the exact coordinate (>= 0
    counts as positive, :func:`emovae.emotions.quadrant_of_point`'s rule), as the web page's
    jitter is. A negative coordinate stays below 0 (at least float32's smallest normal number
    away), so neither a jitter onto the axis nor float32 rounding makes it -0.0, which reads as
    positive."""
    sign = axis_sign(exact).astype(np.float32)
    size = np.minimum(np.abs(moved), np.float32(PLANE_LIMIT))
    size = np.where(sign < 0, np.maximum(size, np.finfo(np.float32).tiny), size)
    return (sign * size).astype(np.float32)


def along_path(
    model, waypoints, bars: int = 16, *, seed: int = 0, temperature: float = 0.0, candidates: int = 8
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A melody of ``bars`` bars whose emotion follows the path: (raw tokens (bars * 16,),
    the segments' points (bars / 4, 2), the segments' emotions). See the module doc for the join."""
    model = load_model(model)
    n_seg = check_bars(bars) // 4
    seed, temperature = check_seed(seed), check_temperature(temperature)
    centres = path_points(waypoints, n_seg)
    emotions = [quadrant_of_point(*p) for p in centres]
    rng = np.random.default_rng(seed)
    k = max(1, int(candidates))
    exact = np.repeat(centres, k, axis=0)
    jitter = rng.normal(0.0, JITTER, size=exact.shape).astype(np.float32)
    jitter[::k] = 0.0  # candidate 0 is the exact point
    z = _in_quadrant(exact, exact.astype(np.float32) + jitter)
    tokens = model._decode(z, np.repeat(emotions, k), temperature, seed).reshape(n_seg, k, N_STEPS)
    chosen, points, previous = [], [], None
    for s in range(n_seg):
        pick = 0
        if previous is not None:
            firsts = [_first_pitch(tokens[s, c]) for c in range(k)]
            pick = min(range(k), key=lambda c: (abs(firsts[c] - previous) if firsts[c] is not None else 1000, c))
        seg = tokens[s, pick].copy()
        lead = 0
        while lead < N_STEPS and seg[lead] == HOLD:  # no HOLD orphaned at a segment start
            seg[lead] = REST
            lead += 1
        chosen.append(seg)
        points.append(z[s * k + pick])
        last = _last_pitch(seg)
        previous = last if last is not None else previous
    return np.concatenate(chosen), np.asarray(points, dtype=np.float64), emotions


def interpolate_points(a, b, steps: int = 8) -> np.ndarray:
    """``steps`` points evenly from a to b, both ends included."""
    steps = check_count(steps)
    if steps < 2:
        raise EmovaeError(f"steps {steps}: at least 2 are needed (both ends)")
    if steps > MAX_PATH_POINTS * 4:
        raise EmovaeError(f"steps {steps}: at most {MAX_PATH_POINTS * 4} are allowed")
    a, b = np.asarray(check_point(*a)), np.asarray(check_point(*b))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * a + t * b
