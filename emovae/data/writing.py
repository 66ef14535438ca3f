"""Writing raw tokens as MIDI (mido) or as a MusPy Music.

Decoding (:func:`melody_to_music`, :func:`write_midi`) is our own, not
``muspy.from_pitch_representation`` (which merges a one-step note with a following onset of
the same pitch): an onset token starts a note, each HOLD right after it lengthens it by one
step, and a HOLD at the start or after a REST is a rest. The result has resolution 4,
tempo 120 BPM, a 4/4 time signature and one track (program 0, velocity 64).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..atomic import atomic_path
from ..errors import EmovaeError
from ..limits import one_line
from .tokens import _REASON_CHARS, STEPS_PER_QUARTER, notes_of

if TYPE_CHECKING:  # slow imports, loaded inside the functions that need them
    import mido
    import muspy

TEMPO_QPM = 120.0  # tempo of the MIDI files we write
VELOCITY = 64  # velocity of the notes we write
TICKS_PER_STEP = 1  # MIDI files we write: 4 ticks per quarter note (one per sixteenth), as MusPy wrote them


def melody_to_music(tokens) -> muspy.Music:
    """Decode raw tokens (1-D, any length; 64 for a melody) into a MusPy Music (:func:`notes_of`).

    Resolution 4 (sixteenths), tempo 120 BPM, 4/4 at time 0, one track with program 0.
    """
    import muspy

    notes = [muspy.Note(time=s, pitch=p, duration=d, velocity=VELOCITY) for s, d, p in notes_of(tokens)]
    return muspy.Music(
        resolution=STEPS_PER_QUARTER,
        tempos=[muspy.Tempo(time=0, qpm=TEMPO_QPM)],
        time_signatures=[muspy.TimeSignature(time=0, numerator=4, denominator=4)],
        tracks=[muspy.Track(program=0, is_drum=False, notes=notes)],
    )


def midi_file(tokens) -> mido.MidiFile:
    """The MIDI file of raw tokens (:func:`notes_of`; :func:`notes_midi`): the note track ends
    (``end_of_track``) at the melody's full length, trailing rests included."""
    arr = np.asarray(tokens).reshape(-1)
    return notes_midi([(s, s + d, p) for s, d, p in notes_of(arr)], len(arr))


def notes_midi(notes, steps: int) -> mido.MidiFile:
    """A MIDI file of ``(onset step, end step, pitch)`` notes (they may overlap), built with mido:
    4 ticks per quarter (one per step), tempo 120 BPM, 4/4, one track on channel 1 with program 0
    (piano), velocity 64; the note track ends (``end_of_track``) at step ``steps`` or at the last
    note's end, whichever is later."""
    import mido

    events = []
    for start, end, pitch in notes:
        events.append((end * TICKS_PER_STEP, 0, pitch))  # note-offs first at a tick
        events.append((start * TICKS_PER_STEP, 1, pitch))
    events.sort()
    meta = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(TEMPO_QPM), time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("end_of_track", time=0),
        ]
    )
    track = mido.MidiTrack([mido.Message("program_change", program=0, channel=0, time=0)])
    now = 0
    for tick, on, pitch in events:
        track.append(mido.Message("note_on", note=pitch, velocity=VELOCITY if on else 0, channel=0, time=tick - now))
        now = tick
    # the track ends where the melody does, trailing rests included: read back, it is as long as written
    track.append(mido.MetaMessage("end_of_track", time=max(0, steps * TICKS_PER_STEP - now)))
    return mido.MidiFile(type=1, ticks_per_beat=STEPS_PER_QUARTER * TICKS_PER_STEP, tracks=[meta, track])


def midi_bytes(tokens) -> bytes:
    """The bytes of :func:`midi_file`."""
    import io

    buf = io.BytesIO()
    midi_file(tokens).save(file=buf)
    return buf.getvalue()


def write_midi(tokens, path: str | os.PathLike) -> None:
    """Write the MIDI file of raw tokens (:func:`midi_file`), atomically (temp file, then replace)."""
    data = midi_bytes(tokens)  # validate before touching the file system
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise EmovaeError(f"{path}: cannot write ({one_line(exc.strerror or str(exc), _REASON_CHARS)})") from None
