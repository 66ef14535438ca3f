"""The manifest: where each of the training set's 344 melodies comes from in music21's corpus.

The shipped manifest (``emovae/manifest/musgenvae.csv``; labels and positions, no notes; the
labels are the authors', CC BY-NC) says for each file where its notes come from:

========== =================================================================================
column     meaning
========== =================================================================================
folder     the emotion folder, ``e1`` .. ``e4`` (the authors' label)
file       the authors' file name (``bwv10.7.mxl.mid``)
chorale    the work in music21's corpus (``bach/bwv10.7``: ``music21.corpus.parse`` takes it)
part       the part whose notes are taken (0 = the score's first part; a chord gives its
           highest pitch), or ``all``: every part's notes, read as a polyphonic file
           (``e1/bwv846``, a keyboard prelude, reduced to its highest line by the reader)
start      the offset in quarter notes (a fraction) where the melody starts
scale      steps per sixteenth of the score: 1 keeps the note values, 2 doubles them
transpose  semitones added to every pitch (the authors moved each line to C major or minor)
steps      the file's length in sixteenths (64, or 56 to 72 for 27 files)
sha256     hash of the melody's 64 raw tokens as read by :func:`emovae.data.read_melody`
           (:func:`token_hash`)
========== =================================================================================

:func:`load_manifest` reads it, :func:`manifest_text` writes it. :func:`derive_manifest` is how
it was made from the authors' files: each file matched against its chorale's parts, every
start, both scales and the transposition that maps the first notes onto each other.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..data import midi_files, notes_of, read_melody, read_steps, skyline, token_hash
from ..emotions import LABELS
from ..errors import EmovaeError, EmovaeWarning
from .score import _parse, _placed, _score_notes

__all__ = ["COLUMNS", "MANIFEST", "SCALES", "Entry", "derive_manifest", "load_manifest", "manifest_text"]

MANIFEST = Path(__file__).parent.parent / "manifest" / "musgenvae.csv"
COLUMNS = ("folder", "file", "chorale", "part", "start", "scale", "transpose", "steps", "sha256")
SCALES = (1, 2)  # sixteenths per score sixteenth tried by derive_manifest


@dataclass(frozen=True)
class Entry:
    """One row of the manifest: where one training melody's notes come from."""

    folder: str  # e1..e4
    file: str  # the authors' file name
    chorale: str  # music21 corpus path, e.g. "bach/bwv10.7"
    part: str  # "0", "1", ... or "all"
    start: Fraction  # quarter notes into the score
    scale: int  # 1 or 2
    transpose: int  # semitones
    steps: int  # the file's length in sixteenths
    sha256: str  # token_hash of its 64 tokens

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.file}"

    def row(self) -> dict:
        return {
            "folder": self.folder,
            "file": self.file,
            "chorale": self.chorale,
            "part": self.part,
            "start": str(self.start),
            "scale": self.scale,
            "transpose": self.transpose,
            "steps": self.steps,
            "sha256": self.sha256,
        }


def _entry(row: dict, where: str) -> Entry:
    try:
        entry = Entry(
            row["folder"],
            row["file"],
            row["chorale"],
            row["part"],
            Fraction(row["start"]),
            int(row["scale"]),
            int(row["transpose"]),
            int(row["steps"]),
            row["sha256"],
        )
    except (KeyError, ValueError, ZeroDivisionError, TypeError) as exc:
        raise EmovaeError(f"{where}: not a manifest row ({type(exc).__name__}: {exc})") from None
    if entry.folder not in LABELS or entry.scale not in SCALES or entry.steps <= 0:
        raise EmovaeError(f"{where}: not a manifest row (folder {entry.folder}, scale {entry.scale})")
    if not (entry.part == "all" or entry.part.isdigit()):
        raise EmovaeError(f"{where}: part must be a part number or 'all', got {entry.part!r}")
    return entry


