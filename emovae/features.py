"""Symbolic features of one melody given as raw tokens: the emotion classifier's input.

A melody is a 1-D array of raw tokens (:mod:`emovae.data`): ``0..127`` = a note of that MIDI
pitch starts, ``REST = 128``, ``HOLD = 129`` = the previous note goes on. Any length is
accepted (64 steps normally, 16 steps per bar, 4 per beat). The tokens are read as
:func:`emovae.data.melody_to_music` decodes them: an onset starts a note, each HOLD right after
it lengthens it by one step, and a HOLD at the start or after a REST is silence.

Notation used in the docstrings, for a melody of ``T`` steps:

- notes ``k = 1..n`` in time order with onset step ``o_k``, duration ``d_k`` (steps) and
  MIDI pitch ``p_k``; intervals ``i_k = p_{k+1} - p_k`` for ``k = 1..n-1`` (rests between
  two notes do not break the line);
- a step is *silent* when no note sounds in it (a REST, or a HOLD that continues no note);
- beats fall on steps ``0, 4, 8, ...`` (``STEPS_PER_QUARTER = 4``).

Key: the data set is transposed to C major or C minor, so scale rates are measured against
**C** (no key finding): C major = pitch classes {C D E F G A B}, C minor = natural minor
{C D Eb F G Ab Bb}, as MusPy's ``pitch_in_scale_rate`` and the paper's Table 3.

Undefined values: every feature is a finite float. A value that needs at least one note (or
one interval, or one non-unison interval) is **0** when there is none: a melody without notes
has density, pitch and rhythm features 0, and a melody of one note has all interval and
contour features 0 (its pitch mean is its pitch, its std 0). ``rest_share`` is always defined
(1 for a silent melody, 0 for an empty array). So no NaN ever reaches a classifier.

``import emovae.features`` loads NumPy only (no scikit-learn, MusPy or matplotlib of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import EmovaeError

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "Notes",
    "as_melodies",
    "as_melody",
    "feature_matrix",
    "features",
    "longest_rest_run",
    "parse_notes",
    "silent_steps",
]

# Raw token codes (the same values as emovae.data; tests check they agree). Defined here so
# that this module needs nothing beyond NumPy.
REST = 128
HOLD = 129
N_CODES = 130
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16

C_MAJOR = frozenset({0, 2, 4, 5, 7, 9, 11})
C_MINOR = frozenset({0, 2, 3, 5, 7, 8, 10})  # natural minor


# ---------------------------------------------------------------------------- input


def _fmt_values(values, limit: int = 10) -> str:
    values = sorted({int(v) for v in np.asarray(values).ravel()})
    shown = ", ".join(str(v) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _as_tokens(tokens, ndim: int, what: str) -> np.ndarray:
    arr = np.asarray(tokens)
    if arr.ndim != ndim:
        shape = "(T,)" if ndim == 1 else "(N, T)"
        raise EmovaeError(f"{what}: expected a {ndim}-D array of raw tokens {shape}, got shape {arr.shape}")
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise EmovaeError(f"{what}: expected integer tokens, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= N_CODES)]
    if bad.size:
        raise EmovaeError(
            f"{what}: token value(s) {_fmt_values(bad)} outside 0..{N_CODES - 1} "
            f"(0-127 pitch, {REST} rest, {HOLD} hold)"
        )
    return arr


def as_melody(tokens, what: str = "melody") -> np.ndarray:
    """``tokens`` as a 1-D int64 array of raw tokens; EmovaeError naming ``what`` otherwise."""
    return _as_tokens(tokens, 1, what)


def as_melodies(tokens, what: str = "melodies") -> np.ndarray:
    """``tokens`` as a 2-D int64 array (N melodies x T steps); EmovaeError naming ``what`` otherwise."""
    return _as_tokens(tokens, 2, what)


# ---------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class Notes:
    """The notes of a melody: onset step, duration in steps and MIDI pitch, in time order."""

    onsets: np.ndarray
    durations: np.ndarray
    pitches: np.ndarray
    n_steps: int

    def __len__(self) -> int:
        return len(self.onsets)

    @property
    def intervals(self) -> np.ndarray:
        """``p_{k+1} - p_k`` in semitones (length ``n - 1``, empty for fewer than 2 notes)."""
        return np.diff(self.pitches)


def parse_notes(tokens) -> Notes:
    """The notes of one melody (1-D raw tokens): :func:`emovae.data.notes_of`, as arrays.

    ``d_k`` = 1 + the number of HOLD tokens right after the onset ``o_k``.
    """
    from .data import note_arrays  # the one reading of tokens as notes (here, not at module level: NumPy only)

    arr = as_melody(tokens)
    onsets, durations, pitches = note_arrays(arr)
    return Notes(onsets=onsets, durations=durations, pitches=pitches, n_steps=len(arr))


def silent_steps(tokens) -> np.ndarray:
    """Boolean mask of the silent steps: REST, and HOLD that continues no note (start, after REST)."""
    notes = parse_notes(tokens)
    sounding = np.zeros(notes.n_steps, dtype=bool)
    for o, d in zip(notes.onsets.tolist(), notes.durations.tolist()):
        sounding[o : o + d] = True
    return ~sounding


def longest_rest_run(tokens) -> int:
    """The longest run of consecutive silent steps (:func:`silent_steps`), leading and trailing included."""
    best = cur = 0
    for s in silent_steps(tokens).tolist():
        cur = cur + 1 if s else 0
        best = max(best, cur)
    return best


def _share(count: int, total: int) -> float:
    return float(count) / total if total else 0.0


def _notes(tokens) -> Notes:
    return tokens if isinstance(tokens, Notes) else parse_notes(tokens)


# ---------------------------------------------------------------------------- features: pitch
# Every feature takes the raw tokens of one melody (or the Notes parsed from them) and returns a float.


def note_density(tokens) -> float:
    """Notes per bar: ``n / (T / 16)``; 0 if ``T = 0``."""
    n = _notes(tokens)
    return _share(len(n) * STEPS_PER_BAR, n.n_steps)


def pitch_range(tokens) -> float:
    """``max p_k - min p_k`` in semitones; 0 without notes."""
    p = _notes(tokens).pitches
    return float(p.max() - p.min()) if p.size else 0.0


def pitch_mean(tokens) -> float:
    """``mean_k p_k`` (each note once, not weighted by duration); 0 without notes."""
    p = _notes(tokens).pitches
    return float(p.mean()) if p.size else 0.0


def pitch_std(tokens) -> float:
    """Population standard deviation of the ``p_k`` (ddof 0); 0 without notes."""
    p = _notes(tokens).pitches
    return float(p.std()) if p.size else 0.0


def n_pitches_used(tokens) -> float:
    """Number of distinct MIDI pitches among the notes; 0 without notes."""
    return float(len(set(_notes(tokens).pitches.tolist())))


def major_rate(tokens) -> float:
    """``#{k : p_k mod 12 in C major} / n`` (C D E F G A B; repeated notes count); 0 without notes."""
    p = _notes(tokens).pitches.tolist()
    return _share(sum(x % 12 in C_MAJOR for x in p), len(p))


