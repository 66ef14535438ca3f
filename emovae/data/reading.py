"""Reading MIDI files as raw tokens (:mod:`emovae.data.tokens`).

Reading rules (:func:`read_melody`; every problem raises a one-line
:class:`~emovae.errors.EmovaeError` that starts with the file's path):

1. Files. A missing path gives "PATH: no such file", a directory "PATH: not a file", a
   0-byte file "PATH: empty file", a file MusPy/mido cannot parse (random bytes, a truncated
   file) "PATH: not a readable MIDI file (REASON)", REASON being the library's message on one
   line. A readable file without a single note gives "PATH: no notes", and one whose only
   notes are on the drum channel "PATH: no notes (drum-channel notes are ignored)".
2. Tracks. All non-drum tracks are merged into one stream of notes; drum-channel notes
   (MIDI channel 10) are ignored.
3. Tempo. Tempo changes in the file are ignored: the grid is counted in beats (quarter
   notes), not in seconds.
4. Time signature. Only the signatures in force where notes start are judged. The signature
   in force at a time is the last one at or before it (signatures sorted by time, stably);
   before the first one, and in a file with none, 4/4 is in force. A signature other than 4/4
   in force at any note onset raises "PATH: time signature 3/4 at beat N; emovae reads 4/4
   melodies only", N being the signature's own position in quarter notes counted from 0.
   Signatures that take effect after the last note onset are ignored (three files of the
   data set carry one after their music).
5. Quantisation. Each note's onset and end are rounded, separately, to the nearest sixteenth
   (4 steps per quarter; exact halves round up). A note whose rounded end is not after its
   rounded onset (a note shorter than about half a sixteenth) is dropped, with one
   ``EmovaeWarning`` "PATH: N notes shorter than half a 16th dropped when quantised to 16ths";
   if that leaves no note: "PATH: no notes (all N notes are shorter than half a 16th)".
6. Polyphony. If the quantised notes overlap, the melody is reduced to its highest line
   (skyline): at each onset only the highest-pitched note starting there is kept (the longest
   of them if it is doubled; the others are dropped), and a kept note is cut short where the next kept note starts. Notes keep
   their pitch; a note is never cut to length 0, since the kept onsets are all different.
   One ``EmovaeWarning`` "PATH: polyphonic (N overlapping notes); reduced to its highest
   line" is emitted per file, N counting the notes dropped or cut short.
7. Length. The notes are encoded with ``muspy.to_pitch_representation(use_hold_state=True)``
   from step 0, so leading rests are kept; the sequence ends where the last note ends. It is
   then made exactly 64 steps long at its end: a shorter one is padded with REST, a longer
   one is trimmed (a note crossing step 64 is cut there; notes starting later are lost).
   A file whose notes all start at step 64 or later raises "PATH: no notes in the first 4
   bars (64 sixteenths)". Two cases get one ``EmovaeWarning`` each: a file **shorter than 4
   bars** (its notes and its end of track both end by step 48, so its fourth bar is not
   there at all) "PATH: shorter than 4 bars (2 bars); padded with rests to 4 bars", and, in
   :func:`read_melody`, a file with notes starting **after its fourth bar** "PATH: longer
   than 4 bars (30 bars); only its first 4 bars are read (N notes after bar 4 dropped)"
   (:func:`read_segments` reads such a file as consecutive 4-bar segments instead). A note
   crossing step 64 is cut there without a word: 27 files of the data set (14 to 18 beats)
   end that way. The length of a file is the later of its last note's end and its end of
   track (the ``end_of_track`` event), so a melody written by :func:`write_midi` whose last
   bar is silent is still 4 bars long. At most ``MAX_READ_BARS`` (1024) bars are read: a
   file with notes beyond them is an error (``read_segments``) or trimmed (``read_melody``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import EmovaeError, EmovaeWarning
from ..limits import one_line
from .tokens import _REASON_CHARS, N_STEPS, REST, STEPS_PER_QUARTER, _count

if TYPE_CHECKING:  # slow import, loaded inside the functions that need it
    import muspy

MAX_READ_BARS = 1024  # bars of a file read at most (memory stays bounded whatever the file says)
_SHORT_STEPS = 3 * N_STEPS // 4  # a file ending by this step lacks its fourth bar: "shorter than 4 bars"


class SilentFileError(EmovaeError):
    """A readable MIDI file without a single note (drum notes neither): "PATH: no notes". Tools
    that measure generated melodies (:mod:`emovae.metrics`) may count it as a silent melody."""


def _read_music(path: Path) -> tuple[muspy.Music, int]:
    """Parse a MIDI file with mido and MusPy (``muspy.read_midi``'s own steps) and return it with
    its end of track in ticks; file problems become EmovaeError (rule 1)."""
    import mido
    import muspy

    if not path.exists():
        raise EmovaeError(f"{path}: no such file")
    if not path.is_file():
        raise EmovaeError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise EmovaeError(f"{path}: empty file")
    try:
        midi = mido.MidiFile(filename=str(path))
        music = muspy.from_mido(midi)
        end = max((sum(msg.time for msg in track) for track in midi.tracks), default=0)
    except Exception as exc:  # noqa: BLE001 - mido/MusPy raise OSError, EOFError, ValueError, KeyError, ...
        reason = one_line(str(exc), _REASON_CHARS) or {"EOFError": "unexpected end of file"}.get(
            type(exc).__name__, type(exc).__name__
        )
        raise EmovaeError(f"{path}: not a readable MIDI file ({reason})") from None
    if music.resolution <= 0:
        raise EmovaeError(f"{path}: not a readable MIDI file (a time division of {music.resolution} ticks per beat)")
    return music, int(end)


def _check_time_signatures(path: Path, music, onsets: list[int]) -> None:
    """Rule 4: every note onset must fall where 4/4 (or no signature) is in force."""
    signatures = sorted(music.time_signatures, key=lambda s: s.time)  # stable sort
    if not signatures or not onsets:
        return
    sig_times = [s.time for s in signatures]
    for onset in sorted(set(onsets)):
        # the last signature at or before this onset (searchsorted 'right' - 1)
        k = int(np.searchsorted(sig_times, onset, side="right")) - 1
        if k < 0:
            continue  # before the first signature: 4/4 by MIDI's default
        sig = signatures[k]
        if (sig.numerator, sig.denominator) != (4, 4):
            beat = sig.time / music.resolution
            beat_txt = f"{beat:g}" if beat != int(beat) else str(int(beat))
            raise EmovaeError(
                f"{path}: time signature {sig.numerator}/{sig.denominator} at beat "
                f"{beat_txt}; emovae reads 4/4 melodies only"
            )


def _to_step(tick: int, resolution: int) -> int:
    """Nearest sixteenth of a tick (``resolution`` ticks per quarter), halves rounded up."""
    # floor(tick * 4 / resolution + 1/2), in exact integer arithmetic
    return (2 * STEPS_PER_QUARTER * tick + resolution) // (2 * resolution)


def skyline(notes: list[tuple[int, int, int]]) -> tuple[list[tuple[int, int, int]], int]:
    """Rule 6: reduce (onset, end, pitch) notes to their highest line.

    Returns the monophonic notes, sorted by onset, and the number of notes that were dropped
    (not the highest at their onset) or cut short (by a later onset). 0 means no overlap.
    """
    ordered = sorted(notes, key=lambda n: (n[0], -n[2], -n[1]))
    kept: list[list[int]] = []
    changed = 0
    for onset, end, pitch in ordered:
        if kept and kept[-1][0] == onset:
            changed += 1  # a lower (or equal) note starting with the kept one: dropped
            continue
        if kept and kept[-1][1] > onset:
            kept[-1][1] = onset  # the sounding note ends where this one starts
            changed += 1
        kept.append([onset, end, pitch])
    return [(o, e, p) for o, e, p in kept], changed


def _fit_length(tokens: np.ndarray, n_steps: int = N_STEPS) -> np.ndarray:
    """Rule 7: pad with REST or trim, both at the end, to exactly ``n_steps`` tokens."""
    if len(tokens) >= n_steps:
        return tokens[:n_steps].copy()
    return np.concatenate([tokens, np.full(n_steps - len(tokens), REST, dtype=np.int64)])


def read_melody(path: str | os.PathLike) -> np.ndarray:
    """Read a MIDI file as 64 raw tokens (int64, shape (64,)) by the module's reading rules.

    Raises EmovaeError (one line, naming the file) for a file that cannot be read by them, and
    warns with EmovaeWarning when it reduces a polyphonic file, drops too-short notes, pads a
    file shorter than 4 bars or drops the notes after the fourth bar of a longer one (rule 7).
    """
    tokens, length, late = _read(path, N_STEPS)
    if (tokens[:N_STEPS] >= REST).all():
        raise EmovaeError(f"{path}: no notes in the first 4 bars ({N_STEPS} sixteenths)")
    _warn_short(path, length)
    if late:
        bars = _bars(late[1])
        warnings.warn(
            f"{path}: longer than 4 bars ({bars} bars); only its first 4 bars are read "
            f"({late[0]} note{'s' if late[0] != 1 else ''} after bar 4 dropped)",
            EmovaeWarning,
            stacklevel=2,
        )
    return _fit_length(tokens)


def _bars(steps: int) -> str:
    """A length in steps as bars: '2', '2.5', '30'."""
    return f"{round(steps / 16, 2):g}"


def _warn_short(path, length: int) -> None:
    """Rule 7's warning for a file that ends before its fourth bar starts."""
    if length <= _SHORT_STEPS:
        warnings.warn(
            f"{path}: shorter than 4 bars ({_bars(length)} bars); padded with rests to 4 bars",
            EmovaeWarning,
            stacklevel=3,
        )


def read_segments(path: str | os.PathLike) -> np.ndarray:
    """Read a MIDI file of any length as consecutive 4-bar segments: raw tokens (k, 64).

    Rules 1-6 as :func:`read_melody` (a file without a note in its first 4 bars is an error
    here too); then the steps are cut into 64-step segments from step 0,
    the last one padded with REST, and trailing segments without a note are dropped. A file
    whose notes and end of track end before its fourth bar starts (step 48) is shorter than 4
    bars: it is padded with rests, with a one-line EmovaeWarning saying so (rule 7). A file
    with notes after ``MAX_READ_BARS`` bars is an error.
    """
    tokens, length, late = _read(path, MAX_READ_BARS * 16)
    if late:
        raise EmovaeError(
            f"{path}: longer than {MAX_READ_BARS} bars ({_bars(late[1])} bars); emovae reads at most {MAX_READ_BARS}"
        )
    sounding = np.flatnonzero(tokens < REST)
    if sounding[0] >= N_STEPS:
        raise EmovaeError(f"{path}: no notes in the first 4 bars ({N_STEPS} sixteenths)")
    _warn_short(path, length)
    k = max(1, -(-int(sounding[-1] + 1) // N_STEPS))
    return _fit_length(tokens, k * N_STEPS).reshape(k, N_STEPS)


def read_steps(path: str | os.PathLike) -> np.ndarray:
    """Rules 1-6 of the module: a MIDI file as raw tokens from step 0 to the end of its last
    note (int64, any length up to ``MAX_READ_BARS`` bars: notes starting later are an error);
    :func:`read_melody` and :func:`read_segments` cut it to bars."""
    tokens, _, late = _read(path, MAX_READ_BARS * 16)
    if late:
        raise EmovaeError(
            f"{path}: longer than {MAX_READ_BARS} bars ({_bars(late[1])} bars); emovae reads at most {MAX_READ_BARS}"
        )
    return tokens


def _read(path, limit: int) -> tuple[np.ndarray, int, tuple[int, int] | None]:
    """Rules 1-6 up to step ``limit``: (raw tokens from step 0 to the end of the last note,
    clipped at ``limit``; the file's length in steps (the later of the last note's end and
    the end of track); None, or (notes starting at ``limit`` or later, the end of the last
    of them) when there are such notes: they are not in the tokens)."""
    import muspy

    path = Path(path)
    music, end_tick = _read_music(path)
    raw = [note for track in music.tracks if not track.is_drum for note in track.notes]
    if not raw:
        if any(track.notes for track in music.tracks if track.is_drum):
            raise EmovaeError(f"{path}: no notes (drum-channel notes are ignored)")
        raise SilentFileError(f"{path}: no notes")

    _check_time_signatures(path, music, [note.time for note in raw])

    res = music.resolution
    quantised = [(_to_step(n.time, res), _to_step(n.time + n.duration, res), n.pitch) for n in raw]
    notes = [n for n in quantised if n[1] > n[0]]
    if not notes:
        raise EmovaeError(
            f"{path}: no notes ("
            + (f"all {len(raw)} notes are" if len(raw) != 1 else "its one note is")
            + " shorter than half a 16th)"
        )
    if len(notes) < len(quantised):
        warnings.warn(
            f"{path}: {_count(len(quantised) - len(notes), 'note')} shorter than half a 16th dropped when quantised to 16ths",
            EmovaeWarning,
            stacklevel=2,
        )

    late_notes = [n for n in notes if n[0] >= limit]
    late = (len(late_notes), max(e for _, e, _ in late_notes)) if late_notes else None
    notes = [(o, min(e, limit), p) for o, e, p in notes if o < limit]
    if not notes:
        raise EmovaeError(f"{path}: no notes in the first 4 bars ({N_STEPS} sixteenths)")
    length = max(max(e for _, e, _ in notes), min(_to_step(end_tick, res), limit))
    notes, n_overlapping = skyline(notes)
    if n_overlapping:
        warnings.warn(
            f"{path}: polyphonic ({_count(n_overlapping, 'overlapping note')}); reduced to its highest line",
            EmovaeWarning,
            stacklevel=2,
        )
    grid = muspy.Music(
        resolution=STEPS_PER_QUARTER,
        tracks=[muspy.Track(notes=[muspy.Note(time=o, pitch=p, duration=e - o) for o, e, p in notes])],
    )
    tokens = muspy.to_pitch_representation(grid, use_hold_state=True, dtype=np.int64).reshape(-1)
    return tokens, length, late
