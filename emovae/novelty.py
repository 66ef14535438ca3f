"""Novelty, diversity and validity of generated melodies (raw tokens, independent of the model).

- **Distance** between two melodies of equal length ``T``: the token **Hamming distance**, the
  number of steps ``t`` where the raw tokens differ. It is the edit distance restricted to
  substitutions: for equal-length sequences it is an upper bound of the Levenshtein distance
  (which may also insert and delete, e.g. a melody shifted by one step is far in Hamming, near
  in Levenshtein). We use Hamming: on a fixed 64-step grid a shifted melody is a different
  melody, and it is exact and fast. 0 = an exact copy.
- **Copies** (:func:`copy_stats`): a generated melody is an *exact copy* at distance 0 from its
  nearest training melody and a *near copy* at distance ``<= near`` (exact copies included).
  The data set repeats tunes (344 melodies, 293 distinct token sequences), so the same shares
  are also given over the *distinct* generated melodies, and the number of distinct training
  melodies reproduced exactly.
- **Diversity** (:func:`distinct_per_100`): ``100 * #distinct / N``.
- **Validity** (:func:`is_valid`), the rule for "every point a melody": a melody is valid when
  it has (1) at least one note, (2) at least two different pitches, and (3) no run of more than
  ``max_rest_steps`` consecutive silent steps (REST, or a HOLD that continues no note; leading
  and trailing silence count). The default ``max_rest_steps = 24`` is the longest silent run
  in the training set (measured on all 344 files: ``e4/bwv27.6.mxl.mid``, six beats of
  leading rest; the next longest is 8, the padded endings of the short files).
- **Per emotion** (:func:`novelty_by_emotion`): the copies, distinct and degenerate figures of
  ``emovae report`` and the sweep.
- **Along the plane** (:func:`grid_profiles`, :func:`axis_profiles`): how note density, mode,
  mean pitch and range of a decoded grid change along each axis, beside its validity
  (:func:`grid_stats`).
"""

from __future__ import annotations

import warnings

import numpy as np

from .emotions import LABELS
from .errors import EmovaeError
from .evaluate import pearson
from .features import FEATURE_NAMES, as_melodies, as_melody, feature_matrix, longest_rest_run, parse_notes

__all__ = [
    "NEAR_STEPS",
    "NEEDS_NOTES",
    "PROFILE_FEATURES",
    "TRAINING_LONGEST_REST",
    "axis_profiles",
    "copy_stats",
    "distinct_per_100",
    "grid_profiles",
    "grid_stats",
    "hamming",
    "invalid_reason",
    "is_valid",
    "note_reason",
    "nearest_training",
    "novelty_by_emotion",
]

#: The longest run of silent steps in the training set (344 files), the default for is_valid.
TRAINING_LONGEST_REST = 24

_CHUNK = 256  # generated rows compared at once (256 x M x T booleans)


def _pair(generated, training) -> tuple[np.ndarray, np.ndarray]:
    gen = as_melodies(generated, "generated melodies")
    train = as_melodies(training, "training melodies")
    if train.shape[0] == 0:
        raise EmovaeError("training melodies: empty set (need at least one melody)")
    if gen.shape[1] != train.shape[1]:
        raise EmovaeError(
            f"generated melodies have {gen.shape[1]} steps, training melodies {train.shape[1]}: "
            "the Hamming distance needs equal lengths"
        )
    return gen, train


def hamming(a, b) -> int:
    """``#{t : a_t != b_t}`` for two melodies of equal length."""
    a, b = as_melody(a, "first melody"), as_melody(b, "second melody")
    if a.shape != b.shape:
        raise EmovaeError(f"melodies of {len(a)} and {len(b)} steps: the Hamming distance needs equal lengths")
    return int((a != b).sum())


def nearest_training(generated, training) -> tuple[np.ndarray, np.ndarray]:
    """For each generated melody (``(N, T)``), its nearest training melody (``(M, T)``).

    Returns ``(index, distance)``, both ``(N,)`` int64: ``distance[i] = min_j hamming(g_i, x_j)``
    and ``index[i]`` the smallest ``j`` reaching it (ties go to the first training row).
    """
    gen, train = _pair(generated, training)
    index = np.zeros(len(gen), dtype=np.int64)
    distance = np.zeros(len(gen), dtype=np.int64)
    for start in range(0, len(gen), _CHUNK):
        block = gen[start : start + _CHUNK]
        d = (block[:, None, :] != train[None, :, :]).sum(axis=2)
        index[start : start + len(block)] = d.argmin(axis=1)
        distance[start : start + len(block)] = d.min(axis=1)
    return index, distance


def _distinct_rows(tokens: np.ndarray) -> np.ndarray:
    return np.unique(tokens, axis=0) if len(tokens) else tokens


