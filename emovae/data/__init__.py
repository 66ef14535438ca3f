"""The data set and its encoding: MIDI melodies <-> 64 pitch/rest/hold tokens.

One module per concern; every name is importable from ``emovae.data`` as before:

- :mod:`~emovae.data.tokens`: the 64-step raw tokens (``N_STEPS``, ``REST``, ``HOLD``), the one
  reading of tokens as notes (:func:`notes_of`), :func:`token_hash`, the :class:`Vocabulary`;
- :mod:`~emovae.data.reading`: the MIDI reading rules (:func:`read_melody`,
  :func:`read_segments`, :func:`read_steps`, :func:`skyline`);
- :mod:`~emovae.data.writing`: decoding to MusPy and MIDI (:func:`melody_to_music`,
  :func:`write_midi`, :func:`midi_bytes`, :func:`notes_midi`);
- :mod:`~emovae.data.dataset`: the data set (:func:`load_dataset`, :func:`midi_files`) and its
  split (:func:`split`).
"""

from __future__ import annotations

from .dataset import MIDI_SUFFIXES, Dataset, load_dataset, midi_files, split
from .reading import MAX_READ_BARS, SilentFileError, read_melody, read_segments, read_steps, skyline
from .tokens import (
    HOLD,
    N_CODES,
    N_STEPS,
    REST,
    STEPS_PER_QUARTER,
    Vocabulary,
    note_arrays,
    notes_of,
    token_hash,
)
from .tokens import _count as _count  # private, used by the CLI and the API
from .writing import (
    TEMPO_QPM,
    TICKS_PER_STEP,
    VELOCITY,
    melody_to_music,
    midi_bytes,
    midi_file,
    notes_midi,
    write_midi,
)

__all__ = [
    "N_STEPS",
    "STEPS_PER_QUARTER",
    "REST",
    "HOLD",
    "TEMPO_QPM",
    "read_melody",
    "read_segments",
    "read_steps",
    "note_arrays",
    "notes_of",
    "skyline",
    "melody_to_music",
    "midi_file",
    "notes_midi",
    "token_hash",
    "midi_bytes",
    "write_midi",
    "Vocabulary",
    "Dataset",
    "load_dataset",
    "midi_files",
    "split",
    "SilentFileError",
    "N_CODES",
    "VELOCITY",
    "TICKS_PER_STEP",
    "MAX_READ_BARS",
    "MIDI_SUFFIXES",
]
