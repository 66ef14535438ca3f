"""The report's input, checked before the long work and loaded: settings, the output folder,
models (with the data split each was trained on), folders of MIDI files (:func:`read_set`) and
groups of training runs."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..emotions import LABELS
from ..errors import EmovaeError, EmovaeWarning
from ..limits import check_count, check_seed
from .context import Context

MAX_GRID = 201  # grid points per axis at most (201 x 201 = 40,401 melodies)
MAX_PER_EMOTION = 10_000  # generated melodies per emotion at most
DEFAULT_MODELS = {"emovae CVAE-Plane": "plane", "emovae CVAE-EmoReg": "emoreg", "emovae CVAE-Base": "base"}
REFERENCE = "training set (all files)"  # Table 3's reference column


def load(out_dir, *, models, sets, runs, data_root, grid, n_per_emotion, seed) -> tuple[Path, Context]:
    """``(the output folder, the Context)``: every argument of :func:`emovae.report.report` checked
    (one-line :class:`EmovaeError`), the data set, models, sets and runs loaded."""
    from ..corpus import resolve_data_root
    from ..data import load_dataset

    grid = check_int(grid, "grid", 2, MAX_GRID)
    n_per_emotion = check_count(n_per_emotion, "melodies per emotion", MAX_PER_EMOTION)
    seed = check_seed(seed)
    out = check_out(out_dir)
    root = resolve_data_root(None if data_root is None else str(data_root))
    models = dict(DEFAULT_MODELS if models is None else models)
    runs = dict(runs or {})
    for name, folders in runs.items():
        if isinstance(folders, (str, os.PathLike)) or not list(folders):
            raise EmovaeError(f"runs {name!r}: expected a list of run folders, got {folders!r}")
    ds = load_dataset(root)
    counts = np.bincount(ds.labels, minlength=4)
    if counts.min() < 5:
        raise EmovaeError(
            f"{root}: the classifier's 5-fold cross-validation needs at least 5 melodies per emotion, "
            f"got {', '.join(f'{LABELS[e]} {int(c)}' for e, c in enumerate(counts))}"
        )
    if sets is None:
        from ..reproduction import authors_sets

        sets = authors_sets(root)
    sets = dict(sets)
    clash = sorted(set(models) & set(sets)) + [n for n in (*models, *sets) if n == REFERENCE]
    if clash:
        raise EmovaeError(
            f"name {clash[0]!r}: used for two columns (a model and a set, or the training set); "
            "name each model and set differently"
        )
    splits = Splits(root)
    loaded = {name: load_model(spec, f"model {name!r}", splits) for name, spec in models.items()}
    midi_sets = {name: read_set(name, folder) for name, folder in sets.items()}
    run_models = {
        name: [(str(f), *load_model(f, f"runs {name!r}", splits)) for f in folders] for name, folders in runs.items()
    }
    taken: set = set()
    slugs = {name: slug(name, taken) for name in loaded}
    run_slugs = {group: slug(f"seeds_{group}", taken) for group in run_models}
    return out, Context(root, ds, loaded, midi_sets, run_models, grid, n_per_emotion, seed, slugs, run_slugs, models)


def check_int(value, what: str, lo: int, hi: int | None = None) -> int:
    """``value`` as an int between ``lo`` and ``hi``; a one-line EmovaeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EmovaeError(f"{what}: expected a whole number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise EmovaeError(f"{what} {int(value)}: must be {bound}")
    return int(value)


def check_out(out_dir) -> Path:
    """The output folder, if it is or can be made a writable folder."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EmovaeError(f"{out}: exists and is not a folder (the report needs a folder)")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise EmovaeError(f"{out}: cannot be created ({probe} is not a folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise EmovaeError(f"{out}: cannot be written ({probe} is not writable)")
    return out


@dataclass
class MidiSet:
    """A folder of melodies laid out as e1..e4: what could be read and what was skipped."""

    name: str
    folder: Path
    tokens: np.ndarray  # (N, 64) raw tokens of the readable files
    labels: np.ndarray  # (N,) emotion of each (its folder)
    paths: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [{"path", "reason"}]
    silent: int = 0  # readable files without a note: read as all rests


def read_set(name: str, folder) -> MidiSet:
    """Read ``folder/e1..e4/*.mid`` with :func:`emovae.data.read_melody`; an unreadable file is
    skipped with one EmovaeWarning and listed in ``skipped``. A readable MIDI file without a note
    (a model may generate silence) is a melody of 64 rests, counted in ``silent``. EmovaeError for a folder that does
    not exist, has no e1..e4 folder, holds no MIDI file, or none that can be read."""
    from ..data import N_STEPS, REST, midi_files, read_melody

    root = Path(folder)
    if not root.is_dir():
        raise EmovaeError(f"set {name!r}: {root}: {'not a folder' if root.exists() else 'no such folder'}")
    present = [e for e, label in enumerate(LABELS) if (root / label).is_dir()]
    if not present:
        what = "empty folder" if not any(root.iterdir()) else "no e1..e4 folder"
        raise EmovaeError(f"set {name!r}: {root}: {what} (expected {root}/e1/*.mid ... {root}/e4/*.mid)")
    files = [(e, p) for e in present for p in midi_files(root / LABELS[e])]
    if not files:
        raise EmovaeError(f"set {name!r}: {root}: no .mid files in its e1..e4 folders")
    rows, labels, paths, skipped, silent = [], [], [], [], 0
    for e, path in files:
        try:
            rows.append(read_melody(path))
        except EmovaeError as exc:
            if _silent(path):  # a generated melody may be silence: a degenerate melody, not a bad file
                rows.append(np.full(N_STEPS, REST, dtype=np.int64))
                silent += 1
            else:
                reason = str(exc).splitlines()[0].removeprefix(f"{path}: ")
                warnings.warn(f"{path}: skipped, cannot be read ({reason})", EmovaeWarning, stacklevel=2)
                skipped.append({"path": str(path), "reason": reason})
                continue
        labels.append(e)
        paths.append(path)
    if not rows:
        raise EmovaeError(f"set {name!r}: {root}: none of its {len(files)} MIDI files can be read")
    return MidiSet(
        name, root, np.stack(rows).astype(np.int64), np.asarray(labels, dtype=np.int64), paths, skipped, silent
    )


def _silent(path) -> bool:
    """True for a MIDI file that MusPy reads but that holds no (non-drum) note."""
    import muspy

    try:
        music = muspy.read_midi(path)
    except Exception:  # noqa: BLE001 - mido/muspy raise many kinds for a bad file: a bad file, not silence
        return False
    return not any(track.notes for track in music.tracks if not track.is_drum)


class Splits:
    """The data set encoded with a model's vocabulary and split as its run split it; encodes once
    per (vocabulary, split seed, held-out share)."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict = {}

    def __call__(self, model, what: str):
        from ..training import EncodedData, encode_dataset

        tc = model.train_config
        key = (tuple(model.vocab.tokens), tc.split_seed, tc.heldout)
        if key not in self._cache:
            with warnings.catch_warnings():  # the data set was read (and warned about) once already
                warnings.simplefilter("ignore", EmovaeWarning)
                self._cache[key] = encode_dataset(
                    self.root, vocab=model.vocab, split_seed=tc.split_seed, heldout=tc.heldout, vocab_owner=what
                )
        base = self._cache[key]
        data = EncodedData(base.vocab, base.indices, base.labels, base.names, base.train_idx, base.heldout_idx)
        if model.state.names == data.names and model.state.train_idx:  # the very split it was trained with
            data.train_idx = np.asarray(model.state.train_idx, dtype=np.int64)
            data.heldout_idx = np.asarray(model.state.heldout_idx, dtype=np.int64)
        return data


def load_model(spec, what: str, splits: Splits):
    """``(TrainedModel, its data split)`` of a model spec; errors name ``what``."""
    from ..checkpoint import load_model as load

    try:
        model = load(spec)
    except EmovaeError as exc:
        raise EmovaeError(f"{what}: {exc}") from None
    return model, splits(model, f"{what} ({model.path or spec})")


def slug(name: str, taken: set) -> str:
    """A file-name slug of ``name`` not yet in ``taken`` (added to it)."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "item"
    s, k = base, 2
    while s in taken:
        s, k = f"{base}_{k}", k + 1
    taken.add(s)
    return s
