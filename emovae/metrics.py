"""MusPy metrics per emotion: the paper's Table 3.

Four metrics per melody, computed by MusPy 0.5.0 (drum tracks ignored, all other tracks
pooled), then the mean and the *population* standard deviation (``ddof=0``, as the paper)
over the melodies of each emotion:

- ``pitch_range`` = max pitch - min pitch, 0 if there is no note
  (``muspy.pitch_range(m)``);
- ``n_pitches_used`` = the number of distinct MIDI pitches (``muspy.n_pitches_used(m)``);
- ``in_c_major`` = #(notes whose pitch class is in C major: C D E F G A B) / #(notes),
  NaN if there is no note (``muspy.pitch_in_scale_rate(m, 0, "major")``);
- ``in_c_minor`` = the same for natural C minor: C D Eb F G Ab Bb
  (``muspy.pitch_in_scale_rate(m, 0, "minor")``).

The in-scale rates count notes, repeated notes included; ``n_pitches_used`` counts each
pitch once.

Files are read as every other command reads them (:func:`emovae.data.read_melody`, the same
rules and the same one-line messages): a file that cannot be read (empty, not MIDI, no notes,
drums only, a time signature other than 4/4) is an error naming it; a polyphonic file is
measured on its highest line, a file shorter than 4 bars padded with rests, one longer than 4
bars on its first 4 bars, each with a one-line warning. A readable file without a single note
(a model may generate silence; ``emovae generate`` writes it with a warning) counts as a silent
melody (range 0, no pitches, left out of the rates), with a one-line warning. On the authors' sets and the training
set this gives the same figures as MusPy reading the raw files (two decimals).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import muspy
import numpy as np

from .data import N_STEPS, REST, SilentFileError, melody_to_music, midi_files, read_melody
from .emotions import LABELS
from .errors import EmovaeError, EmovaeWarning

__all__ = [
    "SIGMA_SHARE",
    "count_within",
    "token_metrics",
    "within_sigma",
    "METRICS",
    "METRIC_TITLES",
    "PAPER_TABLE3",
    "folder_metrics",
    "in_c_major",
    "in_c_minor",
    "melody_metrics",
    "n_pitches_used",
    "pitch_range",
    "read_folder",
    "set_metrics",
    "table3_markdown",
]

METRICS = ("pitch_range", "n_pitches_used", "in_c_major", "in_c_minor")

#: Row titles used by :func:`table3_markdown` (the paper's wording).
METRIC_TITLES = {
    "pitch_range": "pitch range",
    "n_pitches_used": "pitches used",
    "in_c_major": "in C major",
    "in_c_minor": "in C minor",
}

#: The paper's Table 3: column -> metric -> emotion (0..3 = e1..e4) -> (mean, std).
#: Its training-set column was computed on the first 79 files of each folder only (the
#: authors' notebook stops at 79), so for e1, e3 and e4 it differs slightly from the figures
#: over all files.
PAPER_TABLE3: dict[str, dict[str, dict[int, tuple[float, float]]]] = {
    "CVAE-Base": {
        "pitch_range": {0: (8.65, 2.22), 1: (7.85, 1.68), 2: (6.30, 2.15), 3: (6.00, 1.64)},
        "n_pitches_used": {0: (5.80, 1.03), 1: (5.85, 1.24), 2: (4.15, 0.65), 3: (4.05, 0.67)},
        "in_c_major": {0: (0.96, 0.10), 1: (0.71, 0.14), 2: (0.75, 0.18), 3: (0.99, 0.03)},
        "in_c_minor": {0: (0.69, 0.12), 1: (0.91, 0.15), 2: (0.91, 0.17), 3: (0.72, 0.12)},
    },
    "CVAE-EmoReg": {
        "pitch_range": {0: (7.75, 2.14), 1: (8.90, 2.84), 2: (6.00, 1.97), 3: (7.60, 3.72)},
        "n_pitches_used": {0: (5.60, 1.16), 1: (5.55, 1.56), 2: (4.40, 1.07), 3: (4.35, 0.85)},
        "in_c_major": {0: (0.93, 0.14), 1: (0.73, 0.23), 2: (0.77, 0.15), 3: (0.98, 0.04)},
        "in_c_minor": {0: (0.67, 0.14), 1: (0.90, 0.17), 2: (0.92, 0.12), 3: (0.73, 0.15)},
    },
    "training set (paper, first 79 files)": {
        "pitch_range": {0: (9.32, 2.93), 1: (9.01, 2.14), 2: (6.19, 1.68), 3: (7.44, 1.95)},
        "n_pitches_used": {0: (6.29, 1.36), 1: (6.28, 1.31), 2: (4.57, 0.85), 3: (4.84, 0.91)},
        "in_c_major": {0: (0.97, 0.10), 1: (0.72, 0.13), 2: (0.77, 0.13), 3: (0.98, 0.10)},
        "in_c_minor": {0: (0.66, 0.12), 1: (0.91, 0.15), 2: (0.92, 0.15), 3: (0.65, 0.15)},
    },
}


def pitch_range(music: muspy.Music) -> float:
    """Pitch range in semitones: ``max(pitch) - min(pitch)`` over all notes; 0 without notes.

    C4 E4 G4 (60, 64, 67) -> 67 - 60 = 7.
    """
    return float(muspy.pitch_range(music))


def n_pitches_used(music: muspy.Music) -> float:
    """Number of distinct MIDI pitches: ``|{pitch(n) : n in notes}|``; 0 without notes.

    C4 C4 E4 -> 2 (a repeated pitch counts once; C5 and C4 are different pitches).
    """
    return float(muspy.n_pitches_used(music))


def in_c_major(music: muspy.Music) -> float:
    """Share of notes in C major: ``#{n : pitch(n) mod 12 in {0,2,4,5,7,9,11}} / #notes``.

    Repeated notes count each time; NaN without notes. C4 E4 G4 -> 3/3 = 1.0.
    """
    return float(muspy.pitch_in_scale_rate(music, 0, "major"))


def in_c_minor(music: muspy.Music) -> float:
    """Share of notes in natural C minor: ``#{n : pitch(n) mod 12 in {0,2,3,5,7,8,10}} / #notes``.

    Repeated notes count each time; NaN without notes. C4 E4 G4 -> 2/3 (E is not in it).
    """
    return float(muspy.pitch_in_scale_rate(music, 0, "minor"))


_METRIC_FUNCTIONS = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "in_c_major": in_c_major,
    "in_c_minor": in_c_minor,
}


def melody_metrics(music: muspy.Music) -> dict[str, float]:
    """The four metrics of one melody, ``{name: value}`` in the order of :data:`METRICS`.

    For C4 E4 G4: ``pitch_range`` 7, ``n_pitches_used`` 3, ``in_c_major`` 1.0,
    ``in_c_minor`` 2/3. A melody without notes gives range 0, 0 pitches and NaN rates.
    """
    return {name: _METRIC_FUNCTIONS[name](music) for name in METRICS}


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (ddof=0) of the non-NaN values.

    ``mean = sum(v) / n``, ``std = sqrt(sum((v - mean)^2) / n)``; NaN values (the in-scale
    rates of a melody without notes) are left out; (NaN, NaN) if nothing is left.
    """
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return (math.nan, math.nan)
    return (float(arr.mean()), float(arr.std(ddof=0)))


