"""The data set: the emotion folders of MIDI files, read by :func:`emovae.data.read_melody`, and its split.

Data set (:func:`load_dataset`): ``ROOT/e1 .. ROOT/e4/*.mid`` (or ``.midi``, the suffix in any
case; :func:`midi_files`), label = folder (0..3 = e1..e4), files ordered e1..e4, then by file
name; names starting with "." are skipped; missing emotion folders are allowed, but not a data set without a single file. Split
(:func:`split`): scikit-learn's stratified ``train_test_split`` of the row numbers, as the
authors called it (test_size 0.2, random_state 42): 275 training / 69 held-out rows on the
real data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..emotions import LABELS
from ..errors import EmovaeError
from ..limits import one_line
from .reading import read_melody
from .tokens import _REASON_CHARS


@dataclass
class Dataset:
    """The encoded data set: one row per file."""

    tokens: np.ndarray  # (N, 64) int64 raw tokens
    labels: np.ndarray  # (N,) int64, 0..3 = e1..e4
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.paths)


MIDI_SUFFIXES = (".mid", ".midi")


def midi_files(folder: str | os.PathLike) -> list[Path]:
    """The visible MIDI files of a folder (``.mid`` or ``.midi``, suffix in any case), sorted by
    file name. Names starting with "." (macOS ``._x.mid`` resource forks) are skipped. Every
    command that walks a folder of melodies goes through here."""
    return sorted(
        (
            p
            for p in Path(folder).iterdir()
            if p.suffix.lower() in MIDI_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )


def load_dataset(root: str | os.PathLike) -> Dataset:
    """Read ``root/e1 .. root/e4/*.mid`` (each file once, with :func:`read_melody`).

    Order: e1..e4, within a folder by file name. Missing emotion folders are allowed, but at
    least one file overall; a bad file raises its own EmovaeError.
    """
    root = Path(root)
    if not root.exists():
        raise EmovaeError(f"{root}: no such directory")
    if not root.is_dir():
        raise EmovaeError(f"{root}: not a directory")
    rows: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[Path] = []
    files = [
        (label, path) for label, name in enumerate(LABELS) if (root / name).is_dir() for path in midi_files(root / name)
    ]
    import sys

    from tqdm.auto import tqdm

    on_terminal = bool(getattr(sys.stderr, "isatty", lambda: False)())  # a bar on a terminal only
    for label, path in tqdm(files, desc=f"read {root.name}", unit="file", disable=not on_terminal, leave=False):
        rows.append(read_melody(path))
        labels.append(label)
        paths.append(path)
    if not paths:
        raise EmovaeError(f"{root}: no .mid files in e1..e4 folders (expected the data set folder holding e1..e4)")
    return Dataset(
        tokens=np.stack(rows).astype(np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        paths=paths,
    )


def split(labels, test_size: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, heldout_idx), each sorted: the authors' stratified split of the row numbers.

    ``train_test_split(np.arange(N), test_size=test_size, random_state=seed, stratify=labels)``.
    """
    from sklearn.model_selection import train_test_split  # slow import, only needed here

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise EmovaeError(f"split: labels must be 1-D, got shape {labels.shape}")
    try:
        train, held = train_test_split(np.arange(len(labels)), test_size=test_size, random_state=seed, stratify=labels)
    except ValueError as exc:
        raise EmovaeError(
            f"cannot split {len(labels)} examples (test_size={test_size}, stratified by emotion): {one_line(exc, _REASON_CHARS)}"
        ) from None
    return np.sort(train).astype(np.int64), np.sort(held).astype(np.int64)