def load_manifest(path: str | os.PathLike = MANIFEST) -> list[Entry]:
    """The rows of a manifest CSV (lines starting with '#' are comments)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EmovaeError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise EmovaeError(f"{path}: not a manifest (columns {reader.fieldnames}, expected {', '.join(COLUMNS)})")
    return [_entry(row, f"{path} row {i}") for i, row in enumerate(reader, start=1)]


def _manifest_hash(path: Path = MANIFEST) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ the manifest's making


def _match(tokens: np.ndarray, score) -> tuple[str, Fraction, int, int] | None:
    """(part, start, scale, transpose) that rebuild ``tokens`` (a file's full raw tokens) from
    ``score``: each part in turn, then every part together; scale 1, then 2; every start that
    puts a score onset where the file's first note is, transposed so that the highest note
    there gets the file's first pitch. The first that gives the same notes, after the
    reader's reduction to the highest line (:func:`emovae.data.skyline`)."""
    wanted = notes_of(tokens)
    first_step, _, first_pitch = wanted[0]
    for part in [*map(str, range(len(score.parts))), "all"]:
        notes = _score_notes(score, part)
        top: dict[Fraction, int] = {}
        for onset, _, pitch in notes:
            top[onset] = max(top.get(onset, pitch), pitch)
        for scale in SCALES:
            for onset, pitch in top.items():
                start = onset - Fraction(first_step, 4 * scale)
                transpose = first_pitch - pitch
                placed = _placed(notes, start, scale, transpose, len(tokens))
                if placed and [(a, b - a, p) for a, b, p in skyline(placed)[0]] == wanted:
                    return part, start, scale, transpose
    return None


def derive_manifest(root: str | os.PathLike, *, progress: bool = False) -> tuple[list[Entry], list[str]]:
    """Match every file of a data set folder (``e1..e4/NAME.mxl.mid``, NAME a chorale of
    music21's corpus, ``bach/NAME``) against the corpus: the manifest's rows and the files that
    match no rule (:func:`_match`)."""
    from tqdm.auto import tqdm

    root = Path(root)
    files = [p for label in LABELS for p in (midi_files(root / label) if (root / label).is_dir() else [])]
    entries, unmatched, scores = [], [], {}
    for path in tqdm(files, desc="matching", unit="file", disable=not progress):
        label = path.parent.name
        chorale = "bach/" + path.name.split(".mid")[0].removesuffix(".mxl")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmovaeWarning)
            tokens = np.asarray(read_steps(path)).reshape(-1)
            digest = token_hash(read_melody(path))
        if chorale not in scores:
            try:
                scores[chorale] = _parse(chorale)
            except EmovaeError as exc:
                unmatched.append(f"{label}/{path.name}: {exc}")
                continue
        found = _match(tokens, scores[chorale])
        if found is None:
            unmatched.append(
                f"{label}/{path.name}: no part, start, scale and transposition of {chorale} gives its notes"
            )
            continue
        part, start, scale, transpose = found
        entries.append(Entry(label, path.name, chorale, part, start, scale, transpose, len(tokens), digest))
    return entries, unmatched


def manifest_text(entries: list[Entry]) -> str:
    """The CSV of ``entries`` under the manifest's header comment (source, licence, citation)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow(e.row())
    return _HEADER + buf.getvalue()


_HEADER = """\
# The training set of J. Grekow and T. Dimitrova-Grekow, "Monophonic Music Generation With a Given
# Emotion Using Conditional Variational Autoencoder", IEEE Access 9, 129088-129101, 2021
# (repository grekowj/musgenvae, folder dataset/e1..e4), as positions in music21's corpus.
# The emotion labels (e1 happy, e2 angry, e3 sad, e4 relaxed) are the authors': CC BY-NC 4.0,
# non-commercial use with attribution. No notes are stored here; the notes are Bach's, from
# music21's corpus. Columns: emovae/corpus.py. Made by emovae.corpus.derive_manifest.
"""
