"""Outputs a person can read and hear: MIDI bytes, MusicXML, an SVG score and WAV audio.

Every function takes *raw tokens* (:mod:`emovae.data`): a 1-D integer array whose length is a
whole number of 4/4 bars of 16 sixteenth steps (64 steps = 4 bars, 256 = 16 bars); 0..127 = a
note of that MIDI pitch starts, ``REST = 128``, ``HOLD = 129``. The notes are those
:func:`emovae.data.melody_to_music` decodes (:func:`notes`): an onset starts a note, each HOLD
right after it lengthens it by one step, a HOLD at the start or after a REST is a rest.
Anything else (an empty array, a length that is not a multiple of 16, a 2-D array, floats,
a value outside 0..129) raises a one-line :class:`~emovae.errors.EmovaeError`.

Formats:

- **MIDI** (:func:`to_midi_bytes`): the bytes :func:`emovae.data.write_midi` writes (which stays
  the file writer): 120 BPM, 4/4, piano, velocity 64.
- **MusicXML** (:func:`to_musicxml`), built with music21: one treble-or-bass part (music21's best
  clef), 4/4, bars of 16 sixteenths; a note or rest crossing a barline is split there, the note
  halves tied; a duration no single note value expresses (5 sixteenths ...) is written as tied
  notes (music21's ``makeNotation``), beams by beat. **Key**: the data are in C major or C
  minor and the melody does not say which, so **no key signature** is written and every
  accidental is printed. Black keys are spelled for C major/minor: C#, Eb, F#, Ab, Bb.
  No composer, no encoding date: the same tokens give the same text.
- **SVG** (:func:`to_svg`): the MusicXML engraved by verovio (PyPI ``verovio``, offline: its
  fonts ship in the wheel), page width 2100 units (as many bars a system as fit: six to eight
  for the data set's melodies), **one page whose height is adapted to the music**
  (``adjustPageHeight``, page height up to ``_PAGE_HEIGHT``), so a 16-bar melody is one SVG; a
  melody too long for one page (about 1,000 bars) has its pages **joined** one below the
  other into one SVG. The root element has a ``viewBox``, so it scales in a browser.
- **WAV** (:func:`to_wav`): 16-bit PCM, **mono**, ``sample_rate`` Hz, exactly
  ``steps * 0.125 s + TAIL_S`` long (120 BPM, a sixteenth = 0.125 s; 64 steps -> 8.5 s), so
  a note's release is heard. With the ``fluidsynth`` program and a General MIDI soundfont
  (``soundfont=``, else ``$EMOVAE_SOUNDFONT``, else ``/usr/share/sounds/sf2/FluidR3_GM.sf2``,
  else ``/usr/share/soundfonts/default.sf2``; Debian: ``apt install fluidsynth
  fluid-soundfont-gm``) the MIDI is rendered by FluidSynth (piano, gain ``FLUIDSYNTH_GAIN``,
  its stereo downmixed to mono, cut or padded with silence to the length above). Without
  them (or when FluidSynth fails) a small NumPy synthesis is used (:func:`synthesize`) and one
  :class:`~emovae.errors.EmovaeWarning` per process says what is missing. ``synth="numpy"``
  (or ``$EMOVAE_SYNTH=numpy``) forces the NumPy synthesis; ``synth="fluidsynth"`` makes a
  missing FluidSynth an error instead.

Writing (:func:`write`, and each ``path=`` argument) is atomic (:mod:`emovae.atomic`): a temp
file beside the target, then one rename; :func:`write` renders every format in memory before
it writes the first file, so bad input or an unknown format leaves nothing behind.

``import emovae.render`` loads NumPy only; music21, verovio and mido are imported by the
functions that use them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .data import STEPS_PER_QUARTER, TEMPO_QPM, midi_bytes, notes_of
from .errors import EmovaeError, EmovaeWarning
from .limits import one_line

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

STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # 16 sixteenths in a 4/4 bar
SECONDS_PER_STEP = 60.0 / TEMPO_QPM / STEPS_PER_QUARTER  # 0.125 s at 120 BPM
TAIL_S = 0.5  # silence after the last step, for releases
FORMATS = {"midi": ".mid", "musicxml": ".musicxml", "svg": ".svg", "wav": ".wav"}
SOUNDFONT_PATHS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/default.sf2")
SYNTHS = ("auto", "fluidsynth", "numpy")
MIN_BPM, MAX_BPM = 20.0, 400.0  # the tempi to_wav accepts (the web page offers 60..180)
FLUIDSYNTH_GAIN = 3.0  # FluidR3 piano at velocity 64, mono: peaks about -13 dBFS
FLUIDSYNTH_TIMEOUT_S = 120.0
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000  # FluidSynth's own range

# Pitch-class spelling for C major / C minor (no key signature is written).
_SPELLING = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_PAGE_WIDTH = 2100
_PAGE_HEIGHT = 60000  # verovio's largest page; adjustPageHeight shrinks it to the music

_fallback_warned = False  # one EmovaeWarning per process for the NumPy fallback
_verovio_lock = threading.Lock()
_verovio_toolkit = None


# ---------------------------------------------------------------------------- tokens


def _melody(tokens) -> np.ndarray:
    """``tokens`` as a validated 1-D int64 array of whole bars (EmovaeError otherwise)."""
    arr = np.asarray(tokens)
    if arr.dtype == object or arr.dtype == bool or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise EmovaeError(f"melody: expected integer tokens, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise EmovaeError(f"melody: expected a 1-D token sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise EmovaeError("melody: no steps (expected a multiple of 16 sixteenth steps, 64 for 4 bars)")
    if arr.size % STEPS_PER_BAR:
        raise EmovaeError(f"melody: {arr.size} steps is not a whole number of 4/4 bars ({STEPS_PER_BAR} steps each)")
    arr = arr.astype(np.int64)
    notes_of(arr)  # value check: 0..129
    return arr


def notes(tokens) -> list[tuple[int, int, int]]:
    """The notes of a melody as ``(start_step, duration_steps, pitch)``, in time order.

    Decoded as :func:`emovae.data.melody_to_music` does: a pitch token starts a note, each
    HOLD right after it lengthens it by one step, REST ends it, and a HOLD at the start or
    after a REST is a rest. E.g. for 16 steps ``[HOLD, 60, HOLD, HOLD, REST, HOLD, 62, 64, HOLD,
    REST...]`` -> ``[(1, 3, 60), (6, 1, 62), (7, 2, 64)]``.
    """
    return [(int(s), int(d), int(p)) for s, d, p in notes_of(_melody(tokens))]


def _cannot_write(path: Path, exc: OSError) -> EmovaeError:
    reason = one_line(exc.strerror or exc)
    return EmovaeError(f"{path}: cannot write ({reason})")


def _write_bytes(path, data: bytes) -> None:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


# ---------------------------------------------------------------------------- MIDI


def to_midi_bytes(tokens) -> bytes:
    """The standard MIDI file of a melody, as bytes: what :func:`emovae.data.write_midi` writes."""
    return midi_bytes(_melody(tokens))


# ---------------------------------------------------------------------------- MusicXML


def _score(arr: np.ndarray, title: str | None):
    """A music21 Score of the melody: one part, 4/4, notes and rests in sixteenths."""
    from music21 import metadata, meter, note, stream

    part = stream.Part(id="P1")
    part.append(meter.TimeSignature("4/4"))
    pos = 0
    for start, duration, pitch in notes_of(arr):
        if start > pos:
            part.append(note.Rest(quarterLength=(start - pos) / STEPS_PER_QUARTER))
        name = f"{_SPELLING[pitch % 12]}{pitch // 12 - 1}"
        part.append(note.Note(name, quarterLength=duration / STEPS_PER_QUARTER))
        pos = start + duration
    if pos < arr.size:
        part.append(note.Rest(quarterLength=(arr.size - pos) / STEPS_PER_QUARTER))
    score = stream.Score(id="emovae")
    score.metadata = metadata.Metadata()
    score.metadata.title = title or ""
    score.metadata.movementName = title or ""
    score.insert(0, part)
    return score


def _printable(text: str | None) -> str | None:
    """A file name's stem as text: bytes that were not UTF-8 (a non-UTF-8 file name) become U+FFFD."""
    return None if text is None else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _musicxml(arr: np.ndarray, title: str | None) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter, ScoreExporter

    wellformed = GeneralObjectExporter().fromGeneralObject(_score(arr, _printable(title)))  # copy + makeNotation
    exporter = ScoreExporter(wellformed)
    root = exporter.parse()
    for element in (root.find("part-list/score-part"), root.find("part")):
        if element is not None:
            element.set("id", "P1")  # music21 makes a random id: output not reproducible
    identification = root.find("identification")
    if identification is not None:
        for creator in identification.findall("creator"):  # music21's default composer "Music21"
            identification.remove(creator)
        for encoding in identification.findall("encoding"):
            for date in encoding.findall("encoding-date"):  # today's date: output not reproducible
                encoding.remove(date)
    return exporter.asBytes().decode("utf-8")