def minor_rate(tokens) -> float:
    """``#{k : p_k mod 12 in C natural minor} / n`` (C D Eb F G Ab Bb); 0 without notes."""
    p = _notes(tokens).pitches.tolist()
    return _share(sum(x % 12 in C_MINOR for x in p), len(p))


def mode(tokens) -> float:
    """``major_rate - minor_rate`` in [-1, 1]: > 0 leans to C major, < 0 to C minor; 0 without notes."""
    n = _notes(tokens)
    return major_rate(n) - minor_rate(n)


# ---------------------------------------------------------------------------- features: intervals


def _interval_share(tokens, lo: int, hi: float) -> float:
    i = np.abs(_notes(tokens).intervals)
    return _share(int(((i >= lo) & (i <= hi)).sum()), i.size)


def unison_share(tokens) -> float:
    """``#{k : |i_k| = 0} / (n - 1)``: repeated pitches; 0 with fewer than 2 notes."""
    return _interval_share(tokens, 0, 0)


def step_share(tokens) -> float:
    """``#{k : 1 <= |i_k| <= 2} / (n - 1)``: steps; 0 with fewer than 2 notes."""
    return _interval_share(tokens, 1, 2)


def small_leap_share(tokens) -> float:
    """``#{k : 3 <= |i_k| <= 4} / (n - 1)``: thirds; 0 with fewer than 2 notes."""
    return _interval_share(tokens, 3, 4)


def leap_share(tokens) -> float:
    """``#{k : |i_k| >= 5} / (n - 1)``: fourths and wider; 0 with fewer than 2 notes."""
    return _interval_share(tokens, 5, np.inf)


def step_leap_ratio(tokens) -> float:
    """``#steps / (#steps + #leaps)`` with steps ``1 <= |i_k| <= 2``, leaps ``|i_k| >= 3`` (unisons
    left out), in [0, 1]; 0 without a non-unison interval."""
    i = np.abs(_notes(tokens).intervals)
    return _share(int(((i >= 1) & (i <= 2)).sum()), int((i >= 1).sum()))


