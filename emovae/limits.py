"""Every limit on what a user may ask for, and the one check of each: counts, seeds, the sampling
temperature, points on the plane, the fitted sampler's spread, precisions, path points.

The CLI (:mod:`emovae.cli.args`), the Python API (:mod:`emovae.api`, :mod:`emovae.checkpoint`,
:mod:`emovae.generation`) and the web server (:mod:`emovae.server.state`,
:mod:`emovae.server.schemas`) all call these functions, so a rule is written once and a bad value
gets the same one-line :class:`~emovae.errors.EmovaeError` everywhere. Each value is checked once
on its way in, at the edge (the argument parser, the request schema, the public Python function);
lower layers trust what was checked. Imports nothing heavy (no torch, no NumPy): ``emovae
--help`` stays light.
"""

from __future__ import annotations

import math
import numbers

from .errors import EmovaeError

__all__ = [
    "MAX_COUNT",
    "MAX_SEED",
    "MIN_TEMPERATURE",
    "PLANE_LIMIT",
    "MAX_SPREAD",
    "MAX_PATH_POINTS",
    "PRECISIONS",
    "GRU_PRECISIONS",
    "WEB_MAX_COUNT",
    "WEB_MAX_TEMPERATURE",
    "WEB_MAX_JITTER",
    "one_line",
    "shown",
    "check_count",
    "check_seed",
    "check_temperature",
    "check_point",
    "check_spread",
    "check_path_length",
    "check_precision",
]

MAX_COUNT = 100_000  # melodies per emotion (per call) at most
MAX_SEED = 2**32 - 1  # seeds are whole numbers 0..MAX_SEED, everywhere (CLI, API, server, report, classifier)
MIN_TEMPERATURE = 1e-3  # a temperature is 0 (argmax) or at least this (below, logits / T overflow)
PLANE_LIMIT = 8.0  # |valence|, |arousal| beyond this lie far outside every training point
MAX_SPREAD = 10.0  # the fitted sampler's spread (emovae.samplers): 0 < spread <= MAX_SPREAD
MAX_PATH_POINTS = 64  # waypoints of a path
PRECISIONS = ("fp32", "bf16", "bf16-grad")  # training: GRU matrix products; state, weights, gradients stay fp32
GRU_PRECISIONS = (*PRECISIONS, "int16")  # the GRU layer also runs int16 inference

# The web server's own, tighter limits (one request stays short).
WEB_MAX_COUNT = 16  # melodies per /api/generate
WEB_MAX_TEMPERATURE = 3.0
WEB_MAX_JITTER = 2.0


def one_line(text, limit: int | None = None) -> str:
    """``text`` as one plain line: whitespace (newlines included) collapsed, control characters
    (terminal escapes) dropped; with ``limit``, cut to that many characters at a word boundary,
    with "..." where something was cut. Every message line of emovae passes through here."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 3]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "..."


def shown(value, limit: int = 40) -> str:
    """A value as the user wrote it: numbers plainly (NumPy scalars too), other things repr'd and
    cut to ``limit`` characters (a string keeps its closing quote: ``'abc...'``)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(value.item() if hasattr(value, "item") else value)
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return text[: limit - 4] + "..." + text[-1]
    return text[: limit - 3] + "..."


def _whole(value) -> bool:
    """A whole number (Python or NumPy integer), not bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value) -> float | None:
    """A real number (Python or NumPy, not bool, not a string) as float, else None."""
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _number(v) -> float | None:
    """A real number (Python or NumPy int/float, not bool) as float, else None."""
    if isinstance(v, bool):
        return None
    try:
        if isinstance(v, numbers.Real) or type(v).__module__ == "numpy":
            return float(v)
    except (TypeError, ValueError):
        return None
    return None


def check_count(n, what: str = "count", limit: int = MAX_COUNT) -> int:
    """A melody count: a whole number from 1 to ``limit`` (NumPy integers accepted; bool, floats
    and strings refused). ``limit`` keeps the work bounded (``MAX_COUNT`` melodies per emotion)."""
    if not _whole(n) or not 1 <= n <= limit:
        raise EmovaeError(f"{what} {shown(n)}: a whole number from 1 to {limit:,} is needed")
    return int(n)


def check_seed(seed, what: str = "seed") -> int:
    """A seed: a whole number from 0 to ``MAX_SEED`` (NumPy integers accepted)."""
    if not _whole(seed) or not 0 <= seed <= MAX_SEED:
        raise EmovaeError(f"{what} {shown(seed)}: a whole number from 0 to {MAX_SEED} is needed")
    return int(seed)


def check_temperature(t, limit: float | None = None) -> float:
    """A sampling temperature: 0 (argmax) or a finite number >= ``MIN_TEMPERATURE`` (NumPy
    scalars accepted; below it logits / T overflow and nothing differs from argmax anyway), and at
    most ``limit`` when one is given (the web server's)."""
    value = _real(t)
    if value is None or not math.isfinite(value) or value < 0:
        raise EmovaeError(f"temperature {shown(t)}: a number >= 0 is needed (0 = argmax)")
    if 0 < value < MIN_TEMPERATURE:
        raise EmovaeError(f"temperature {shown(t)}: use 0 (argmax) or a number >= {MIN_TEMPERATURE:g}")
    if limit is not None and value > limit:
        raise EmovaeError(f"temperature {shown(t)}: use 0 (argmax) or a number from {MIN_TEMPERATURE:g} to {limit:g}")
    return value


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


def check_spread(spread) -> float:
    """The fitted sampler's spread: a number above 0 and at most ``MAX_SPREAD``."""
    value = _real(spread)
    if value is None or not (0 < value <= MAX_SPREAD):
        raise EmovaeError(f"spread {shown(spread)}: a number above 0 and at most {MAX_SPREAD:g} is needed")
    return value


def check_path_length(n_points: int) -> int:
    """The number of waypoints of a path: 1 to ``MAX_PATH_POINTS``."""
    if n_points < 1:
        raise EmovaeError("empty path: give at least one emotion or point")
    if n_points > MAX_PATH_POINTS:
        raise EmovaeError(f"path of {n_points} points: at most {MAX_PATH_POINTS} are allowed")
    return n_points


def check_precision(precision, what: str = "precision", choices: tuple[str, ...] = PRECISIONS) -> str:
    """One of ``choices`` (the training precisions; the GRU layer passes :data:`GRU_PRECISIONS`)."""
    if precision not in choices:
        raise EmovaeError(f"{what} {precision!r} is not one of {', '.join(choices)}")
    return precision
