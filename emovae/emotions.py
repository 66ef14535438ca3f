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

from .errors import EmovaeError

LABELS = ("e1", "e2", "e3", "e4")          # folder names of the data set
NAMES = ("happy", "angry", "sad", "relaxed")
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
VALENCE = (1.0, -1.0, -1.0, 1.0)            # sign of z[0] for each emotion
AROUSAL = (1.0, 1.0, -1.0, -1.0)            # sign of z[1] for each emotion


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
    raise EmovaeError(
        f"unknown emotion {emotion!r}: use one of e1..e4, Q1..Q4 or {', '.join(NAMES)}"
    )


def quadrant_centre(emotion: int | str, radius: float = 2.0) -> tuple[float, float]:
    """The point (valence, arousal) = (+-radius, +-radius) at the centre of the emotion's quadrant."""
    i = emotion_index(emotion)
    return (radius * VALENCE[i], radius * AROUSAL[i])
