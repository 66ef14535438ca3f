"""The training set rebuilt from music21's corpus: nothing to download.

The 344 melodies of Grekow and Dimitrova-Grekow (2021) are 4-bar lines of Bach chorales from
music21's corpus, which ships inside the music21 wheel (``music21/corpus/bach/``). The shipped
manifest (``emovae/manifest/musgenvae.csv``; labels and positions, no notes; the labels are the
authors', CC BY-NC) says for each file where its notes come from:

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

A note of the score (ties joined, grace notes skipped) at offset ``o`` with length ``d`` becomes
the MIDI note from step ``(o - start) * 4 * scale`` to ``(o + d - start) * 4 * scale``, its pitch
plus ``transpose``; notes starting before ``start`` or at ``steps`` or later are left out, and a
note is cut at ``steps``. The file is written at 4 ticks per quarter, 120 BPM, 4/4
(:func:`emovae.data.notes_midi`) and read back by the same rules as every MIDI file.

:func:`build` writes the 344 files into a folder laid out like the authors' (``e1..e4``) and checks
every hash; :func:`default_dir` is where they are cached (``$XDG_CACHE_HOME/emovae`` or
``~/.cache/emovae``). :func:`resolve_data_root` is how every command finds its data set: ``--data``,
else ``$EMOVAE_DATA``, else this cache (built on first use). :func:`derive_manifest` is how the
manifest was made from the authors' files: each file matched against its chorale's parts, every
start, both scales and the transposition that maps the first notes onto each other.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .atomic import check_output
from .data import midi_files, notes_midi, notes_of, read_melody, read_steps, skyline, token_hash
from .emotions import LABELS
from .errors import EmovaeError, EmovaeWarning

__all__ = [
    "MANIFEST",
    "Entry",
    "load_manifest",
    "token_hash",
    "default_dir",
    "is_built",
    "build",
    "check",
    "derive_manifest",
    "resolve_data_root",
]

MANIFEST = Path(__file__).parent / "manifest" / "musgenvae.csv"
COLUMNS = ("folder", "file", "chorale", "part", "start", "scale", "transpose", "steps", "sha256")
STAMP = ".emovae-build"  # in a built folder: the manifest's hash, written last
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


# ------------------------------------------------------------------------------ the score side


def _score_notes(score, part: str) -> list[tuple[Fraction, Fraction, int]]:
    """(offset, end, pitch) in quarter notes of a part (a chord gives its highest pitch) or of
    every part (``"all"``: each pitch of each chord); ties joined, grace notes skipped."""
    parts = list(score.parts) if part == "all" else [score.parts[int(part)]]
    out = []
    for p in parts:
        for n in p.stripTies().flatten().notes:
            length = Fraction(n.quarterLength)
            if length == 0:
                continue
            onset = Fraction(n.offset)
            pitches = [x.midi for x in n.pitches]
            for pitch in pitches if part == "all" else [max(pitches)]:
                out.append((onset, onset + length, pitch))
    return sorted(out)


def _placed(notes, start: Fraction, scale: int, transpose: int, steps: int) -> list[tuple[int, int, int]] | None:
    """The score notes as (onset step, end step, pitch) of the file; None when a note falls off
    the sixteenth grid."""
    out = []
    for onset, end, pitch in notes:
        a, b = (onset - start) * 4 * scale, (end - start) * 4 * scale
        if a < 0 or a >= steps:
            continue
        if a.denominator != 1 or b.denominator != 1:
            return None
        out.append((int(a), min(int(b), steps), pitch + transpose))
    return out


def _parse(chorale: str):
    from music21 import corpus

    try:
        return corpus.parse(chorale)
    except Exception as exc:  # noqa: BLE001 - music21 raises its own errors for a missing or broken work
        raise EmovaeError(f"{chorale}: not in this music21's corpus ({type(exc).__name__})") from None


def _write(entry: Entry, score, folder: Path) -> Path:
    try:
        notes = _placed(_score_notes(score, entry.part), entry.start, entry.scale, entry.transpose, entry.steps)
    except IndexError:
        raise EmovaeError(f"{entry.path}: {entry.chorale} has no part {entry.part}") from None
    if not notes:
        raise EmovaeError(f"{entry.path}: no notes of {entry.chorale} from offset {entry.start} (part {entry.part})")
    path = folder / entry.folder / entry.file
    path.parent.mkdir(parents=True, exist_ok=True)
    notes_midi(notes, entry.steps).save(str(path))
    return path


def _quiet_hash(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmovaeWarning)  # e1/bwv846 is polyphonic, as in the authors' set
        return token_hash(read_melody(path))


# ------------------------------------------------------------------------------ build and check


def default_dir() -> Path:
    """Where the rebuilt training set is cached: ``$XDG_CACHE_HOME/emovae/musgenvae`` (default
    ``~/.cache/emovae/musgenvae``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "emovae" / "musgenvae"


def is_built(folder: str | os.PathLike, manifest: str | os.PathLike = MANIFEST) -> bool:
    """True if ``folder`` holds a complete build of ``manifest`` (its stamp names the manifest)."""
    stamp = Path(folder) / STAMP
    try:
        return stamp.read_text().strip() == _manifest_hash(Path(manifest))
    except OSError:
        return False


def build(
    folder: str | os.PathLike | None = None,
    *,
    manifest: str | os.PathLike = MANIFEST,
    only: list[str] | None = None,
    progress: bool = False,
) -> Path:
    """Write the manifest's MIDI files from music21's corpus into ``folder`` (default
    :func:`default_dir`) and check each one's hash; returns the folder.

    ``only``: the files to write (``"e1/bwv846.mxl.mid"``, ...): a partial build, with no stamp.
    A complete build that is already there is kept as it is (no time). The files are written
    into a temporary folder beside ``folder`` and moved into place once every hash matches;
    otherwise nothing is left and the error names each file that differs.
    """
    folder = Path(folder) if folder is not None else default_dir()
    manifest = Path(manifest)
    entries = load_manifest(manifest)
    if only is not None:
        wanted = set(only)
        unknown = sorted(wanted - {e.path for e in entries})
        if unknown:
            raise EmovaeError(f"{unknown[0]}: not in the manifest {manifest.name}")
        entries = [e for e in entries if e.path in wanted]
    elif is_built(folder, manifest):
        return folder
    check_output(folder, "folder", what="data set folder")
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / STAMP).exists())):
        raise EmovaeError(f"{folder}: holds other files; choose an empty or new folder for the rebuilt data set")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        differ = _build_into(tmp, entries, progress)
        if differ:
            shown = "; ".join(differ[:5]) + (f"; and {len(differ) - 5} more" if len(differ) > 5 else "")
            raise EmovaeError(
                f"{len(differ)} of {len(entries)} rebuilt melodies differ from the manifest ({shown}): "
                "this music21's corpus is not the one the manifest was made with"
            )
        if only is None:
            (tmp / STAMP).write_text(_manifest_hash(manifest) + "\n")
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _build_into(tmp: Path, entries: list[Entry], progress: bool) -> list[str]:
    from tqdm.auto import tqdm

    scores: dict = {}
    differ = []
    for entry in tqdm(entries, desc="rebuilding the data set", unit="melody", disable=not progress):
        if entry.chorale not in scores:
            scores[entry.chorale] = _parse(entry.chorale)
        path = _write(entry, scores[entry.chorale], tmp)
        if _quiet_hash(path) != entry.sha256:
            differ.append(f"{entry.path} (from {entry.chorale})")
    return differ


