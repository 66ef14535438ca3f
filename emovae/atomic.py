"""Atomic file writes, and output paths checked before any work starts.

A reader never sees a half-written file, and a crash (even SIGKILL) leaves the old one: every
file is written to a temporary file beside its target (``.NAME.XXXXXXXX.tmp``) and moved over
it in one ``os.replace``. A write that fails (a read-only file system, a full disk, no
permission) raises a one-line :class:`~emovae.errors.EmovaeError` naming the file.

:func:`check_output` tells before any work whether an output folder or file can be written:
not a file where a folder is wanted (nor a folder where a file is), and the nearest existing
folder on its way writable, found by creating (and removing) a probe file there, which is the
only test the file system cannot get wrong (``os.access`` says yes for root on ``/sys``).

:func:`jsonable` is the one converter of figures to JSON (NumPy to Python, NaN to null), for
every JSON file and answer emovae writes.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import EmovaeError
from .limits import one_line

__all__ = [
    "atomic_path",
    "write_text",
    "check_output",
    "stale_temporaries",
    "jsonable",
    "TMP_SUFFIX",
    "FolderLock",
    "LOCK_NAME",
]

TMP_SUFFIX = ".tmp"


def jsonable(value):
    """Numbers, lists and dicts made JSON-safe: NumPy scalars and arrays to Python numbers and
    lists, NaN / inf to None (null), paths to strings, keys to strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _reason(exc: OSError) -> str:
    """The plain words of an OSError ("Read-only file system"), on one line."""
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else "") or str(exc) or type(exc).__name__
    return one_line(text)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    An OSError on the way (creating the folder, the temporary file, writing it, moving it)
    becomes ``EmovaeError("PATH: cannot write (REASON)")``; the temporary file is removed.

    >>> with atomic_path("out.mid") as tmp:   # doctest: +SKIP
    ...     music.write_midi(tmp)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise EmovaeError(f"{path}: cannot write ({_reason(exc)})") from None
    try:
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise EmovaeError(f"{path}: cannot write ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_output(path: str | os.PathLike, kind: str = "folder", what: str = "--out") -> Path:
    """Check, before any work, that ``path`` can be written as a ``kind`` ("folder" or "file").

    Raises a one-line EmovaeError ``"WHAT PATH: ..."`` when ``path`` exists as the other kind,
    when a file stands where a folder on its way would have to be created, or when the nearest
    existing folder on its way cannot be written (read-only file system, permission denied).
    Creates nothing (the probe file is removed at once)."""
    if kind not in ("folder", "file"):
        raise ValueError(f"kind must be 'folder' or 'file', not {kind!r}")
    if str(path).strip() == "":  # Path("") is ".": an empty --out would write into the current folder
        raise EmovaeError(f"{what or 'output'}: an empty path; give a {kind} name")
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if str(path) == "":
        raise EmovaeError(f"{what or 'output'}: an empty path")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise EmovaeError(f"{label}: is an existing file, not a folder; choose a folder for the outputs")
    if kind == "file" and path.is_dir():
        raise EmovaeError(f"{label}: is a folder; give a file name")
    probe = path if kind == "folder" else path.parent
    probe = Path(os.path.abspath(probe))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise EmovaeError(f"{label}: cannot be created, {probe} is a file, not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=".emovae-probe-", dir=probe)
    except OSError as exc:
        raise EmovaeError(f"{label}: cannot write there ({probe}: {_reason(exc)})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return path


def stale_temporaries(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Temporary files :func:`atomic_path` left in ``folder`` when a process was killed while
    writing (``.NAME.XXXXXXXX.tmp``; never the finished files). Safe to delete."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = folder.rglob(f".*{TMP_SUFFIX}") if recursive else folder.glob(f".*{TMP_SUFFIX}")
    return sorted(p for p in found if p.is_file() and _is_temporary(p.name))


def _is_temporary(name: str) -> bool:
    """True for a name :func:`atomic_path` makes: "." + target name + "." + 8 characters + ".tmp"."""
    if not (name.startswith(".") and name.endswith(TMP_SUFFIX)):
        return False
    inner = name[1 : -len(TMP_SUFFIX)]
    target, dot, rand = inner.rpartition(".")
    return bool(dot and target and len(rand) == 8 and rand.replace("_", "").isalnum())


LOCK_NAME = ".emovae.lock"


class FolderLock:
    """An advisory lock (``fcntl.flock``) on an output folder, held until :meth:`release` (or the
    process ends, even by a crash: the kernel drops it). A second writer is refused in one line.
    The folder is created if need be, and removed again on release if it was created here and is
    still empty; the lock file is removed on release."""

    def __init__(self, path: str | os.PathLike, what: str = "--out"):
        import fcntl

        self.path = Path(path)
        self.created = not self.path.exists()
        label = f"{what} {self.path}" if what else str(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmovaeError(f"{label}: cannot create this folder ({_reason(exc)})") from None
        self.file = self.path / LOCK_NAME
        while True:
            try:
                fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                self._tidy()
                raise EmovaeError(f"{label}: cannot lock this folder ({_reason(exc)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = ""
                with contextlib.suppress(OSError, ValueError):
                    holder = os.read(fd, 64).decode().strip()
                os.close(fd)
                who = f" (process {holder})" if holder.isdigit() else ""
                raise EmovaeError(
                    f"{label}: another emovae run{who} is writing into this folder; wait for it to finish "
                    "or choose another folder"
                ) from None
            try:  # the file may have been removed by the holder that just released it: lock the one on disk
                same = os.fstat(fd).st_ino == os.stat(self.file).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def _tidy(self) -> None:
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only if still empty

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.file)
        os.close(self.fd)
        self.fd = None
        self._tidy()

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
