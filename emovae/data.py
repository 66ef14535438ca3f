"""The data set and its encoding: MIDI melodies <-> 64 pitch/rest/hold tokens.

A melody is four bars of 4/4 on a grid of sixteenth notes: ``N_STEPS = 64`` steps,
``STEPS_PER_QUARTER = 4``. Each step holds one *raw token*, MusPy's pitch-representation code
(``muspy.to_pitch_representation(use_hold_state=True)``): 0..127 = a note of that MIDI pitch
starts here, ``REST = 128`` = silence, ``HOLD = 129`` = the previous note goes on. The model
sees *indices* instead, positions in a :class:`Vocabulary` of the raw tokens that occur in the
data set (29 pitches + rest + hold = 31 on the real data).

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

Decoding (:func:`melody_to_music`, :func:`write_midi`) is our own, not
``muspy.from_pitch_representation`` (which merges a one-step note with a following onset of
the same pitch): an onset token starts a note, each HOLD right after it lengthens it by one
step, and a HOLD at the start or after a REST is a rest. The result has resolution 4,
tempo 120 BPM, a 4/4 time signature and one track (program 0, velocity 64).

Data set (:func:`load_dataset`): ``ROOT/e1 .. ROOT/e4/*.mid`` (or ``.midi``, the suffix in any
case; :func:`midi_files`), label = folder (0..3 = e1..e4), files ordered e1..e4, then by file
name; names starting with "." are skipped; missing emotion folders are allowed, but not a data set without a single file. Split
(:func:`split`): scikit-learn's stratified ``train_test_split`` of the row numbers, as the
authors called it (test_size 0.2, random_state 42): 275 training / 69 held-out rows on the
real data.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_path
from .emotions import LABELS
from .errors import EmovaeError, EmovaeWarning
from .limits import one_line

if TYPE_CHECKING:  # slow imports, loaded inside the functions that need them
    import mido
    import muspy

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
]

N_STEPS = 64  # 4 bars x 16 sixteenths
STEPS_PER_QUARTER = 4  # the grid: sixteenth notes
REST = 128  # MusPy pitch-representation code for a rest
HOLD = 129  # ... and for "the previous note goes on"
N_CODES = 130  # raw token values are 0..129
TEMPO_QPM = 120.0  # tempo of the MIDI files we write
VELOCITY = 64  # velocity of the notes we write
_REASON_CHARS = 120  # library messages are cut to this length in our errors
MAX_READ_BARS = 1024  # bars of a file read at most (memory stays bounded whatever the file says)
_SHORT_STEPS = 3 * N_STEPS // 4  # a file ending by this step lacks its fourth bar: "shorter than 4 bars"


def _count(n: int, word: str) -> str:
    """ "1 note", "2 notes"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt_values(values, limit: int = 10) -> str:
    """'50, 51' for a few sorted distinct values; the first ``limit`` and a count beyond."""
    values = sorted({int(v) for v in np.asarray(values).ravel()})
    shown = ", ".join(str(v) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _int_array(values, what: str) -> np.ndarray:
    """``values`` as an int64 array; EmovaeError if it does not hold integers."""
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise EmovaeError(f"{what}: expected integer tokens, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_codes(arr: np.ndarray, what: str) -> None:
    """EmovaeError naming the values of ``arr`` outside the raw token range 0..129."""
    bad = arr[(arr < 0) | (arr >= N_CODES)]
    if bad.size:
        raise EmovaeError(
            f"{what}: token value(s) {_fmt_values(bad)} outside 0..{N_CODES - 1} "
            f"(0-127 pitch, {REST} rest, {HOLD} hold)"
        )


# ---------------------------------------------------------------------------- reading


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


# ---------------------------------------------------------------------------- writing


def notes_of(tokens) -> list[tuple[int, int, int]]:
    """The notes of raw tokens (1-D, any length) as ``(onset step, duration in steps, pitch)``.

    An onset token starts a note; each HOLD after it lengthens the note by one step; REST ends
    it; a HOLD with no note to extend (at the start, after a REST) is a rest. The one reading of
    tokens as notes (:func:`note_arrays`; :func:`emovae.features.parse_notes` reads with it).
    ``[60, HOLD, REST, 62]`` -> ``[(0, 2, 60), (3, 1, 62)]``.
    """
    arr = _int_array(tokens, "melody")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]  # MusPy's own (T, 1) layout
    if arr.ndim != 1:
        raise EmovaeError(f"melody: expected a 1-D token sequence, got shape {arr.shape}")
    _check_codes(arr, "melody")
    return list(zip(*(a.tolist() for a in note_arrays(arr))))


def note_arrays(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`notes_of` as three arrays (onsets, durations, pitches), for a 1-D int64 token
    array already checked (0..129); :func:`emovae.features.parse_notes` reads notes with it."""
    onsets = np.flatnonzero(arr < REST)
    non_hold = np.flatnonzero(arr != HOLD)  # every onset is among these; a note ends at the next one
    nxt = np.searchsorted(non_hold, onsets, side="right")
    ends = np.where(nxt < len(non_hold), non_hold[np.minimum(nxt, len(non_hold) - 1)], len(arr))
    return onsets, ends - onsets, arr[onsets]


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


TICKS_PER_STEP = 1  # MIDI files we write: 4 ticks per quarter note (one per sixteenth), as MusPy wrote them


def token_hash(tokens) -> str:
    """SHA-256 of raw tokens written as decimal numbers joined by commas ("60,129,..."): a
    melody's identity without its notes (the manifest's and the copy guard's)."""
    import hashlib

    arr = np.asarray(tokens).reshape(-1)
    return hashlib.sha256(",".join(str(int(t)) for t in arr).encode()).hexdigest()


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


# ---------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """The raw token values the model can see, sorted: pitches ascending, then REST, HOLD.

    Index ``i`` (what the model sees) stands for raw token ``tokens[i]``.
    """

    tokens: tuple[int, ...]

    def __post_init__(self):
        toks = tuple(int(t) for t in self.tokens)
        bad = [t for t in toks if not 0 <= t < N_CODES]
        if bad:
            raise EmovaeError(f"vocabulary: token value(s) {_fmt_values(bad)} outside 0..{N_CODES - 1}")
        if any(a >= b for a, b in zip(toks, toks[1:])):
            raise EmovaeError("vocabulary: tokens must be distinct and in ascending order")
        if REST not in toks or HOLD not in toks:
            raise EmovaeError(f"vocabulary: must hold rest ({REST}) and hold ({HOLD})")
        object.__setattr__(self, "tokens", toks)

    @classmethod
    def build(cls, raw_tokens: np.ndarray) -> Vocabulary:
        """The distinct values of a raw token array (e.g. (N, 64)), plus REST and HOLD."""
        arr = _int_array(raw_tokens, "vocabulary")
        _check_codes(arr, "vocabulary")
        return cls(tuple(sorted(set(np.unique(arr).tolist()) | {REST, HOLD})))

    @property
    def size(self) -> int:
        """Number of classes (31 on the real data)."""
        return len(self.tokens)

    @property
    def pitches(self) -> tuple[int, ...]:
        """The MIDI pitches in the vocabulary, ascending."""
        return tuple(t for t in self.tokens if t < REST)

    def _lookup(self) -> np.ndarray:
        table = np.full(N_CODES, -1, dtype=np.int64)
        table[list(self.tokens)] = np.arange(self.size)
        return table

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Raw tokens (any shape) -> int64 indices; a pitch not in the vocabulary raises."""
        arr = _int_array(raw, "tokens")
        _check_codes(arr, "tokens")
        idx = self._lookup()[arr]
        if (idx < 0).any():
            have = (
                f"{len(self.pitches)} pitches between {self.pitches[0]} and {self.pitches[-1]}"
                if self.pitches
                else "no pitches"
            )
            raise EmovaeError(
                f"pitch(es) {_fmt_values(arr[idx < 0])} not in the vocabulary (which has {have}, plus rest and hold)"
            )
        return idx

    def decode(self, idx: np.ndarray) -> np.ndarray:
        """Indices (any shape) -> int64 raw tokens; an index outside 0..size-1 raises."""
        arr = _int_array(idx, "indices")
        bad = arr[(arr < 0) | (arr >= self.size)]
        if bad.size:
            raise EmovaeError(f"index/indices {_fmt_values(bad)} outside the vocabulary's 0..{self.size - 1}")
        return np.asarray(self.tokens, dtype=np.int64)[arr]

    def check_covers(self, raw_tokens, where: str = "model") -> None:
        """Raise if ``raw_tokens`` hold pitches this vocabulary lacks (a model trained on another
        vocabulary than the data it is given)."""
        arr = _int_array(raw_tokens, "tokens")
        missing = sorted(set(np.unique(arr).tolist()) - set(self.tokens))
        if missing:
            raise EmovaeError(
                f"{where}: the model's vocabulary ({self.size} tokens) lacks pitch(es) {_fmt_values(missing)} "
                "of this data set; it was trained on another vocabulary"
            )

    def to_list(self) -> list[int]:
        """The raw token values as a plain list (for checkpoints)."""
        return list(self.tokens)

    @classmethod
    def from_list(cls, tokens) -> Vocabulary:
        """The inverse of :meth:`to_list`; checks the list (ascending, 0..129, rest and hold)."""
        try:
            return cls(tuple(int(t) for t in tokens))
        except (TypeError, ValueError) as exc:
            raise EmovaeError(f"vocabulary: not a list of integer tokens ({one_line(exc, _REASON_CHARS)})") from None


# ---------------------------------------------------------------------------- data set


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
    for label, name in enumerate(LABELS):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in midi_files(folder):
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
