"""Outputs a person can read and hear: MIDI bytes, MusicXML, an SVG score and WAV audio.

Every function takes *raw tokens* (:mod:`emovae.data`): a 1-D integer array whose length is a
whole number of 4/4 bars of 16 sixteenth steps (64 steps = 4 bars, 256 = 16 bars); 0..127 = a
note of that MIDI pitch starts, ``REST = 128``, ``HOLD = 129``. The notes are those
:func:`emovae.data.melody_to_music` decodes (:func:`notes`): an onset starts a note, each HOLD
right after it lengthens it by one step, a HOLD at the start or after a REST is a rest.
Anything else (an empty array, a length that is not a multiple of 16, a 2-D array, floats,
a value outside 0..129) raises a one-line :class:`~emovae.errors.EmovaeError`.

Formats (each module's docstring has the details):

- **MIDI** (:func:`to_midi_bytes`): the bytes :func:`emovae.data.write_midi` writes: 120 BPM,
  4/4, piano, velocity 64.
- **MusicXML** (:func:`to_musicxml`), built with music21: 4/4, bars of 16 sixteenths, ties at
  barlines, no key signature (C major or minor is not known), black keys spelled C# Eb F# Ab
  Bb; the same tokens give the same text.
- **SVG** (:func:`to_svg`): the MusicXML engraved by verovio, one page whose height is adapted
  to the music (pages joined for a very long melody), with a ``viewBox``.
- **WAV** (:func:`to_wav`): 16-bit PCM mono, ``steps * 0.125 s + TAIL_S`` long at 120 BPM;
  FluidSynth with a General MIDI soundfont (:func:`find_soundfont`) when there is one, else
  a small NumPy synthesis (:func:`synthesize`) with one EmovaeWarning per process.

Writing (:func:`write`, and each ``path=`` argument) is atomic (:mod:`emovae.atomic`): a temp
file beside the target, then one rename; :func:`write` renders every format in memory before
it writes the first file, so bad input or an unknown format leaves nothing behind.

Modules: :mod:`.tokens` (the checked melody, :func:`notes`, the atomic writer), :mod:`.score`
(MusicXML, SVG), :mod:`.audio` (the NumPy synthesis, FluidSynth, soundfonts, WAV),
:mod:`.files` (MIDI bytes, :func:`write`, ``FORMATS``). Settings a test changes are changed
where they are read: ``render.score._PAGE_HEIGHT``, ``render.audio.SOUNDFONT_PATHS``,
``render.audio._fallback_warned``.

``import emovae.render`` loads NumPy only; music21, verovio and mido are imported by the
functions that use them.
"""

from __future__ import annotations

from .audio import FLUIDSYNTH_GAIN as FLUIDSYNTH_GAIN
from .audio import FLUIDSYNTH_TIMEOUT_S as FLUIDSYNTH_TIMEOUT_S
from .audio import MAX_BPM as MAX_BPM
from .audio import MAX_SAMPLE_RATE as MAX_SAMPLE_RATE
from .audio import MIN_BPM as MIN_BPM
from .audio import MIN_SAMPLE_RATE as MIN_SAMPLE_RATE
from .audio import SOUNDFONT_PATHS, TAIL_S, find_soundfont, synthesize, to_wav
from .audio import SYNTHS as SYNTHS
from .files import FORMATS, to_midi_bytes, write
from .files import _formats as _formats
from .score import to_musicxml, to_svg
from .tokens import SECONDS_PER_STEP as SECONDS_PER_STEP
from .tokens import STEPS_PER_BAR, notes
from .tokens import _melody as _melody

__all__ = [
    "FORMATS",
    "SOUNDFONT_PATHS",
    "STEPS_PER_BAR",
    "TAIL_S",
    "find_soundfont",
    "notes",
    "synthesize",
    "to_midi_bytes",
    "to_musicxml",
    "to_svg",
    "to_wav",
    "write",
]
