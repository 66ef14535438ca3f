"""The training set rebuilt: the manifest's MIDI files written from music21's corpus, and checked.

Each file is written at 4 ticks per quarter, 120 BPM, 4/4 (:func:`emovae.data.notes_midi`) from
its score's notes (:mod:`.score`) and read back by the same rules as every MIDI file.
:func:`build` writes the 344 files into a folder laid out like the authors' (``e1..e4``) and
checks every hash; a complete build is stamped (``STAMP``: the manifest's hash, written last).
:func:`default_dir` is where they are cached (``$XDG_CACHE_HOME/emovae`` or ``~/.cache/emovae``).
:func:`check` compares a folder (the authors' files, or a build) with the manifest.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from ..atomic import check_output
from ..data import midi_files, notes_midi, read_melody, token_hash
from ..emotions import LABELS
from ..errors import EmovaeError, EmovaeWarning
from .manifest import MANIFEST, Entry, _manifest_hash, load_manifest
from .score import _parse, _placed, _score_notes

__all__ = ["STAMP", "build", "check", "default_dir", "is_built"]

STAMP = ".emovae-build"  # in a built folder: the manifest's hash, written last


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
