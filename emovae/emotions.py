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

import math

from .errors import EmovaeError

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


PLANE_LIMIT = 8.0  # |valence|, |arousal| beyond this lie far outside every training point


def _number(v) -> float | None:
    """A real number (Python or NumPy int/float, not bool) as float, else None."""
    if isinstance(v, bool):
        return None
    try:
        import numbers

        if isinstance(v, numbers.Real) or type(v).__module__ == "numpy":
            return float(v)
    except (TypeError, ValueError):
        return None
    return None


def check_point(valence, arousal) -> tuple[float, float]:
    """(valence, arousal) as floats; EmovaeError unless both are finite numbers in
    [-PLANE_LIMIT, PLANE_LIMIT] (NumPy scalars are numbers)."""
    for name, v in (("valence", valence), ("arousal", arousal)):
        x = _number(v)
        if x is None or not math.isfinite(x) or abs(x) > PLANE_LIMIT:
            raise EmovaeError(
                f"coordinate ({valence}, {arousal}) is off the plane: {name} must be a number in "
                f"[-{PLANE_LIMIT:g}, {PLANE_LIMIT:g}]"
            )
    return float(valence), float(arousal)


def quadrant_of_point(valence: float, arousal: float) -> int:
    """0..3 (Q1..Q4) of one point; a coordinate >= 0 counts as positive (the authors' rule)."""
    up, right = arousal >= 0, valence >= 0
    return (0 if right else 1) if up else (3 if right else 2)
