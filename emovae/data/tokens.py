"""Tokens: a melody as 64 pitch/rest/hold steps, and the :class:`Vocabulary` the model sees.

A melody is four bars of 4/4 on a grid of sixteenth notes: ``N_STEPS = 64`` steps,
``STEPS_PER_QUARTER = 4``. Each step holds one *raw token*, MusPy's pitch-representation code
(``muspy.to_pitch_representation(use_hold_state=True)``): 0..127 = a note of that MIDI pitch
starts here, ``REST = 128`` = silence, ``HOLD = 129`` = the previous note goes on. The model
sees *indices* instead, positions in a :class:`Vocabulary` of the raw tokens that occur in the
data set (29 pitches + rest + hold = 31 on the real data).

The one reading of tokens as notes (:func:`notes_of`, :func:`note_arrays`) and a melody's identity
without its notes (:func:`token_hash`) are here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EmovaeError
from ..limits import one_line

N_STEPS = 64  # 4 bars x 16 sixteenths
STEPS_PER_QUARTER = 4  # the grid: sixteenth notes
REST = 128  # MusPy pitch-representation code for a rest
HOLD = 129  # ... and for "the previous note goes on"
N_CODES = 130  # raw token values are 0..129
_REASON_CHARS = 120  # library messages are cut to this length in our errors


def _count(n: int, word: str) -> str:
    """ "1 note", "2 notes"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt_values(values, limit: int = 10) -> str:
    """'50, 51' for a few sorted distinct values; the first ``limit`` and a count beyond."""
    values = sorted({int(v) for v in np.asarray(values).ravel()})
    shown = ", ".join(str(v) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _int_array(values, what: str) -> np.ndarray:
    """``values`` as an int64 array; EmovaeError if it does not hold integers."""
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise EmovaeError(f"{what}: expected integer tokens, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_codes(arr: np.ndarray, what: str) -> None:
    """EmovaeError naming the values of ``arr`` outside the raw token range 0..129."""
    bad = arr[(arr < 0) | (arr >= N_CODES)]
    if bad.size:
        raise EmovaeError(
            f"{what}: token value(s) {_fmt_values(bad)} outside 0..{N_CODES - 1} "
            f"(0-127 pitch, {REST} rest, {HOLD} hold)"
        )


def notes_of(tokens) -> list[tuple[int, int, int]]:
    """The notes of raw tokens (1-D, any length) as ``(onset step, duration in steps, pitch)``.

    An onset token starts a note; each HOLD after it lengthens the note by one step; REST ends
    it; a HOLD with no note to extend (at the start, after a REST) is a rest. The one reading of
    tokens as notes (:func:`note_arrays`; :func:`emovae.features.parse_notes` reads with it).
    ``[60, HOLD, REST, 62]`` -> ``[(0, 2, 60), (3, 1, 62)]``.
    """
    arr = _int_array(tokens, "melody")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]  # MusPy's own (T, 1) layout
    if arr.ndim != 1:
        raise EmovaeError(f"melody: expected a 1-D token sequence, got shape {arr.shape}")
    _check_codes(arr, "melody")
    return list(zip(*(a.tolist() for a in note_arrays(arr))))


def note_arrays(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`notes_of` as three arrays (onsets, durations, pitches), for a 1-D int64 token
    array already checked (0..129); :func:`emovae.features.parse_notes` reads notes with it."""
    onsets = np.flatnonzero(arr < REST)
    non_hold = np.flatnonzero(arr != HOLD)  # every onset is among these; a note ends at the next one
    nxt = np.searchsorted(non_hold, onsets, side="right")
    ends = np.where(nxt < len(non_hold), non_hold[np.minimum(nxt, len(non_hold) - 1)], len(arr))
    return onsets, ends - onsets, arr[onsets]


def token_hash(tokens) -> str:
    """SHA-256 of raw tokens written as decimal numbers joined by commas ("60,129,..."): a
    melody's identity without its notes (the manifest's and the copy guard's)."""
    import hashlib

    arr = np.asarray(tokens).reshape(-1)
    return hashlib.sha256(",".join(str(int(t)) for t in arr).encode()).hexdigest()


# ---------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """The raw token values the model can see, sorted: pitches ascending, then REST, HOLD.

    Index ``i`` (what the model sees) stands for raw token ``tokens[i]``.
    """

    tokens: tuple[int, ...]

    def __post_init__(self):
        toks = tuple(int(t) for t in self.tokens)
        bad = [t for t in toks if not 0 <= t < N_CODES]
        if bad:
            raise EmovaeError(f"vocabulary: token value(s) {_fmt_values(bad)} outside 0..{N_CODES - 1}")
        if any(a >= b for a, b in zip(toks, toks[1:])):
            raise EmovaeError("vocabulary: tokens must be distinct and in ascending order")
        if REST not in toks or HOLD not in toks:
            raise EmovaeError(f"vocabulary: must hold rest ({REST}) and hold ({HOLD})")
        object.__setattr__(self, "tokens", toks)

    @classmethod
    def build(cls, raw_tokens: np.ndarray) -> Vocabulary:
        """The distinct values of a raw token array (e.g. (N, 64)), plus REST and HOLD."""
        arr = _int_array(raw_tokens, "vocabulary")
        _check_codes(arr, "vocabulary")
        return cls(tuple(sorted(set(np.unique(arr).tolist()) | {REST, HOLD})))

    @property
    def size(self) -> int:
        """Number of classes (31 on the real data)."""
        return len(self.tokens)

    @property
    def pitches(self) -> tuple[int, ...]:
        """The MIDI pitches in the vocabulary, ascending."""
        return tuple(t for t in self.tokens if t < REST)

    def _lookup(self) -> np.ndarray:
        table = np.full(N_CODES, -1, dtype=np.int64)
        table[list(self.tokens)] = np.arange(self.size)
        return table

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Raw tokens (any shape) -> int64 indices; a pitch not in the vocabulary raises."""
        arr = _int_array(raw, "tokens")
        _check_codes(arr, "tokens")
        idx = self._lookup()[arr]
        if (idx < 0).any():
            have = (
                f"{len(self.pitches)} pitches between {self.pitches[0]} and {self.pitches[-1]}"
                if self.pitches
                else "no pitches"
            )
            raise EmovaeError(
                f"pitch(es) {_fmt_values(arr[idx < 0])} not in the vocabulary (which has {have}, plus rest and hold)"
            )
        return idx

    def decode(self, idx: np.ndarray) -> np.ndarray:
        """Indices (any shape) -> int64 raw tokens; an index outside 0..size-1 raises."""
        arr = _int_array(idx, "indices")
        bad = arr[(arr < 0) | (arr >= self.size)]
        if bad.size:
            raise EmovaeError(f"index/indices {_fmt_values(bad)} outside the vocabulary's 0..{self.size - 1}")
        return np.asarray(self.tokens, dtype=np.int64)[arr]

    def check_covers(self, raw_tokens, where: str = "model") -> None:
        """Raise if ``raw_tokens`` hold pitches this vocabulary lacks (a model trained on another
        vocabulary than the data it is given)."""
        arr = _int_array(raw_tokens, "tokens")
        missing = sorted(set(np.unique(arr).tolist()) - set(self.tokens))
        if missing:
            raise EmovaeError(
                f"{where}: the model's vocabulary ({self.size} tokens) lacks pitch(es) {_fmt_values(missing)} "
                "of this data set; it was trained on another vocabulary"
            )

    def to_list(self) -> list[int]:
        """The raw token values as a plain list (for checkpoints)."""
        return list(self.tokens)

    @classmethod
    def from_list(cls, tokens) -> Vocabulary:
        """The inverse of :meth:`to_list`; checks the list (ascending, 0..129, rest and hold)."""
        try:
            return cls(tuple(int(t) for t in tokens))
        except (TypeError, ValueError) as exc:
            raise EmovaeError(f"vocabulary: not a list of integer tokens ({one_line(exc, _REASON_CHARS)})") from None