def to_musicxml(tokens, path: str | os.PathLike | None = None, title: str | None = None) -> str:
    """The melody as a MusicXML (partwise) document; written atomically to ``path`` if given.

    4/4, no key signature (C major or minor is not known; black keys spelled C# Eb F# Ab Bb),
    notes and rests split at barlines with ties, ``title`` as work and movement title.
    """
    text = _musicxml(_melody(tokens), title)
    if path is not None:
        _write_bytes(path, text.encode("utf-8"))
    return text


# ---------------------------------------------------------------------------- SVG


def _toolkit():
    """The process's verovio toolkit (created once; callers hold ``_verovio_lock``)."""
    global _verovio_toolkit
    if _verovio_toolkit is None:
        import verovio

        verovio.enableLog(verovio.LOG_OFF)
        _verovio_toolkit = verovio.toolkit()
    return _verovio_toolkit


def _svg_size(svg: str) -> tuple[float, float]:
    """(width, height) of an SVG from its root's ``viewBox`` (or ``width``/``height``)."""
    start = svg.index("<svg")
    head = svg[start : svg.index(">", start)]
    box = re.search(r'\sviewBox="\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*"', head)
    if box:
        return float(box.group(1)), float(box.group(2))
    width = re.search(r'\swidth="([0-9.]+)(?:px)?"', head)
    height = re.search(r'\sheight="([0-9.]+)(?:px)?"', head)
    if not width or not height:
        raise RuntimeError("verovio page without a size")  # not expected from verovio
    return float(width.group(1)), float(height.group(1))