def check(folder: str | os.PathLike, manifest: str | os.PathLike = MANIFEST) -> tuple[int, list[str]]:
    """Compare a data set folder (the authors' files, or a build) with the manifest, file by
    file: ``(files that match, problems)``, one problem per line naming the file."""
    folder, entries = Path(folder), load_manifest(manifest)
    if not any((folder / label).is_dir() for label in LABELS):
        raise EmovaeError(f"{folder}: not a data set folder (no e1..e4 inside)")
    problems, ok = [], 0
    listed = {e.path for e in entries}
    for entry in entries:
        path = folder / entry.folder / entry.file
        if not path.is_file():
            problems.append(f"{entry.path}: missing")
            continue
        try:
            digest = _quiet_hash(path)
        except EmovaeError as exc:
            problems.append(str(exc))
            continue
        if digest == entry.sha256:
            ok += 1
        else:
            problems.append(f"{entry.path}: other notes than the manifest's (hash {digest[:12]})")
    for label in LABELS:
        for path in midi_files(folder / label) if (folder / label).is_dir() else []:
            if f"{label}/{path.name}" not in listed:
                problems.append(f"{label}/{path.name}: not in the manifest")
    return ok, problems


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


# ------------------------------------------------------------------------------ finding the data set


def resolve_data_root(arg: str | os.PathLike | None, *, build_missing: bool = True) -> Path:
    """The data set folder: ``arg`` (from --data) if given, else $EMOVAE_DATA, else the training
    set rebuilt from music21's corpus (:func:`default_dir`; built on first use with a one-line
    warning, unless ``build_missing`` is False: then an error says how to get it)."""
    if arg is not None and str(arg) != "":
        path, source = Path(arg).expanduser(), ""
    elif os.environ.get("EMOVAE_DATA", ""):
        path, source = Path(os.environ["EMOVAE_DATA"]).expanduser(), " (from EMOVAE_DATA)"
    else:
        path = default_dir()
        if is_built(path):
            return path
        if not build_missing:
            raise EmovaeError(
                "no data set: pass --data DIR, set EMOVAE_DATA, or run `emovae data build` "
                "(the training set rebuilt from music21's corpus)"
            )
        warnings.warn(
            EmovaeWarning(
                f"no data set given (--data, EMOVAE_DATA): rebuilding the training set from music21's corpus "
                f"into {path} (once)"
            ),
            stacklevel=2,
        )
        return build(path, progress=True)
    if not path.exists():
        raise EmovaeError(f"{path}{source}: no such directory")
    if not path.is_dir():
        raise EmovaeError(f"{path}{source}: not a directory")
    return path
