"""The four emotions: quadrants of Russell's valence-arousal plane.

Valence is the horizontal latent axis ``z[0]``, arousal the vertical one ``z[1]``.

| index | label | emotion | quadrant | valence | arousal |
|---|---|---|---|---|---|
| 0 | e1 | happy   | Q1 | +1 | +1 |
| 1 | e2 | angry   | Q2 | -1 | +1 |
| 2 | e3 | sad     | Q3 | -1 | -1 |
| 3 | e4 | relaxed | Q4 | +1 | -1 |
"""

from __future__ import annotations

import numpy as np

from .errors import EmovaeError
from .limits import PLANE_LIMIT, check_point

__all__ = [
    "LABELS",
    "NAMES",
    "QUADRANTS",
    "VALENCE",
    "AROUSAL",
    "PLANE_LIMIT",
    "emotion_index",
    "quadrant_centre",
    "check_point",
    "quadrant_of_point",
    "axis_sign",
    "as_points",
    "as_labels",
]

LABELS = ("e1", "e2", "e3", "e4")  # folder names of the data set
NAMES = ("happy", "angry", "sad", "relaxed")
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
VALENCE = (1.0, -1.0, -1.0, 1.0)  # sign of z[0] for each emotion
AROUSAL = (1.0, 1.0, -1.0, -1.0)  # sign of z[1] for each emotion


def emotion_index(emotion: int | str) -> int:
    """Return 0..3 for an emotion given as 0..3, 'e1'..'e4', 'Q1'..'Q4' or a name ('happy')."""
    if isinstance(emotion, int) and not isinstance(emotion, bool):
        if 0 <= emotion < 4:
            return emotion
    elif isinstance(emotion, str):
        key = emotion.strip().lower()
        for table in (LABELS, NAMES, tuple(q.lower() for q in QUADRANTS)):
            if key in table:
                return table.index(key)
    raise EmovaeError(f"unknown emotion {emotion!r}: use one of e1..e4, Q1..Q4 or {', '.join(NAMES)}")


def quadrant_centre(emotion: int | str, radius: float = 2.0) -> tuple[float, float]:
    """The point (valence, arousal) = (+-radius, +-radius) at the centre of the emotion's quadrant."""
    i = emotion_index(emotion)
    return (radius * VALENCE[i], radius * AROUSAL[i])


def quadrant_of_point(valence, arousal):
    """0..3 (Q1..Q4) of a point; a coordinate >= 0 counts as positive (the authors' rule), so
    (0, 0) and -0.0 lie in Q1. The one quadrant rule: Python or NumPy numbers give an int,
    NumPy arrays and torch tensors give one quadrant per element."""
    right, up = (valence >= 0) * 1, (arousal >= 0) * 1
    q = up * (1 - right) + (1 - up) * (2 + right)  # Q1 up right, Q2 up left, Q3 down left, Q4 down right
    return int(q) if isinstance(q, (int, np.integer)) else q


def axis_sign(x):
    """+1 where a coordinate is >= 0, else -1 (:func:`quadrant_of_point`'s rule), elementwise."""
    return np.where(np.asarray(x) >= 0, 1.0, -1.0)


def _to_numpy(values) -> np.ndarray:
    """An array from a list, a NumPy array or a (possibly GPU, possibly grad-tracking) tensor."""
    if hasattr(values, "detach"):  # torch.Tensor, without importing torch here
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def as_points(points) -> np.ndarray:
    """Check and return latent points as a float array of shape (N, 2)."""
    arr = _to_numpy(points)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise EmovaeError(f"latent points must have shape (N, 2), got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise EmovaeError(f"latent points must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def as_labels(labels, n: int) -> np.ndarray:
    """Check and return emotion labels (0..3 = e1..e4) as an int array of length ``n``."""
    arr = _to_numpy(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise EmovaeError(f"labels must have shape ({n},) to match the points, got shape {tuple(arr.shape)}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int = arr.astype(np.int64) if np.issubdtype(arr.dtype, np.floating) else None
        if as_int is None or not np.array_equal(as_int, arr):
            raise EmovaeError(f"labels must be integers 0..3 (e1..e4), got dtype {arr.dtype}")
        arr = as_int
    arr = arr.astype(np.int64, copy=False)
    bad = arr[(arr < 0) | (arr > 3)]
    if bad.size:
        raise EmovaeError(f"labels must be integers 0..3 (e1..e4), found {int(bad[0])}")
    return arr