def _join_pages(pages: list[str]) -> str:
    """One SVG holding verovio's pages one below the other (nested <svg> elements)."""
    sizes = [_svg_size(p) for p in pages]
    width = max(w for w, _ in sizes)
    parts, y = [], 0.0
    for page, (w, h) in zip(pages, sizes):
        start = page.index("<svg")
        head = page[start + 4 : page.index(">", start)]
        if " width=" in head or " height=" in head:  # keep the page's own size attributes
            parts.append(f'<svg x="0" y="{y:g}"' + page[start + 4 :])
        else:
            parts.append(f'<svg x="0" y="{y:g}" width="{w:g}" height="{h:g}"' + page[start + 4 :])
        y += h
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'viewBox="0 0 {width:g} {y:g}">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _svg_from_musicxml(xml: str, header: bool) -> str:
    with _verovio_lock:
        tk = _toolkit()
        tk.setOptions(
            {
                "inputFrom": "musicxml",
                "pageWidth": _PAGE_WIDTH,
                "pageHeight": _PAGE_HEIGHT,
                "adjustPageHeight": True,
                "breaks": "auto",
                "header": "auto" if header else "none",
                "footer": "none",
                "svgViewBox": True,
                "xmlIdSeed": 1,  # ids from a fixed seed: the same melody gives the same SVG
            }
        )
        tk.resetXmlIdSeed(1)  # setting the same option again does not restart the id sequence
        if not tk.loadData(xml):
            raise RuntimeError("verovio could not read the MusicXML emovae wrote")  # a bug, not bad input
        pages = [tk.renderToSVG(p) for p in range(1, tk.getPageCount() + 1)]
    return pages[0] if len(pages) == 1 else _join_pages(pages)


def to_svg(tokens, path: str | os.PathLike | None = None, title: str | None = None) -> str:
    """The melody's score as one SVG document (verovio engraving of :func:`to_musicxml`).

    All bars on as few systems as the 2100-unit page width holds, one page whose height is
    adapted to the systems (pages joined one below the other if it ever takes more than
    one). Written atomically to ``path`` if given.
    """
    arr = _melody(tokens)
    svg = _svg_from_musicxml(_musicxml(arr, title), header=bool(title))
    if path is not None:
        _write_bytes(path, svg.encode("utf-8"))
    return svg


