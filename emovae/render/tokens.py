"""The melody every renderer takes, checked once, and the atomic file writer they share.

:func:`_melody` checks *raw tokens* by the package's rule (:mod:`emovae.render`: 1-D integers
0..129, a whole number of 4/4 bars of 16 steps; else a one-line EmovaeError); :func:`notes`
decodes them as :func:`emovae.data.melody_to_music` does. :func:`_write_bytes` writes a file
atomically (:mod:`emovae.atomic`: a temp file beside the target, then one rename).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..data import STEPS_PER_QUARTER, TEMPO_QPM, notes_of
from ..errors import EmovaeError
from ..limits import one_line

__all__ = ["SECONDS_PER_STEP", "STEPS_PER_BAR", "notes"]

STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # 16 sixteenths in a 4/4 bar
SECONDS_PER_STEP = 60.0 / TEMPO_QPM / STEPS_PER_QUARTER  # 0.125 s at 120 BPM


def _melody(tokens) -> np.ndarray:
    """``tokens`` as a validated 1-D int64 array of whole bars (EmovaeError otherwise)."""
    arr = np.asarray(tokens)
    if arr.dtype == object or arr.dtype == bool or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise EmovaeError(f"melody: expected integer tokens, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise EmovaeError(f"melody: expected a 1-D token sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise EmovaeError("melody: no steps (expected a multiple of 16 sixteenth steps, 64 for 4 bars)")
    if arr.size % STEPS_PER_BAR:
        raise EmovaeError(f"melody: {arr.size} steps is not a whole number of 4/4 bars ({STEPS_PER_BAR} steps each)")
    arr = arr.astype(np.int64)
    notes_of(arr)  # value check: 0..129
    return arr


def notes(tokens) -> list[tuple[int, int, int]]:
    """The notes of a melody as ``(start_step, duration_steps, pitch)``, in time order.

    Decoded as :func:`emovae.data.melody_to_music` does: a pitch token starts a note, each
    HOLD right after it lengthens it by one step, REST ends it, and a HOLD at the start or
    after a REST is a rest. E.g. for 16 steps ``[HOLD, 60, HOLD, HOLD, REST, HOLD, 62, 64, HOLD,
    REST...]`` -> ``[(1, 3, 60), (6, 1, 62), (7, 2, 64)]``.
    """
    return [(int(s), int(d), int(p)) for s, d, p in notes_of(_melody(tokens))]


def _cannot_write(path: Path, exc: OSError) -> EmovaeError:
    reason = one_line(exc.strerror or exc)
    return EmovaeError(f"{path}: cannot write ({reason})")


def _write_bytes(path, data: bytes) -> None:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
