"""Where commands write, and the one overwrite policy.

Output folders and files are checked before a model is loaded (an existing file, an unwritable
or read-only place: one line). An output folder that already holds what the command would write
(melodies in the same e1..e4 folder, the same transformed melody, steps of an interpolation, an
evaluation, a report) is refused unless ``--force``; with ``--force`` the earlier files are
removed once the new ones are written, files emovae did not write never. A file named by
``--out`` alone (a manifest) is never overwritten.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np

from ..data import _count
from ..errors import EmovaeError, EmovaeWarning

MEDIA = (".mid", ".musicxml", ".svg", ".wav")  # the files a melody is written as


def add_force(parser, help: str) -> None:
    """``--force``: replace what an earlier run wrote into the output folder (see :class:`OutFolder`)."""
    parser.add_argument("--force", action="store_true", help=help)


class OutFolder:
    """An output folder checked before any work: writable, not a file, and not holding what
    this command would write (``patterns``, relative globs such as ``e1/*.mid``) from an
    earlier run unless ``force``. :meth:`finish` (after the new files are written) removes the
    earlier files the new run did not write again; nothing else is ever touched."""

    def __init__(self, path, patterns, force: bool = False, what: str = "--out"):
        from ..atomic import check_output

        self.path = check_output(path, "folder", what=what)
        hold(self.path, what)
        self.staging: Path | None = None
        for stale in self.path.glob(f"{STAGING}*") if self.path.is_dir() else ():  # a killed run's: we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        self.patterns = tuple(patterns)
        self.earlier = {p: _signature(p) for p in self._matching()}
        if self.earlier and not force:
            names = sorted(str(p.relative_to(self.path)) for p in self.earlier)
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            raise EmovaeError(
                f"{what} {self.path}: holds files of an earlier run ({names[0]}{more}); pass --force to "
                "replace them, or choose another folder"
            )

    def _matching(self) -> set[Path]:
        from ..atomic import stale_temporaries

        if not self.path.is_dir():
            return set()
        found = {p for pattern in self.patterns for p in self.path.glob(pattern) if p.is_file()}
        for tmp in stale_temporaries(self.path):  # a write a killed run left half done
            target = tmp.parent / tmp.name[1:].rsplit(".", 2)[0]
            if any(_matches(target.relative_to(self.path), pattern) for pattern in self.patterns):
                found.add(tmp)
        return found

    def stage(self) -> Path:
        """A hidden temporary folder inside the output folder to write the run into; :meth:`finish`
        moves its files into place, so a run cut short (a full disk, Ctrl-C) leaves nothing of itself
        (the folder is removed when the command ends, or by the next run into this folder)."""
        import tempfile

        if self.staging is None:
            try:
                self.staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=self.path))
            except OSError as exc:
                raise EmovaeError(f"{self.path}: cannot write ({exc.strerror})") from None
            _STAGED.append(self.staging)
        return self.staging

    def finish(self) -> int:
        """Move the staged files into place, then remove the earlier run's files that were not
        written again; returns how many were removed."""
        if self.staging is not None:
            import os

            for f in sorted(p for p in self.staging.rglob("*") if p.is_file()):
                target = self.path / f.relative_to(self.staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, target)
            shutil.rmtree(self.staging, ignore_errors=True)
            _STAGED.remove(self.staging)
            self.staging = None
        removed = 0
        for path, signature in self.earlier.items():
            if signature is not None and _signature(path) == signature:
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise EmovaeError(f"{path}: cannot remove this earlier file ({exc.strerror})") from None
        return removed


_HELD: list = []  # the folder locks this command holds (released when it ends: :func:`release_all`)


def hold(path, what: str = "--out") -> None:
    """Lock an output folder for the rest of the command (:class:`emovae.atomic.FolderLock`):
    a second run writing into the same folder meanwhile is refused in one line."""
    from ..atomic import FolderLock

    if any(lock.path == Path(path) for lock in _HELD):
        return
    _HELD.append(FolderLock(path, what))


STAGING = ".emovae-staging-"  # the hidden folder a run is written into before it is moved into place
_STAGED: list[Path] = []  # staging folders not yet moved into place (removed when the command ends)


def release_all() -> None:
    """The command is over: remove what it staged but did not finish, release its folder locks."""
    while _STAGED:
        shutil.rmtree(_STAGED.pop(), ignore_errors=True)
    while _HELD:
        _HELD.pop().release()


def new_file(path, what: str = "--out") -> Path:
    """A file to create, checked before any work: a writable place, and no file there yet."""
    from ..atomic import check_output

    out = check_output(path, "file", what=what)
    if out.exists():
        raise EmovaeError(f"{what} {out}: exists; choose another file name")
    return out


def _signature(path: Path):
    """What tells a file apart from the one that replaced it (atomic writes make a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _matches(relative: Path, pattern: str) -> bool:
    """``relative`` (e.g. e1/x.mid) matches the glob ``pattern`` part by part."""
    from fnmatch import fnmatchcase

    parts, globs = relative.parts, Path(pattern).parts
    return len(parts) == len(globs) and all(fnmatchcase(p, g) for p, g in zip(parts, globs))


def media(stem: str) -> list[str]:
    """The files a melody called ``stem`` is written as (every format: a stale .wav beside a new .mid counts)."""
    return [f"{stem}{ext}" for ext in MEDIA]


# ---------------------------------------------------------------------------- melodies and pictures


def _on_terminal() -> bool:
    import sys

    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable, desc: str, unit: str, total: int | None = None):
    """A progress bar (tqdm) on stderr when it is a terminal, none otherwise."""
    from tqdm import tqdm

    return tqdm(
        iterable, desc=desc, unit=unit, total=total, disable=not _on_terminal(), leave=False, dynamic_ncols=True
    )


def write_melodies(melodies, folder: Path, formats) -> list[Path]:
    """Write each melody (every format; a progress bar on a terminal); one warning names those
    without notes or with a single pitch."""
    paths, odd = [], []
    for melody in progress(melodies, f"write {Path(folder).name}", "melody"):
        if melody.degenerate:
            notes = melody.notes
            odd.append(f"{melody.name} ({'no notes' if not notes else 'one pitch, ' + _count(len(notes), 'note')})")
        paths += melody.save(folder / melody.name, formats)
    if odd:
        shown = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        which = "a melody" if len(odd) == 1 else f"{len(odd)} melodies"
        warnings.warn(
            f"{which} without notes or with a single pitch: {shown}; written all the same", EmovaeWarning, stacklevel=2
        )
    return paths


def plane_plot(
    model, path: Path, marks, labels=None, path_points=None, data_root=None, *, mark_name="generated", emotions=None
) -> Path | None:
    """The plane with marks (``mark_name``; coloured by ``emotions`` when given) over the training
    points (when a data set can be found: the title says which)."""
    from ..plots import plot_plane

    train_pts, train_labels = np.zeros((0, 2)), np.zeros(0, dtype=int)
    try:
        from ..evaluate import model_split

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmovaeWarning)  # the training files' reading notes: not this command's
            data = model_split(model.trained, data_root)
        train_labels = data.labels
        train_pts = model.trained.encode(model.trained.vocab.decode(data.indices), data.labels)
    except EmovaeError as exc:
        warnings.warn(f"plane picture without training points ({exc})", EmovaeWarning, stacklevel=2)
    over = "over the training melodies" if len(train_pts) else "(no training melodies: no data set)"
    return plot_plane(
        train_pts,
        train_labels,
        path,
        marks=marks,
        mark_labels=labels,
        path_points=path_points,
        title=f"{model.title}: {mark_name} points {over}",
        mark_name=mark_name,
        mark_emotions=emotions,
    )