# ---------------------------------------------------------------------------- WAV


def _n_samples(n_steps: int, sample_rate: int, bpm: float = TEMPO_QPM) -> int:
    return round((n_steps * _step_s(bpm) + TAIL_S) * sample_rate)


def _step_s(bpm: float) -> float:
    """Seconds a sixteenth step lasts at ``bpm`` quarter notes a minute (0.125 s at 120)."""
    return 60.0 / bpm / STEPS_PER_QUARTER


def _check_bpm(bpm) -> float:
    if (
        isinstance(bpm, bool)
        or not isinstance(bpm, (int, float, np.integer, np.floating))
        or not (MIN_BPM <= float(bpm) <= MAX_BPM)
    ):
        raise EmovaeError(f"tempo {bpm!r}: expected {MIN_BPM:g}..{MAX_BPM:g} quarter notes a minute (BPM)")
    return float(bpm)


def synthesize(tokens, sample_rate: int = 44100, bpm: float = TEMPO_QPM) -> np.ndarray:
    """A small additive synthesis of the melody: float32 mono samples in [-1, 1].

    Each note of MIDI pitch ``p`` (frequency ``f = 440 * 2 ** ((p - 69) / 12)``) sounding from
    ``t0`` for ``d`` seconds is ``0.2 * e(t) * sum_k k**-1.5 * exp(-1.5 k t) * sin(2 pi k f t)``
    over harmonics ``k = 1..6`` below the Nyquist frequency, ``t`` counted from the onset:
    a soft plucked tone whose upper harmonics die first. The envelope ``e(t)`` rises linearly
    over 5 ms, decays as ``exp(-1.2 t)`` and, after the note's end, falls linearly to 0 in
    80 ms. The result is ``steps * 0.125 s + TAIL_S`` long at 120 BPM (a step lasts
    ``15 / bpm`` s); rests are exact zeros.
    """
    arr = _melody(tokens)
    sample_rate = _check_rate(sample_rate)
    bpm = _check_bpm(bpm)
    step_s = _step_s(bpm)
    out = np.zeros(_n_samples(arr.size, sample_rate, bpm), dtype=np.float64)
    attack, release = 0.005, 0.08
    for start, duration, pitch in notes_of(arr):
        length = duration * step_s
        n = round((length + release) * sample_rate)
        t = np.arange(n) / sample_rate
        env = np.minimum(t / attack, 1.0) * np.exp(-1.2 * t)
        env *= np.clip(1.0 - (t - length) / release, 0.0, 1.0)
        freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
        tone = np.zeros(n)
        for k in range(1, 7):
            if k * freq >= sample_rate / 2:
                break
            tone += k**-1.5 * np.exp(-1.5 * k * t) * np.sin(2 * np.pi * k * freq * t)
        i0 = round(start * step_s * sample_rate)
        seg = out[i0 : i0 + n]
        seg += 0.2 * (env * tone)[: seg.size]
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _check_rate(sample_rate) -> int:
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not (MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE)
    ):
        raise EmovaeError(
            f"sample rate {sample_rate!r}: expected a whole number of Hz in {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}"
        )
    return int(sample_rate)


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono WAV of float samples in [-1, 1]."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def find_soundfont(soundfont: str | os.PathLike | None = None) -> Path | None:
    """The General MIDI soundfont to use: ``soundfont`` (EmovaeError if it is not a file),
    else ``$EMOVAE_SOUNDFONT`` if it is a file, else the first of :data:`SOUNDFONT_PATHS` that
    exists; None when there is none."""
    if soundfont is not None:
        path = Path(soundfont)
        if not path.is_file():
            raise EmovaeError(f"{path}: soundfont not found (no such file)")
        return path
    candidates = [os.environ["EMOVAE_SOUNDFONT"]] if os.environ.get("EMOVAE_SOUNDFONT") else []
    for candidate in [*candidates, *SOUNDFONT_PATHS]:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _midi_at(arr: np.ndarray, bpm: float) -> bytes:
    """The melody's MIDI bytes with its tempo set to ``bpm``."""
    if bpm == TEMPO_QPM:
        return midi_bytes(arr)
    import mido

    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(arr)))
    for track in midi.tracks:
        for msg in track:
            if msg.type == "set_tempo":
                msg.tempo = mido.bpm2tempo(bpm)
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def _fluidsynth(exe: str, soundfont: Path, arr: np.ndarray, sample_rate: int, bpm: float = TEMPO_QPM) -> np.ndarray:
    """Render with the fluidsynth program; float mono samples. RuntimeError with the reason."""
    with tempfile.TemporaryDirectory(prefix="emovae-wav-") as tmp:
        mid, out = Path(tmp) / "melody.mid", Path(tmp) / "melody.wav"
        mid.write_bytes(_midi_at(arr, bpm))
        cmd = [
            exe,
            "-n",
            "-i",
            "-q",
            "-g",
            str(FLUIDSYNTH_GAIN),
            "-r",
            str(sample_rate),
            "-T",
            "wav",
            "-O",
            "s16",
            "-F",
            str(out),
            str(soundfont),
            str(mid),
        ]
        try:
            proc = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=FLUIDSYNTH_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(one_line(exc)) from None
        if proc.returncode != 0 or not out.is_file():
            reason = one_line(proc.stderr or proc.stdout or "", 120)
            raise RuntimeError(f"exit status {proc.returncode}" + (f": {reason}" if reason else ""))
        try:
            with wave.open(str(out), "rb") as w:
                channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
                frames = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as exc:
            raise RuntimeError(f"unreadable output ({exc})") from None
    if width != 2 or rate != sample_rate:
        raise RuntimeError(f"unexpected output ({8 * width}-bit, {rate} Hz)")
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    samples = pcm.reshape(-1, channels).mean(axis=1)
    n = _n_samples(arr.size, sample_rate, bpm)
    return np.concatenate([samples[:n], np.zeros(max(0, n - samples.size))])