def mean_abs_interval(tokens) -> float:
    """``mean_k |i_k|`` in semitones; 0 with fewer than 2 notes."""
    i = np.abs(_notes(tokens).intervals)
    return float(i.mean()) if i.size else 0.0


# ---------------------------------------------------------------------------- features: contour


def ascending_share(tokens) -> float:
    """``#{k : i_k > 0} / (n - 1)``; 0 with fewer than 2 notes."""
    i = _notes(tokens).intervals
    return _share(int((i > 0).sum()), i.size)


def direction_changes(tokens) -> float:
    """Direction changes per note: the number of sign changes between consecutive non-zero
    intervals (unisons skipped, so up-same-down is one change), divided by ``n``; 0 without notes."""
    n = _notes(tokens)
    signs = np.sign(n.intervals)
    signs = signs[signs != 0]
    return _share(int((signs[1:] != signs[:-1]).sum()), len(n))


def net_direction(tokens) -> float:
    """``p_n - p_1``: last pitch minus first, in semitones (> 0 the melody ends higher); 0 with
    fewer than 2 notes."""
    p = _notes(tokens).pitches
    return float(p[-1] - p[0]) if p.size else 0.0


# ---------------------------------------------------------------------------- features: rhythm


def duration_mean(tokens) -> float:
    """``mean_k d_k`` in steps (sixteenths); 0 without notes."""
    d = _notes(tokens).durations
    return float(d.mean()) if d.size else 0.0


def duration_std(tokens) -> float:
    """Population standard deviation of the ``d_k`` in steps (ddof 0); 0 without notes."""
    d = _notes(tokens).durations
    return float(d.std()) if d.size else 0.0


def on_beat_share(tokens) -> float:
    """``#{k : o_k mod 4 = 0} / n``: onsets on a beat; 0 without notes."""
    o = _notes(tokens).onsets
    return _share(int((o % STEPS_PER_QUARTER == 0).sum()), o.size)


def syncopation(tokens) -> float:
    """``#{k : o_k mod 4 != 0 and o_k + d_k > b_k} / n`` with ``b_k = 4 * (floor(o_k / 4) + 1)`` the
    next beat: off-beat notes still sounding after the next beat starts (a note ending exactly on
    the beat does not count), as a share of *all* notes; 0 without notes."""
    n = _notes(tokens)
    o, d = n.onsets, n.durations
    next_beat = (o // STEPS_PER_QUARTER + 1) * STEPS_PER_QUARTER
    return _share(int(((o % STEPS_PER_QUARTER != 0) & (o + d > next_beat)).sum()), o.size)


def rest_share(tokens) -> float:
    """``#silent steps / T`` (:func:`silent_steps`: leading, inner and trailing silence); 0 if
    ``T = 0``, 1 for a melody without notes."""
    n = _notes(tokens)
    return _share(n.n_steps - int(n.durations.sum()), n.n_steps)


#: name -> feature function, in the column order of :func:`feature_matrix`.
FEATURES: dict[str, Callable[[np.ndarray], float]] = {
    "note_density": note_density,
    "pitch_range": pitch_range,
    "pitch_mean": pitch_mean,
    "pitch_std": pitch_std,
    "n_pitches_used": n_pitches_used,
    "major_rate": major_rate,
    "minor_rate": minor_rate,
    "mode": mode,
    "unison_share": unison_share,
    "step_share": step_share,
    "small_leap_share": small_leap_share,
    "leap_share": leap_share,
    "step_leap_ratio": step_leap_ratio,
    "mean_abs_interval": mean_abs_interval,
    "ascending_share": ascending_share,
    "direction_changes": direction_changes,
    "net_direction": net_direction,
    "duration_mean": duration_mean,
    "duration_std": duration_std,
    "on_beat_share": on_beat_share,
    "syncopation": syncopation,
    "rest_share": rest_share,
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


def features(tokens) -> dict[str, float]:
    """All features of one melody (1-D raw tokens) as ``{name: value}`` in :data:`FEATURES` order."""
    notes = parse_notes(as_melody(tokens))
    return {name: f(notes) for name, f in FEATURES.items()}


def feature_matrix(tokens) -> np.ndarray:
    """The ``(N, F)`` float64 matrix of the features of ``N`` melodies (raw tokens ``(N, T)``),
    columns in :data:`FEATURE_NAMES` order; finite everywhere."""
    arr = as_melodies(tokens)
    out = np.zeros((arr.shape[0], len(FEATURES)), dtype=np.float64)
    for r, row in enumerate(arr):
        notes = parse_notes(row)
        out[r] = [f(notes) for f in FEATURES.values()]
    return out