def copy_stats(generated, training, near: int = 4) -> dict:
    """Exact and near copies of training melodies among generated ones (JSON-ready).

    With ``d_i`` the distance of generated melody ``i`` to its nearest training melody:

    - ``exact_share = #{i : d_i = 0} / N``, ``near_share = #{i : d_i <= near} / N``;
    - ``distinct_exact_share``, ``distinct_near_share``: the same over the distinct generated
      melodies (each distinct token sequence once);
    - ``training_copied = #{distinct training melodies equal to some generated melody}`` and
      ``training_copied_share`` = that / ``training_distinct``;
    - ``mean_distance``, ``median_distance``, ``min_distance`` of the ``d_i``.

    Shares are 0 for an empty generated set.
    """
    if isinstance(near, bool) or not isinstance(near, (int, np.integer)) or near < 0:
        raise EmovaeError(f"near: expected a whole number of steps >= 0, got {near!r}")
    gen, train = _pair(generated, training)
    _, dist = nearest_training(gen, train)
    uniq_gen = _distinct_rows(gen)
    _, dist_u = nearest_training(uniq_gen, train)
    uniq_train = _distinct_rows(train)
    gen_set = {row.tobytes() for row in uniq_gen}
    copied = sum(row.tobytes() in gen_set for row in uniq_train)
    n, nu = len(gen), len(uniq_gen)

    def share(count, total):
        return float(count) / total if total else 0.0

    return {
        "n": n,
        "near": int(near),
        "exact_share": share(int((dist == 0).sum()), n),
        "near_share": share(int((dist <= near).sum()), n),
        "distinct": nu,
        "distinct_exact_share": share(int((dist_u == 0).sum()), nu),
        "distinct_near_share": share(int((dist_u <= near).sum()), nu),
        "training": len(train),
        "training_distinct": len(uniq_train),
        "training_copied": int(copied),
        "training_copied_share": share(copied, len(uniq_train)),
        "mean_distance": float(dist.mean()) if n else 0.0,
        "median_distance": float(np.median(dist)) if n else 0.0,
        "min_distance": int(dist.min()) if n else 0,
    }


def distinct_per_100(tokens) -> float:
    """Distinct melodies per 100 samples: ``100 * #distinct rows / N`` (0 for ``N = 0``).

    Equal to the number of distinct melodies when ``N = 100``; compare sets of equal ``N`` only,
    since repeats become likelier as ``N`` grows.
    """
    arr = as_melodies(tokens)
    return 100.0 * len(_distinct_rows(arr)) / len(arr) if len(arr) else 0.0


def _check_max_rest(max_rest_steps) -> int:
    if isinstance(max_rest_steps, bool) or not isinstance(max_rest_steps, (int, np.integer)) or max_rest_steps < 0:
        raise EmovaeError(f"max_rest_steps: expected a whole number of steps >= 0, got {max_rest_steps!r}")
    return int(max_rest_steps)


def invalid_reason(tokens, max_rest_steps: int = TRAINING_LONGEST_REST) -> str | None:
    """Why a melody (1-D raw tokens) breaks the validity rule, or None if it is valid: the one
    meaning of a degenerate melody.

    The first failing test, in this order: ``"no_note"``, ``"one_pitch"`` (all notes share one
    pitch) (these two: :func:`note_reason`), ``"long_rest"`` (a silent run longer than
    ``max_rest_steps``).
    """
    limit = _check_max_rest(max_rest_steps)
    reason = note_reason(tokens)
    if reason is not None:
        return reason
    if longest_rest_run(tokens) > limit:
        return "long_rest"
    return None


def note_reason(tokens) -> str | None:
    """The validity rule's tests of the notes alone (:func:`invalid_reason` without its rest
    test): ``"no_note"``, ``"one_pitch"`` or None. :attr:`emovae.api.Melody.degenerate` and
    ``emovae generate``'s warning use it."""
    notes = parse_notes(tokens)
    if len(notes) == 0:
        return "no_note"
    if len(set(notes.pitches.tolist())) < 2:
        return "one_pitch"
    return None


def is_valid(tokens, max_rest_steps: int = TRAINING_LONGEST_REST) -> bool:
    """True when a melody (1-D raw tokens) has a note, two different pitches and no silent run
    longer than ``max_rest_steps`` steps (default 24, the training set's longest)."""
    return invalid_reason(tokens, max_rest_steps) is None


def grid_stats(tokens_grid, max_rest_steps: int = TRAINING_LONGEST_REST) -> dict:
    """Validity and diversity of decoded melodies, e.g. a ``(41, 41, 64)`` grid over the plane.

    ``tokens_grid``: raw tokens of shape ``(..., T)`` (every leading axis is flattened). Returns
    ``n``, ``valid`` (count), ``valid_share = valid / n``, ``distinct`` (distinct token
    sequences), ``distinct_valid``, the counts of each failure (``no_note``, ``one_pitch``,
    ``long_rest``, the first failing test of each melody) and ``max_rest_steps``.
    """
    arr = np.asarray(tokens_grid)
    if arr.ndim < 1:
        raise EmovaeError(f"tokens grid: expected an array (..., T) of raw tokens, got shape {arr.shape}")
    flat = as_melodies(arr.reshape(int(np.prod(arr.shape[:-1])), arr.shape[-1]), "tokens grid")
    limit = _check_max_rest(max_rest_steps)
    reasons = [invalid_reason(row, limit) for row in flat]
    valid_rows = flat[[r is None for r in reasons]] if len(flat) else flat
    valid = len(valid_rows)
    return {
        "n": len(flat),
        "valid": valid,
        "valid_share": float(valid) / len(flat) if len(flat) else 0.0,
        "distinct": len(_distinct_rows(flat)),
        "distinct_valid": len(_distinct_rows(valid_rows)),
        "no_note": reasons.count("no_note"),
        "one_pitch": reasons.count("one_pitch"),
        "long_rest": reasons.count("long_rest"),
        "max_rest_steps": limit,
    }


