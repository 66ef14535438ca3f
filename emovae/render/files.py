"""The melody's files: MIDI bytes, and :func:`write` of any of the formats at once.

- **MIDI** (:func:`to_midi_bytes`): the bytes :func:`emovae.data.write_midi` writes (which stays
  the file writer): 120 BPM, 4/4, piano, velocity 64.
- :func:`write` (``FORMATS``: midi, musicxml, svg, wav) renders every format in memory
  (:mod:`.score`, :mod:`.audio`) before it writes the first file, so bad input or an unknown
  format leaves nothing behind; each file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..data import midi_bytes
from ..errors import EmovaeError
from .audio import to_wav
from .score import _musicxml, _svg_from_musicxml
from .tokens import _melody, _write_bytes

__all__ = ["FORMATS", "to_midi_bytes", "write"]

FORMATS = {"midi": ".mid", "musicxml": ".musicxml", "svg": ".svg", "wav": ".wav"}


def to_midi_bytes(tokens) -> bytes:
    """The standard MIDI file of a melody, as bytes: what :func:`emovae.data.write_midi` writes."""
    return midi_bytes(_melody(tokens))


def _formats(formats) -> list[str]:
    """Normalise ``formats`` (names, or one comma-separated string) to known names, in order."""
    if isinstance(formats, str):
        formats = formats.split(",")
    if not isinstance(formats, Iterable):
        raise EmovaeError(f"formats {formats!r}: expected names among {', '.join(FORMATS)}")
    wanted: list[str] = []
    for name in formats:
        key = str(name).strip().lower()
        if key not in FORMATS:
            raise EmovaeError(f"unknown format {str(name).strip()!r}: use one or more of {', '.join(FORMATS)}")
        if key not in wanted:
            wanted.append(key)
    if not wanted:
        raise EmovaeError(f"no format given: use one or more of {', '.join(FORMATS)}")
    return wanted


def write(
    tokens,
    out_stem: str | os.PathLike,
    formats: Iterable[str] | str = ("midi",),
    *,
    title: str | None = None,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    synth: str | None = None,
) -> list[Path]:
    """Write the melody as ``out_stem`` + ``.mid`` / ``.musicxml`` / ``.svg`` / ``.wav``.

    ``formats``: names among midi, musicxml, svg, wav (or one string "midi,svg"); an unknown
    name raises EmovaeError naming it and the known ones. All formats are rendered in memory
    first, then each file is written atomically; returns the paths in the order asked. The
    suffix is appended to the stem (``melodies/happy.1`` -> ``melodies/happy.1.mid``).
    """
    wanted = _formats(formats)
    arr = _melody(tokens)
    data: dict[str, bytes] = {}
    xml = None
    for fmt in wanted:
        if fmt == "midi":
            data[fmt] = midi_bytes(arr)
        elif fmt in ("musicxml", "svg"):
            xml = xml if xml is not None else _musicxml(arr, title)
            data[fmt] = (xml if fmt == "musicxml" else _svg_from_musicxml(xml, header=bool(title))).encode("utf-8")
        else:
            data[fmt] = to_wav(arr, soundfont=soundfont, sample_rate=sample_rate, synth=synth)
    paths = []
    for fmt in wanted:
        path = Path(os.fspath(out_stem) + FORMATS[fmt])
        _write_bytes(path, data[fmt])
        paths.append(path)
    return paths