def set_metrics(musics_by_emotion: dict[int, list[muspy.Music]]) -> dict:
    """Mean and population std of each metric per emotion.

    ``musics_by_emotion`` maps an emotion 0..3 (e1..e4) to its melodies. Returns
    ``{emotion: {metric: (mean, std)}}`` for every emotion with at least one melody, in
    emotion order. A melody without notes counts with range 0 and 0 pitches, and is left out
    of the in-scale rates (which are undefined for it).
    """
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for emotion in sorted(musics_by_emotion):
        if not (isinstance(emotion, (int, np.integer)) and 0 <= int(emotion) < 4):
            raise EmovaeError(f"emotion keys must be 0..3 (e1..e4), got {emotion!r}")
        musics = list(musics_by_emotion[emotion])
        if not musics:
            continue
        rows = [melody_metrics(music) for music in musics]
        out[int(emotion)] = {m: _mean_std([row[m] for row in rows]) for m in METRICS}
    return out


def _read_music(path: Path) -> muspy.Music:
    """One file by the data set's reading rules, as a Music; a file without notes as silence."""
    try:
        return melody_to_music(read_melody(path))
    except SilentFileError:
        warnings.warn(
            f"{path}: no notes; measured as a silent melody (range 0, no pitches)", EmovaeWarning, stacklevel=3
        )
        return melody_to_music(np.full(N_STEPS, REST, dtype=np.int64))


def read_folder(root: str | os.PathLike) -> dict[int, list[muspy.Music]]:
    """Read ``root/e1..e4/*.mid`` into ``{emotion 0..3: [Music, ...]}``; files are found as the
    data set's are (:func:`emovae.data.midi_files`: .mid/.midi, dot-files skipped, by name) and
    read by its rules (:func:`emovae.data.read_melody`: 64 steps, the highest line), each
    melody then decoded back into a Music (:func:`emovae.data.melody_to_music`).

    Absent or empty emotion folders are skipped. Raises :class:`EmovaeError` naming ``root``
    if it holds no e1..e4 folder with MIDI files, or the reader's error naming the file.
    """
    root = Path(root)
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise EmovaeError(f"{root}: {what} (expected e1..e4 folders of MIDI files)")
    out: dict[int, list[muspy.Music]] = {}
    for emotion, label in enumerate(LABELS):
        folder = root / label
        if not folder.is_dir():
            continue
        files = midi_files(folder)
        if not files:
            continue
        import sys

        from tqdm.auto import tqdm

        on_terminal = bool(getattr(sys.stderr, "isatty", lambda: False)())  # a bar on a terminal only
        bar = tqdm(files, desc=f"read {root.name}/{label}", unit="file", disable=not on_terminal, leave=False)
        out[emotion] = [_read_music(path) for path in bar]
    if not out:
        raise EmovaeError(f"{root}: no e1..e4 folder with .mid files (expected {root}/e1/*.mid ... {root}/e4/*.mid)")
    return out