#: A near copy differs from a training melody in at most this many steps (``emovae report``).
NEAR_STEPS = 4


def novelty_by_emotion(tokens, labels, training, *, real=None, near: int = NEAR_STEPS) -> dict:
    """Novelty and validity of generated melodies per emotion, ``{"e1".."e4", "all": {...}}`` (an
    emotion none of ``labels`` asks for is left out; ``"all"`` last). Each row holds
    :func:`copy_stats` against ``training`` (``near`` steps), ``distinct_per_100``
    (:func:`distinct_per_100`), ``degenerate_share = #{invalid} / n`` and ``reasons`` (the count of
    each first failing test, :func:`invalid_reason` with the training set's longest rest), and,
    with ``real`` (every real melody), ``exact_share_any_real`` = :func:`copy_stats`'s
    ``exact_share`` against those. ``emovae report`` (section 4) and the sweep read their copies,
    distinct and degenerate figures from it."""
    tokens, labels = np.asarray(tokens), np.asarray(labels)
    rows = {}
    for e in (*range(4), None):
        sel = np.ones(len(labels), bool) if e is None else labels == e
        if not sel.any():
            continue
        t = tokens[sel]
        reasons = [invalid_reason(row, TRAINING_LONGEST_REST) for row in t]
        row = {
            **copy_stats(t, training, near=near),
            "distinct_per_100": distinct_per_100(t),
            "degenerate_share": float(np.mean([r is not None for r in reasons])),
            "reasons": {k: reasons.count(k) for k in ("no_note", "one_pitch", "long_rest")},
        }
        if real is not None:
            row["exact_share_any_real"] = copy_stats(t, real, near=near)["exact_share"]
        rows["all" if e is None else LABELS[e]] = row
    return rows


# ---------------------------------------------------------------------------- features along the plane's axes

#: Features drawn along each axis of the report's grid (names in :data:`emovae.features.FEATURE_NAMES`).
PROFILE_FEATURES = ("note_density", "mode", "pitch_mean", "pitch_range")
NEEDS_NOTES = frozenset({"mode", "pitch_mean", "pitch_range"})  # undefined for a melody without notes


def axis_profiles(values) -> tuple[np.ndarray, np.ndarray]:
    """``(along_valence, along_arousal)`` of a ``(g, g)`` grid of values laid out as
    :func:`emovae.evaluate.plane_grid` (row = arousal, column = valence):
    ``along_valence[j] = mean_i v[i, j]`` and ``along_arousal[i] = mean_j v[i, j]``, NaN values
    left out (NaN where all are NaN).

    ``[[1, 2], [3, NaN]]`` -> along valence ``(2, 2)``, along arousal ``(1.5, 3)``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise EmovaeError(f"axis_profiles: expected a (g, g) grid, got shape {v.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN line gives NaN, as documented
        return np.nanmean(v, axis=0), np.nanmean(v, axis=1)


def grid_profiles(melodies, coords, names=PROFILE_FEATURES) -> dict:
    """How features change along each axis of a grid of decoded melodies.

    ``melodies``: ``(g * g, T)`` raw tokens laid out as :func:`emovae.evaluate.plane_grid` over
    ``coords`` (``g`` values). For each feature (:func:`emovae.features.feature_matrix`; those of
    :data:`NEEDS_NOTES` NaN for a melody without notes): ``along_valence``, ``along_arousal``
    (:func:`axis_profiles`) and ``pearson_valence`` / ``pearson_arousal``, the
    :func:`emovae.evaluate.pearson` correlation of each profile with ``coords`` over its finite
    values.
    """
    coords = np.asarray(coords)
    g = len(coords)
    feats = feature_matrix(melodies)
    if feats.shape[0] != g * g:
        raise EmovaeError(f"grid_profiles: expected {g} x {g} = {g * g} melodies, got {feats.shape[0]}")
    has_notes = np.asarray([len(parse_notes(row)) > 0 for row in np.asarray(melodies)])
    out = {}
    for name in names:
        v = feats[:, FEATURE_NAMES.index(name)].copy()
        if name in NEEDS_NOTES:
            v[~has_notes] = np.nan
        along_v, along_a = axis_profiles(v.reshape(g, g))
        out[name] = {
            "along_valence": along_v,
            "along_arousal": along_a,
            "pearson_valence": pearson(*_finite(along_v, coords)),
            "pearson_arousal": pearson(*_finite(along_a, coords)),
        }
    return out


def _finite(values: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return values[keep], coords[keep]
