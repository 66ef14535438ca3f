"""Where commands write, and the one overwrite policy.

Output folders and files are checked before a model is loaded (an existing file, an unwritable
or read-only place: one line). An output folder that already holds what the command would write
(melodies in the same e1..e4 folder, the same transformed melody, steps of an interpolation, an
evaluation, a report) is refused unless ``--force``; with ``--force`` the earlier files are
removed once the new ones are written, files emovae did not write never. A file named by
``--out`` alone (a manifest) is never overwritten.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

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

    def finish(self) -> int:
        """Remove the earlier run's files that were not written again; returns how many."""
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


def write_melodies(melodies, folder: Path, formats) -> list[Path]:
    """Write each melody (every format); one warning names those without notes or with a single pitch."""
    paths, odd = [], []
    for melody in melodies:
        notes = melody.notes
        pitches = {p for _, _, p in notes}
        if len(pitches) <= 1:
            odd.append(f"{melody.name} ({'no notes' if not notes else f'one pitch, {len(notes)} notes'})")
        paths += melody.save(folder / melody.name, formats)
    if odd:
        shown = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        which = "a melody" if len(odd) == 1 else f"{len(odd)} melodies"
        warnings.warn(
            f"{which} without notes or with a single pitch: {shown}; written all the same", EmovaeWarning, stacklevel=2
        )
    return paths


def plane_plot(model, path: Path, marks, labels=None, path_points=None, data_root=None) -> Path | None:
    """The plane with marks over the training points (when a data set can be found)."""
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
    return plot_plane(
        train_pts,
        train_labels,
        path,
        marks=marks,
        mark_labels=labels,
        path_points=path_points,
        title=f"{model.title}: generated points over the training melodies",
    )