def folder_metrics(root: str | os.PathLike) -> dict:
    """:func:`set_metrics` of the melodies in ``root/e1..e4/*.mid`` (all files, sorted).

    Emotion folders that are absent or hold no MIDI file are skipped. Raises
    :class:`EmovaeError` naming ``root`` if none is left, or naming an unreadable file.
    """
    return set_metrics(read_folder(root))


def _cell(column: dict, metric: str, emotion: int) -> tuple[float, float] | None:
    """Look up (mean, std) in a column laid out either emotion -> metric (as
    :func:`set_metrics` returns) or metric -> emotion (as :data:`PAPER_TABLE3`)."""
    if emotion in column and isinstance(column[emotion], dict):
        return column[emotion].get(metric)
    if metric in column and isinstance(column[metric], dict):
        return column[metric].get(emotion)
    return None


def _fmt(cell: tuple[float, float] | None) -> str:
    if cell is None:
        return "n/a"
    mean, std = (float(v) for v in cell)
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.2f} ({std:.2f})"


def table3_markdown(columns: dict[str, dict], paper: bool = True) -> str:
    """Table 3 as Markdown: one row per (metric, emotion), one column per named set.

    ``columns`` maps a column title to a set's figures, laid out as :func:`set_metrics`
    returns them (emotion -> metric -> (mean, std)); the layout of :data:`PAPER_TABLE3`
    (metric -> emotion -> (mean, std)) is accepted too. Cells read "mean (std)" with two
    decimals, "n/a" where a set has no melody of that emotion. With ``paper=True`` the paper's
    three columns are appended, titled "paper: <name>".
    """
    cols = dict(columns)
    if paper:
        for name, column in PAPER_TABLE3.items():
            title = name if name.startswith("paper") or "(paper" in name else f"paper: {name}"
            cols[title] = column
    header = ["metric", "emotion", *cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in METRICS:
        for emotion, label in enumerate(LABELS):
            first = METRIC_TITLES[metric] if emotion == 0 else ""
            cells = [_fmt(_cell(column, metric, emotion)) for column in cols.values()]
            lines.append("| " + " | ".join([first, label, *cells]) + " |")
    return "\n".join(lines) + "\n"


SIGMA_SHARE = 0.5  # Table 3 cells within this many training-set sigmas are marked


def within_sigma(column: dict, reference: dict, share: float = SIGMA_SHARE) -> dict:
    """Which Table 3 cells of ``column`` lie within ``share`` sigma of the ``reference``'s mean.

    Both are laid out as :func:`emovae.metrics.set_metrics` returns them (emotion -> metric ->
    (mean, sd)). A cell is within when ``|mean - mean_ref| <= share * sd_ref`` (sd of the
    reference, the training set). Returns ``{emotion: {metric: True / False / None}}`` for the
    reference's cells, None where either mean is missing or NaN.

    Reference pitch range (9, 2): a mean of 9.9 is within (0.9 <= 1), 10.5 is not.
    """
    out: dict = {}
    for emotion, metrics in reference.items():
        out[emotion] = {}
        for metric, (ref_mean, ref_sd) in metrics.items():
            cell = column.get(emotion, {}).get(metric)
            if cell is None or math.isnan(float(cell[0])) or math.isnan(float(ref_mean)):
                out[emotion][metric] = None
                continue
            out[emotion][metric] = bool(abs(float(cell[0]) - float(ref_mean)) <= share * float(ref_sd) + 1e-12)
    return out


def count_within(marks: dict) -> int:
    """The number of cells :func:`within_sigma` marks True (``{emotion: {metric: True / False /
    None}}``): ``#{(e, m) : marks[e][m] is truthy}``; the Table 3 count of ``emovae report`` and
    the sweep's ``table3_within``. ``{0: {"a": True, "b": None}, 1: {"a": False}}`` -> 1."""
    return sum(bool(v) for cells in marks.values() for v in cells.values())


def token_metrics(tokens, labels) -> dict:
    """:func:`set_metrics` of raw-token melodies ``(N, 64)`` grouped by their emotion ``labels``
    (0..3), each read as MusPy music by :func:`emovae.data.melody_to_music`:
    ``{emotion: {metric: (mean, population sd)}}`` (a generated set's Table 3 column)."""
    tokens, labels = np.asarray(tokens), np.asarray(labels)
    return set_metrics({e: [melody_to_music(t) for t in tokens[labels == e]] for e in range(4)})