def _fallback(reason: str) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn(
            f"{reason}; WAV is made by emovae's small NumPy synthesis instead "
            "(for a General MIDI piano: apt install fluidsynth fluid-soundfont-gm)",
            EmovaeWarning,
            stacklevel=3,
        )


def to_wav(
    tokens,
    path: str | os.PathLike | None = None,
    *,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    synth: str | None = None,
    bpm: float = TEMPO_QPM,
) -> bytes:
    """The melody as WAV bytes (16-bit mono PCM), written atomically to ``path`` if given.

    ``synth``: ``"auto"`` (default, or ``$EMOVAE_SYNTH``) uses FluidSynth with a General MIDI
    soundfont (:func:`find_soundfont`) when both are there, else :func:`synthesize` with one
    EmovaeWarning per process; ``"fluidsynth"`` raises EmovaeError instead of falling back;
    ``"numpy"`` always uses :func:`synthesize`. Length ``steps * 0.125 s + TAIL_S`` at the
    default 120 BPM; ``bpm`` (MIN_BPM..MAX_BPM quarter notes a minute) sets another tempo.
    """
    arr = _melody(tokens)
    sample_rate = _check_rate(sample_rate)
    bpm = _check_bpm(bpm)
    mode = (synth if synth is not None else os.environ.get("EMOVAE_SYNTH") or "auto").strip().lower()
    if mode not in SYNTHS:
        raise EmovaeError(f"synth {mode!r}: unknown; use one of {', '.join(SYNTHS)}")
    samples = None
    if mode != "numpy":
        exe = shutil.which("fluidsynth")
        font = find_soundfont(soundfont)
        if exe is None:
            reason = "FluidSynth not found (no 'fluidsynth' program on PATH)"
        elif font is None:
            where = ", ".join(["$EMOVAE_SOUNDFONT", *SOUNDFONT_PATHS])
            reason = f"no General MIDI soundfont found (looked at {where})"
        else:
            try:
                samples = _fluidsynth(exe, font, arr, sample_rate, bpm)
            except RuntimeError as exc:
                reason = f"FluidSynth failed with {font} ({exc})"
        if samples is None:
            if mode == "fluidsynth":
                raise EmovaeError(reason)
            _fallback(reason)
    if samples is None:
        samples = synthesize(arr, sample_rate, bpm)
    data = _wav_bytes(samples, sample_rate)
    if path is not None:
        _write_bytes(path, data)
    return data


# ---------------------------------------------------------------------------- files


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
