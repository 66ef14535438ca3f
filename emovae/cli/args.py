"""What every command shares on its way in: the one-line parser, the limits, the argument types.

Boundaries are checked as the arguments are parsed, by the rules of :mod:`emovae.limits` (counts
at most 100,000 melodies per emotion, seeds, temperatures, points); a bad one ends with one line
``emovae: error: ...`` and exit status 2. Nothing here imports torch: ``emovae --help`` stays light.
"""

from __future__ import annotations

import argparse
import math
import sys

from .. import limits
from ..errors import EmovaeError, TrainingInterrupted
from ..limits import MAX_COUNT, one_line, shown

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
MAX_UNITS = 4096  # --hidden, --dense at most (the paper: 512 and 100)

MODEL_HELP = "checkpoint file, run folder, or plane/emoreg/base (default: the bundled plane, CVAE-Plane)"
FORMAT_HELP = "comma-separated: midi, musicxml, svg, wav (default: midi)"


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``emovae: error: ... (see emovae train --help)``."""

    def error(self, message):
        print(f"emovae: error: {one_line(message)} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def saved_after(exc: TrainingInterrupted, how: str = "continue with --resume") -> str:
    """The line a training run stopped by Ctrl-C ends with: where it saved, and how to go on."""
    if exc.checkpoint is None:
        return f"interrupted after epoch {exc.epoch}; nothing saved (no run folder)"
    return f"interrupted; saved after epoch {exc.epoch} in {exc.checkpoint}: {how}"


def train_defaults() -> dict:
    """The default preset's settings (training and model), read at run time for help texts."""
    from ..config import DEFAULT_PRESET, PRESETS

    return PRESETS[DEFAULT_PRESET].train.to_dict() | PRESETS[DEFAULT_PRESET].model.to_dict()


def formats(text: str) -> list[str]:
    """--format: known names, in order (emovae.render's rule)."""
    from ..render import _formats as check

    return check(text)


# ---------------------------------------------------------------------------- argument types


def _checked(check, text: str, value):
    """``check(value)`` (a rule of :mod:`emovae.limits`); its one line, with the user's text in
    front, as an argparse type error."""
    try:
        return check(value)
    except EmovaeError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise argparse.ArgumentTypeError(f"{shown(text)}: {reason}") from None


def point(text: str) -> tuple[float, float]:
    """VALENCE,AROUSAL: two finite numbers on the plane [-8, 8]^2."""
    try:
        v, a = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"coordinate {shown(text)}: write VALENCE,AROUSAL, e.g. 2,-1.5") from None
    try:
        return limits.check_point(v, a)
    except EmovaeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def number(text: str) -> float:
    """``text`` as a float; NaN when it is not a number, so every range check below fails."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def temperature(text: str) -> float:
    """0 (argmax) or a finite number >= MIN_TEMPERATURE (:func:`emovae.limits.check_temperature`)."""
    return _checked(limits.check_temperature, text, number(text))


def positive_int(text: str, limit: int | None = None) -> int:
    """A whole number >= 1 (and <= ``limit`` when given)."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{shown(text)}: a whole number >= 1 is needed")
    if limit is not None and v > limit:
        raise argparse.ArgumentTypeError(f"{shown(text)}: at most {limit:,} (a whole number from 1 to {limit:,})")
    return v


def count(text: str) -> int:
    """Melodies per emotion: 1..MAX_COUNT."""
    return positive_int(text, MAX_COUNT)


def units(text: str) -> int:
    """Layer sizes: 1..MAX_UNITS."""
    return positive_int(text, MAX_UNITS)


def epochs_or_off(text: str) -> int:
    """A whole number >= 0 (epochs of a schedule; 0 = off)."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"{shown(text)}: a whole number >= 0 is needed")
    return v


def latent(text: str) -> int:
    """Latent dimensions: 2 (the plane) to 64."""
    v = positive_int(text, 64)
    if v < 2:
        raise argparse.ArgumentTypeError(f"{shown(text)}: at least 2 (the valence-arousal plane)")
    return v


def port(text: str) -> int:
    return positive_int(text, 65535)


def seed(text: str) -> int:
    """A seed: a whole number from 0 to MAX_SEED (:func:`emovae.limits.check_seed`)."""
    try:
        v = int(text)
    except ValueError:
        v = None
    return _checked(limits.check_seed, text, v)


def positive_float(text: str) -> float:
    v = number(text)
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"{shown(text)}: a number > 0 is needed")
    return v


def weight(text: str) -> float:
    v = number(text)
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"{shown(text)}: a number >= 0 is needed")
    return v
